"""Run-time helpers shared by the flows: settings from deployment env, secrets, engine, claims, run names.

Nothing here runs at import time; every Prefect import is local so that ``ocrflow`` stays Prefect-free.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocrflow.core.settings import Settings, load_settings
from ocrflow.engines.base import Engine

log = logging.getLogger("ocrflow.flows")

VLLM_SECRET_BLOCK = "ocrflow-vllm-api-key"
"""Prefect Secret block holding the vLLM API key (``prefect block create secret`` or the UI)."""


def drop_empty_env(prefix: str = "OCRFLOW_") -> list[str]:
    """Unset ``OCRFLOW_*`` variables that are empty or an unresolved ``{{ ... }}`` template.

    A deployment's job variables set ``OCRFLOW_VLLM_URL: "{{ prefect.variables.ocrflow_vllm_url }}"``; an
    unset Prefect variable resolves to "" at deploy time, which must mean "not configured" (the default),
    not "the empty string". Returns the names removed.
    """
    removed = []
    for key, value in list(os.environ.items()):
        v = value.strip()
        if key.startswith(prefix) and (not v or (v.startswith("{{") and v.endswith("}}"))):
            del os.environ[key]
            removed.append(key)
    return removed


def flow_settings(config: str | None = None, **params: Any) -> Settings:
    """Settings for a flow run: defaults < config file < env (job variables) < flow parameters < secret."""
    removed = drop_empty_env()
    if removed:
        log.info("ignoring empty settings from the environment: %s", ", ".join(removed))
    settings = load_settings(Path(config) if config else None, **params)
    if settings.resolved_engine() == "vllm" and settings.vllm_api_key is None:
        key = vllm_api_key_from_secret()
        if key:
            settings = settings.model_copy(update={"vllm_api_key": key})
    return settings


def vllm_api_key_from_secret(block_name: str = VLLM_SECRET_BLOCK) -> Any:
    """The vLLM API key from the Prefect Secret block, or None when the block does not exist."""
    from pydantic import SecretStr

    try:
        from prefect.blocks.system import Secret

        block: Any = Secret.load(block_name)
        value = block.get()
    except ValueError:  # block (or its type) not registered on this server
        return None
    if not value:
        return None
    return SecretStr(str(value))


def flow_engine(settings: Settings) -> Engine:
    """The engine for a flow run, as ``ocrflow run`` makes it (a vLLM engine without a URL is a configuration
    error); vLLM requests hold slots of the ``vllm`` global concurrency limit (flows/limiter.py)."""
    from ocrflow.core.settings import ConfigError
    from ocrflow.engines.factory import make_engine

    limiter = None
    if settings.resolved_engine() == "vllm":
        from flows.limiter import prefect_limiter

        limiter = prefect_limiter()
    try:
        return make_engine(settings, limiter=limiter)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def source_label(paths: Sequence[str], limit: int = 40) -> str:
    """A short, readable name for the inputs of a run: ``inbox`` or ``invoice.pdf+3``."""
    if not paths:
        return "nothing"
    first = str(paths[0]).rstrip("/")
    name = Path(first).name or first
    label = name if len(paths) == 1 else f"{name}+{len(paths) - 1}"
    return label[:limit]


def today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"


def run_name(prefix: str, paths: Sequence[str]) -> str:
    """``<prefix>-<UTC date>-<source>``: what the run did and when, readable in the UI's run list."""
    return f"{prefix}-{today()}-{source_label(paths)}"
