"""Building the chat request and turning a completion into an EngineResult."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ocrflow.engines.base import EngineRequest, EngineResult, Task
from ocrflow.engines.vllm.errors import ModelOutputError
from ocrflow.engines.vllm.image import EncodedImage
from ocrflow.engines.vllm.output import (
    detect_loop,
    drop_unknown,
    has_box,
    markdown_lines,
    parse_json_object,
    schema_violations,
    spotting_lines,
)
from ocrflow.engines.vllm.profiles import ModelProfile
from ocrflow.engines.vllm.prompts import RenderedPrompt

ENGINE_NAME = "vllm"
FLAG_LOOP = "looping_output"
FLAG_TRUNCATED = "truncated_output"
FLAG_RETRIED = "retried_larger_max_tokens"
FLAG_DOWNSCALED = "image_downscaled"
FLAG_SCHEMA = "schema_violation"
FLAG_NO_BOXES = "spotting_without_boxes"
"""Spotting output with lines that had no coordinates: kept unboxed (``output.NO_BOX``), page flagged."""
FLAG_EXTRA_FIELDS = "extra_fields_dropped"
"""Extraction output with keys nobody asked for: dropped before anything sees them, named in the flag."""
SPECIAL_TOKENS_TAG = "+special-tokens"
"""Appended to the prompt version of a request that keeps special tokens (its answer differs: cache keys too)."""
IMAGE_SLOT = "\x00ocrflow:page-image\x00"
"""Where the page's data URL goes in the messages; ``encode_body`` splices the URL in as bytes."""
_IMAGE_SLOT_JSON = json.dumps(IMAGE_SLOT)[1:-1]


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    request: EngineRequest
    prompt: RenderedPrompt
    image: EncodedImage
    messages: list[dict[str, Any]]
    response_format: dict[str, Any] | None
    decoding: Mapping[str, Any] = field(default_factory=dict)
    """Sampling parameters of this request beyond the profile's (``decoding_for``)."""


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    replica: str


def completion_from(response: Any, replica: str) -> Completion:
    """The first choice of a chat completion (the answer's JSON); anything else (a proxy's HTML page...) is
    terminal."""
    try:
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "", finish_reason=str(choice.get("finish_reason") or ""),
            prompt_tokens=int(usage.get("prompt_tokens", 0) or 0),
            completion_tokens=int(usage.get("completion_tokens", 0) or 0), replica=replica)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ModelOutputError(f"vLLM {replica} returned no usable chat completion: {str(response)[:200]!r}",
                                replica=replica) from exc


def build_messages(system_prompt: str, image_url: str, prompt: str) -> list[dict[str, Any]]:
    """System message (empty for HunyuanOCR), then one user turn: image first, text second."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": image_url}},
            {"type": "text", "text": prompt},
        ]},
    ]


def response_format_for(request: EngineRequest, profile: ModelProfile) -> dict[str, Any] | None:
    """vLLM structured output (``response_format`` json_schema) for extraction requests."""
    if request.task != Task.EXTRACT or not request.json_schema or not profile.structured_output:
        return None
    name = str(request.json_schema.get("title") or "extraction")
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64] or "extraction"
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": request.json_schema}}


def decoding_for(request: EngineRequest, profile: ModelProfile) -> dict[str, Any]:
    """``skip_special_tokens: false`` for a spotting request to a model whose spotting markup is special tokens
    (vLLM's default drops them, and the coordinates with them); nothing otherwise."""
    if request.task in (Task.SPOT, Task.OCR) and profile.spotting_special_tokens:
        return {"skip_special_tokens": False}
    return {}


def encode_body(body: Mapping[str, Any], image_url: str) -> bytes:
    """The JSON request body, with ``image_url`` where ``body`` holds ``IMAGE_SLOT`` (exactly once).

    The page's data URL is most of a request (~0.3 MB); splicing it in as bytes spares the JSON encoder a
    scan of it per request. A data URL is ``data:image/...;base64,`` and base64: nothing in it needs escaping."""
    text = json.dumps(body, separators=(",", ":"))
    head, found, tail = text.partition(_IMAGE_SLOT_JSON)
    if not found or _IMAGE_SLOT_JSON in tail:
        raise ValueError("the request body must hold the image slot exactly once")
    return b"".join((head.encode("ascii"), image_url.encode("ascii"), tail.encode("ascii")))


def output_problem(completion: Completion) -> str | None:
    """``looping_output`` / ``truncated_output`` when the reply needs a second try."""
    if detect_loop(completion.text) is not None:
        return FLAG_LOOP
    if completion.finish_reason == "length":
        return FLAG_TRUNCATED
    return None


def _trim(text: str, spotting: bool) -> str:
    """The text up to a loop plus one copy of the repeated unit; for spotting, a unit without coordinates
    (a repeated table cell) is dropped whole rather than kept as an unboxed line."""
    loop = detect_loop(text)
    if loop is None:
        return text
    if spotting and not has_box(loop.unit):
        return text[:loop.start].rstrip()
    return loop.trimmed(text)


@dataclass(frozen=True, slots=True)
class ResultMeta:
    model: str
    latency_s: float
    flags: tuple[str, ...]
    problem: str | None


def build_result(prep: PreparedRequest, completion: Completion, meta: ResultMeta) -> EngineResult:
    """Parse the reply for the task; trimmed/truncated replies are marked ``is_fallback``."""
    spotting = prep.request.task in (Task.SPOT, Task.OCR)
    text = _trim(completion.text, spotting) if meta.problem else completion.text
    flags = list(meta.flags)
    if meta.problem:
        flags.append(meta.problem)
    if prep.image.downscaled:
        flags.append(FLAG_DOWNSCALED)
    req = prep.request
    lines: tuple[Any, ...] = ()
    fields: dict[str, Any] | None = None
    if req.task in (Task.SPOT, Task.OCR):
        spotted = spotting_lines(text, req.image.width, req.image.height)
        lines = tuple(spotted.lines)
        text = "\n".join(line.text for line in lines)
        if spotted.unboxed:
            flags.append(f"{FLAG_NO_BOXES}:{spotted.unboxed}/{len(lines)}")
    elif req.task == Task.PARSE:
        lines = tuple(markdown_lines(text))
    else:
        fields, dropped = drop_unknown(parse_json_object(text), req.json_schema, req.fields)
        if dropped:
            flags.append(f"{FLAG_EXTRA_FIELDS}:{'|'.join(dropped)}")
        flags.extend(f"{FLAG_SCHEMA}:{v}" for v in schema_violations(fields, req.json_schema))
    return EngineResult(
        lines=lines, text=text, engine=ENGINE_NAME, model=meta.model, prompt_version=prep.prompt.version,
        fields=fields, latency_s=meta.latency_s, prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens, replica=completion.replica,
        is_fallback=meta.problem is not None, flags=tuple(flags))
