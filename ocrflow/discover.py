"""Find input documents: type by magic bytes (never the extension), sha256 per file.

Local paths by default; any fsspec URL (``s3://``, ``memory://``, ``file://``...)
is opened through fsspec and copied to a local cache so the renderers can read it.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ocrflow.models import DocumentRef, display_path

CHUNK = 1024 * 1024

MIME_PDF = "application/pdf"
SUPPORTED = ("application/pdf", "image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp")


class UnsupportedDocument(ValueError):
    """The file is not a PDF or a supported image (by content, not extension)."""


def sniff_mime(head: bytes) -> str | None:
    """The MIME type from the first bytes of a file, or None if unsupported."""
    if head.startswith(b"%PDF-") or (b"%PDF-" in head[:1024]):
        return MIME_PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 14:
        return "image/bmp"
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A file that was looked at and cannot be processed, with the reason."""

    path: str
    sha256: str
    size_bytes: int
    reason: str


def describe(path: Path) -> DocumentRef | Rejected:
    """Hash and type one local file."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(2048)
    digest = sha256_file(path)
    shown = display_path(str(path))
    if size == 0:
        return Rejected(shown, digest, size, "empty file (0 bytes)")
    mime = sniff_mime(head)
    if mime is None:
        return Rejected(shown, digest, size,
                        f"unsupported file type (first bytes {head[:8]!r}); expected PDF, PNG, JPEG, TIFF, "
                        "WebP or BMP")
    return DocumentRef(path=shown, sha256=digest, mime=mime, size_bytes=size,
                       fs_path="" if shown == str(path) else str(path))


def _is_url(p: str) -> bool:
    return "://" in p and not p.startswith("file://")


def iter_paths(inputs: Iterable[str], glob: str = "**/*") -> Iterator[Path]:
    """Expand folders (recursive, glob filter) and explicit files into local file paths, sorted."""
    for raw in inputs:
        if _is_url(raw):
            yield from _fetch_fsspec(raw, glob)
            continue
        p = Path(raw.removeprefix("file://")).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.glob(glob) if f.is_file() and not _hidden(f.relative_to(p)))
            yield from found
        elif p.is_file():
            yield p
        else:
            raise FileNotFoundError(f"input {raw!r} does not exist")


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _fetch_fsspec(url: str, glob: str) -> Iterator[Path]:
    """Copy remote files to a local cache keyed by URL so renderers can read them page by page."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    cache = Path.home() / ".cache" / "ocrflow" / "inputs"
    cache.mkdir(parents=True, exist_ok=True)
    if fs.isdir(root):
        names = sorted(f for f in fs.find(root) if fnmatch.fnmatch(f[len(root):].lstrip("/"), glob)
                       or glob in ("**/*", "*"))
    else:
        names = [root]
    for name in names:
        local = cache / hashlib.sha256(f"{url}:{name}".encode()).hexdigest()[:24] / Path(name).name
        local.parent.mkdir(parents=True, exist_ok=True)
        if not local.exists():
            fs.get(name, str(local))
        yield local


def discover(inputs: Iterable[str], glob: str = "**/*") -> Iterator[DocumentRef | Rejected]:
    """Every input file, typed and hashed; duplicates (same sha256) are reported once."""
    seen: set[str] = set()
    for path in iter_paths(inputs, glob):
        item = describe(path)
        if item.sha256 in seen:
            continue
        seen.add(item.sha256)
        yield item
