"""Who may use the review app: loopback by default; any other address needs a token, on every request.

The token comes from ``--token`` or ``OCRFLOW_REVIEW_TOKEN``. A browser presents it once as
``?token=...`` (or the header ``Authorization: Bearer ...``); the app then sets it in an HttpOnly,
SameSite=Strict cookie. Forms carry a CSRF token (an HMAC of a per-process secret), checked on every
POST whatever the address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

TOKEN_ENV = "OCRFLOW_REVIEW_TOKEN"
COOKIE = "ocrflow_review_token"


class SecurityError(ValueError):
    """The app would be reachable from other machines without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_token(host: str, token: str | None) -> str | None:
    """The token every request must carry (None on loopback without one); an error off loopback without one."""
    if token:
        return token
    if is_loopback(host):
        return None
    raise SecurityError(f"binding {host} makes the review page reachable from other machines: give a token "
                        f"(--token or {TOKEN_ENV})")


def token_ok(expected: str | None, presented: str | None) -> bool:
    if expected is None:
        return True
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())


class Csrf:
    """CSRF tokens for the forms: one per process and purpose, compared in constant time."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def token(self, purpose: str = "form") -> str:
        return hmac.new(self._secret, purpose.encode(), hashlib.sha256).hexdigest()

    def check(self, presented: str | None, purpose: str = "form") -> bool:
        return presented is not None and hmac.compare_digest(self.token(purpose), presented)
