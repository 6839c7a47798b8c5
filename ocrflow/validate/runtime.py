"""One ephemeral Great Expectations context per process, shared by validation runs and Data Docs."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from functools import cache
from typing import Any

from ocrflow.contracts import Contract
from ocrflow.validate.suite import build_suite, suite_name


class GxRuntime:
    """One ephemeral GX context per process, with a validation definition per contract suite."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("ocrflow")
        self.fingerprints: dict[str, str] = {}
        self.docs_sites: set[str] = set()

    def definition(self, contract: Contract, today: dt.date) -> Any:
        import great_expectations as gx

        name = suite_name(contract)
        fingerprint = _fingerprint(contract, today)
        if self.fingerprints.get(name) == fingerprint:
            return self.context.validation_definitions.get(name)
        if name in self.fingerprints:
            self.context.validation_definitions.delete(name)
            self.context.suites.delete(name)
        suite = self.context.suites.add(build_suite(contract, today=today))
        batch = self._asset(name).add_batch_definition_whole_dataframe("all")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
        self.fingerprints[name] = fingerprint
        return definition

    def _asset(self, name: str) -> Any:
        if name in {a.name for a in self.source.assets}:
            self.source.delete_asset(name)
        return self.source.add_dataframe_asset(name)

    def forget_results(self) -> None:
        """Drop stored results: the in-memory store would otherwise grow with every run."""
        store = self.context.validation_results_store
        for k in store.list_keys():
            store.remove_key(k)


LOCK = threading.Lock()
"""Held while the shared GX context is used (it is not thread-safe)."""


@cache
def runtime() -> GxRuntime:
    """The process's GX runtime, made on first use (call it with ``LOCK`` held)."""
    return GxRuntime()


def _fingerprint(contract: Contract, today: dt.date) -> str:
    blob = repr((contract.name, contract.version, contract.fields, contract.business_key, contract.rules,
                 today.isoformat()))
    return hashlib.sha256(blob.encode()).hexdigest()
