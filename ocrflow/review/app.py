"""The review app's routes (FastAPI, server-rendered Jinja2 templates with autoescape, a little JavaScript).

GET ``/`` the queue; GET ``/doc/{sha256}`` one record; GET ``/doc/{sha256}/page/{n}.png`` its page image;
POST ``/doc/{sha256}/approve`` and ``/doc/{sha256}/reject`` the decisions. Documents are addressed by
their hash only; every request is checked for the token when one is required, every POST for the CSRF
token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from ocrflow.contracts import Contract
from ocrflow.core.models import DocumentRef
from ocrflow.core.settings import Settings
from ocrflow.review.access import StoreAccess, StoreBusy
from ocrflow.review.actions import ReviewError, approve, reject
from ocrflow.review.images import NoImage, render_page
from ocrflow.review.queue import REASONS, review_queue
from ocrflow.review.record import Record, RecordNotFound, load_record
from ocrflow.review.security import COOKIE, Csrf, token_ok
from ocrflow.store import StoreError

HERE = Path(__file__).parent
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
ISSUER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELD_PREFIX = "f:"


@dataclass(slots=True)
class ReviewConfig:
    store_url: str
    contracts: dict[str, Contract]
    settings: Settings
    token: str | None = None
    reviewer: str = "reviewer"
    csrf: Csrf = field(default_factory=Csrf)


def templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False)
    return Jinja2Templates(env=env)


class TokenMiddleware(BaseHTTPMiddleware):
    """Every request carries the token when one is required (query once, then the cookie)."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.token is None:
            return await call_next(request)
        auth = request.headers.get("authorization", "")
        presented = (request.query_params.get("token") or (auth[7:] if auth.startswith("Bearer ") else None)
                     or request.cookies.get(COOKIE))
        if not token_ok(self.token, presented):
            return Response("a valid review token is required (?token=... once, or Authorization: Bearer)",
                            status_code=401, media_type="text/plain")
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response


def _sha(sha256: str) -> str:
    if not SHA_RE.match(sha256):
        raise RecordNotFound("a document is addressed by its full sha256 (64 hex digits)")
    return sha256


def create_app(config: ReviewConfig) -> FastAPI:
    app = FastAPI(title="ocrflow review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TokenMiddleware, token=config.token)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    access = StoreAccess(config.store_url, config.contracts)
    access.prepare()  # an older store gets the review's columns before its first read
    views = Views(config, access, templates())
    app.get("/", response_class=HTMLResponse)(views.queue)
    app.get("/doc/{sha256}", response_class=HTMLResponse)(views.record)
    app.get("/doc/{sha256}/page/{page_no}.png")(views.page_image)
    app.post("/doc/{sha256}/approve", response_class=HTMLResponse)(views.approve)
    app.post("/doc/{sha256}/reject", response_class=HTMLResponse)(views.reject)
    app.post("/memory/{issuer_id}/forget", response_class=HTMLResponse)(views.forget)
    return app


@dataclass(slots=True)
class Views:
    config: ReviewConfig
    access: StoreAccess
    tpl: Jinja2Templates
    shown: dict[str, tuple[Record, str | None, str | None]] = field(default_factory=dict)
    """The last state read of each record shown (a DuckDB file held by a run cannot even be read)."""

    def _page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("banner", None)
        ctx.setdefault("notice", request.query_params.get("notice"))
        return self.tpl.TemplateResponse(request, name, {"csrf": self.config.csrf.token(), **ctx},
                                         status_code=status)

    def _error(self, request: Request, message: str, status: int) -> HTMLResponse:
        return self._page(request, "error.html", status, message=message)

    def queue(self, request: Request, contract: str | None = None, reason: str | None = None) -> HTMLResponse:
        try:
            with self.access.read() as store:
                q = review_queue(store, self.config.contracts, contract=contract or None, reason=reason or None)
        except StoreError as exc:
            return self._error(request, str(exc), 503)
        return self._page(request, "queue.html", queue=q, contract=contract or "", reason=reason or "",
                          reasons=REASONS, contracts=sorted(self.config.contracts))

    def _neighbours(self, store: Any, sha256: str) -> tuple[str | None, str | None]:
        items = [i.sha256 for i in review_queue(store, self.config.contracts).items]
        if sha256 not in items:
            return None, items[0] if items else None
        i = items.index(sha256)
        return (items[i - 1] if i else None), (items[i + 1] if i + 1 < len(items) else None)

    def _record_page(self, request: Request, sha256: str, status: int = 200, *, edits: dict[str, str] | None = None,
                     banner: str | None = None, notice: str | None = None) -> HTMLResponse:
        try:
            with self.access.read() as store:
                record = load_record(store, sha256, self.config.contracts)
                prev, nxt = self._neighbours(store, sha256)
            self.shown[sha256] = (record, prev, nxt)
        except StoreBusy:
            if sha256 not in self.shown:
                raise
            # the file is held by a run: show the record as last read, so that the edits are not lost
            record, prev, nxt = self.shown[sha256]
        if edits:
            for f in record.fields:
                f.value = edits.get(f.name, f.value)
        return self._page(request, "record.html", status, record=record, prev=prev, next=nxt, banner=banner,
                          notice=notice or request.query_params.get("notice"))

    def record(self, request: Request, sha256: str) -> HTMLResponse:
        try:
            return self._record_page(request, _sha(sha256))
        except RecordNotFound as exc:
            return self._error(request, str(exc), 404)
        except StoreError as exc:
            return self._error(request, str(exc), 503)

    def page_image(self, sha256: str, page_no: int) -> Response:
        try:
            with self.access.read() as store:
                stored = store.document(_sha(sha256))
            if stored is None:
                raise RecordNotFound("not a registered document")
            doc = DocumentRef(path=stored.path, sha256=sha256, mime=stored.mime, size_bytes=0)
            png = render_page(doc, page_no, self.config.settings)
        except (RecordNotFound, NoImage) as exc:
            return Response(str(exc), status_code=404, media_type="text/plain")
        except StoreError as exc:
            return Response(str(exc), status_code=503, media_type="text/plain")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    async def _form(self, request: Request) -> dict[str, str] | None:
        form = await request.form()
        data = {k: str(v) for k, v in form.items()}
        return data if self.config.csrf.check(data.get("csrf")) else None

    async def approve(self, request: Request, sha256: str) -> Response:
        data = await self._form(request)
        if data is None:
            return self._error(request, "the form's CSRF token is missing or wrong; reload the page", 403)
        edits = {k[len(FIELD_PREFIX):]: v for k, v in data.items() if k.startswith(FIELD_PREFIX)}
        try:
            with self.access.write() as store:
                decision = approve(store, self.config.contracts, _sha(sha256), edits, self.config.reviewer,
                                   day_first=self.config.settings.day_first)
        except StoreBusy as exc:
            return self._record_page(request, sha256, 409, edits=edits,
                                     banner=f"Not saved: {exc} Your edits are kept below; approve again later.")
        except (ReviewError, RecordNotFound) as exc:
            return self._error(request, str(exc), 400)
        if decision.state == "loaded":
            return self._after(request, sha256, f"approved: {sha256[:12]} loaded")
        return self._record_page(request, sha256, 422, edits=edits,  # refused: nothing was written
                                 banner="Not saved, nothing changed: the values do not pass their checks: "
                                 + "; ".join(decision.reasons))

    async def reject(self, request: Request, sha256: str) -> Response:
        data = await self._form(request)
        if data is None:
            return self._error(request, "the form's CSRF token is missing or wrong; reload the page", 403)
        try:
            with self.access.write() as store:
                reject(store, self.config.contracts, _sha(sha256), data.get("reason", ""), self.config.reviewer)
        except StoreBusy as exc:
            return self._record_page(request, sha256, 409, banner=f"Not saved: {exc}")
        except (ReviewError, RecordNotFound) as exc:
            return self._record_page(request, sha256, 400, banner=str(exc))
        return self._after(request, sha256, f"rejected: {sha256[:12]}")

    async def forget(self, request: Request, issuer_id: str) -> Response:
        """Forget what memory knows of an issuer (``Store.forget_issuer``); back to the record it was shown on."""
        data = await self._form(request)
        if data is None:
            return self._error(request, "the form's CSRF token is missing or wrong; reload the page", 403)
        if not ISSUER_RE.match(issuer_id):
            return self._error(request, "not an issuer id", 404)
        try:
            with self.access.write() as store:
                facts = store.forget_issuer(issuer_id)
        except StoreBusy as exc:
            return self._error(request, f"Not forgotten: {exc}", 409)
        back = data.get("back", "")
        target = f"/doc/{back}" if SHA_RE.match(back) else "/"
        notice = f"memory of issuer {issuer_id} forgotten ({facts} fact(s))"
        return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)

    def _after(self, request: Request, sha256: str, notice: str) -> Response:
        """After a decision: the next record of the queue, else the queue."""
        with self.access.read() as store:
            items = [i.sha256 for i in review_queue(store, self.config.contracts).items if i.sha256 != sha256]
        target = f"/doc/{items[0]}" if items else "/"
        return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)
