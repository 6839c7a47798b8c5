"""Lint behind ``ocrflow contracts check``: every problem of every file, not only the first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ocrflow.contracts.model import (
    CONTRACT_CUSTOM_KEYS,
    HEURISTIC_NAMES,
    RULE_ENGINE,
    Contract,
    ContractError,
    FieldSpec,
)
from ocrflow.contracts.odcs import odcs_problems
from ocrflow.contracts.parse import (
    custom_key_problems,
    custom_properties,
    doc_name_problems,
    field_from_property,
    field_problems,
    parse_contract,
    parse_lines,
    parse_rule,
    schema_shape_problem,
)
from ocrflow.contracts.policy import min_confidence_problem


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
    """Lint every ``*.yaml``/``*.yml`` contract in a folder, including names and tables used by two files."""
    results: list[LintResult] = []
    owners: dict[str, Path] = {}
    tables: dict[tuple[str, int], Path] = {}
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml")):
        result = lint_file(path)
        c = result.contract
        if c is not None and c.name in owners:
            result = LintResult(path, None, (f"{path.name}: duplicate contract name "
                                             f"{c.name!r} (also used by {owners[c.name].name})",))
        elif c is not None and (c.table, c.major) in tables:
            result = LintResult(path, None, (f"{path.name}: table {c.table!r} (major version {c.major}) is "
                                             f"already the table of {tables[(c.table, c.major)].name}",))
        elif c is not None:
            owners[c.name] = path
            tables[(c.table, c.major)] = path
        results.append(result)
    return results


def lint_document(doc: dict[str, Any], where: str) -> list[str]:
    """ocrflow's own checks on a contract document (the ODCS schema check is separate)."""
    missing = [top for top in ("apiVersion", "kind", "id", "name", "version", "schema") if top not in doc]
    if missing:
        return [f"{where}: missing top-level key {m!r}" for m in missing]
    schema = doc["schema"]
    shape = schema_shape_problem(schema, where)
    if shape:
        return [shape]
    props = [p for p in (schema[0].get("properties") or []) if isinstance(p, dict)]
    problems = [m for p in props for m in field_problems(p, where)]
    names = [str(p.get("name")) for p in props]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"{where}: duplicate field names {dupes}")
    problems.extend(_contract_level_problems(doc, names, where))
    problems.extend(_heuristic_problems(props, where))
    fields = tuple(field_from_property(p, where) for p in props if not field_problems(p, where))
    broken = {str(p.get("name")) for p in props if field_problems(p, where)}
    problems.extend(_rule_problems(schema[0].get("quality"), fields, broken, where))
    problems.extend(_line_problems(schema, where))
    line_props = [p for p in ((schema[1].get("properties") or []) if len(schema) > 1 else []) if isinstance(p, dict)]
    problems.extend(doc_name_problems(doc, where, names, [str(p.get("name")) for p in line_props]))
    return problems


def _line_problems(schema: list[dict[str, Any]], where: str) -> list[str]:
    """Every problem of the line-item object's properties (none without one)."""
    if len(schema) < 2:
        return []
    at = f"{where}.{schema[1].get('name')}"
    props = [p for p in (schema[1].get("properties") or []) if isinstance(p, dict)]
    problems = [m for p in props for m in field_problems(p, at)]
    if problems:
        return problems
    try:
        parse_lines(schema, where)
    except ContractError as exc:
        return [str(exc)]
    return []


def _contract_level_problems(doc: dict[str, Any], names: list[str], where: str) -> list[str]:
    problems: list[str] = []
    custom = custom_properties(doc.get("customProperties"))
    problems.extend(custom_key_problems(custom, CONTRACT_CUSTOM_KEYS, where))
    problems.extend(p for p in [min_confidence_problem(custom, where)] if p)
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
    out: list[str] = []
    for p in props:
        name = custom_properties(p.get("customProperties")).get("ocrflowHeuristic")
        if name and name not in HEURISTIC_NAMES:
            out.append(f"{where}.{p.get('name')}: unknown ocrflowHeuristic {name!r} "
                       f"(known: {', '.join(sorted(HEURISTIC_NAMES))})")
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
                parse_rule(q, fields, f"{where}: quality[{i}]")
            except ContractError as exc:
                out.append(str(exc))
    return out
