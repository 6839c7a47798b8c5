"""Typed flow parameters: Prefect turns these into the run form in the UI (enums, defaults, bounds, help).

A parameter that names a data contract is a string whose JSON Schema lists the contracts found when the
schema is built: ``prefect deploy`` builds it, so the run form offers the deployed contracts as a choice
list and the server refuses any other value (``enforce_parameter_schema``). A contract added later
appears after the next ``prefect deploy`` (deploy/prefect/setup.sh). A direct call of a flow is not
checked by a schema: the run itself checks the name against the contracts it loads
(``ocrflow.run.lifecycle.check_contract_setting``) and stops with one line, its ``runs`` row closed FAILED.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

log = logging.getLogger("ocrflow.flows")

EngineName = Literal["auto", "embedded", "vllm"]
"""auto: vLLM when OCRFLOW_VLLM_URL is set, the embedded CPU engine otherwise."""


def contract_names() -> list[str]:
    """The contracts a flow run would load now (settings' contracts_dir), sorted; [] if they do not load."""
    from ocrflow.contracts import ContractError, load_contracts
    from ocrflow.core.settings import ConfigError, load_settings

    try:
        return sorted(load_contracts(load_settings().contracts_dir))
    except (ContractError, ConfigError, OSError) as exc:
        log.warning("contract parameters get no choice list: the contracts do not load: %s", exc)
        return []


class ContractChoice:
    """Pydantic metadata for a contract-name string: validated as ``str``; its JSON Schema enumerates the
    contracts (plus ``auto`` where allowed) at the moment the schema is built, never at import."""

    def __init__(self, *, allow_auto: bool) -> None:
        self.allow_auto = allow_auto

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return handler(source)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        out: dict[str, Any] = dict(handler(schema))
        names = contract_names()
        if names:
            out["enum"] = (["auto"] if self.allow_auto else []) + names
        return out


ContractName = Annotated[str, ContractChoice(allow_auto=True)]
"""A data contract's name, or auto (pick one per document)."""
ContractFilter = Annotated[str, ContractChoice(allow_auto=False)]
"""A data contract's name (a selection: the quarantine of one contract)."""


class ClaimOptions(BaseModel):
    """How this run shares an inbox with other runs (PostgreSQL store: per-document claims)."""

    model_config = ConfigDict(extra="forbid")

    ttl_s: float = Field(default=900.0, gt=0, le=86400,
                         description="a claim expires after this many seconds if its worker dies; it must "
                                     "exceed the time one batch takes")
    worker: str = Field(default="", description="claim owner name; empty: host:pid:flow-run")


class Inbox(BaseModel):
    """Where new documents arrive."""

    model_config = ConfigDict(extra="forbid")

    root: str = Field(default="inbox", description="folder or fsspec URL scanned for new documents")
    glob: str = Field(default="**/*", description="glob filter inside the folder")


class Processing(BaseModel):
    """How documents are processed and where rows go."""

    model_config = ConfigDict(extra="forbid")

    contract: ContractName = Field(default="auto", description="data contract name, or auto to pick one per document")
    engine: EngineName = Field(default="auto", description="auto | embedded (CPU) | vllm (OCRFLOW_VLLM_URL)")
    store: str | None = Field(default=None, description="DuckDB path or postgresql:// URL; empty: $OCRFLOW_STORE")
    force: bool = Field(default=False, description="re-process documents already loaded")
    batch_size: int = Field(default=0, ge=0, le=1000, description="documents written per transaction; 0: at "
                            "least 16 and at least the documents in flight (2 embedded, 32 vLLM)")


class FanOut(BaseModel):
    """How the nightly run splits work across workers."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["auto", "deployments", "in-process"] = Field(
        default="auto", description="deployments: one process-documents deployment run per chunk, picked up by any "
                            "worker; in-process: sub-flows here; auto: deployments when the deployment exists")
    deployment: str = Field(default="process-documents/process-documents",
                            description="the deployment each chunk is submitted to (flow/deployment)")
    docs_per_run: int = Field(default=200, ge=1, le=100000, description="documents per child flow run")
    wait_timeout_s: int = Field(default=6 * 3600, ge=1, description="how long to wait for all child runs")


class QuarantineSelection(BaseModel):
    """Which quarantined documents to re-run."""

    model_config = ConfigDict(extra="forbid")

    contract: ContractFilter | None = Field(default=None, description="only this contract's quarantine; empty: all")
    limit: int | None = Field(default=None, ge=1, description="at most this many documents; empty: all")
    engine: EngineName = Field(default="auto", description="engine for the re-run")
    store: str | None = Field(default=None, description="DuckDB path or postgresql:// URL; empty: $OCRFLOW_STORE")
    from_stored_pages: bool = Field(
        default=True, description="re-extract from the stored page text (a contract or label fix; no OCR, no GPU); "
                                  "off: re-run OCR/VLM from the source files (a prompt or engine fix)")
