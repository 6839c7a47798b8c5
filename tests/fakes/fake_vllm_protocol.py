"""The fake vLLM's side of the protocol: request validation as strict as vLLM's, error bodies, request records.

Split from ``tests.fakes.fake_vllm`` (the server); nothing here does I/O or imports ocrflow.
"""

from __future__ import annotations

import binascii
import functools
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

DEFAULT_MODEL = "tencent/HunyuanOCR"
PART_TYPES = {"text", "image_url"}
ROLES = {"system", "user", "assistant"}
FORMAT_TYPES = {"text", "json_object", "json_schema"}
SPECIAL_TOKENS = ("<ref>", "</ref>", "<quad>", "</quad>")
"""HunyuanOCR's spotting markup: special tokens in its vocabulary (hy_place_holder_no_112/113/110/111)."""
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
_QUAD_RE = re.compile(r"<quad>[^<]*</quad>")


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Captured:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Counters:
    running: int = 0
    waiting: int = 0
    peak_running: int = 0
    completed: int = 0
    chat_requests: int = 0
    first_request_at: float = 0.0
    """Wall clock (time.time) of the first chat request, and of the last completion: the busy span."""
    last_completed_at: float = 0.0


@dataclass
class ChatCall:
    model: str
    prompt: str
    image: Image.Image
    max_tokens: int
    response_format: dict[str, Any] | None
    fields: list[str] = field(default_factory=list)
    skip_special_tokens: bool = True
    spaces_between_special_tokens: bool = True
    image_size: tuple[int, int] = (0, 0)
    """The image's size as sent (``image`` may be decoded smaller: ``parse_chat``'s ``scale``)."""


def error_body(status: int, message: str) -> dict[str, Any]:
    kinds = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError",
             429: "RateLimitError", 503: "ServiceUnavailableError"}
    return {"error": {"message": message, "type": kinds.get(status, "InternalServerError"),
                      "param": None, "code": status}}


# ----------------------------------------------------------------------------- validation
def _decode_image(url: Any, max_bytes: int, *, scale: int = 1) -> tuple[Image.Image, tuple[int, int]]:
    """The image of a data URL, decoded whole (any corrupt or truncated byte is a 400), and its size.

    ``scale`` > 1 lets the JPEG decoder skip most of the inverse DCT (``Image.draft``): every byte is still
    read and checked, the pixels come back that many times smaller (the sleep mode looks at no pixel)."""
    if not isinstance(url, str) or not url.startswith("data:image/"):
        raise HttpError(400, "image_url must be a data:image/...;base64 URL (no network access)")
    if len(url) > max_bytes:
        raise HttpError(400, f"image data is {len(url)} bytes, over the {max_bytes}-byte limit")
    head, _, data = url.partition(",")
    if ";base64" not in head:
        raise HttpError(400, "image data URL must be base64-encoded")
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)  # as strict as b64decode(validate=True), in C
        image = Image.open(io.BytesIO(raw))
        size = image.size
        if scale > 1:
            image.draft("RGB", (max(1, size[0] // scale), max(1, size[1] // scale)))
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as exc:
        raise HttpError(400, f"Failed to load image: {exc}") from exc
    return image.convert("RGB"), size


def _user_parts(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or len(messages) < 2:
        raise HttpError(400, "messages must be a list: a system message, then a user message")
    for msg in messages:
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            raise HttpError(400, f"invalid message {str(msg)[:80]!r}: role must be one of {sorted(ROLES)}")
    if messages[0]["role"] != "system" or not isinstance(messages[0].get("content"), str):
        raise HttpError(400, "first message must be a system message with string content")
    user = messages[-1]
    if user["role"] != "user" or not isinstance(user.get("content"), list):
        raise HttpError(400, "last message must be a user message whose content is a list of parts")
    for part in user["content"]:
        if not isinstance(part, dict) or part.get("type") not in PART_TYPES:
            kind = part.get("type") if isinstance(part, dict) else part
            raise HttpError(400, f"Unknown part type: {kind}")
    return list(user["content"])


def _check_response_format(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in FORMAT_TYPES:
        raise HttpError(400, f"response_format.type must be one of {sorted(FORMAT_TYPES)}")
    if value["type"] != "json_schema":
        return value
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(
            spec.get("schema"), dict):
        raise HttpError(400, "response_format.json_schema needs a string 'name' and an object 'schema'")
    _check_schema(json.dumps(spec["schema"], sort_keys=True))
    return value


@functools.lru_cache(maxsize=64)
def _check_schema(schema_json: str) -> None:
    """A schema checked once (a run sends the same contract's schema with every extraction request)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        raise HttpError(400, f"invalid JSON schema: {exc.message}") from exc


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise HttpError(400, f"{name} must be a boolean, got {value!r}")
    return value


def decode_special_tokens(text: str, *, skip: bool = True, spaces: bool = True) -> str:
    """What vLLM's detokenizer makes of a model's output holding special tokens.

    ``skip`` (vLLM's default, ``skip_special_tokens``): the tokens are dropped, and with them the coordinates of
    the ``<quad>`` spans, as HunyuanOCR issue 63 reports ("VLLM does not return text coordinates": the text
    only). Kept: the tokens as written, a space between each token and the text beside it when ``spaces``
    (``spaces_between_special_tokens``, also on by default)."""
    if skip:
        return _SPECIAL_RE.sub("", _QUAD_RE.sub("", text))
    if not spaces:
        return text
    return " ".join(part for part in _SPECIAL_RE.split(text) if part)


def _fields_from(prompt: str, response_format: dict[str, Any] | None) -> list[str]:
    m = re.search(r"\[([^\]]*)\]", prompt)
    if m:
        names = re.findall(r"'([^']*)'", m.group(1))
        if names:
            return names
    schema = ((response_format or {}).get("json_schema") or {}).get("schema") or {}
    return list((schema.get("properties") or {}).keys())


def parse_chat(body: Any, models: Sequence[str], max_image_bytes: int, *, scale: int = 1) -> ChatCall:
    if not isinstance(body, dict):
        raise HttpError(400, "request body must be a JSON object")
    model = body.get("model")
    if model not in models:
        raise HttpError(404, f"The model `{model}` does not exist.")
    parts = _user_parts(body.get("messages"))
    images = [p for p in parts if p["type"] == "image_url"]
    texts = [p.get("text") for p in parts if p["type"] == "text"]
    if len(images) != 1 or not all(isinstance(t, str) for t in texts):
        raise HttpError(400, "expected exactly one image_url part and text parts with string text")
    image, size = _decode_image((images[0].get("image_url") or {}).get("url"), max_image_bytes, scale=scale)
    max_tokens = body.get("max_tokens", 4096)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise HttpError(400, "max_tokens must be a positive integer")
    response_format = _check_response_format(body.get("response_format"))
    prompt = "\n".join(str(t) for t in texts)
    return ChatCall(model, prompt, image, max_tokens, response_format, _fields_from(prompt, response_format),
                    _flag(body, "skip_special_tokens", True), _flag(body, "spaces_between_special_tokens", True),
                    size)
