"""The fake vLLM in a process of its own, so that it can die like a real server (``--crash-on-request``)
and be started again on the same port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class FakeVllmProcess:
    """``python -m tests.fakes.fake_vllm`` as a child process; ``start`` again after it died."""

    def __init__(self, *args: str) -> None:
        self.args = list(args)
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> FakeVllmProcess:
        """Start (or restart on the same port) with ``extra`` arguments for this life only."""
        self.stop()
        cmd = [sys.executable, "-m", "tests.fakes.fake_vllm", *self.args, *extra, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("URL "):
            self.stop()
            raise RuntimeError(f"fake vLLM process did not start: {line!r}")
        self.port = int(line.split()[1].rsplit(":", 1)[1])
        return self

    def wait_dead(self, timeout_s: float = 30.0) -> int:
        """The exit status of a process that crashed (or was told to)."""
        if self.proc is None:
            return 0
        return self.proc.wait(timeout=timeout_s)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            if proc.stdin:
                proc.stdin.close()  # the server serves until stdin closes
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        for stream in (proc.stdin, proc.stdout):
            if stream and not stream.closed:
                stream.close()

    def __enter__(self) -> FakeVllmProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
