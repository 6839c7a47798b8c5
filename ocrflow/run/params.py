"""RunParams: every option of ``ocrflow run``, one object shared by the CLI and the ``process-documents`` flow.

``ocrflow run PATHS [options]`` builds one from its command line; ``ocrflow run --prefect`` hands the same
object to the flow, and a deployment's form (the Prefect UI, ``prefect deployment run --param``) fills it
as the flow's ``options`` parameter. Each field means the same in both places; None means "not given":
the config file, the environment (OCRFLOW_*) and the defaults decide (ocrflow.core.settings).

A field that names a data contract is a string whose JSON Schema lists the contracts found when the schema
is built (``prefect deploy`` builds it), so the run form offers them as a choice list.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

from ocrflow.core.settings import Settings, load_settings
from ocrflow.run.lifecycle import RunOptions
from ocrflow.run.stopping import StopRequest

log = logging.getLogger("ocrflow")

EngineName = Literal["auto", "embedded", "vllm"]
"""auto: vLLM when OCRFLOW_VLLM_URL is set, the embedded CPU engine otherwise."""


def contract_names() -> list[str]:
    """The contracts a run would load now (settings' contracts_dir), sorted; [] if they do not load."""
    from ocrflow.contracts import ContractError, load_contracts
    from ocrflow.core.settings import ConfigError

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


class RunParams(BaseModel):
    """How to run: the options of ``ocrflow run`` (same names, same meaning, same exit codes with --prefect)."""

    model_config = ConfigDict(extra="forbid")

    contract: ContractName | None = Field(default=None, description="data contract name, or auto to pick one "
                                                                     "per document [OCRFLOW_CONTRACT]")
    engine: EngineName | None = Field(default=None, description="auto | embedded (CPU) | vllm (OCRFLOW_VLLM_URL)")
    store: str | None = Field(default=None, description="DuckDB path or postgresql:// URL [OCRFLOW_STORE]")
    renderer: Literal["pypdfium2", "pdf2image"] | None = Field(default=None, description="PDF rasterizer")
    dpi: int | None = Field(default=None, description="rasterization DPI (36-600)")
    glob: str | None = Field(default=None, description="glob filter inside folders (default **/*)")
    force: bool = Field(default=False, description="re-process documents already loaded")
    day_first: bool | None = Field(default=None, description="read 03/04/2024 as 3 April (false: March 4)")
    no_einvoice: bool = Field(default=False, description="ignore e-invoice XML embedded in PDFs")
    config: str | None = Field(default=None, description="ocrflow.toml config file")
    max_failed: str | None = Field(default=None, description="error budget: failed + unmatched documents a run "
                                   "may have and still be COMPLETED: a count (5) or a fraction (1%, 0.01)")
    batch_size: int | None = Field(default=None, ge=1, le=100_000, description="documents per write "
                                   "transaction (default: at least 16 and at least the documents in flight)")
    claim_ttl_s: float = Field(default=900.0, ge=1.0, le=86_400, description="PostgreSQL: seconds a worker's "
                               "claim on a document lasts; a dead worker's documents are taken over after it")
    worker: str = Field(default="", description="claim owner name; empty: host:pid:run")
    fail_on_empty: bool = Field(default=False, description="an input with no documents at all fails the run "
                                "(exit 1), for cron")

    def setting_overrides(self) -> dict[str, Any]:
        """The settings these options override (None: not given)."""
        return {"contract": self.contract, "engine": self.engine, "store": self.store, "renderer": self.renderer,
                "dpi": self.dpi, "glob": self.glob, "force": self.force or None, "day_first": self.day_first,
                "use_embedded_xml": False if self.no_einvoice else None, "max_failed": self.max_failed}

    def settings(self) -> Settings:
        """defaults < config file < environment < these options (raises ConfigError, FileNotFoundError)."""
        return load_settings(Path(self.config) if self.config else None, **self.setting_overrides())

    def run_options(self, *, flow_run_id: str = "", stop: StopRequest | None = None) -> RunOptions:
        return RunOptions(flow_run_id=flow_run_id, batch_size=self.batch_size, worker=self.worker,
                          claim_ttl_s=self.claim_ttl_s, stop=stop, fail_on_empty=self.fail_on_empty,
                          keep_results=False, gx_process=True)
