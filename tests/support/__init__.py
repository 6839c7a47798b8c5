"""The one helper package of the tests: what more than one test module (or folder) needs, written once.

- ``needs``: the guard that holds each test to its markers (postgres, prefect_server, browser, slow);
- ``duck``: ``run_into`` (an embedded run into a DuckDB file) and ``rows`` (a read-only query of that file);
- ``store``: synthetic rows, batches and pages for the store tests; the test PostgreSQL (``require_pg``,
  ``schema_name``, ``drop_schema``) and ``STORE_KINDS`` for a store-of-either-kind fixture;
- ``vllm``: ``run_cli`` (``ocrflow run --engine vllm`` against the fake) and the one definition of the fake
  vLLM and inbox fixtures (``fake_fixture``, ``inbox_fixture``), declared by the module or folder using them;
- ``review``: the review tests' store, filled by a real run, and the app's test client;
- ``lines``: positioned text lines for the line-table tests.

Fixtures live in the conftest.py of the folder that shares them (docs/testing.md).
"""
