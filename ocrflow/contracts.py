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
LOGICAL_TYPES = tuple(LOGICAL_TO_KIND)
"""ODCS logicalTypes a contract field may use (the ones with a field kind)."""
PHYSICAL_TYPE = re.compile(
    r"(?i)(VARCHAR|TEXT|STRING|DATE|TIMESTAMP|TIMESTAMPTZ|BOOLEAN|SMALLINT|INTEGER|INT|BIGINT|REAL|FLOAT"
    r"|DOUBLE|DOUBLE PRECISION|JSON|JSONB)"
    r"|(DECIMAL|NUMERIC)\(\d+,\s*\d+\)|VARCHAR\(\d+\)|(VARCHAR|TEXT)\[\]")
"""physicalTypes the stores understand (DuckDB and PostgreSQL spellings)."""
FIELD_CUSTOM_KEYS = ("ocrflowKind", "ocrflowLabels", "ocrflowHeuristic", "ocrflowAllowed")
CONTRACT_CUSTOM_KEYS = ("ocrflowKeywords", "ocrflowBusinessKey")


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


def field_problems(prop: dict[str, Any], where: str) -> list[str]:
    """Every problem with one ODCS property, as messages naming the file and the field."""
    name = prop.get("name")
    if not name or not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
        return [f"{where}: property name {name!r} must be snake_case"]
    at = f"{where}.{name}"
    custom = _custom(prop.get("customProperties"))
    logical = str(prop.get("logicalType", "string"))
    problems: list[str] = []
    if logical not in LOGICAL_TYPES:
        problems.append(f"{at}: unknown logicalType {logical!r} (known: {', '.join(LOGICAL_TYPES)})")
    kind = str(custom.get("ocrflowKind") or LOGICAL_TO_KIND.get(logical, "text"))
    if kind not in KINDS:
        problems.append(f"{at}: unknown ocrflowKind {kind!r} (known: {', '.join(KINDS)})")
    physical = prop.get("physicalType")
    if physical is not None and not PHYSICAL_TYPE.fullmatch(str(physical).strip()):
        problems.append(f"{at}: unknown physicalType {physical!r} (e.g. VARCHAR, DATE, DECIMAL(18,2), BIGINT, "
                        "DOUBLE, VARCHAR[])")
    problems.extend(_pattern_problems((prop.get("logicalTypeOptions") or {}).get("pattern"), at))
    problems.extend(_custom_key_problems(custom, FIELD_CUSTOM_KEYS, at))
    if custom.get("ocrflowLabels") is not None and not isinstance(custom.get("ocrflowLabels"), dict):
        problems.append(f"{at}: ocrflowLabels must map a language code to a list of labels")
    return problems


def _pattern_problems(pattern: Any, at: str) -> list[str]:
    if not pattern:
        return []
    try:
        re.compile(str(pattern))
    except re.error as exc:
        return [f"{at}: bad regex {pattern!r}: {exc}"]
    return []


def _custom_key_problems(custom: dict[str, Any], known: tuple[str, ...], at: str) -> list[str]:
    """ocrflow* custom properties that ocrflow does not know (usually a typo)."""
    return [f"{at}: unknown custom property {key!r} (known: {', '.join(known)})"
            for key in custom if key.startswith("ocrflow") and key not in known]


def _field_from_property(prop: dict[str, Any], where: str) -> FieldSpec:
    problems = field_problems(prop, where)
    if problems:
        raise ContractError(problems[0])
    name = str(prop["name"])
    custom = _custom(prop.get("customProperties"))
    logical = str(prop.get("logicalType", "string"))
    kind = str(custom.get("ocrflowKind") or LOGICAL_TO_KIND.get(logical, "text"))
    opts = prop.get("logicalTypeOptions") or {}
    return FieldSpec(
        name=name, kind=kind, logical_type=logical,
        physical_type=str(prop.get("physicalType") or ""), required=bool(prop.get("required", False)),
        description=str(prop.get("description") or ""), pattern=opts.get("pattern"),
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
    unknown_custom = _custom_key_problems(custom, CONTRACT_CUSTOM_KEYS, where)
    if unknown_custom:
        raise ContractError(unknown_custom[0])
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
    unknown = [n for n in used if n not in kinds]
    if unknown:
        raise ContractError(f"{where}: rule {kind!r} names unknown fields {unknown}")
    bad = [n for n in used if kinds.get(n) not in RULE_KINDS[kind]]
    if bad:
        raise ContractError(f"{where}: rule {kind!r} needs fields of kind {RULE_KINDS[kind]}, not {bad}")
    tolerance = impl.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise ContractError(f"{where}: tolerance must be a number >= 0, not {tolerance!r}")
    return Rule(kind=kind, fields=tuple(used[:-1]), target=used[-1], tolerance=float(tolerance),
                name=str(entry.get("name") or kind), description=str(entry.get("description") or ""))


def odcs_problems(doc: dict[str, Any], where: str) -> list[str]:
    """Every violation of the ODCS JSON Schema bundled with the package, as messages."""
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard

    raw = OpenDataContractStandard.json_schema()
    schema = json.loads(raw) if isinstance(raw, str) else raw
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    return [f"{where}: not valid ODCS: {'/'.join(map(str, e.path)) or '<root>'}: {e.message[:160]}"
            for e in errors]


def validate_odcs(doc: dict[str, Any], path: str) -> None:
    """Check a contract strictly against the ODCS JSON Schema bundled with the package."""
    problems = odcs_problems(doc, Path(path).name)
    if problems:
        prefix = f"{Path(path).name}: not valid ODCS: "
        raise ContractError(prefix + "; ".join(m.removeprefix(prefix) for m in problems[:5]))


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


# --------------------------------------------------------------------------- lint (`ocrflow contracts check`)


@dataclass(frozen=True, slots=True)
class LintResult:
    """The outcome of linting one contract file: the contract when it is clean, else the problems."""

    path: Path
    contract: Contract | None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def lint_file(path: Path) -> LintResult:
    """Lint one contract file, collecting every problem found (not only the first)."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return LintResult(path, None, (f"{path.name}: YAML error: {exc}",))
    if not isinstance(doc, dict):
        return LintResult(path, None, (f"{path.name}: a contract must be a YAML mapping",))
    problems = lint_document(doc, path.name) + odcs_problems(doc, path.name)
    if problems:
        return LintResult(path, None, tuple(dict.fromkeys(problems)))
    try:
        return LintResult(path, parse_contract(doc, str(path)))
    except ContractError as exc:
        return LintResult(path, None, (str(exc),))


def lint_dir(directory: Path) -> list[LintResult]:
    """Lint every ``*.yaml``/``*.yml`` contract in a folder, including names used by two files."""
    results: list[LintResult] = []
    owners: dict[str, Path] = {}
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml")):
        result = lint_file(path)
        if result.contract is not None and result.contract.name in owners:
            other = owners[result.contract.name].name
            result = LintResult(path, None, (f"{path.name}: duplicate contract name "
                                             f"{result.contract.name!r} (also used by {other})",))
        elif result.contract is not None:
            owners[result.contract.name] = path
        results.append(result)
    return results


def lint_document(doc: dict[str, Any], where: str) -> list[str]:
    """ocrflow's own checks on a contract document (the ODCS schema check is separate)."""
    missing = [top for top in ("apiVersion", "kind", "id", "name", "version", "schema") if top not in doc]
    if missing:
        return [f"{where}: missing top-level key {m!r}" for m in missing]
    schema = doc["schema"]
    if not isinstance(schema, list) or len(schema) != 1 or not isinstance(schema[0], dict):
        return [f"{where}: 'schema' must hold exactly one object (the extracted record)"]
    props = [p for p in (schema[0].get("properties") or []) if isinstance(p, dict)]
    problems = [m for p in props for m in field_problems(p, where)]
    names = [str(p.get("name")) for p in props]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"{where}: duplicate field names {dupes}")
    problems.extend(_contract_level_problems(doc, names, where))
    problems.extend(_heuristic_problems(props, where))
    fields = tuple(_field_from_property(p, where) for p in props if not field_problems(p, where))
    broken = {str(p.get("name")) for p in props if field_problems(p, where)}
    problems.extend(_rule_problems(schema[0].get("quality"), fields, broken, where))
    return problems


def _contract_level_problems(doc: dict[str, Any], names: list[str], where: str) -> list[str]:
    problems: list[str] = []
    custom = _custom(doc.get("customProperties"))
    problems.extend(_custom_key_problems(custom, CONTRACT_CUSTOM_KEYS, where))
    unknown_key = [k for k in (custom.get("ocrflowBusinessKey") or ()) if k not in names]
    if unknown_key:
        problems.append(f"{where}: business key names unknown fields {unknown_key}")
    keywords = custom.get("ocrflowKeywords")
    if keywords is not None and not isinstance(keywords, dict):
        problems.append(f"{where}: ocrflowKeywords must map a language code to a list of words")
    if not re.fullmatch(r"\d+\.\d+\.\d+", str(doc["version"])):
        problems.append(f"{where}: version {doc['version']!r} must be semantic (MAJOR.MINOR.PATCH)")
    return problems


def _heuristic_problems(props: list[dict[str, Any]], where: str) -> list[str]:
    from ocrflow.extract.heuristics import HEURISTICS

    out: list[str] = []
    for p in props:
        name = _custom(p.get("customProperties")).get("ocrflowHeuristic")
        if name and name not in HEURISTICS:
            out.append(f"{where}.{p.get('name')}: unknown ocrflowHeuristic {name!r} "
                       f"(known: {', '.join(sorted(HEURISTICS))})")
    return out


def _rule_names(entry: dict[str, Any]) -> set[str]:
    impl = entry.get("implementation")
    if not isinstance(impl, dict):
        return set()
    names = [*(impl.get("fields") or []), impl.get("equals"), impl.get("field"), impl.get("reference")]
    return {str(n) for n in names if n is not None}


def _rule_problems(quality: Any, fields: tuple[FieldSpec, ...], broken: set[str], where: str) -> list[str]:
    """Rule problems; rules that name a field already reported as broken are not checked again."""
    if quality is None:
        return []
    if not isinstance(quality, list):
        return [f"{where}: schema 'quality' must be a list"]
    out: list[str] = []
    for i, q in enumerate(quality):
        if isinstance(q, dict) and q.get("type") == "custom" and q.get("engine") == RULE_ENGINE:
            if _rule_names(q) & broken:
                continue
            try:
                _rule(q, fields, f"{where}: quality[{i}]")
            except ContractError as exc:
                out.append(str(exc))
    return out
