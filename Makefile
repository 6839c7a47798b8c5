# ocrflow: `make demo` and `make test` do all set-up on a fresh machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
OCRFLOW := $(VENV)/bin/ocrflow
STAMP   := $(VENV)/.installed
DEMO_DIR ?= demo/generated
DEMO_DB  ?= data/ocrflow.duckdb
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(CURDIR)/.prefect
export TQDM_DISABLE ?= 1
# a loaded 2-core machine can take longer than the default 20 s to start the ephemeral Prefect server
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: install demo test lint unit clean mutation

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DIR)/gold.jsonl: | $(STAMP)
	$(OCRFLOW) demo-data $(DEMO_DIR)

# typical bad inputs (empty, truncated, encrypted, unsupported type, too elongated, symlink out of the folder,
# a non-UTF-8 name, the same bytes twice): each is recorded failed with its error_code (docs/reliability.md)
$(DEMO_DIR)/bad_inputs/empty.pdf: | $(STAMP)
	$(PY) -m ocrflow.demo.bad_inputs $(DEMO_DIR)/bad_inputs

# the error budget of the demo run covers the six bad inputs that must fail: the run ends COMPLETED
DEMO_MAX_FAILED ?= 6

demo: install $(DEMO_DIR)/gold.jsonl $(DEMO_DIR)/bad_inputs/empty.pdf
	OCRFLOW_MAX_FAILED=$(DEMO_MAX_FAILED) $(OCRFLOW) run $(DEMO_DIR)/docs $(DEMO_DIR)/bad_inputs --db $(DEMO_DB) --prefect; test $$? -le 1
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT regexp_extract(path, '[^/]+$$') AS document, error_code, error FROM documents WHERE state = 'failed' ORDER BY path"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT state, count(*) AS documents FROM documents GROUP BY state ORDER BY state"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT invoice_number, invoice_date, seller_name, currency, total_amount, engine FROM invoice ORDER BY invoice_date"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT invoice_number, issue_date, seller_name, total_amount, engine FROM cn_vat_invoice"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT merchant_name, receipt_date, total_amount, engine FROM receipt ORDER BY receipt_date"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT i.invoice_number, l.line_no, l.description, l.quantity, l.unit_price, l.line_net_amount, l.page_no FROM invoice_line l JOIN invoice i USING (doc_sha256) ORDER BY i.invoice_number, l.line_no LIMIT 12"
	$(OCRFLOW) query --db $(DEMO_DB) "SELECT regexp_extract(source_path, '[^/]+$$') AS document, reasons FROM quarantine"

test: install
	$(VENV)/bin/pytest -q -p no:cacheprovider

# the fast subset: no end-to-end (slow), no Prefect server, no browser; PostgreSQL stays in (docs/testing.md)
.PHONY: test-fast
test-fast: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not slow and not prefect_server and not browser"

lint: install
	$(VENV)/bin/ruff check ocrflow flows tasks tests benchmarks
	$(VENV)/bin/mypy ocrflow flows tasks

# not in CI (minutes): mutants of the modules in [tool.mutmut] (pyproject.toml) against their tests; docs/testing.md
# one module: make mutation MUTANTS='ocrflow.run.batches*'; CHILDREN=1 on a busy box
MUTANTS ?=
CHILDREN ?= 2
mutation: install
	$(VENV)/bin/mutmut run --max-children $(CHILDREN) $(MUTANTS); $(VENV)/bin/mutmut results

clean:
	rm -rf $(DEMO_DIR) data .prefect
