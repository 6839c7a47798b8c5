"""Retries, the circuit breaker and the classification of vLLM's HTTP answers (ocrflow/engines/vllm/resilience.py,
errors.py), pinned where mutation testing found them unpinned: the policy's bounds and defaults, what the
breaker counts and says, the probe after the cooldown, and which status is transient, terminal or an auth error."""

from __future__ import annotations

import asyncio
import email.utils
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from ocrflow.core.errors import AuthEngineError
from ocrflow.engines.base import TerminalEngineError
from ocrflow.engines.vllm import resilience
from ocrflow.engines.vllm.errors import (
    CircuitOpenError,
    VllmTerminalError,
    VllmTransientError,
    parse_retry_after,
    server_message,
    status_error,
)
from ocrflow.engines.vllm.resilience import CircuitBreaker, RetryPolicy, _give_up, call_with_retries
from ocrflow.engines.vllm.transport import HttpStatusError


class _Bounds:
    """A stand-in for ``random``: returns the interval it was asked to draw from."""

    def uniform(self, low: float, high: float) -> Any:
        return (low, high)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(resilience, "time", fake)  # the breaker's clock only, not the process's
    return fake


# ------------------------------------------------------------------------------------------- retry policy


def test_policy_defaults_and_bounds() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.base_delay_s, policy.max_delay_s, policy.max_retry_after_s) == (
        5, 0.5, 30.0, 120.0)
    RetryPolicy(max_attempts=1, base_delay_s=0, max_delay_s=0, max_retry_after_s=0)  # the smallest allowed
    for bad in ({"max_attempts": 0}, {"base_delay_s": -0.1}, {"max_delay_s": -1}, {"max_retry_after_s": -1},
                {"attempts": 3}):
        with pytest.raises(ValidationError):
            RetryPolicy(**bad)
    with pytest.raises(ValidationError):
        policy.max_attempts = 2  # type: ignore[misc]  # frozen


def test_backoff_interval_is_half_to_full_of_a_doubling_capped_ceiling() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, max_retry_after_s=10.0)
    rng: Any = _Bounds()
    assert [policy.delay(a, rng=rng) for a in (1, 2, 3, 4)] == [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (1.5, 3.0)]
    assert policy.delay(2, retry_after=7.0, rng=rng) == 7.0
    assert policy.delay(2, retry_after=0.0, rng=rng) == 0.0  # "retry now" is honoured, not replaced by backoff
    assert policy.delay(2, retry_after=99.0, rng=rng) == 10.0
    low, high = 0.5, 1.0
    assert all(low <= policy.delay(2) <= high for _ in range(50))  # the module's own random by default


def test_wait_uses_the_retry_after_of_a_transient_error_only() -> None:
    policy = RetryPolicy(base_delay_s=4.0, max_delay_s=4.0, max_retry_after_s=60.0)

    def state(error: BaseException | None, attempt: int = 1) -> Any:
        outcome = None if error is None else SimpleNamespace(exception=lambda: error)
        return SimpleNamespace(outcome=outcome, attempt_number=attempt)

    assert policy._wait(state(VllmTransientError("busy", retry_after=2.5))) == 2.5
    assert policy._wait(state(VllmTransientError("busy", retry_after=600.0))) == 60.0
    for other in (VllmTransientError("busy"), RuntimeError("x"), None):
        assert 2.0 <= policy._wait(state(other, attempt=3)) <= 4.0


def test_giving_up_names_the_attempts_and_keeps_status_and_replica() -> None:
    last = VllmTransientError("HTTP 503", status=503, replica="gpu-2")
    with pytest.raises(VllmTransientError) as info:
        _give_up(SimpleNamespace(outcome=SimpleNamespace(exception=lambda: last), attempt_number=4))  # type: ignore[arg-type]
    err = info.value
    assert str(err) == "HTTP 503 (gave up after 4 attempts)"
    assert (err.status, err.replica) == (503, "gpu-2") and err.__cause__ is last
    odd = RuntimeError("odd")
    with pytest.raises(VllmTransientError) as other:
        _give_up(SimpleNamespace(outcome=SimpleNamespace(exception=lambda: odd), attempt_number=2))  # type: ignore[arg-type]
    assert str(other.value) == "odd (gave up after 2 attempts)" and other.value.__cause__ is odd
    assert other.value.status is None
    with pytest.raises(VllmTransientError, match=r"^None \(gave up after 1 attempts\)$"):
        _give_up(SimpleNamespace(outcome=None, attempt_number=1))  # type: ignore[arg-type]


def _failing(errors: list[BaseException], result: str = "ok") -> tuple[Any, list[int]]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def test_transient_errors_are_retried_up_to_max_attempts_then_given_up() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=0, max_delay_s=0)
    call, calls = _failing([VllmTransientError("busy", retry_after=0)] * 2)
    assert asyncio.run(call_with_retries(policy, CircuitBreaker(threshold=10), call)) == "ok"
    assert len(calls) == 3
    call, calls = _failing([VllmTransientError("busy", status=502, retry_after=0)] * 5)
    with pytest.raises(VllmTransientError, match=r"busy \(gave up after 3 attempts\)"):
        asyncio.run(call_with_retries(policy, CircuitBreaker(threshold=10), call))
    assert len(calls) == 3


def test_terminal_errors_are_not_retried() -> None:
    call, calls = _failing([VllmTerminalError("bad image", status=400)])
    with pytest.raises(VllmTerminalError, match="bad image"):
        asyncio.run(call_with_retries(RetryPolicy(max_attempts=5, base_delay_s=0), CircuitBreaker(), call))
    assert len(calls) == 1


def test_an_open_breaker_stops_the_retries_at_once() -> None:
    call, calls = _failing([VllmTransientError("refused", retry_after=0)] * 10)
    with pytest.raises(CircuitOpenError):
        asyncio.run(call_with_retries(RetryPolicy(max_attempts=10, base_delay_s=0), CircuitBreaker(threshold=2),
                                      call))
    assert len(calls) == 2


# ---------------------------------------------------------------------------------------------- breaker


def test_breaker_defaults() -> None:
    breaker = CircuitBreaker()
    assert (breaker.threshold, breaker.cooldown_s, breaker.target) == (8, 30.0, "")
    for _ in range(7):
        breaker.record_failure(VllmTransientError("x"))
    assert not breaker.is_open
    breaker.record_failure(VllmTransientError("x"))
    assert breaker.is_open


def test_breaker_opens_at_the_threshold_and_says_why(clock: _Clock) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_s=20.0, target="http://gpu:8000")
    breaker.record_failure(VllmTransientError("first"))
    breaker.record_failure(VllmTransientError("second"))
    breaker.check()
    assert not breaker.is_open
    breaker.record_failure(VllmTransientError("connection refused"))
    assert breaker.is_open
    clock.now += 5.4
    with pytest.raises(CircuitOpenError) as info:
        breaker.check()
    assert str(info.value) == (
        "vLLM deployment http://gpu:8000 looks down: 3 consecutive transient failures (last: connection refused); "
        "circuit open, failing fast for another 15s. Documents are left pending for a later run.")


def test_a_success_resets_the_count(clock: _Clock) -> None:
    breaker = CircuitBreaker(threshold=2)
    breaker.record_failure(VllmTransientError("a"))
    breaker.record_success()
    breaker.record_failure(VllmTransientError("b"))
    breaker.check()
    assert not breaker.is_open


def test_after_the_cooldown_one_probe_goes_through_and_its_failure_reopens_for_a_full_cooldown(
        clock: _Clock) -> None:
    breaker = CircuitBreaker(threshold=1, cooldown_s=10.0)
    breaker.record_failure(VllmTransientError("down"))
    clock.now += 9.9
    with pytest.raises(CircuitOpenError):
        breaker.check()
    clock.now += 0.1  # exactly the cooldown
    breaker.check()  # the probe
    with pytest.raises(CircuitOpenError, match="another 0s"):
        breaker.check()  # the others while the probe is out
    breaker.record_failure(VllmTransientError("still down"))
    clock.now += 5.0
    with pytest.raises(CircuitOpenError, match=r"\(last: still down\).*another 5s"):
        breaker.check()  # reopened now, not at the first opening
    clock.now += 5.0
    breaker.check()  # a new probe after the new cooldown
    breaker.record_success()
    breaker.check()
    breaker.check()
    assert not breaker.is_open


def test_guard_counts_only_transient_failures_that_count() -> None:
    breaker = CircuitBreaker(threshold=2)

    async def raising(exc: BaseException) -> None:
        raise exc

    async def scenario() -> str:
        for _ in range(3):  # 429: the deployment is up, only busy
            with pytest.raises(VllmTransientError):
                await breaker.guard(lambda: raising(VllmTransientError("429", counts_for_breaker=False)))
        assert not breaker.is_open
        with pytest.raises(VllmTransientError):
            await breaker.guard(lambda: raising(VllmTransientError("503")))
        with pytest.raises(VllmTerminalError):  # a terminal answer proves the deployment up: the count restarts
            await breaker.guard(lambda: raising(VllmTerminalError("400")))
        with pytest.raises(VllmTransientError):
            await breaker.guard(lambda: raising(VllmTransientError("503")))
        assert not breaker.is_open
        ok = await breaker.guard(lambda: asyncio.sleep(0, result="fine"))
        with pytest.raises(VllmTransientError):
            await breaker.guard(lambda: raising(VllmTransientError("503")))
        assert not breaker.is_open  # the success reset the count too
        return ok

    assert asyncio.run(scenario()) == "fine"


def test_guard_records_the_failure_it_saw() -> None:
    breaker = CircuitBreaker(threshold=1, target="t")

    async def down() -> None:
        raise VllmTransientError("connect timeout")

    with pytest.raises(VllmTransientError):
        asyncio.run(breaker.guard(down))
    with pytest.raises(CircuitOpenError, match=r"\(last: connect timeout\)"):
        breaker.check()


# ------------------------------------------------------------------------------------------------ errors


def test_error_defaults() -> None:
    t = VllmTransientError("x")
    assert (t.status, t.retry_after, t.replica, t.counts_for_breaker) == (None, None, "", True)
    terminal = VllmTerminalError("y")
    assert (terminal.status, terminal.server_message, terminal.replica) == (None, "", "")
    assert isinstance(terminal, TerminalEngineError) and str(terminal) == "y"


def test_retry_after_values() -> None:
    assert parse_retry_after("") is None and parse_retry_after("  ") is None
    assert parse_retry_after(" 7 ") == 7.0 and parse_retry_after("-3") == 0.0
    when = email.utils.formatdate(2_000_000_000.0, usegmt=True)
    assert parse_retry_after(when, now=1_999_999_990.0) == 10.0
    assert parse_retry_after(when, now=2_000_000_100.0) == 0.0  # a date in the past: retry now
    assert 0.0 < (parse_retry_after(email.utils.formatdate(usegmt=True, timeval=4_000_000_000.0)) or 0.0)


def test_server_message_precedence_and_fallbacks() -> None:
    assert server_message({"detail": "d", "message": "m"}, "f") == "m"
    assert server_message({"error": "e", "detail": "d"}, "f") == "d"
    assert server_message({"message": "", "error": "e"}, "f") == "e"
    assert server_message({"message": 5}, "f") == "f"
    assert server_message({"detail": {"message": "inner"}}, "f") == "inner"
    assert server_message({"error": {"nothing": 1}}, "f") == "f"
    assert server_message("plain text", "f") == "plain text"
    assert server_message("", "f") == "f"
    assert server_message(["x"], "f") == "f"


def _status(code: int, body: object = None, headers: dict[str, str] | None = None) -> HttpStatusError:
    return HttpStatusError(code, body, headers or {})


@pytest.mark.parametrize("code", [401, 403])
def test_a_refused_key_is_an_auth_error(code: int) -> None:
    err = status_error(_status(code, {"message": "invalid key"}), "gpu-1")
    assert isinstance(err, AuthEngineError) and err.status == code
    assert str(err) == f"vLLM gpu-1 answered HTTP {code}: invalid key (check OCRFLOW_VLLM_API_KEY)"


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_transient_with_their_retry_after(code: int) -> None:
    err = status_error(_status(code, {"error": {"message": "busy"}}, {"Retry-After": "4"}), "gpu-1")
    assert isinstance(err, VllmTransientError)
    assert (err.status, err.retry_after, err.replica) == (code, 4.0, "gpu-1")
    assert err.counts_for_breaker == (code != 429)  # 429: the deployment is up, only busy
    assert str(err) == f"vLLM gpu-1 answered HTTP {code}: busy"
    assert status_error(_status(code), "r").retry_after is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [400, 404, 413, 422, 501])
def test_other_statuses_are_terminal_with_the_servers_message(code: int) -> None:
    err = status_error(_status(code, {"message": "image too large"}), "gpu-3")
    assert isinstance(err, VllmTerminalError) and not isinstance(err, VllmTransientError)
    assert (err.status, err.server_message, err.replica) == (code, "image too large", "gpu-3")
    assert str(err) == f"vLLM gpu-3 answered HTTP {code}: image too large"
    bare = status_error(_status(code), "gpu-3")
    assert isinstance(bare, VllmTerminalError) and bare.server_message == f"Error code: {code}"
