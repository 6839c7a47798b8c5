"""Typed flow parameters: Prefect turns these into the run form in the UI (enums, defaults, bounds, help)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EngineName = Literal["auto", "embedded", "vllm"]
"""auto: vLLM when OCRFLOW_VLLM_URL is set, the embedded CPU engine otherwise."""


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

    contract: str = Field(default="auto", description="data contract name, or auto to pick one per document")
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

    contract: str | None = Field(default=None, description="only this contract's quarantine; empty: all")
    limit: int | None = Field(default=None, ge=1, description="at most this many documents; empty: all")
    engine: EngineName = Field(default="auto", description="engine for the re-run")
    store: str | None = Field(default=None, description="DuckDB path or postgresql:// URL; empty: $OCRFLOW_STORE")
    from_stored_pages: bool = Field(
        default=True, description="re-extract from the stored page text (a contract or label fix; no OCR, no GPU); "
                                  "off: re-run OCR/VLM from the source files (a prompt or engine fix)")
