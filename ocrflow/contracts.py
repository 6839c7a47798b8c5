"""Data contracts: Open Data Contract Standard (v3.1.0) YAML files -> typed specs.

The YAML file is the single source of truth. From it we derive the field list,
the coercion of each field, the embedded extractor's labels and heuristics, the
JSON Schema for structured output, the expectation suite and the table DDL.
ocrflow-specific hints live under ``customProperties`` (keys prefixed ``ocrflow``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

KINDS = ("text", "identifier", "money", "date", "currency", "tax_id", "list", "integer", "number")
LOGICAL_TO_KIND = {
    "date": "date", "number": "number", "integer": "integer", "array": "list", "string": "text",
}
RULE_ENGINE = "ocrflow"
"""ODCS ``quality`` entries with ``type: custom`` and this ``engine`` are ocrflow cross-field rules."""
RULE_KINDS = {"sum_equals": ("money", "number", "integer"), "not_before": ("date",)}
"""Cross-field rule kinds and the field kinds each accepts."""


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
        return {"type": "object", "title": self.name, "properties": props,
                "required": [f.name for f in self.fields], "additionalProperties": False}

    def schema_hash(self) -> str:
        import hashlib

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


def _custom(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {str(i.get("property")): i.get("value") for i in (items or [])}


def _labels(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContractError(f"{where}: ocrflowLabels must map a language code to a list of labels")
    return {str(lang): tuple(str(v) for v in (vals or [])) for lang, vals in value.items()}


def _field_from_property(prop: dict[str, Any], where: str) -> FieldSpec:
    name = prop.get("name")
    if not name or not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
        raise ContractError(f"{where}: property name {name!r} must be snake_case")
    custom = _custom(prop.get("customProperties"))
    logical = str(prop.get("logicalType", "string"))
    kind = str(custom.get("ocrflowKind") or LOGICAL_TO_KIND.get(logical, "text"))
    if kind not in KINDS:
        raise ContractError(f"{where}.{name}: unknown ocrflowKind {kind!r} (known: {', '.join(KINDS)})")
    opts = prop.get("logicalTypeOptions") or {}
    pattern = opts.get("pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ContractError(f"{where}.{name}: bad regex {pattern!r}: {exc}") from exc
    return FieldSpec(
        name=str(name), kind=kind, logical_type=logical,
        physical_type=str(prop.get("physicalType") or ""), required=bool(prop.get("required", False)),
        description=str(prop.get("description") or ""), pattern=pattern,
        minimum=opts.get("minimum"), maximum=opts.get("maximum"),
        allowed=tuple(str(v) for v in (prop.get("enum") or custom.get("ocrflowAllowed") or [])),
        unique=bool(prop.get("unique", False)),
        labels=_labels(custom.get("ocrflowLabels"), f"{where}.{name}"),
        heuristic=str(custom.get("ocrflowHeuristic") or ""),
    )


def parse_contract(doc: dict[str, Any], path: str = "<memory>") -> Contract:
    where = Path(path).name
    for top in ("apiVersion", "kind", "id", "name", "version", "schema"):
        if top not in doc:
            raise ContractError(f"{where}: missing top-level key {top!r}")
    schema = doc["schema"]
    if not isinstance(schema, list) or len(schema) != 1:
        raise ContractError(f"{where}: 'schema' must hold exactly one object (the extracted record)")
    obj = schema[0]
    props = obj.get("properties") or []
    fields = tuple(_field_from_property(p, where) for p in props)
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"{where}: duplicate field names {dupes}")
    custom = _custom(doc.get("customProperties"))
    key = tuple(custom.get("ocrflowBusinessKey") or ())
    unknown_key = [k for k in key if k not in names]
    if unknown_key:
        raise ContractError(f"{where}: business key names unknown fields {unknown_key}")
    version = str(doc["version"])
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ContractError(f"{where}: version {version!r} must be semantic (MAJOR.MINOR.PATCH)")
    desc = doc.get("description") or {}
    return Contract(
        name=str(doc["name"]), version=version, table=str(obj.get("physicalName") or doc["name"]),
        description=str(desc.get("purpose", "")) if isinstance(desc, dict) else str(desc),
        fields=fields, keywords=_labels(custom.get("ocrflowKeywords"), where), business_key=key,
        path=str(path), rules=parse_rules(obj.get("quality"), fields, where),
    )


def parse_rules(quality: Any, fields: tuple[FieldSpec, ...], where: str) -> tuple[Rule, ...]:
    """Cross-field rules from a schema object's ODCS ``quality`` list; other entries are ignored."""
    if quality is None:
        return ()
    if not isinstance(quality, list):
        raise ContractError(f"{where}: schema 'quality' must be a list")
    return tuple(
        _rule(q, fields, f"{where}: quality[{i}]")
        for i, q in enumerate(quality)
        if isinstance(q, dict) and q.get("type") == "custom" and q.get("engine") == RULE_ENGINE
    )


def _rule(entry: dict[str, Any], fields: tuple[FieldSpec, ...], where: str) -> Rule:
    impl = entry.get("implementation")
    if not isinstance(impl, dict):
        raise ContractError(f"{where}: implementation must be a mapping with a 'rule' key")
    kind = str(impl.get("rule") or "")
    if kind == "sum_equals":
        names, target = impl.get("fields"), impl.get("equals")
    elif kind == "not_before":
        names, target = [impl.get("field")], impl.get("reference")
    else:
        raise ContractError(f"{where}: unknown rule {kind!r} (known: {', '.join(RULE_KINDS)})")
    if not isinstance(names, list) or not names or target is None:
        raise ContractError(f"{where}: rule {kind!r} is missing its field names")
    kinds = {f.name: f.kind for f in fields}
    used = [str(n) for n in (*names, target)]
    bad = [n for n in used if kinds.get(n) not in RULE_KINDS[kind]]
    if bad:
        raise ContractError(f"{where}: rule {kind!r} needs fields of kind {RULE_KINDS[kind]}, not {bad}")
    tolerance = impl.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise ContractError(f"{where}: tolerance must be a number >= 0, not {tolerance!r}")
    return Rule(kind=kind, fields=tuple(used[:-1]), target=used[-1], tolerance=float(tolerance),
                name=str(entry.get("name") or kind), description=str(entry.get("description") or ""))


def validate_odcs(doc: dict[str, Any], path: str) -> None:
    """Check a contract strictly against the ODCS JSON Schema bundled with the package."""
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard

    raw = OpenDataContractStandard.json_schema()
    schema = json.loads(raw) if isinstance(raw, str) else raw
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        msgs = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:160]}" for e in errors[:5])
        raise ContractError(f"{Path(path).name}: not valid ODCS: {msgs}")


def load_contract(path: Path, *, strict: bool = True) -> Contract:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path.name}: YAML error: {exc}") from exc
    if not isinstance(doc, dict):
        raise ContractError(f"{path.name}: a contract must be a YAML mapping")
    if strict:
        validate_odcs(doc, str(path))
    return parse_contract(doc, str(path))


def default_contracts_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data_contracts"


@cache
def _load_dir_cached(directory: str, mtimes: tuple[tuple[str, float], ...]) -> dict[str, Contract]:
    out: dict[str, Contract] = {}
    for name, _ in mtimes:
        c = load_contract(Path(directory) / name)
        if c.name in out:
            raise ContractError(f"{name}: contract name {c.name!r} is already used by {out[c.name].path}")
        out[c.name] = c
    return out


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """All contracts in a folder, keyed by name (re-read when a file changes)."""
    d = (directory or default_contracts_dir()).resolve()
    if not d.is_dir():
        raise ContractError(f"contracts folder {d} does not exist")
    files = sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml"))
    return _load_dir_cached(str(d), tuple((p.name, p.stat().st_mtime) for p in files))


def pick_contract(text: str, contracts: dict[str, Contract]) -> Contract | None:
    """Choose a contract by its declared keywords (whole-word, case-insensitive)."""
    low = text.lower()
    best: tuple[float, Contract] | None = None
    for c in contracts.values():
        score = 0.0
        for words in c.keywords.values():
            for w in words:
                hits = len(re.findall(keyword_regex(w), low))
                if hits:
                    score += min(hits, 5) * (1 + len(w.split()))
        if score > 0 and (best is None or score > best[0]):
            best = (score, c)
    return best[1] if best else None


def keyword_regex(word: str) -> str:
    """Whole-word regex for Latin words; plain substring for CJK (no word spaces there)."""
    w = re.escape(word.lower())
    left = r"(?<![a-z0-9])" if word[:1].isascii() and word[:1].isalnum() else ""
    right = r"(?![a-z0-9])" if word[-1:].isascii() and word[-1:].isalnum() else ""
    return left + w + right
