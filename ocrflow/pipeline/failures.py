"""Why one document did not get through, as a state, a message and an ``ErrorCode`` (docs/reliability.md).

Input faults are final (``failed`` with the code); engine outages leave the document ``pending``, and
so does a 401/403 from the deployment (``AuthEngineError``: the key, not the document); anything
unexpected is a bug on that one document (``failed``, code ``internal``), the others go on.
"""

from __future__ import annotations

import logging
import os

from ocrflow.core.errors import AuthEngineError, ErrorCode, InputError
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult
from ocrflow.engines.base import EngineError
from ocrflow.pipeline.render import TooManyPagesError

log = logging.getLogger("ocrflow")


def check_unchanged(doc: DocumentRef) -> None:
    """Raise InputError (``vanished`` / ``changed``) when the file is gone or differs from when it was
    discovered and hashed (size or modification time). Documents not read from a file pass."""
    if not doc.mtime_ns:
        return
    try:
        st = os.stat(doc.open_path)
    except FileNotFoundError:
        raise InputError("file vanished during the run (discovered, then removed before it was processed)",
                         ErrorCode.VANISHED) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or type(exc).__name__}", ErrorCode.UNREADABLE) from None
    if st.st_size != doc.size_bytes or st.st_mtime_ns != doc.mtime_ns:
        raise InputError("file changed during the run (its size or modification time differ from when it was "
                         "hashed); the next run reads the new content", ErrorCode.CHANGED)


def failure_result(doc: DocumentRef, exc: Exception) -> DocResult:
    """The final state of a document whose processing raised ``exc`` (not a transient engine error)."""
    if isinstance(exc, TooManyPagesError):
        return DocResult(doc, DocState.FAILED, error=f"render: {exc}", page_count=exc.page_count,
                         error_code=exc.code.value, pages_read=0)
    if isinstance(exc, InputError):
        return DocResult(doc, DocState.FAILED, error=f"render: {exc}", error_code=_recheck(doc, exc.code).value,
                         pages_read=0)
    if isinstance(exc, EngineError):
        return DocResult(doc, DocState.FAILED, error=f"engine: {exc}",
                         error_code=str(getattr(exc, "code", ErrorCode.ENGINE)))
    code = _recheck(doc, ErrorCode.INTERNAL)
    if code == ErrorCode.INTERNAL:
        log.exception("unexpected error on %s", doc.path)
        return DocResult(doc, DocState.FAILED, error=f"{type(exc).__name__}: {exc}", error_code=code.value)
    return DocResult(doc, DocState.FAILED, error=f"render: file {code.value} during the run", error_code=code.value)


def _recheck(doc: DocumentRef, code: ErrorCode) -> ErrorCode:
    """A read that failed because the file vanished or changed under it says so."""
    try:
        check_unchanged(doc)
    except InputError as exc:
        return exc.code
    return code


def auth_pending(doc: DocumentRef, exc: AuthEngineError) -> DocResult:
    """The deployment refused the credentials: pending, and no more requests this run."""
    return DocResult(doc, DocState.PENDING, error_code=ErrorCode.ENGINE.value,
                     error=f"engine refused the credentials, left pending for the next run (fix the key): {exc}")
