"""The strict check of a contract document against the ODCS JSON Schema bundled with its package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ocrflow.contracts.model import ContractError


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
