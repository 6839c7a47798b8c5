"""Typed flow parameters: Prefect turns these into the run form in the UI (enums, defaults, bounds, help).

``process-documents`` takes ``paths`` and ``options``: ocrflow.run.params.RunParams, the options of
``ocrflow run`` (one object for the CLI and the flow). A parameter that names a data contract is a string
whose JSON Schema lists the contracts found when the schema is built: ``prefect deploy`` builds it, so the
run form offers the deployed contracts as a choice list and the server refuses any other value
(``enforce_parameter_schema``). A contract added later appears after the next ``prefect deploy``
(deploy/prefect/setup.sh). A direct call of a flow is not checked by a schema: the run itself checks the
name against the contracts it loads (``ocrflow.run.lifecycle.check_contract_setting``) and stops with one
line, its ``runs`` row closed FAILED.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ocrflow.run.params import ContractFilter, ContractName, EngineName, RunParams

__all__ = ["ContractFilter", "ContractName", "EngineName", "FanOut", "Inbox", "QuarantineSelection", "RunParams"]


class Inbox(BaseModel):
    """Where new documents arrive."""

    model_config = ConfigDict(extra="forbid")

    root: str = Field(default="inbox", description="folder or fsspec URL scanned for new documents")
    glob: str = Field(default="**/*", description="glob filter inside the folder")


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
