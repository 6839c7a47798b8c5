"""vLLM replicas: one HTTP client per base URL (``transport.ChatClient``), least-in-flight selection."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from ocrflow.engines.vllm.transport import ChatClient


def normalize_base_url(url: str) -> str:
    """``http://host:8000`` / ``http://host:8000/`` / ``http://host:8000/v1`` -> ``http://host:8000/v1``."""
    base = url.strip().rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def split_urls(value: str) -> list[str]:
    """A comma-separated OCRFLOW_VLLM_URL -> normalised, de-duplicated base URLs, in order."""
    out: list[str] = []
    for part in value.split(","):
        if part.strip():
            url = normalize_base_url(part)
            if url not in out:
                out.append(url)
    return out


def tls_context(verify_tls: bool) -> ssl.SSLContext:
    """The TLS settings every client of an engine shares: the trust store (SSL_CERT_FILE / SSL_CERT_DIR
    honoured) when ``verify_tls``, no verification otherwise. Built once: loading the trust store costs
    ~0.1 s of CPU, and an engine has one client per replica."""
    import httpx2

    return httpx2.create_ssl_context(verify=verify_tls)


@dataclass(slots=True)
class Replica:
    """One vLLM base URL and its client (one aiohttp session with its own connection pool)."""

    url: str
    client: ChatClient
    in_flight: int = 0
    sent: int = 0

    @property
    def root(self) -> str:
        """The base URL without ``/v1`` and without a password (what results record and errors name)."""
        from ocrflow.core.settings import redact_url

        return redact_url(self.url.removesuffix("/v1"))


class ReplicaPool:
    """Picks the replica with the fewest requests in flight (ties: the one sent fewest).

    Used only from the engine's event-loop thread, so no locking is needed.
    """

    def __init__(self, replicas: list[Replica]) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas = replicas

    def acquire(self) -> Replica:
        best = min(self.replicas, key=lambda r: (r.in_flight, r.sent))
        best.in_flight += 1
        best.sent += 1
        return best

    @staticmethod
    def release(replica: Replica) -> None:
        replica.in_flight -= 1

    @property
    def roots(self) -> list[str]:
        return [r.root for r in self.replicas]

    async def aclose(self) -> None:
        for replica in self.replicas:
            await replica.client.close()
