"""A folder of the bad inputs a real inbox gets, made by the project's own code, with what each must become.

``make_bad_inputs(folder)`` writes (and returns the expectations of):

- ``empty.pdf``               0 bytes                                     -> failed, ``empty``
- ``truncated.pdf``           an invoice PDF cut in half                  -> failed, ``truncated``
- ``encrypted.pdf``           PDF with a user password                    -> failed, ``encrypted``
- ``owner_only.pdf``          PDF encrypted with an EMPTY user password   -> read (loaded or quarantined)
- ``not_a_pdf.pdf``           a ZIP archive named .pdf                    -> failed, ``unsupported_type``
- ``strip.png``               a 20000 x 3 image                           -> failed, ``image_too_elongated``
- ``latin1_\\xe9t\\xe9.pdf``    an invoice whose name is not UTF-8          -> read, path shown escaped
- ``outside.pdf``             a symlink to a file outside the folder      -> failed, ``symlink_outside_root``
- ``invoice.pdf`` + ``copy_of_invoice.pdf``  the same bytes, two names    -> one document, two paths

The symlink's target (``<folder>/../outside_target.txt``, beside the folder, not in it) holds a
recognizable secret line: a test asserts it appears nowhere in the store.
Run ``python -m ocrflow.demo.bad_inputs OUT_DIR``.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

SECRET = "root:x:0:0:do-not-leak"
INVOICE_LINES = ["INVOICE", "Invoice number: {n}", "Invoice date: 2024-03-01", "Seller: Example Trading GmbH",
                 "Subtotal: 100.00 EUR", "Tax: 19.00 EUR", "Total: 119.00 EUR"]
NON_UTF8_NAME = b"latin1_\xe9t\xe9.pdf"


@dataclass(frozen=True, slots=True)
class BadInput:
    name: str
    """The file name as shown (``display_path``)."""
    state: str
    """Expected state: failed, or ``read`` (loaded or quarantined)."""
    code: str | None


def invoice_pdf(number: str, *, encrypt: object = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, invariant=1, encrypt=encrypt)
    canvas.setFont("Helvetica", 11)
    for i, line in enumerate(INVOICE_LINES):
        canvas.drawString(60, 780 - 18 * i, line.format(n=number))
    canvas.save()
    return buf.getvalue()


def _encryption(user: str) -> object:
    from reportlab.lib.pdfencrypt import StandardEncryption

    return StandardEncryption(user, ownerPassword="owner-secret")


def make_bad_inputs(folder: Path) -> list[BadInput]:
    """Write the bad-input sample into ``folder`` (created); returns what each file must become."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.pdf").write_bytes(b"")
    whole = invoice_pdf("BAD-1")
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    (folder / "encrypted.pdf").write_bytes(invoice_pdf("BAD-2", encrypt=_encryption("user-secret")))
    (folder / "owner_only.pdf").write_bytes(invoice_pdf("BAD-3", encrypt=_encryption("")))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("invoice.txt", "Invoice number: BAD-4")
    (folder / "not_a_pdf.pdf").write_bytes(zipped.getvalue())
    Image.new("RGB", (20000, 3), "white").save(folder / "strip.png")
    with open(os.fsencode(folder) + b"/" + NON_UTF8_NAME, "wb") as fh:
        fh.write(invoice_pdf("BAD-5"))
    target = folder.parent / "outside_target.txt"
    target.write_text(SECRET + "\n", encoding="utf-8")
    link = folder / "outside.pdf"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)
    same = invoice_pdf("BAD-6")
    (folder / "invoice.pdf").write_bytes(same)
    (folder / "copy_of_invoice.pdf").write_bytes(same)
    return [
        BadInput("empty.pdf", "failed", "empty"), BadInput("truncated.pdf", "failed", "truncated"),
        BadInput("encrypted.pdf", "failed", "encrypted"), BadInput("owner_only.pdf", "read", None),
        BadInput("not_a_pdf.pdf", "failed", "unsupported_type"),
        BadInput("strip.png", "failed", "image_too_elongated"),
        BadInput("latin1_\\xe9t\\xe9.pdf", "read", None),
        BadInput("outside.pdf", "failed", "symlink_outside_root"),
        BadInput("invoice.pdf", "read", None),
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ocrflow.demo.bad_inputs OUT_DIR", file=sys.stderr)
        return 2
    for item in make_bad_inputs(Path(args[0])):
        print(f"{item.name:28} -> {item.state}{' (' + item.code + ')' if item.code else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
