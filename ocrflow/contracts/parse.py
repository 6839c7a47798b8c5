"""ODCS documents (already read from YAML) -> :class:`~ocrflow.contracts.model.Contract`.

``field_problems`` lists every problem of one property; the parsers raise the first as a
:class:`~ocrflow.contracts.model.ContractError` naming the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ocrflow.contracts.identifiers import name_problems
from ocrflow.contracts.model import (
    CONTRACT_CUSTOM_KEYS,
    FIELD_CUSTOM_KEYS,
    KINDS,
    LINES_ROLE,
    LOGICAL_TO_KIND,
    LOGICAL_TYPES,
    OBJECT_CUSTOM_KEYS,
    PHYSICAL_TYPE,
    RULE_ENGINE,
    RULE_KINDS,
    Contract,
    ContractError,
    FieldSpec,
    Rule,
)
from ocrflow.contracts.policy import fitted_min_confidence, fitted_problem, min_confidence, min_confidence_problem


def custom_properties(items: list[dict[str, Any]] | None) -> dict[str, Any]:
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
    custom = custom_properties(prop.get("customProperties"))
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
    problems.extend(custom_key_problems(custom, FIELD_CUSTOM_KEYS, at))
    problems.extend(p for p in [min_confidence_problem(custom, at), fitted_problem(custom, at)] if p)
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


def custom_key_problems(custom: dict[str, Any], known: tuple[str, ...], at: str) -> list[str]:
    """ocrflow* custom properties that ocrflow does not know (usually a typo)."""
    return [f"{at}: unknown custom property {key!r} (known: {', '.join(known)})"
            for key in custom if key.startswith("ocrflow") and key not in known]


def field_from_property(prop: dict[str, Any], where: str) -> FieldSpec:
    problems = field_problems(prop, where)
    if problems:
        raise ContractError(problems[0])
    name = str(prop["name"])
    custom = custom_properties(prop.get("customProperties"))
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
        heuristic=str(custom.get("ocrflowHeuristic") or ""), min_confidence=min_confidence(custom),
        min_confidence_fitted=fitted_min_confidence(custom),
    )


def parse_contract(doc: dict[str, Any], path: str = "<memory>") -> Contract:
    where = Path(path).name
    for top in ("apiVersion", "kind", "id", "name", "version", "schema"):
        if top not in doc:
            raise ContractError(f"{where}: missing top-level key {top!r}")
    schema = doc["schema"]
    problem = schema_shape_problem(schema, where)
    if problem:
        raise ContractError(problem)
    obj = schema[0]
    props = obj.get("properties") or []
    fields = tuple(field_from_property(p, where) for p in props)
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"{where}: duplicate field names {dupes}")
    custom = custom_properties(doc.get("customProperties"))
    unknown_custom = custom_key_problems(custom, CONTRACT_CUSTOM_KEYS, where)
    if unknown_custom:
        raise ContractError(unknown_custom[0])
    policy = min_confidence_problem(custom, where)
    if policy:
        raise ContractError(policy)
    key = tuple(custom.get("ocrflowBusinessKey") or ())
    unknown_key = [k for k in key if k not in names]
    if unknown_key:
        raise ContractError(f"{where}: business key names unknown fields {unknown_key}")
    version = str(doc["version"])
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ContractError(f"{where}: version {version!r} must be semantic (MAJOR.MINOR.PATCH)")
    desc = doc.get("description") or {}
    lines = parse_lines(schema, where)
    names = doc_name_problems(doc, where, names, [f.name for f in lines])
    if names:
        raise ContractError(names[0])
    return Contract(
        name=str(doc["name"]), version=version, table=str(obj.get("physicalName") or doc["name"]),
        description=str(desc.get("purpose", "")) if isinstance(desc, dict) else str(desc),
        fields=fields, keywords=_labels(custom.get("ocrflowKeywords"), where), business_key=key,
        path=str(path), rules=parse_rules(obj.get("quality"), fields, where),
        lines=lines, lines_table=lines_table(schema), min_confidence=min_confidence(custom),
    )


def doc_name_problems(doc: dict[str, Any], where: str, fields: list[str], line_fields: list[str]) -> list[str]:
    """Identifier problems of a contract document's table, line table and field names (see ``identifiers``)."""
    schema = doc["schema"]
    table = schema[0].get("physicalName") or doc["name"]
    line_table = (lines_table(schema) or f"{table}_line") if len(schema) > 1 else None
    return name_problems(table, line_table, fields, line_fields, where)


def schema_shape_problem(schema: Any, where: str) -> str | None:
    """``schema`` holds the record, optionally followed by its line items (``ocrflowRole: lines``)."""
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2 or not all(isinstance(o, dict) for o in schema):
        return (f"{where}: 'schema' must hold the extracted record, optionally followed by one object "
                f"with ocrflowRole: {LINES_ROLE} (its line items)")
    roles = [custom_properties(o.get("customProperties")).get("ocrflowRole") for o in schema]
    unknown = custom_key_problems(custom_properties(schema[-1].get("customProperties")), OBJECT_CUSTOM_KEYS,
                                  f"{where}.{schema[-1].get('name')}")
    if unknown:
        return unknown[0]
    if roles[0] is not None or (len(schema) == 2 and roles[1] != LINES_ROLE):
        return (f"{where}: the second schema object must say ocrflowRole: {LINES_ROLE} "
                "(the first one is the record and has no role)")
    return None


def parse_lines(schema: list[dict[str, Any]], where: str) -> tuple[FieldSpec, ...]:
    """The line-item columns of the second schema object (empty without one); ``line_no`` comes first."""
    if len(schema) < 2:
        return ()
    obj = schema[1]
    at = f"{where}.{obj.get('name')}"
    fields = tuple(field_from_property(p, at) for p in (obj.get("properties") or []))
    names = [f.name for f in fields]
    if not names or names[0] != "line_no" or fields[0].kind != "integer":
        raise ContractError(f"{at}: the first line-item property must be line_no (integer, the row's position)")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"{at}: duplicate line-item names {dupes}")
    return fields


def lines_table(schema: list[dict[str, Any]]) -> str:
    if len(schema) < 2:
        return ""
    return str(schema[1].get("physicalName") or schema[1].get("name") or "")


def parse_rules(quality: Any, fields: tuple[FieldSpec, ...], where: str) -> tuple[Rule, ...]:
    """Cross-field rules from a schema object's ODCS ``quality`` list; other entries are ignored."""
    if quality is None:
        return ()
    if not isinstance(quality, list):
        raise ContractError(f"{where}: schema 'quality' must be a list")
    return tuple(
        parse_rule(q, fields, f"{where}: quality[{i}]")
        for i, q in enumerate(quality)
        if isinstance(q, dict) and q.get("type") == "custom" and q.get("engine") == RULE_ENGINE
    )


def parse_rule(entry: dict[str, Any], fields: tuple[FieldSpec, ...], where: str) -> Rule:
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
