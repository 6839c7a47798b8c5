"""The run: lifecycle, the kinds of work, discovery and planning, batches, claims, summaries, Data Docs."""
