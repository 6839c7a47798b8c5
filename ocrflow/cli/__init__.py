"""ocrflow command line: run, query, export, eval, calibrate, demo-data, contracts, quarantine, reprocess, review,
memory.

One module per group of commands; each registers its commands on the shared Typer app.
"""

from __future__ import annotations

from ocrflow.cli import calibrate_cmd, data_cmds, eval_cmd, memory_cmd, quarantine_cmds, review_cmd, run_cmd
from ocrflow.cli.common import app

__all__ = ["app", "main"]
_COMMAND_MODULES = (run_cmd, data_cmds, eval_cmd, calibrate_cmd, quarantine_cmds, review_cmd, memory_cmd)


def main() -> None:
    app()
