"""Property tests (hypothesis) of model-output parsing: whatever a model writes, the parsers do not crash,
spotting boxes stay inside the page, a JSON reply is a dict or a terminal engine error, and a loop found
is really a repetition at the end of the text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ocrflow.engines.base import TerminalEngineError
from ocrflow.engines.vllm.output import detect_loop, parse_json_object, parse_spotting

FAST = settings(max_examples=200, deadline=None)

COORD = st.one_of(st.integers(min_value=0, max_value=5000).map(str),
                  st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda f: f"{f:.2f}"),
                  st.text(alphabet="0123456789", min_size=1, max_size=400))
WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@st.composite
def spotting_text(draw: st.DrawFn) -> str:
    """Items ``text(x1,y1),(x2,y2)`` (coordinates anywhere, even far off the 0-1000 grid), plain lines
    without coordinates, and noise, in any order."""
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        kind = draw(st.sampled_from(["item", "plain", "noise"]))
        if kind == "item":
            x1, y1, x2, y2 = (draw(COORD) for _ in range(4))
            parts.append(f"{draw(WORDS)}({x1},{y1}),({x2},{y2})")
        elif kind == "plain":
            parts.append(draw(WORDS))
        else:
            parts.append(draw(st.text(alphabet="(),.0123456789 \n", max_size=20)))
    return draw(st.sampled_from(["", "\n", " "])).join(parts)


@FAST
@given(text=spotting_text() | st.text(max_size=200), width=st.integers(min_value=1, max_value=8000),
       height=st.integers(min_value=1, max_value=8000))
@example(text="a(0,0),(1000,1000)", width=100, height=50)
@example(text="big(99999,99999),(123456,0)\nplain line", width=640, height=480)
def test_parse_spotting_never_crashes_and_boxes_stay_inside_the_image(text: str, width: int, height: int) -> None:
    lines = parse_spotting(text, width, height)
    for line in lines:
        assert isinstance(line.text, str) and line.text == line.text.strip() and line.text
        x1, y1, x2, y2 = line.bbox
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height, (line, width, height)
    words = "".join(text.split())
    assert all("".join(line.text.split()) in words for line in lines)  # nothing invented


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@FAST
@given(text=st.text(max_size=300))
@example(text="[" * 5000)
@example(text="{" + '"a":{' * 5000)
@example(text='{"n": ' + "9" * 5000 + "}")
@example(text="```json\n{\"a\": 1}\n```")
def test_parse_json_object_returns_a_dict_or_a_terminal_error(text: str) -> None:
    try:
        value = parse_json_object(text)
    except TerminalEngineError:
        return
    assert isinstance(value, dict)


@FAST
@given(obj=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5),
       wrap=st.sampled_from(["bare", "fence", "prose"]))
def test_a_json_object_in_a_reply_is_read_back(obj: dict[str, Any], wrap: str) -> None:
    body = json.dumps(obj, ensure_ascii=False)
    text = {"bare": body, "fence": f"Here it is:\n```json\n{body}\n```\n", "prose": f"Result: {body} (done)"}[wrap]
    assert parse_json_object(text) == obj


@FAST
@given(prefix=st.text(max_size=200), unit=st.text(min_size=1, max_size=12), repeats=st.integers(0, 60),
       tail=st.text(max_size=40))
def test_detect_loop_never_crashes_and_a_loop_it_reports_is_real(prefix: str, unit: str, repeats: int,
                                                                 tail: str) -> None:
    text = prefix + unit * repeats + tail
    found = detect_loop(text)
    if found is None:
        return
    body = text.rstrip()
    assert found.unit and 0 <= found.start < len(body)
    loop = body[found.start:]
    assert found.repeats >= 10 and len(loop) >= 120
    period = len(found.unit)
    assert all(loop[i] == loop[i + period] for i in range(len(loop) - period))  # a true repetition
    assert len(found.trimmed(text)) <= len(body)


@FAST
@given(unit=st.text(min_size=1, max_size=20).filter(lambda u: u.strip() == u and len(set(u)) > 1))
def test_a_long_repetition_is_found(unit: str) -> None:
    copies = max(12, 130 // len(unit) + 2)
    assert detect_loop("Total 12.50\n" + unit * copies) is not None
