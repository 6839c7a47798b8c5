"""Contract-driven field extraction without a model (the embedded engine's extractor)."""

from ocrflow.pipeline.extract.rules import extract_fields

__all__ = ["extract_fields"]
