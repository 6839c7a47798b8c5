"""Evaluation against gold files: scoring, trust figures, line items, the report."""
