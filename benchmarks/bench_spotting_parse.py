"""Spotting-output parsing time against answer length: the pattern in use vs the earlier one.

The earlier pattern began with a lazy ``(?P<text>.*?)`` before the coordinate pair, so on text without
coordinates every start position rescanned the rest of the answer (quadratic). The parser now matches
only the pair and takes each item's text from between two pairs. Answers: plain lines (a model that
ignores the coordinate format), a truncated coordinate run, and well-formed items.

    .venv/bin/python -m benchmarks.bench_spotting_parse [--chars 16000]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from ocrflow.engines.vllm.output import _SPOT_RE, parse_spotting

EARLIER = re.compile(r"(?P<text>.*?)\(\s*(?P<x1>\d+(?:\.\d+)?)\s*,\s*(?P<y1>\d+(?:\.\d+)?)\s*\)\s*,\s*"
                     r"\(\s*(?P<x2>\d+(?:\.\d+)?)\s*,\s*(?P<y2>\d+(?:\.\d+)?)\s*\)", re.DOTALL)


def _earlier(text: str) -> int:
    return sum(1 for _ in EARLIER.finditer(text))


def _now(text: str) -> int:
    return sum(1 for _ in _SPOT_RE.finditer(text))


def _seconds(fn: Callable[[str], object], text: str) -> float:
    t0 = time.perf_counter()
    fn(text)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=16000)
    n = parser.parse_args().chars
    answers = {
        "plain lines": ("TOTAL 12.00 RM\n" * (n // 15 + 1))[:n],
        "truncated pairs": ("(1,2),(3," * (n // 9 + 1))[:n],
        "boxed items": ("ITEM 1.00(100,200),(300,250)\n" * (n // 29 + 1))[:n],
    }
    print(f"{'answer':<16} {'chars':>7} {'match earlier s':>16} {'match now s':>12} {'ratio':>7} {'parse now s':>12}")
    for name, text in answers.items():
        before, now = _seconds(_earlier, text), _seconds(_now, text)
        full = _seconds(lambda t: parse_spotting(t, 1000, 1000), text)
        print(f"{name:<16} {len(text):>7} {before:>16.4f} {now:>12.4f} {before / max(now, 1e-6):>6.0f}x {full:>12.4f}")

if __name__ == "__main__":
    main()
