"""Contract files and folders: read, check against ODCS, parse, cache by modification time."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from ocrflow.contracts.model import Contract, ContractError
from ocrflow.contracts.odcs import validate_odcs
from ocrflow.contracts.parse import parse_contract


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
    return Path(__file__).resolve().parents[2] / "data_contracts"


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
