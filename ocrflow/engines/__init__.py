"""OCR / extraction engines behind one protocol (see base.Engine)."""
