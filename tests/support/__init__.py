"""The one helper package of the tests: what more than one test module (or folder) needs.

- ``needs``: the markers that say what a test needs (postgres, prefect_server, browser, slow) and the guard
  that fails a test which uses a real service without its marker;
- ``duck``: ``rows``, a read-only query of a DuckDB file;
- ``pg``: the test PostgreSQL (``OCRFLOW_TEST_PG_URL``), a schema per test;
- ``store``: synthetic rows, batches and pages for the store tests;
- ``runs``: ``run_into`` (an embedded run into a DuckDB file) and ``run_cli`` (``ocrflow run --engine vllm``);
- ``vllm``: the fake vLLM and the demo inbox as fixtures (one definition, declared per module or folder);
- ``review``: the review tests' store, filled by a real run.

Fixtures live in the conftest.py of the folder that shares them (docs/testing.md).
"""
