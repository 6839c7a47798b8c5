"""How a flow run ends when it fails: a Failed state whose message is one line and whose data is an
exception that carries the run's summary.

Prefect resolves a Failed state's data into an exception whenever the state's result is asked for (a
worker does this at the end of every flow run). Data that is a plain dict cannot be resolved and Prefect
logged ``TypeError: Unexpected result for failed state: {...} dict cannot be resolved into an
exception`` instead of the reason. :class:`FlowRunFailed` is that exception: its text is the one-line
message, and the summary rides along for callers that read the state in process.
"""

from __future__ import annotations

from typing import Any


class FlowRunFailed(Exception):
    """A flow run that ended Failed: ``str()`` is the one-line reason, ``summary`` the run's counts."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message, summary or {})
        self.message = message
        self.summary: dict[str, Any] = dict(summary or {})

    def __str__(self) -> str:
        return self.message


def failed_state(message: str, summary: dict[str, Any] | None = None) -> Any:
    """A Failed state with ``message`` (folded to one line) and a :class:`FlowRunFailed` as its data."""
    from prefect.states import Failed

    line = " ".join(message.split())
    return Failed(message=line, data=FlowRunFailed(line, summary))


def flow_output(state: Any) -> dict[str, Any]:
    """What a finished flow run returned, as a dict, whether it Completed or Failed."""
    out = state.result(raise_on_failure=False)
    if isinstance(out, dict):
        return out
    if isinstance(out, FlowRunFailed):
        return {"status": "FAILED", **out.summary, "message": out.message}
    return {"status": state.type.value, "message": state.message or str(out or "")}
