"""Find input documents: type by magic bytes (never the extension), sha256 per file.

Local paths by default; any fsspec URL (``s3://``, ``memory://``, ``file://``...) is opened through
fsspec and copied to a local cache so the renderers can read it.

Every path is looked at before anything is opened: a symbolic link that leads out of the input folder
is refused (its target is never opened; ``follow_symlinks_outside_root`` allows it), a file over the
size cap is refused unread, and a refusal never quotes the file's bytes (the detected kind is named:
``ocrflow.run.filetypes``). A file that was not read has no content hash: its id is derived from its path
(:func:`unread_id`). The same bytes under several names are one document; :func:`scan` keeps every
path (``document_paths``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_from_bytes

from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocumentRef, display_path
from ocrflow.run.filetypes import MIME_PDF, SUPPORTED, detected_kind, sniff_mime

__all__ = ["MIME_PDF", "SUPPORTED", "InputLimits", "Rejected", "Scan", "describe", "discover", "iter_paths",
           "raw_path", "scan", "sha256_file", "sniff_mime"]

CHUNK = 1024 * 1024
HEAD = 2048
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InputLimits:
    """How discovery treats what it finds (from the settings)."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Larger files are refused unread (``file_too_large``); 0 = no cap."""
    follow_symlinks_outside_root: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """A file that was looked at and cannot be processed, with the reason and its code."""

    path: str
    sha256: str
    size_bytes: int
    reason: str
    code: ErrorCode = ErrorCode.UNSUPPORTED_TYPE
    fs_path: str = ""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def raw_path(os_path: str) -> str | None:
    """The raw bytes of a name that is not valid UTF-8, percent-encoded (lossless); None for a UTF-8 name."""
    if not os_path:
        return None
    try:
        os_path.encode("utf-8")
    except UnicodeEncodeError:
        return quote_from_bytes(os.fsencode(os_path), safe="/")
    return None


def unread_id(kind: str, path: Path) -> str:
    """The id of a file refused before its content was read: derived from its path, never its bytes."""
    return hashlib.sha256(b"ocrflow-unread:" + kind.encode() + b":" + os.fsencode(path)).hexdigest()


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _rejected(path: Path, code: ErrorCode, reason: str, *, size: int = 0, digest: str = "") -> Rejected:
    shown = display_path(str(path))
    return Rejected(shown, digest or unread_id(code.value, path), size, reason, code,
                    "" if shown == str(path) else str(path))


def describe(path: Path, root: Path | None = None, limits: InputLimits | None = None) -> DocumentRef | Rejected:
    """Hash and type one local file found under ``root`` (the input it came from)."""
    limits = limits or InputLimits()
    if root is not None and not limits.follow_symlinks_outside_root and not _inside(path, root):
        return _rejected(path, ErrorCode.SYMLINK_OUTSIDE_ROOT,
                         "symbolic link to a file outside the input folder; not followed "
                         "(OCRFLOW_FOLLOW_SYMLINKS_OUTSIDE_ROOT=true allows it)")
    try:
        st = path.stat()
    except FileNotFoundError:
        return _rejected(path, ErrorCode.VANISHED, "file vanished before it was read (or a symbolic link to "
                                                   "nothing)")
    except OSError as exc:
        return _rejected(path, ErrorCode.UNREADABLE, f"cannot read file: {exc.strerror or type(exc).__name__}")
    if limits.max_file_bytes and st.st_size > limits.max_file_bytes:
        return _rejected(path, ErrorCode.FILE_TOO_LARGE, f"file is {st.st_size:,} bytes, more than the cap of "
                         f"{limits.max_file_bytes:,} (OCRFLOW_MAX_FILE_BYTES); not read", size=st.st_size)
    try:
        head, digest = _head_and_hash(path)
    except FileNotFoundError:
        return _rejected(path, ErrorCode.VANISHED, "file vanished while it was read")
    except OSError as exc:
        return _rejected(path, ErrorCode.UNREADABLE, f"cannot read file: {exc.strerror or type(exc).__name__}")
    if st.st_size == 0:
        return _rejected(path, ErrorCode.EMPTY, "empty file (0 bytes)", digest=digest)
    mime = sniff_mime(head)
    if mime is None:
        return _rejected(path, ErrorCode.UNSUPPORTED_TYPE,
                         f"unsupported file type: {detected_kind(head)} (by content, whatever the name says); "
                         "expected PDF, PNG, JPEG, TIFF, WebP, BMP, GIF or HEIC", size=st.st_size, digest=digest)
    shown = display_path(str(path))
    return DocumentRef(path=shown, sha256=digest, mime=mime, size_bytes=st.st_size,
                       fs_path="" if shown == str(path) else str(path), mtime_ns=st.st_mtime_ns)


def _head_and_hash(path: Path) -> tuple[bytes, str]:
    """The first bytes and the sha256 of a file, in one pass."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        head = fh.read(HEAD)
        h.update(head)
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return head, h.hexdigest()


def _is_url(p: str) -> bool:
    return "://" in p and not p.startswith("file://")


def iter_found(inputs: Iterable[str], glob: str = "**/*") -> Iterator[tuple[Path, Path | None]]:
    """Every input file with the root it was found under (None: a fetched URL), sorted per folder.

    Symbolic links are listed, not followed here: :func:`describe` decides about them."""
    for raw in inputs:
        if _is_url(raw):
            yield from ((p, None) for p in _fetch_fsspec(raw, glob))
            continue
        p = Path(raw.removeprefix("file://")).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.glob(glob) if (f.is_file() or f.is_symlink())
                           and not _hidden(f.relative_to(p)))
            yield from ((f, p) for f in found)
        elif p.is_file() or p.is_symlink():
            yield p, p.parent if p.is_symlink() else None
        else:
            raise FileNotFoundError(f"input {display_path(raw)!r} does not exist")


def iter_paths(inputs: Iterable[str], glob: str = "**/*") -> Iterator[Path]:
    """Expand folders (recursive, glob filter) and explicit files into local file paths, sorted."""
    return (p for p, _ in iter_found(inputs, glob))


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


@dataclass(slots=True)
class Scan:
    """What discovery found: each document once, and every path of each."""

    items: list[DocumentRef | Rejected] = field(default_factory=list)
    paths: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(sha256, shown path, raw path) for every path, duplicates included."""

    @property
    def duplicates(self) -> int:
        """Paths beyond the first of each document (the same bytes under another name)."""
        return len(self.paths) - len({sha for sha, _, _ in self.paths})


def scan(inputs: Iterable[str], glob: str = "**/*", limits: InputLimits | None = None) -> Scan:
    """Every input file, typed and hashed; a document found under several paths is listed once, with all
    of its paths."""
    out = Scan()
    seen: set[str] = set()
    for path, root in iter_found(inputs, glob):
        item = describe(path, root, limits)
        out.paths.append((item.sha256, item.path, raw_path(item.fs_path)))
        if item.sha256 not in seen:
            seen.add(item.sha256)
            out.items.append(item)
    return out


def discover(inputs: Iterable[str], glob: str = "**/*", limits: InputLimits | None = None) \
        -> Iterator[DocumentRef | Rejected]:
    """Every input file, typed and hashed; duplicates (same sha256) are reported once."""
    yield from scan(inputs, glob, limits).items
