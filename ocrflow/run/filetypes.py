"""What a file is, from its first bytes (never its name): the MIME type of what ocrflow reads, and a
name for what it does not (so that a refusal says "ZIP archive", never the file's bytes).

Read: PDF, PNG, JPEG, TIFF (every page), WebP, BMP, GIF and HEIC/HEIF (through pillow-heif). An
animated GIF or WebP, an APNG and a multi-picture JPEG are read as their FIRST frame only: their frames
are an animation or previews of one picture, not the pages of a document (a multi-page TIFF is the
one image format whose frames are pages, and every one of its pages is read).
"""

from __future__ import annotations

MIME_PDF = "application/pdf"
MIME_HEIF = "image/heif"
SUPPORTED = ("application/pdf", "image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif",
             MIME_HEIF)
MULTI_PAGE_FORMATS = frozenset({"TIFF"})
"""Pillow formats whose frames are pages; any other image is read as its first frame."""

HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff_xml(head: bytes) -> str | None:
    """HOOK for e-invoice XML: the MIME type to give an XML document that ocrflow reads, else None.

    Called by :func:`sniff_mime` for every file that starts like XML. The e-invoice reader
    (``ocrflow.pipeline.einvoice``) plugs its detection in here (UBL / CII root element -> its MIME type); until
    it does, no XML is read and :func:`detected_kind` names it "XML document that is not an e-invoice".
    """
    from ocrflow.pipeline.einvoice.standalone import sniff_einvoice_xml

    return sniff_einvoice_xml(head)


def looks_like_xml(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"<?xml") or (text.startswith(b"<") and not text[:15].lower().startswith(
        (b"<!doctype html", b"<html")))


def sniff_mime(head: bytes) -> str | None:
    """The MIME type from the first bytes of a file, or None if ocrflow does not read that kind."""
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
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return MIME_HEIF
    if looks_like_xml(head):
        return sniff_xml(head)
    return None


_KINDS: tuple[tuple[bytes, int, str], ...] = (
    # magic, offset, name
    (b"PK\x03\x04", 0, "ZIP archive (also Word, Excel and OpenDocument files)"),
    (b"PK\x05\x06", 0, "ZIP archive (empty)"),
    (b"\x1f\x8b", 0, "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip archive"),
    (b"Rar!\x1a\x07", 0, "RAR archive"),
    (b"ustar", 257, "tar archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "legacy Microsoft Office document (.doc/.xls/.msg)"),
    (b"{\\rtf", 0, "RTF document"),
    (b"%!PS", 0, "PostScript document"),
    (b"\x7fELF", 0, "ELF executable"),
    (b"MZ", 0, "Windows executable"),
    (b"SQLite format 3\x00", 0, "SQLite database"),
    (b"\x00\x00\x01\x00", 0, "Windows icon"),
    (b"8BPS", 0, "Photoshop image"),
    (b"OggS", 0, "Ogg media"),
    (b"ID3", 0, "MP3 audio"),
    (b"\x1aE\xdf\xa3", 0, "Matroska/WebM video"),
)


def detected_kind(head: bytes) -> str:
    """A human name for the kind of file ``head`` starts (never any of its bytes)."""
    for magic, offset, name in _KINDS:
        if head[offset:offset + len(magic)] == magic:
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF image"
        return "MP4/QuickTime media" if brand not in HEIF_BRANDS else "HEIC/HEIF image"
    if head[:4] == b"RIFF":
        return "RIFF media (WAV/AVI)"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "HTML document"
    if looks_like_xml(head):
        return "XML document that is not an e-invoice"
    if lowered.startswith((b"{", b"[")):
        return "JSON or other text data"
    return "plain text" if _is_text(head) else "unrecognized binary data"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:-3].decode("utf-8")  # a character cut at the end of the sample
        except UnicodeDecodeError:
            return False
    else:
        text = head.decode("utf-8")
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
