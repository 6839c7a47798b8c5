"""VllmOptions: everything a VllmEngine is configured with, in one frozen, validated object.

Built from Settings in one place (``VllmOptions.from_settings``); tests and benchmarks build it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ocrflow.engines.base import TerminalEngineError
from ocrflow.engines.vllm.replicas import split_urls
from ocrflow.engines.vllm.resilience import RetryPolicy

if TYPE_CHECKING:
    from ocrflow.core.settings import Settings

DEFAULT_MODEL = "tencent/HunyuanOCR"


class VllmOptions(BaseModel):
    """How to reach the deployment, what to ask it and how hard to push it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: tuple[str, ...] = Field(description="base URLs of the replicas (a comma-separated string is split)")
    model: str = DEFAULT_MODEL
    api_key: SecretStr | None = None
    profile: str = Field(default="", description="model profile name; derived from the model when empty")
    max_in_flight: int = Field(default=64, ge=1, description="requests on the wire at once, all replicas together")
    timeout_s: float = Field(default=120.0, gt=0)
    verify_tls: bool = True
    max_long_side: int = Field(default=2048, ge=1, description="cap on the page image's long side (px)")
    max_image_bytes: int = Field(default=4 * 1024 * 1024, ge=1, description="cap on one encoded page image")
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    prompts_dir: Path | None = Field(default=None,
                                     description="folder of prompt files (default: the repo's prompts/)")
    retry: RetryPolicy = Field(default_factory=lambda: RetryPolicy())

    @field_validator("urls", mode="before")
    @classmethod
    def _split(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            urls = split_urls(value)
        elif isinstance(value, Sequence):
            urls = split_urls(",".join(str(v) for v in value))
        else:
            raise ValueError(f"urls: expected a string or a sequence of strings, got {type(value).__name__}")
        if not urls:
            raise TerminalEngineError("no vLLM URL configured (set OCRFLOW_VLLM_URL)")
        return tuple(urls)

    @property
    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> VllmOptions:
        """The options the pipeline uses; ``overrides`` (field name -> value) win."""
        values: dict[str, object] = {
            "urls": settings.vllm_url, "model": settings.vllm_model, "api_key": settings.vllm_api_key,
            "profile": settings.vllm_profile, "max_in_flight": settings.vllm_max_in_flight,
            "timeout_s": settings.vllm_timeout_s, "verify_tls": settings.vllm_verify_tls,
            "max_long_side": settings.max_long_side, "max_image_bytes": settings.max_image_bytes,
            "jpeg_quality": settings.jpeg_quality, "prompts_dir": settings.prompts_dir,
        }
        return cls.model_validate({**values, **overrides})
