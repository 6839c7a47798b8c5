"""Pick the engine from settings: vLLM when configured (or asked for), the embedded CPU engine otherwise."""

from __future__ import annotations

from ocrflow.core.settings import Settings
from ocrflow.engines.base import Engine
from ocrflow.engines.limits import Limiter


def make_engine(settings: Settings, *, limiter: Limiter | None = None) -> Engine:
    """``limiter``: the fleet-wide bound a vLLM engine holds per request (the flows pass Prefect's)."""
    kind = settings.resolved_engine()
    if kind == "vllm":
        if not settings.vllm_url.strip():
            raise ValueError("--engine vllm needs OCRFLOW_VLLM_URL (comma-separated base URLs of vLLM replicas)")
        from ocrflow.engines.vllm import make_vllm_engine

        return make_vllm_engine(settings, limiter=limiter)
    from ocrflow.engines.embedded import EmbeddedEngine, EmbeddedOptions

    return EmbeddedEngine(EmbeddedOptions.from_settings(settings))
