"""Configuration with one documented precedence:

    defaults < config file (ocrflow.toml, or the file named by OCRFLOW_CONFIG) < environment (OCRFLOW_*)
    < explicit arguments (CLI options / flow parameters)

Nothing reads settings at import time: call ``load_settings()``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    """A setting, option or parameter is wrong: the run stops before any document is touched."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", extra="ignore", env_ignore_empty=True)

    store: str = Field("data/ocrflow.duckdb", description="DuckDB path or postgresql:// URL")
    contracts_dir: Path | None = Field(None, description="folder of ODCS contract YAML files")
    contract: str = Field("auto", description="contract name, or 'auto' to pick per document")
    engine: Literal["auto", "embedded", "vllm"] = "auto"
    renderer: Literal["pypdfium2", "pdf2image"] = "pypdfium2"
    dpi: int = Field(150, ge=36, le=600)
    max_long_side: int = Field(2048, ge=256, le=10000, description="cap on the page image's long side (px)")
    max_image_bytes: int = Field(4 * 1024 * 1024, description="cap on one encoded page image")
    jpeg_quality: int = Field(90, ge=30, le=100)
    day_first: bool = Field(True, description="read 03/04/2024 as 3 April")
    use_text_layer: bool = True
    use_embedded_xml: bool = Field(True, description="read ZUGFeRD/Factur-X XML embedded in PDFs")
    max_pages: int = Field(0, ge=0, description=(
        "hard limit on pages per document; 0 = none (read whole, page by page). A longer document is not "
        "read at all: it is failed with its page count, never loaded as if complete"))
    max_file_bytes: int = Field(512 * 1024 * 1024, ge=0, description=(
        "larger input files are refused unread (error_code file_too_large); 0 = no cap"))
    max_page_pixels: int = Field(200_000_000, ge=1_000_000, description=(
        "decompression-bomb guard: an image page with more pixels is refused (decompression_bomb); a PDF page "
        "is rendered at a lower resolution instead"))
    follow_symlinks_outside_root: bool = Field(False, description=(
        "follow symbolic links that lead out of the input folder (default: refused, target never opened)"))
    pdf_password: SecretStr | None = Field(None, description="password for encrypted PDFs (an empty user "
                                                             "password opens without it)")
    max_failed: str = Field("1%", pattern=r"^\s*(\d+|\d*\.\d+|\d+(\.\d+)?%)\s*$", description=(
        "error budget: a run with at most this many failed documents (a count like 5, or a fraction of the "
        "run's documents like 1% or 0.01) is COMPLETED, its failures listed; beyond it the run is FAILED"))
    glob: str = "**/*"
    force: bool = False
    documents_in_flight: int = Field(0, ge=0, le=256, description=(
        "documents processed at once; 0 = per engine: 2 for embedded (CPU-bound), for vLLM 1.25 x "
        "vllm_max_in_flight + 2 (each document waits on its requests; enough of them keep the server full)"))

    vllm_url: str = Field("", description="comma-separated base URLs of vLLM replicas")
    vllm_model: str = "tencent/HunyuanOCR"
    vllm_api_key: SecretStr | None = None
    vllm_max_in_flight: int = Field(64, ge=1, description=(
        "requests on the wire at once, all replicas together: the deployment's capacity (the sum of the "
        "replicas' --max-num-seqs); the documents in flight follow it"))
    vllm_timeout_s: float = Field(120.0, gt=0)
    vllm_verify_tls: bool = True
    vllm_profile: str = Field("", description="model profile name; derived from the model when empty")
    prompts_dir: Path | None = Field(None, description="folder of prompt files (default: the repo's prompts/)")
    vllm_cache: bool = Field(True, description="reuse stored answers for the same page, model, prompt, schema")
    cache_url: SecretStr | None = Field(None, description="redis:// URL of a result cache shared by workers "
                                                          "(docs/engines.md); unset: the store's page_cache")
    data_docs_keep_runs: int = Field(30, ge=1, description="Data Docs: the validation pages of this many latest "
                                                           "runs are kept in the store's site (docs/scaling.md)")
    data_docs_keep_days: int = Field(0, ge=0, description="Data Docs: pages of runs older than this many days are "
                                                          "removed too (0: no age limit)")

    def __repr_args__(self) -> Any:
        """repr/str show the store URL without its password (the secrets are SecretStr already)."""
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "store" and isinstance(value, str) else value

    def resolved_engine(self) -> Literal["embedded", "vllm"]:
        if self.engine == "auto":
            return "vllm" if self.vllm_url.strip() else "embedded"
        return self.engine

    def resolved_documents_in_flight(self) -> int:
        if self.documents_in_flight:
            return self.documents_in_flight
        if self.resolved_engine() == "vllm":  # enough documents that requests wait on the engine, not on them
            return -(-self.vllm_max_in_flight * 5 // 4) + 2
        return DOCUMENTS_IN_FLIGHT[self.resolved_engine()]

    def resolved_batch_size(self, batch_size: int | None = None) -> int:
        """Documents per write transaction: as given, else enough to keep every in-flight slot busy."""
        return batch_size if batch_size else max(DEFAULT_BATCH_SIZE, self.resolved_documents_in_flight())


DOCUMENTS_IN_FLIGHT = {"embedded": 2}
"""Default documents processed at once per engine; vLLM's follow its capacity (BENCHMARKS.md, bench_pipeline_vllm)."""
DEFAULT_BATCH_SIZE = 16


def _config_file_values(path: Path | None) -> dict[str, Any]:
    candidate = path or (Path(os.environ["OCRFLOW_CONFIG"]) if os.environ.get("OCRFLOW_CONFIG") else None)
    if candidate is None:
        candidate = Path("ocrflow.toml")
        if not candidate.is_file():
            return {}
    if not candidate.is_file():
        raise FileNotFoundError(f"config file {candidate} not found")
    data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    return dict(data.get("ocrflow", data))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings: defaults < config file < environment < ``overrides`` (None values ignored).

    A bad value anywhere raises ConfigError naming the setting and where it came from, in one line."""
    file_values = _config_file_values(config_file)
    try:
        env_only = Settings.model_validate({})  # defaults + environment
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, "environment", "OCRFLOW_")) from None
    env_set = {k for k in Settings.model_fields if f"OCRFLOW_{k.upper()}" in os.environ}
    merged: dict[str, Any] = {**file_values}
    merged.update({k: getattr(env_only, k) for k in env_set})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, "settings", "")) from None


def _one_line(exc: ValidationError, where: str, prefix: str) -> str:
    """``OCRFLOW_DPI='abc': Input should be a valid integer`` instead of pydantic's multi-line dump."""
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "?"
        shown = f"{prefix}{name.upper()}" if prefix else name
        problems.append(f"{shown}={err.get('input')!r}: {err['msg']}")
    return f"bad {where} value: " + "; ".join(problems)


_URL_HEAD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)")


def redact_url(url: str) -> str:
    """``postgresql://user:***@host/db``: a URL without its password (in the user info or a
    ``password=`` query parameter), for messages, logs, artifacts. A raw ``@`` in the password is handled
    (the user info ends at the last ``@``), and so is an empty user name."""
    text = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)
    m = _URL_HEAD.match(text)
    if not m:
        return text
    userinfo, at, host = m[2].rpartition("@")
    if not at or ":" not in userinfo:
        return text
    return f"{m[1]}{userinfo.split(':', 1)[0]}:***@{host}{text[m.end():]}"


def url_secrets(url: str) -> list[str]:
    """The password of a URL, and its ``@``-separated pieces a parser may have split it into (4+ chars)."""
    m = _URL_HEAD.match(url)
    userinfo = m[2].rpartition("@")[0] if m else ""
    password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    found = [password] if password else []
    found += re.findall(r"(?i)[?&]password=([^&#]+)", url)
    found += [piece for p in list(found) for piece in p.split("@") if len(piece) >= 4]
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message, say) with every piece of ``url``'s password replaced by ***."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text
