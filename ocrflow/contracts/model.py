"""Data contracts: Open Data Contract Standard (v3.1.0) YAML files -> typed specs.

The YAML file is the single source of truth. From it we derive the field list,
the coercion of each field, the embedded extractor's labels and heuristics, the
JSON Schema for structured output, the expectation suite and the table DDL.
ocrflow-specific hints live under ``customProperties`` (keys prefixed ``ocrflow``).

This module holds the typed model (:class:`Contract`, :class:`FieldSpec`, :class:`Rule`) and the
vocabulary a contract may use; reading files is in ``parse``/``load``, checking them in ``lint``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("text", "identifier", "money", "date", "currency", "tax_id", "list", "integer", "number")
LOGICAL_TO_KIND = {
    "date": "date", "number": "number", "integer": "integer", "array": "list", "string": "text",
}
RULE_ENGINE = "ocrflow"
"""ODCS ``quality`` entries with ``type: custom`` and this ``engine`` are ocrflow cross-field rules."""
RULE_KINDS = {"sum_equals": ("money", "number", "integer"), "not_before": ("date",)}
"""Cross-field rule kinds and the field kinds each accepts."""
LOGICAL_TYPES = tuple(LOGICAL_TO_KIND)
"""ODCS logicalTypes a contract field may use (the ones with a field kind)."""
PHYSICAL_TYPE = re.compile(
    r"(?i)(VARCHAR|TEXT|STRING|DATE|TIMESTAMP|TIMESTAMPTZ|BOOLEAN|SMALLINT|INTEGER|INT|BIGINT|REAL|FLOAT"
    r"|DOUBLE|DOUBLE PRECISION|JSON|JSONB)"
    r"|(DECIMAL|NUMERIC)\(\d+,\s*\d+\)|VARCHAR\(\d+\)|(VARCHAR|TEXT)\[\]")
"""physicalTypes the stores understand (DuckDB and PostgreSQL spellings)."""
FIELD_CUSTOM_KEYS = ("ocrflowKind", "ocrflowLabels", "ocrflowHeuristic", "ocrflowAllowed", "ocrflowMinConfidence",
                     "ocrflowMinConfidenceFitted")
CONTRACT_CUSTOM_KEYS = ("ocrflowKeywords", "ocrflowBusinessKey", "ocrflowMinConfidence")
OBJECT_CUSTOM_KEYS = ("ocrflowRole",)
LINES_ROLE = "lines"
"""``ocrflowRole`` of the optional second schema object: the document's line items (one row per line)."""
LINES_KEY = "line_items"
"""Name of the line-item array in the extraction JSON Schema and in raw extracted values."""
HEURISTIC_NAMES = ("top_lines", "address_block", "largest_amount", "first_date", "effective_date",
                   "governing_law", "term", "parties", "title_number", "title_date")
"""Values ``ocrflowHeuristic`` may take: the document-level heuristics of the embedded extractor
(``ocrflow.pipeline.extract.heuristics.HEURISTICS`` implements exactly these names)."""


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: str
    logical_type: str
    physical_type: str
    required: bool
    description: str = ""
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    unique: bool = False
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    heuristic: str = ""
    min_confidence: float | None = None
    """``ocrflowMinConfidence``: values under it go to review (None: the contract's policy)."""
    min_confidence_fitted: dict[str, float] = field(default_factory=dict)
    """``ocrflowMinConfidenceFitted``: engine -> the minimum the gate chose on that engine's fit values; for those
    engines' values it replaces ``min_confidence`` (ocrflow.contracts.policy)."""

    def all_labels(self) -> list[str]:
        """Every label in every language, longest first (most specific wins)."""
        out = {lab.lower() for labs in self.labels.values() for lab in labs}
        return sorted(out, key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class Rule:
    """A cross-field rule: an ODCS ``quality`` entry of ``type: custom``, ``engine: ocrflow``.

    ``sum_equals``: sum of ``fields`` equals ``target`` within ``tolerance`` (when all are present).
    ``not_before``: ``fields[0]`` is on or after ``target`` (when both are present).
    """

    kind: str
    fields: tuple[str, ...]
    target: str
    tolerance: float = 0.0
    name: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Contract:
    name: str
    version: str
    table: str
    description: str
    fields: tuple[FieldSpec, ...]
    keywords: dict[str, tuple[str, ...]]
    business_key: tuple[str, ...]
    path: str
    rules: tuple[Rule, ...] = ()
    lines: tuple[FieldSpec, ...] = ()
    """Columns of one line item (the second schema object, ``ocrflowRole: lines``); empty: no line items."""
    lines_table: str = ""
    """That object's ``physicalName`` (``invoice_line``); the store adds ``_vN`` like the header table."""
    min_confidence: float | None = None
    """``ocrflowMinConfidence`` of the contract: the minimum confidence of any value (None: no policy)."""

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"contract {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one extracted record (sent to vLLM as structured output)."""
        props: dict[str, Any] = {}
        for f in self.fields:
            props[f.name] = _field_json_schema(f)
        if self.lines:
            props[LINES_KEY] = self.lines_json_schema()
        return {"type": "object", "title": self.name, "properties": props,
                "required": list(props), "additionalProperties": False}

    def lines_json_schema(self) -> dict[str, Any]:
        """JSON Schema of the line-item array (every line an object of the line columns)."""
        cols = [f for f in self.lines if f.name != "line_no"]
        item = {"type": "object", "properties": {f.name: _field_json_schema(f) for f in cols},
                "required": [f.name for f in cols], "additionalProperties": False}
        return {"type": "array", "items": item,
                "description": "Every line item of the document, in order, one object per row of the table."}

    @property
    def line_names(self) -> list[str]:
        return [f.name for f in self.lines]

    def schema_hash(self) -> str:
        blob = json.dumps(self.json_schema(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _field_json_schema(f: FieldSpec) -> dict[str, Any]:
    base: dict[str, Any]
    if f.kind == "list":
        base = {"type": "array", "items": {"type": "string"}}
    elif f.kind in ("money", "number"):
        base = {"type": "number"}
    elif f.kind == "integer":
        base = {"type": "integer"}
    else:
        base = {"type": "string"}
        if f.kind == "date":
            base["description"] = "ISO date YYYY-MM-DD"
        if f.pattern:
            base["pattern"] = f.pattern
    if f.description:
        base["description"] = (base.get("description", "") + " " + f.description).strip()
    return {"anyOf": [base, {"type": "null"}]}
