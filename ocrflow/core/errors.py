"""Error codes: why a document did not load, as a stable value beside the human message.

``documents.error_code`` holds one of :class:`ErrorCode`; ``documents.error`` the message. The classes
of failure (docs/reliability.md):

- input faults (the file itself): final, state ``failed`` with the code; ``ocrflow reprocess --failed
  [--code X]`` retries them after a fix;
- configuration faults (unknown contract, bad setting, missing dependency): the run stops before any
  document is registered (``settings.ConfigError``, exit 2);
- engine faults (down, overloaded, a rotated key answering 401/403): the document stays ``pending``;
- no contract matched: state ``unmatched``, picked up by ``ocrflow reprocess --unmatched``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    EMPTY = "empty"
    TRUNCATED = "truncated"
    ENCRYPTED = "encrypted"
    NO_PAGES = "no_pages"
    UNSUPPORTED_TYPE = "unsupported_type"
    DECOMPRESSION_BOMB = "decompression_bomb"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_TOO_ELONGATED = "image_too_elongated"
    CORRUPT_IMAGE = "corrupt_image"
    UNREADABLE = "unreadable"
    CHANGED = "changed"
    VANISHED = "vanished"
    TOO_MANY_PAGES = "too_many_pages"
    FILE_TOO_LARGE = "file_too_large"
    SYMLINK_OUTSIDE_ROOT = "symlink_outside_root"
    NO_CONTRACT = "no_contract"
    ENGINE = "engine"
    MODEL_OUTPUT = "model_output"
    """The model answered, but not in a usable form (no JSON object, no choices): final, retried by
    ``ocrflow reprocess --failed --code model_output`` after a fix (a new model, prompt or setting)."""
    INTERNAL = "internal"
    EINVOICE_INVALID = "einvoice_invalid"
    XML_UNSAFE = "xml_unsafe"
    DUPLICATE = "duplicate"


class EngineError(RuntimeError):
    """Base class for engine failures."""


class TransientEngineError(EngineError):
    """Worth retrying: connection refused, timeouts, 429, 5xx."""


class TerminalEngineError(EngineError):
    """Not worth retrying blindly: 4xx, malformed output, configuration errors."""


class InputError(ValueError):
    """Something about the input file itself: final for that document, with its code."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.UNREADABLE) -> None:
        super().__init__(message)
        self.code = code


class AuthEngineError(TransientEngineError):
    """The deployment refused the credentials (HTTP 401/403): not the document's fault.

    Transient for the document (it stays ``pending``: a rotated key is fixed and the next run takes it),
    but never retried within the run, and the processor stops sending once it has seen one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
