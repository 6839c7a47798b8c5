"""The report's charts as base64 PNG (matplotlib with the Agg backend, imported only when a chart is drawn)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXACT_COLOR = "#2b6cb0"
SOFT_COLOR = "#90cdf4"


def _figure(width: float, height: float) -> Figure:
    """A figure that needs no display (the object-oriented API: no pyplot state, safe in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: PNG without any display or GUI toolkit
    return fig


def png_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def accuracy_bars(title: str, groups: Mapping[str, Mapping[str, Any]]) -> str:
    """Horizontal bars of exact and soft accuracy per group (``field_accuracy``, ``soft_field_accuracy``)."""
    names = list(groups)
    fig = _figure(7.5, 0.9 + 0.32 * max(1, len(names)))
    ax = fig.add_subplot()
    ys = list(range(len(names)))
    exact = [float(groups[n].get("field_accuracy", 0.0)) for n in names]
    soft = [float(groups[n].get("soft_field_accuracy", 0.0)) for n in names]
    ax.barh([y + 0.2 for y in ys], soft, height=0.4, color=SOFT_COLOR, label="similarity >= 0.9")
    ax.barh([y - 0.2 for y in ys], exact, height=0.4, color=EXACT_COLOR, label="exact")
    labels = [f"{n} ({groups[n].get('labelled', 0)})" for n in names]
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy (labelled values in brackets)")
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small")
    return png_base64(fig)


def reliability_diagram(buckets: Sequence[Mapping[str, Any]], ece: float) -> str:
    """Accuracy against mean confidence per confidence bucket, the diagonal of perfect calibration, counts."""
    fig = _figure(5.5, 4.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#718096", label="perfect calibration")
    for b in buckets:
        low, high = float(b["low"]), float(b["high"])
        ax.bar(low, float(b["accuracy"]), width=high - low, align="edge", color=EXACT_COLOR, alpha=0.75,
               edgecolor="white")
        ax.annotate(str(b["n"]), (low + (high - low) / 2, float(b["accuracy"])), ha="center", va="bottom",
                    fontsize="x-small")
    if buckets:
        ax.plot([float(b["confidence"]) for b in buckets], [float(b["accuracy"]) for b in buckets],
                marker="o", color="#c05621", label="mean confidence of the bucket")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence")
    ax.set_ylabel("share of values matching gold (similarity >= 0.9)")
    ax.set_title(f"Reliability (ECE {ece:.3f}; values per bucket on the bars)")
    ax.legend(loc="lower right", fontsize="small")
    return png_base64(fig)
