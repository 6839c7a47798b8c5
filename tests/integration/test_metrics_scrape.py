"""Prometheus scrapes a real run while it works, and the Grafana dashboard's queries answer from the scrapes.

``ocrflow run`` (and ``ocrflow run --prefect``) in its own process against a fake vLLM of fixed latency,
``OCRFLOW_METRICS_PORT`` set: two scrapes of its /metrics (and of the fake's, for the ``vllm:`` panels)
while it still runs, then every query of deploy/grafana/ocrflow-dashboard.json evaluated over them (the
PromQL forms the dashboard uses: ``sum|max by (...) (rate|increase(m[w]))``, ``histogram_quantile``, plain
sums). Every query must find its metric with the labels it groups by; pages and processed documents must
have moved between the two scrapes (per document, not only after a batch is written). At the end the
textfile holds the run's last values. (Two 503 answers, retried by the engine, give the errors panel data.)
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.fake_vllm import FakeVllm
from tests.support.prefect_server import BIN, REPO, base_env, free_port

pytestmark = pytest.mark.slow
DASHBOARD = REPO / "deploy" / "grafana" / "ocrflow-dashboard.json"
TARGET_LABELS = {"instance", "job"}
"""Labels Prometheus adds to every series from the scrape target: always there."""
RECEIPTS = 24

Series = dict[tuple[tuple[str, str], ...], float]
Scrape = tuple[float, dict[str, Series]]

RANGE = re.compile(r"^(sum|max) by \(([\w, ]+)\) \((rate|increase)\(([\w:]+)\[\w+\]\)\)$")
QUANTILE = re.compile(r"^histogram_quantile\(([\d.]+), sum by \(([\w, ]+)\) \(rate\(([\w:]+)\[\w+\]\)\)\)$")
INSTANT = re.compile(r"^(sum|max)(?: by \(([\w, ]+)\) )?\(([\w:]+)\)$")


def scrape(url: str) -> Scrape:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, Series] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name][tuple(sorted(s.labels.items()))] = s.value
    return time.monotonic(), dict(out)


def total(scraped: Scrape, name: str) -> float:
    return sum(scraped[1].get(name, {}).values())


def grouped(series: Series, by: list[str], value: Any) -> dict[tuple[str, ...], float]:
    """sum by (``by``) over ``series`` of value(labels, v); a series without a grouping label fails the query."""
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for labels, v in series.items():
        have = dict(labels)
        missing = [b for b in by if b not in have and b not in TARGET_LABELS]
        assert not missing, f"series {have} lacks the label(s) {missing} the dashboard groups by"
        out[tuple(have.get(b, "target") for b in by)] += value(labels, v)
    return dict(out)


def evaluate(expr: str, a: Scrape, b: Scrape) -> dict[tuple[str, ...], float]:
    """One dashboard query over two scrapes (``a`` earlier): rate = increase / seconds between them."""
    seconds = b[0] - a[0]
    if m := RANGE.match(expr):
        _, by, fn, name = m.groups()
        before = a[1].get(name, {})
        per = 1.0 if fn == "increase" else 1.0 / seconds
        return grouped(b[1].get(name, {}), [x.strip() for x in by.split(",")],
                       lambda labels, v: (v - before.get(labels, 0.0)) * per)
    if m := QUANTILE.match(expr):
        q, by, name = float(m.group(1)), [x.strip() for x in m.group(2).split(",")], m.group(3)
        before = a[1].get(name, {})
        buckets = grouped(b[1].get(name, {}), by, lambda labels, v: v - before.get(labels, 0.0))
        return quantiles(q, by, buckets)
    if m := INSTANT.match(expr):
        by = [x.strip() for x in (m.group(2) or "").split(",") if x.strip()]
        return grouped(b[1].get(m.group(3), {}), by, lambda labels, v: v)
    raise AssertionError(f"the dashboard uses a query this test cannot evaluate: {expr}")


def quantiles(q: float, by: list[str], buckets: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    """histogram_quantile over cumulative bucket increases (linear inside the bucket, as Prometheus)."""
    le = by.index("le")
    groups: dict[tuple[str, ...], list[tuple[float, float]]] = defaultdict(list)
    for key, count in buckets.items():
        groups[key[:le] + key[le + 1:]].append((float(key[le]), count))
    out = {}
    for key, pairs in groups.items():
        pairs.sort()
        count = pairs[-1][1]
        if count <= 0:
            continue
        rank, lower, below = q * count, 0.0, 0.0
        for upper, cumulative in pairs:
            if cumulative >= rank:
                out[key] = upper if math.isinf(upper) else lower + (upper - lower) * (rank - below) / max(
                    cumulative - below, 1e-9)
                break
            lower, below = upper, cumulative
    return out


def receipts(folder: Path, demo_dir: Path) -> Path:
    folder.mkdir()
    src = (demo_dir / "docs" / "receipt_scan_01.jpg").read_bytes()
    for i in range(RECEIPTS):
        (folder / f"r{i:03d}.jpg").write_bytes(src + bytes([i]))  # distinct documents, the same picture
    return folder


@pytest.mark.parametrize("prefect", [False, pytest.param(True, marks=pytest.mark.prefect_server)],
                         ids=["ocrflow-run", "prefect-flow"])
def test_a_live_run_answers_the_dashboard(prefect: bool, demo_dir: Path, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    inbox = receipts(tmp_path / "inbox", demo_dir)
    port, textfile = free_port(), tmp_path / "textfile" / "ocrflow.prom"
    textfile.parent.mkdir()
    env = request.getfixturevalue("prefect_server").env if prefect else base_env(tmp_path)
    with FakeVllm(mode="sleep", latency_s=0.4, capacity=8) as fake:
        fake.inject("503", times=2, retry_after="0")  # two answers retried by the engine: the errors panel has data
        env = {**env, "OCRFLOW_VLLM_URL": fake.url, "OCRFLOW_METRICS_PORT": str(port),
               "OCRFLOW_METRICS_TEXTFILE": str(textfile), "OCRFLOW_DOCUMENTS_IN_FLIGHT": "2",
               "OCRFLOW_VLLM_CACHE": "false"}
        args = [str(BIN / "ocrflow"), "run", str(inbox), "--db", str(tmp_path / "m.duckdb"), "--engine", "vllm",
                "--contract", "receipt", "--batch-size", "4", "--json", *(["--prefect"] if prefect else [])]
        log = (tmp_path / "run.log").open("w")
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        try:
            a, fake_a = wait_for(proc, f"http://127.0.0.1:{port}/metrics", fake, processed=2)
            b, fake_b = wait_for(proc, f"http://127.0.0.1:{port}/metrics", fake,
                                 processed=total(a, "ocrflow_documents_processed_total") + 4, written=True,
                                 after=a)
            assert proc.poll() is None, "the second scrape must see the run still working"
            out, _ = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert total(b, "ocrflow_documents_processed_total") < RECEIPTS  # scraped mid-run
    final = (time.monotonic(), scrape_text(textfile))  # what node_exporter's textfile collector serves afterwards
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            if "vllm:" in expr:
                result = evaluate(expr, fake_a, fake_b)
            elif "ocrflow_run_last_" in expr:  # the last run's values: set at its end, read from the textfile
                result = evaluate(expr, final, final)
            else:
                result = evaluate(expr, a, b)
            print(f"[dashboard] {panel['title']}: {expr} -> {result}")
            assert result, f"{panel['title']}: {expr} found no series in the scrape"
    assert max(evaluate("sum by (path, engine) (rate(ocrflow_pages_total[5m]))", a, b).values()) > 0
    assert max(evaluate("sum by (outcome) (increase(ocrflow_documents_processed_total[1m]))", a, b).values()) > 0
    summary = json.loads(out)
    last = {dict(k)["state"]: v for k, v in final[1]["ocrflow_run_last_documents"].items()}
    assert last["loaded"] + last["quarantined"] == summary["loaded"] + summary["quarantined"] == RECEIPTS
    print(f"[scrape] {prefect=}: live at {total(b, 'ocrflow_documents_processed_total'):.0f}/{RECEIPTS} processed; "
          f"textfile {last}")


def scrape_text(path: Path) -> dict[str, Series]:
    out: dict[str, Series] = defaultdict(dict)
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[s.name][tuple(sorted(s.labels.items()))] = s.value
    return out


def wait_for(proc: subprocess.Popen[Any], url: str, fake: FakeVllm, *, processed: float, written: bool = False,
             after: Scrape | None = None, timeout_s: float = 240) -> tuple[Scrape, Scrape]:
    """Scrape until ``processed`` documents were processed (and, with ``written``, more were written than at
    ``after``); then scrape the fake vLLM too."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            got = scrape(url)
        except OSError:  # the process has not opened the port yet
            time.sleep(0.2)
            continue
        moved = after is None or total(got, "ocrflow_documents_total") > total(after, "ocrflow_documents_total")
        if total(got, "ocrflow_documents_processed_total") >= processed and (moved or not written):
            return got, scrape(f"{fake.url.removesuffix('/v1')}/metrics")
        time.sleep(0.2)
    raise AssertionError(f"no scrape with {processed} documents processed while the run ran (exit {proc.poll()})")
