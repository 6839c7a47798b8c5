#!/usr/bin/env bash
# Serve an OCR VLM (Tencent HunyuanOCR by default) with vLLM for ocrflow.
#
#   deploy/vllm/serve.sh start     # one vLLM instance per GPU, ports BASE_PORT, BASE_PORT+1, ...
#   deploy/vllm/serve.sh dp        # one endpoint, vLLM data-parallel over all GPUs (--data-parallel-size)
#   deploy/vllm/serve.sh status    # /health and queue gauges of each instance
#   deploy/vllm/serve.sh stop      # stop the instances this script started (by their PID files)
#
# Settings (environment):
#   MODEL=tencent/HunyuanOCR   GPUS=0,1 (default: all GPUs nvidia-smi lists)   HOST=0.0.0.0
#   BASE_PORT=8000   VLLM_API_KEY=... (strongly recommended off-host; ocrflow sends OCRFLOW_VLLM_API_KEY)
#   MAX_NUM_SEQS=64   MAX_QUEUED=512 (--max-num-queued-reqs: beyond it vLLM answers 503, ocrflow backs off)
#   GPU_MEM=0.90   MAX_MODEL_LEN=16384   RUN_DIR=./run/vllm   EXTRA_ARGS="..." (appended verbatim)
set -euo pipefail

MODEL="${MODEL:-tencent/HunyuanOCR}"
HOST="${HOST:-0.0.0.0}"
BASE_PORT="${BASE_PORT:-8000}"
MAX_NUM_SEQS="${MAX_NUM_SEQS:-64}"
MAX_QUEUED="${MAX_QUEUED:-512}"
GPU_MEM="${GPU_MEM:-0.90}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-16384}"
RUN_DIR="${RUN_DIR:-./run/vllm}"
EXTRA_ARGS="${EXTRA_ARGS:-}"

gpus() {
  if [[ -n "${GPUS:-}" ]]; then tr ',' ' ' <<<"$GPUS"; return; fi
  nvidia-smi --query-gpu=index --format=csv,noheader | tr '\n' ' '
}

common_args() {
  # HunyuanOCR's recommended flags: no prefix caching, no multimodal processor cache.
  local args=(--no-enable-prefix-caching --mm-processor-cache-gb 0
              --max-num-seqs "$MAX_NUM_SEQS" --max-num-queued-reqs "$MAX_QUEUED"
              --gpu-memory-utilization "$GPU_MEM" --max-model-len "$MAX_MODEL_LEN"
              --limit-mm-per-prompt '{"image":1}')
  [[ -n "${VLLM_API_KEY:-}" ]] && args+=(--api-key "$VLLM_API_KEY")
  printf '%s\n' "${args[@]}"
}

wait_ready() {  # GET /v1/models answers once the model is loaded
  local port="$1" deadline=$((SECONDS + ${READY_TIMEOUT:-900}))
  local auth=(); [[ -n "${VLLM_API_KEY:-}" ]] && auth=(-H "Authorization: Bearer $VLLM_API_KEY")
  until curl -fsS "${auth[@]}" "http://127.0.0.1:${port}/v1/models" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { echo "port ${port}: not ready after ${READY_TIMEOUT:-900}s, see ${RUN_DIR}/vllm-${port}.log" >&2; return 1; }
    sleep 5
  done
}

launch() {  # launch PORT CUDA_VISIBLE_DEVICES [more vllm args...]
  local port="$1" devices="$2"; shift 2
  mapfile -t args < <(common_args)
  # shellcheck disable=SC2086
  CUDA_VISIBLE_DEVICES="$devices" nohup vllm serve "$MODEL" --host "$HOST" --port "$port" \
      "${args[@]}" "$@" $EXTRA_ARGS >"${RUN_DIR}/vllm-${port}.log" 2>&1 &
  echo $! >"${RUN_DIR}/vllm-${port}.pid"
  echo "started vLLM on GPU(s) ${devices} port ${port} (pid $!)"
}

start() {
  mkdir -p "$RUN_DIR"
  local port="$BASE_PORT" urls=() ports=()
  for gpu in $(gpus); do
    launch "$port" "$gpu"
    ports+=("$port"); urls+=("http://$(hostname -f):${port}")
    port=$((port + 1))
  done
  for p in "${ports[@]}"; do wait_ready "$p"; done
  echo "ready. export OCRFLOW_VLLM_URL=$(IFS=,; echo "${urls[*]}") OCRFLOW_VLLM_MODEL=${MODEL}"
}

dp() {
  mkdir -p "$RUN_DIR"
  local list; list="$(gpus)"; local n; n="$(wc -w <<<"$list")"
  launch "$BASE_PORT" "$(tr ' ' ',' <<<"${list% }")" --data-parallel-size "$n"
  wait_ready "$BASE_PORT"
  echo "ready. export OCRFLOW_VLLM_URL=http://$(hostname -f):${BASE_PORT} OCRFLOW_VLLM_MODEL=${MODEL}"
}

status() {
  shopt -s nullglob
  for pidfile in "$RUN_DIR"/vllm-*.pid; do
    local port; port="$(basename "$pidfile" .pid)"; port="${port#vllm-}"
    local health; health="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/health" || true)"
    local gauges; gauges="$(curl -fsS "http://127.0.0.1:${port}/metrics" 2>/dev/null \
        | grep -E '^vllm:num_requests_(running|waiting)' | awk '{printf "%s=%s ", $1, $2}' || true)"
    echo "port ${port} pid $(cat "$pidfile") health ${health} ${gauges}"
  done
}

stop() {
  shopt -s nullglob
  for pidfile in "$RUN_DIR"/vllm-*.pid; do
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null && echo "stopped pid ${pid}"
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  start) start ;;
  dp) dp ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|dp|status|stop" >&2; exit 2 ;;
esac
