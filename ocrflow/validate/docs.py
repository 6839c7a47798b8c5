"""Render validation results as a static Great Expectations Data Docs site.

``build_data_docs`` renders one result as a site of its own. ``render_pages`` adds a run's results to a
site that lives on (one per store, ocrflow.run.datadocs): only this run's pages and its suites' pages are
rendered (GX's incremental build, no index), so the cost follows the run, not the site.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ocrflow.validate.report import ValidationReport, json_safe
from ocrflow.validate.runtime import LOCK, GxRuntime, runtime


def build_data_docs(report_or_results: ValidationReport | dict[str, Any] | Any, out_dir: Path) -> Path:
    """Render one validation run as a static GX Data Docs site under ``out_dir``; return index.html.

    Accepts a :class:`ValidationReport`, its ``raw`` dict, or a GX ``ExpectationSuiteValidationResult``.
    Each run adds a page under ``validations/``; the index lists the run just rendered.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    raw = _raw_results(report_or_results)
    result = ExpectationSuiteValidationResultSchema().load(raw)
    run = raw.get("meta", {}).get("run_id") or {}
    run_id = RunIdentifier(run_name=run.get("run_name"), run_time=run.get("run_time"))
    ident = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=run_id, batch_identifier=str(raw.get("meta", {}).get("active_batch_definition", {})
                                            .get("data_asset_name") or result.suite_name))
    out = out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with LOCK:
        gx_runtime = runtime()
        site = _docs_site(gx_runtime, out)
        gx_runtime.context.validation_results_store.set(ident, result)
        try:
            gx_runtime.context.build_data_docs(site_names=[site])
        finally:
            gx_runtime.forget_results()
    index = out / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GX did not write {index}")
    return index


def _raw_results(report_or_results: ValidationReport | dict[str, Any] | Any) -> dict[str, Any]:
    if isinstance(report_or_results, ValidationReport):
        raw = report_or_results.raw
    elif isinstance(report_or_results, dict):
        raw = report_or_results
    else:
        raw = json_safe(report_or_results.to_json_dict())
    if not raw.get("results"):
        raise ValueError("no validation results to render (empty batch?)")
    return json.loads(json.dumps(raw))


def _docs_site(gx_runtime: GxRuntime, out: Path) -> str:
    name = "ocrflow-" + hashlib.sha256(str(out).encode()).hexdigest()[:10]
    if name not in gx_runtime.docs_sites:
        gx_runtime.context.add_data_docs_site(name, {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        gx_runtime.docs_sites.add(name)
    return name


def render_pages(raws: list[dict[str, Any]], site: Path, run_name: str, run_time: datetime) -> list[Path]:
    """Render each GX result (JSON, as ``gx_summary`` gives it) as a validation page of the site at ``site``;
    the pages of other runs stay as they are. Returns the pages, in order."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out = site.resolve()
    out.mkdir(parents=True, exist_ok=True)
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    idents: list[Any] = []
    with LOCK:
        gx_runtime = runtime()
        name = _docs_site(gx_runtime, out)
        store = gx_runtime.context.validation_results_store
        try:
            for i, raw in enumerate(raws, start=1):
                result = ExpectationSuiteValidationResultSchema().load(json.loads(json.dumps(raw)))
                ident = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(
                    name=result.suite_name), run_id=run_id, batch_identifier=f"{result.suite_name}-{i:03d}")
                store.set(ident, result)
                idents.append(ident)
            suites = {ExpectationSuiteIdentifier(name=r.expectation_suite_identifier.name) for r in idents}
            present = {s.name for s in gx_runtime.context.suites.all()}
            wanted = idents + [s for s in suites if s.name in present]
            gx_runtime.context.build_data_docs(site_names=[name], resource_identifiers=wanted, build_index=False)
            pages = [_page(gx_runtime, name, ident) for ident in idents]
        finally:
            gx_runtime.forget_results()
    return pages


def _page(gx_runtime: GxRuntime, site: str, ident: Any) -> Path:
    urls = gx_runtime.context.get_docs_sites_urls(resource_identifier=ident, site_name=site, only_if_exists=True)
    url = str((urls[0] if urls else {}).get("site_url") or "")
    if not url.startswith("file://"):
        raise RuntimeError(f"GX did not write the page of {ident}")
    from urllib.parse import unquote, urlsplit

    return Path(unquote(urlsplit(url).path))
