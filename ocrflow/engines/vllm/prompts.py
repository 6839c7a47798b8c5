"""Versioned prompt files (prompts/manifest.yaml) -> rendered prompt text + version string.

A prompt version is ``<set>-v<version>+<sha256(template)[:12]>``: the explicit version says
what was meant, the hash proves which bytes were sent. Both go on every result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocrflow.engines.base import Task, TerminalEngineError

FIELDS_PLACEHOLDER = "{fields}"
TEMPLATE_TASKS: dict[Task, str] = {
    Task.OCR: "spot",
    Task.SPOT: "spot",
    Task.PARSE: "parse",
    Task.EXTRACT: "extract",
}


def default_prompts_dir() -> Path:
    """``prompts/`` at the repository root (next to the ``ocrflow`` package)."""
    return Path(__file__).resolve().parents[3] / "prompts"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    set_name: str
    version: str
    language: str
    kind: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def version_tag(self) -> str:
        return f"{self.set_name}-v{self.version}+{self.sha256[:12]}"


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    text: str
    version: str


def format_fields(fields: tuple[str, ...] | list[str]) -> str:
    """The field list as the official HunyuanOCR template writes it: ``['a','b']``."""
    return "[" + ",".join(f"'{name}'" for name in fields) + "]"


class PromptLibrary:
    """All templates of a manifest, loaded once."""

    def __init__(self, templates: dict[tuple[str, str, str], PromptTemplate]) -> None:
        self._templates = templates

    @property
    def sets(self) -> set[str]:
        return {key[0] for key in self._templates}

    def template(self, set_name: str, task: Task, language: str) -> PromptTemplate:
        kind = TEMPLATE_TASKS[task]
        lang = "zh" if language.lower().startswith("zh") else "en"
        found = self._templates.get((set_name, lang, kind)) or self._templates.get((set_name, "en", kind))
        if found is None:
            raise TerminalEngineError(f"prompt set {set_name!r} has no {kind!r} template for {lang!r}")
        return found

    def render(self, set_name: str, task: Task, language: str,
               fields: tuple[str, ...] = ()) -> RenderedPrompt:
        tpl = self.template(set_name, task, language)
        text = tpl.text
        if FIELDS_PLACEHOLDER in text:
            if not fields:
                raise TerminalEngineError(f"task {task.value!r} needs a field list (EngineRequest.fields)")
            text = text.replace(FIELDS_PLACEHOLDER, format_fields(fields))
        return RenderedPrompt(text=text, version=tpl.version_tag)


def _read_manifest(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise TerminalEngineError(f"prompt manifest {path} not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("sets"), dict):
        raise TerminalEngineError(f"{path}: expected a mapping with a 'sets' mapping")
    return data


def _load_set(root: Path, name: str, spec: dict[str, Any]) -> dict[tuple[str, str, str], PromptTemplate]:
    version = str(spec.get("version", "0"))
    out: dict[tuple[str, str, str], PromptTemplate] = {}
    for lang, kinds in (spec.get("templates") or {}).items():
        for kind, rel in (kinds or {}).items():
            file = root / str(rel)
            if not file.is_file():
                raise TerminalEngineError(f"prompt set {name!r}: template file {file} not found")
            text = file.read_text(encoding="utf-8").strip()
            out[(name, str(lang), str(kind))] = PromptTemplate(name, version, str(lang), str(kind), text)
    return out


def load_prompt_library(root: Path | None = None) -> PromptLibrary:
    """Read ``manifest.yaml`` under ``root`` (default: the repository's ``prompts/``)."""
    base = root or default_prompts_dir()
    manifest = _read_manifest(base / "manifest.yaml")
    templates: dict[tuple[str, str, str], PromptTemplate] = {}
    for name, spec in manifest["sets"].items():
        templates.update(_load_set(base, str(name), spec or {}))
    return PromptLibrary(templates)
