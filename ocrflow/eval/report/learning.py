"""The learning curve of ``ocrflow eval --simulate-review`` in the terminal and in the HTML report.

Accuracy and corrections per document by position in an issuer's series (1, 2, 3, 4+), with and without
memory, overall and per split part; the gain of fourth-and-later documents over first ones; the harm check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from ocrflow.eval.report.charts import EXACT_COLOR, SOFT_COLOR, _figure, png_base64
from ocrflow.eval.simulate_figures import POSITIONS

AIM_ACCURACY = 0.95
AIM_CORRECTIONS = 0.2
"""An issuer's 4th and later documents: exact field accuracy and corrections per document (issue 20)."""


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def curve_rows(section: Mapping[str, Any]) -> list[list[str]]:
    """One row per position: documents, accuracy with / without memory, soft accuracy, corrections per document
    with / without memory."""
    rows = []
    mine, other = section.get("by_position") or {}, (section.get("without_memory") or {}).get("by_position") or {}
    for p in POSITIONS:
        a, b = mine.get(p) or {}, other.get(p) or {}
        rows.append([p, str(a.get("documents", 0)), _num(a.get("accuracy")), _num(b.get("accuracy")),
                     _num(a.get("soft_accuracy")), _num(a.get("corrections"), 2), _num(b.get("corrections"), 2)])
    return rows


HEADERS = ["position", "documents", "exact, memory", "exact, no memory", "similar, memory",
           "corrections/doc, memory", "corrections/doc, no memory"]


def print_learning(console: Console, section: Mapping[str, Any]) -> None:
    """The learning curve, per part, the gain and the harm check, as terminal tables."""
    console.print(f"\n[bold]Simulated review[/bold]: {section.get('documents', 0)} documents of "
                  f"{section.get('issuers', 0)} issuers, each scored before its corrections")
    parts = {"all": section, **(section.get("parts") or {})}
    for name, part in parts.items():
        table = Table(*HEADERS, title=f"learning curve ({name})")
        for row in curve_rows(part):
            table.add_row(*row)
        console.print(table)
    gain, harm = section.get("gain") or {}, section.get("harm") or {}
    first, later = gain.get("first") or {}, gain.get("fourth_and_later") or {}
    console.print(f"gain on {gain.get('issuers', 0)} issuers with 4+ documents: first {_num(first.get('accuracy'))} "
                  f"-> 4th and later {_num(later.get('accuracy'))} exact; corrections/doc "
                  f"{_num(first.get('corrections'), 2)} -> {_num(later.get('corrections'), 2)} "
                  f"(aim >= {AIM_ACCURACY}, <= {AIM_CORRECTIONS})", highlight=False)
    f = harm.get("first_documents") or {}
    console.print(f"harm: first documents {_num((f.get('with_memory') or {}).get('accuracy'))} with others' memory, "
                  f"{_num((f.get('without_memory') or {}).get('accuracy'))} without; {f.get('values_changed', 0)} "
                  f"value(s) changed, {len(harm.get('leaks') or [])} leak(s)", highlight=False)


def learning_chart(section: Mapping[str, Any]) -> str:
    """Accuracy (lines) and corrections per document (bars) by position, with and without memory (base64 PNG)."""
    mine, other = section.get("by_position") or {}, (section.get("without_memory") or {}).get("by_position") or {}
    xs = list(range(len(POSITIONS)))
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    bars = ax.twinx()
    for offset, data, color, label in ((-0.18, mine, EXACT_COLOR, "with memory"),
                                       (0.18, other, SOFT_COLOR, "without memory")):
        bars.bar([x + offset for x in xs], [float((data.get(p) or {}).get("corrections") or 0) for p in POSITIONS],
                 width=0.34, color=color, alpha=0.35, label=f"corrections/doc, {label}")
        acc = [(data.get(p) or {}).get("accuracy") for p in POSITIONS]
        ax.plot(xs, [float("nan") if a is None else float(a) for a in acc], marker="o", color=color,
                label=f"exact accuracy, {label}")
    ax.axhline(AIM_ACCURACY, linestyle=":", color="#276749", label=f"aim {AIM_ACCURACY} (4+)")
    ax.set_xticks(xs, [f"{p}\n({(mine.get(p) or {}).get('documents', 0)} docs)" for p in POSITIONS])
    ax.set_xlabel("position of the document in its issuer's series")
    ax.set_ylabel("exact field accuracy")
    ax.set_ylim(0, 1.05)
    bars.set_ylabel("corrections per document")
    bars.set_ylim(0, max(2.0, max(float((d.get(p) or {}).get("corrections") or 0) for d in (mine, other)
                                  for p in POSITIONS) * 1.2))
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title("Learning from corrections: accuracy and reviewer's work by position")
    fig.legend(loc="outside lower center", ncols=3, fontsize="x-small")
    return png_base64(fig)


def learning_context(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the report's learning section shows, None when the run simulated no review."""
    section = report.get("review_simulation")
    if not section:
        return None
    parts = {"all": section, **(section.get("parts") or {})}
    return {"section": section, "chart": learning_chart(section), "headers": HEADERS,
            "tables": {name: curve_rows(part) for name, part in parts.items()}, "gain": section.get("gain") or {},
            "harm": section.get("harm") or {}, "aims": {"accuracy": AIM_ACCURACY, "corrections": AIM_CORRECTIONS}}
