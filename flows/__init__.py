"""Prefect flows: orchestration only; the work lives in ocrflow (core) and tasks (thin wrappers)."""
