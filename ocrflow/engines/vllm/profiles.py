"""Per-model request profiles: prompt set, sampling extras, token budgets.

The transport is model-agnostic; what differs between OCR VLMs lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ocrflow.engines.base import Task, TerminalEngineError


def _ro(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True, slots=True)
class ModelProfile:
    name: str
    prompt_set: str
    extra_body: Mapping[str, Any] = field(default_factory=lambda: _ro({}))
    max_tokens: Mapping[Task, int] = field(default_factory=lambda: _ro({}))
    default_max_tokens: int = 4096
    retry_factor: int = 2
    max_tokens_cap: int = 16384
    system_prompt: str = ""
    structured_output: bool = True
    spotting_special_tokens: bool = False
    """The spotting answer's markup is made of special tokens (HunyuanOCR: ``<ref>``, ``</ref>``, ``<quad>``,
    ``</quad>``) that vLLM drops unless asked: spotting requests say ``skip_special_tokens: false``."""

    def tokens_for(self, task: Task) -> int:
        return int(self.max_tokens.get(task, self.default_max_tokens))

    def retry_tokens_for(self, task: Task) -> int:
        return min(self.tokens_for(task) * self.retry_factor, self.max_tokens_cap)


_OCR_BUDGET = _ro({Task.OCR: 6144, Task.SPOT: 6144, Task.PARSE: 6144, Task.EXTRACT: 2048})

HUNYUANOCR_1_5 = ModelProfile(
    name="hunyuanocr-1.5", prompt_set="hunyuanocr",
    extra_body=_ro({"top_k": -1, "repetition_penalty": 1.08}), max_tokens=_OCR_BUDGET, spotting_special_tokens=True)
HUNYUANOCR = ModelProfile(name="hunyuanocr", prompt_set="hunyuanocr", max_tokens=_OCR_BUDGET,
                          spotting_special_tokens=True)
QWEN_VL = ModelProfile(name="qwen-vl", prompt_set="instruct", max_tokens=_OCR_BUDGET)

PROFILES: dict[str, ModelProfile] = {p.name: p for p in (HUNYUANOCR_1_5, HUNYUANOCR, QWEN_VL)}


def _derive(model: str) -> ModelProfile:
    key = model.lower().replace("_", ".")
    if "hunyuanocr" in key:
        return HUNYUANOCR_1_5 if "1.5" in key else HUNYUANOCR
    return QWEN_VL


def profile_for(model: str, name: str = "") -> ModelProfile:
    """The named profile, or the one derived from the model id when ``name`` is empty.

    Unknown models get the free-instruction profile (works with any instruction-tuned VLM).
    """
    if not name:
        return _derive(model)
    try:
        return PROFILES[name]
    except KeyError:
        raise TerminalEngineError(
            f"unknown vLLM profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
