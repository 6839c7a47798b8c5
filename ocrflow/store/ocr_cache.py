"""The DuckDB file behind ``ocrflow eval --ocr-cache FILE.duckdb``: one ``page_cache`` table of engine
answers keyed by the result cache's key (``ocrflow.engines.cache``). Its SQL lives here, with the store's;
``ocrflow.eval.ocr_cache`` puts it in front of an engine."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

CREATE = ("CREATE TABLE IF NOT EXISTS page_cache (cache_key VARCHAR PRIMARY KEY, result JSON, "
          "created_at TIMESTAMP)")
GET = "SELECT result FROM page_cache WHERE cache_key = ?"
PUT = "INSERT OR REPLACE INTO page_cache VALUES (?, ?, ?)"
COUNT = "SELECT count(*) FROM page_cache"


class OcrCacheError(ValueError):
    """The cache file cannot be opened (held by another process, not a DuckDB file)."""


class OcrCacheFile:
    """A ``page_cache`` table in a DuckDB file of its own (a CacheBackend); one process at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise OcrCacheError(f"OCR cache {path}: cannot open it ({' '.join(str(exc).split())})") from exc
        self.con.execute(CREATE)
        self.lock = threading.RLock()
        """One connection: every call holds it (re-entrant: the result cache holds it around its calls too)."""
        self.hits = 0
        self.misses = 0

    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.con.execute(GET, [key]).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        found: dict[str, Any] = json.loads(row[0])
        return found

    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        with self.lock:
            self.con.execute(PUT, [key, json.dumps(result, ensure_ascii=False),
                                   datetime.now(UTC).replace(tzinfo=None)])

    def entries(self) -> int:
        with self.lock:
            row = self.con.execute(COUNT).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self.lock:
            self.con.close()
