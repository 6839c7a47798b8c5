#!/usr/bin/env bash
# One-time Prefect set-up for ocrflow, then (re)deploy. Idempotent. Run from anywhere; needs PREFECT_API_URL.
#
#   OCRFLOW_VLLM_URL=http://vllm-0:8000/v1,http://vllm-1:8000/v1 OCRFLOW_STORE=/data/ocrflow.duckdb \
#   OCRFLOW_VLLM_API_KEY=... VLLM_CONCURRENCY=32 deploy/prefect/setup.sh
#
# Then on every worker machine:  OCRFLOW_METRICS_PORT=9464 prefect worker start --pool ocrflow-process
set -euo pipefail
cd "$(dirname "$0")/../.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false
POOL=${OCRFLOW_POOL:-ocrflow-process}

prefect work-pool inspect "$POOL" >/dev/null 2>&1 || prefect work-pool create "$POOL" --type process
# requests in flight to the whole vLLM fleet, across every flow run (the engine occupies 1 slot per request)
prefect gcl inspect vllm >/dev/null 2>&1 || prefect gcl create vllm --limit "${VLLM_CONCURRENCY:-32}"
# job variables are resolved from Prefect variables at deploy time (unset: embedded engine, default store)
[ -n "${OCRFLOW_VLLM_URL:-}" ] && prefect variable set ocrflow_vllm_url "$OCRFLOW_VLLM_URL" --overwrite
[ -n "${OCRFLOW_STORE:-}" ] && prefect variable set ocrflow_store "$OCRFLOW_STORE" --overwrite
# metrics are the worker's setting (prefect.yaml): OCRFLOW_METRICS_PORT=9464 prefect worker start --pool ...
# the API key lives in a Secret block; flows read it when OCRFLOW_VLLM_API_KEY is not set
if [ -n "${OCRFLOW_VLLM_API_KEY:-}" ]; then
  python - <<'PY'
import os
from prefect.blocks.system import Secret
Secret(value=os.environ["OCRFLOW_VLLM_API_KEY"]).save("ocrflow-vllm-api-key", overwrite=True)
PY
fi
prefect --no-prompt deploy --all
