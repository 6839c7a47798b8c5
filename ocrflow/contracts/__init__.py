"""Data contracts: Open Data Contract Standard (v3.1.0) YAML files -> typed specs.

- ``model``: :class:`Contract`, :class:`FieldSpec`, :class:`Rule`, the vocabulary, the JSON Schema;
- ``parse``: an ODCS document -> :class:`Contract`; ``odcs``: the strict ODCS JSON Schema check;
- ``load``: contract files and folders; ``lint``: ``ocrflow contracts check``;
- ``pick``: ``--contract auto`` by declared keywords (matching in :mod:`ocrflow.core.keywords`).
"""

from ocrflow.contracts.lint import LintResult, lint_dir, lint_document, lint_file
from ocrflow.contracts.load import default_contracts_dir, load_contract, load_contracts
from ocrflow.contracts.model import (
    CONTRACT_CUSTOM_KEYS,
    FIELD_CUSTOM_KEYS,
    HEURISTIC_NAMES,
    KINDS,
    LOGICAL_TO_KIND,
    LOGICAL_TYPES,
    PHYSICAL_TYPE,
    RULE_ENGINE,
    RULE_KINDS,
    Contract,
    ContractError,
    FieldSpec,
    Rule,
)
from ocrflow.contracts.odcs import odcs_problems, validate_odcs
from ocrflow.contracts.parse import field_problems, parse_contract, parse_rules
from ocrflow.contracts.pick import pick_contract
from ocrflow.core.keywords import keyword_regex

__all__ = [
    "CONTRACT_CUSTOM_KEYS",
    "FIELD_CUSTOM_KEYS",
    "HEURISTIC_NAMES",
    "KINDS",
    "LOGICAL_TO_KIND",
    "LOGICAL_TYPES",
    "PHYSICAL_TYPE",
    "RULE_ENGINE",
    "RULE_KINDS",
    "Contract",
    "ContractError",
    "FieldSpec",
    "LintResult",
    "Rule",
    "default_contracts_dir",
    "field_problems",
    "keyword_regex",
    "lint_dir",
    "lint_document",
    "lint_file",
    "load_contract",
    "load_contracts",
    "odcs_problems",
    "parse_contract",
    "parse_rules",
    "pick_contract",
    "validate_odcs",
]
