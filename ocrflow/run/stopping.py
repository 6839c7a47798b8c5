"""Stopping a run cleanly on SIGINT / SIGTERM (Ctrl-C, ``kill``, a Prefect cancel, a container stop).

The first signal asks the run to stop: no new document is started, the documents in flight finish, what
is finished is validated and written, the rest stays pending (its claims released), and the ``runs`` row
is closed CANCELLED with the counts; the process then exits 128 + the signal (130 for SIGINT, 143 for
SIGTERM). A second signal stops at once (``HardStop``): documents in flight are not waited for (they stay
pending), the ``runs`` row is still closed CANCELLED. A store write in progress is never cut in half: the
second signal takes effect when it ends (``StopRequest.writing``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.results import DocResult

STOPPED_CODE = "stopped"
"""``DocResult.error_code`` of a document the run did not process because it was stopped (left pending,
not written)."""
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class HardStop(BaseException):
    """A second stop signal: leave now (a BaseException, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped at once by a second {signal_name(signum)}; documents in flight were not "
                         "written and stay pending for the next run")
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopRequest:
    """Shared between the signal handler (main thread) and the run (any thread)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum = 0
        self._hard_pending = 0
        self.hard_raised = 0
        """The signal of a HardStop raised in this process (0: none). Native code can swallow it - a C extension
        being imported turns it into ``ImportError: initialization failed`` - so the run checks this too."""
        self._writing = 0
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less when a stop is asked for meanwhile; True when stopped."""
        return self._event.wait(max(0.0, seconds))

    def request(self, signum: int) -> None:
        """Ask the run to stop (what the first signal does)."""
        if not self._event.is_set():
            self.signum = signum
            self._event.set()

    @property
    def exit_code(self) -> int:
        """128 + the signal: 130 for SIGINT, 143 for SIGTERM (0 when no stop was asked for)."""
        return 128 + self.signum if self.signum else 0

    @property
    def reason(self) -> str:
        return f"stopped by {signal_name(self.signum)}" if self.signum else ""

    def hard(self, signum: int) -> None:
        """A second signal: raise HardStop now, or as soon as the write in progress ends."""
        with self._lock:
            if self._writing:
                self._hard_pending = signum
                return
            self.hard_raised = signum
        raise HardStop(signum)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A store write that a second signal must not interrupt."""
        with self._lock:
            self._writing += 1
        try:
            yield
        finally:
            with self._lock:
                self._writing -= 1
                pending = 0 if self._writing else self._hard_pending
                self._hard_pending = 0 if pending else self._hard_pending
            if pending:
                self.hard_raised = pending
                raise HardStop(pending)


Announce = Callable[[str], None]
_active: list[StopRequest] = []
"""The stop requests whose handlers are installed, outermost first (the CLI's around the flow's)."""


@contextmanager
def stop_on_signals(stop: StopRequest, announce: Announce | None = None) -> Iterator[StopRequest]:
    """SIGINT and SIGTERM ask ``stop`` to stop while the block runs (the first) or stop at once (the second).

    Handlers can only be installed in the main thread; elsewhere this does nothing (the caller's own
    handlers, e.g. Prefect's, stay). The previous handlers are restored on exit. Nested (``ocrflow run
    --prefect`` around the flow's own): a stop already asked for outside holds inside, and one asked for
    inside is seen outside."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    outer = list(_active)
    for earlier in outer:
        if earlier.is_set():
            stop.request(earlier.signum)

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            stop.hard(signum)
            return
        stop.request(signum)
        for earlier in outer:
            earlier.request(signum)
        if announce is not None:
            announce(f"{signal_name(signum)}: stopping - no new documents; the documents in flight finish and "
                     f"are written, the rest stay pending. {signal_name(signum)} again stops at once.")

    previous: dict[signal.Signals, Any] = {}
    _active.append(stop)
    try:
        for sig in SIGNALS:
            previous[sig] = signal.signal(sig, handler)
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _active.remove(stop)


def stopped_result(doc: DocumentRef, reason: str = "the run was stopped") -> DocResult:
    """A document the stop kept from being processed: pending, not written, the next run takes it."""
    return DocResult(doc, DocState.PENDING, error=f"not processed, left pending: {reason}", error_code=STOPPED_CODE)
