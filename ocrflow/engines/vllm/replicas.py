"""vLLM replicas: one AsyncOpenAI client per base URL, least-in-flight selection."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from openai import AsyncOpenAI, DefaultAsyncHttpxClient

NO_KEY = "EMPTY"  # vLLM without --api-key accepts any bearer token; the SDK insists on one


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
    ~0.1 s of CPU, and an engine has one client per pool shard per replica."""
    import httpx2

    return httpx2.create_ssl_context(verify=verify_tls)


def make_client(base_url: str, *, api_key: str | None, timeout_s: float, verify_tls: bool | ssl.SSLContext,
                max_connections: int) -> AsyncOpenAI:
    """The official async client; retries are ours (max_retries=0), TLS verified unless told
    (``verify_tls``: a bool, or the ``tls_context`` shared by an engine's clients)."""
    import httpx2

    http = DefaultAsyncHttpxClient(
        verify=verify_tls,
        timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    return AsyncOpenAI(base_url=base_url, api_key=api_key or NO_KEY, max_retries=0, timeout=timeout_s,
                       http_client=http)


SHARD_CONNECTIONS = 16
"""Connections per HTTP client. httpcore scans every pooled connection on each request, so one
pool of 64+ connections costs ~2 ms of CPU per request; several small pools cost a fraction."""


@dataclass(slots=True)
class Replica:
    """One vLLM base URL served by one or more clients (shards of the connection pool)."""

    url: str
    clients: list[AsyncOpenAI]
    shard_in_flight: list[int] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self) -> None:
        if not self.clients:
            raise ValueError(f"replica {self.url} needs at least one client")
        self.shard_in_flight = [0] * len(self.clients)

    @property
    def in_flight(self) -> int:
        return sum(self.shard_in_flight)

    @property
    def client(self) -> AsyncOpenAI:
        return self.clients[0]

    @property
    def root(self) -> str:
        """The base URL without ``/v1`` and without a password (what results record and errors name)."""
        from ocrflow.core.settings import redact_url

        return redact_url(self.url.removesuffix("/v1"))


@dataclass(frozen=True, slots=True)
class Lease:
    replica: Replica
    shard: int

    @property
    def client(self) -> AsyncOpenAI:
        return self.replica.clients[self.shard]


def shard_count(max_connections: int) -> int:
    return max(1, -(-max_connections // SHARD_CONNECTIONS))


class ReplicaPool:
    """Picks the replica with the fewest requests in flight (ties: the one sent fewest).

    Used only from the engine's event-loop thread, so no locking is needed.
    """

    def __init__(self, replicas: list[Replica]) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas = replicas

    def acquire(self) -> Lease:
        best = min(self.replicas, key=lambda r: (r.in_flight, r.sent))
        shard = min(range(len(best.clients)), key=best.shard_in_flight.__getitem__)
        best.shard_in_flight[shard] += 1
        best.sent += 1
        return Lease(best, shard)

    @staticmethod
    def release(lease: Lease) -> None:
        lease.replica.shard_in_flight[lease.shard] -= 1

    @property
    def roots(self) -> list[str]:
        return [r.root for r in self.replicas]

    async def aclose(self) -> None:
        for replica in self.replicas:
            for client in replica.clients:
                await client.close()
