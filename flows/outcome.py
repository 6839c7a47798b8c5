"""How a flow run ends: Completed with the run's summary, Failed with a one-line message, or Cancelled (a
SIGINT / SIGTERM, e.g. a cancel from the UI) - the data of the last two is an exception carrying the summary.

Prefect resolves a Failed state's data into an exception whenever the state's result is asked for (a
worker does this at the end of every flow run). Data that is a plain dict cannot be resolved and Prefect
logged ``TypeError: Unexpected result for failed state: {...} dict cannot be resolved into an
exception`` instead of the reason. :class:`FlowRunFailed` is that exception: its text is the one-line
message, and the summary rides along for callers that read the state in process.

The summary is ``ocrflow.run.summary.summary_json``: the same JSON ``ocrflow run --json`` prints, with the
exit code the run calls for (``ocrflow run --prefect`` exits with it).
"""

from __future__ import annotations

from typing import Any

from ocrflow.run.summary import RunSummary, summary_json


class FlowRunFailed(Exception):
    """A flow run that ended Failed or Cancelled: ``str()`` is the one-line reason, ``summary`` the counts."""

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


def final_state(summary: RunSummary) -> Any:
    """The flow's return value for a run: its summary (Completed), or a Failed / Cancelled state naming why."""
    out = summary_json(summary)
    if summary.status == "COMPLETED":
        return out
    if summary.status == "CANCELLED":
        from prefect.states import Cancelled

        line = " ".join(summary.message.split())
        return Cancelled(message=line, data=FlowRunFailed(line, out))
    return failed_state(summary.message, out)


def flow_output(state: Any) -> dict[str, Any]:
    """What a finished flow run returned, as a dict, whether it Completed, Failed or was Cancelled."""
    out = state.result(raise_on_failure=False)
    if isinstance(out, dict):
        return out
    if isinstance(out, FlowRunFailed):
        return {"status": "FAILED", **out.summary, "message": out.message}
    return {"status": state.type.value, "message": state.message or str(out or "")}


def exit_code(state: Any, out: dict[str, Any]) -> int:
    """The exit code of ``ocrflow run`` for this flow run (the summary's; 0 / 1 when the run left none)."""
    code = out.get("exit_code")
    return int(code) if isinstance(code, int) else (0 if state.is_completed() else 1)
