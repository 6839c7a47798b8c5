"""Where each value came from: evidence records built, lines, grounding, confidence."""
