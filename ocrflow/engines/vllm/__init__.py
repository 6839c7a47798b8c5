"""The vLLM engine: OCR / extraction against an OpenAI-compatible vLLM deployment (docs/engines.md).

engine (VllmEngine, make_vllm_engine), options (VllmOptions), request / output (the chat request and
the reply's parsing), prompts / profiles (what is asked of which model), image (page -> JPEG data URL),
replicas / loop (transport), resilience / errors (retries, circuit breaker, error classes),
gcl (a fleet-wide limit leased in chunks; the flows hand in a Prefect one, see ocrflow.engines.limits).
"""

from ocrflow.engines.vllm.engine import VllmEngine, make_vllm_engine
from ocrflow.engines.vllm.errors import CircuitOpenError, VllmTerminalError, VllmTransientError
from ocrflow.engines.vllm.options import VllmOptions
from ocrflow.engines.vllm.resilience import CircuitBreaker, RetryPolicy

__all__ = ["CircuitBreaker", "CircuitOpenError", "RetryPolicy", "VllmEngine", "VllmOptions",
           "VllmTerminalError", "VllmTransientError", "make_vllm_engine"]
