"""Thin Prefect task wrappers (retries, logging) around the Prefect-free core in ocrflow."""
