"""Each kind of bad input gets its own error code and a message that says what is wrong (render + processor)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from ocrflow.core.errors import ErrorCode
from ocrflow.core.models import DocState, DocumentRef
from ocrflow.core.settings import load_settings
from ocrflow.demo.bad_inputs import invoice_pdf
from ocrflow.engines.embedded import EmbeddedEngine
from ocrflow.pipeline.processor import Processor
from ocrflow.pipeline.render import RenderError, RenderOptions, make_renderer
from ocrflow.run.discover import InputLimits, Rejected, describe


def _ref(path: Path) -> DocumentRef:
    ref = describe(path)
    assert isinstance(ref, DocumentRef), ref
    return ref


def _code(path: Path, **options: object) -> tuple[ErrorCode, str]:
    renderer = make_renderer("pypdfium2", RenderOptions(**options))  # type: ignore[arg-type]
    with pytest.raises(RenderError) as info:
        for page in renderer.pages(_ref(path)):
            page.render()
    return info.value.code, str(info.value)


def _encrypted(user: str) -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption

    return invoice_pdf("ENC-1", encrypt=StandardEncryption(user, ownerPassword="owner"))


def test_encrypted_pdf_needs_the_configured_password_and_an_empty_user_password_opens(tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(_encrypted("s3cret"))
    code, message = _code(locked)
    assert code == ErrorCode.ENCRYPTED and "OCRFLOW_PDF_PASSWORD" in message
    assert _code(locked, pdf_password="wrong")[0] == ErrorCode.ENCRYPTED
    opened = list(make_renderer("pypdfium2", RenderOptions(pdf_password="s3cret")).pages(_ref(locked)))
    assert len(opened) == 1 and opened[0].text_lines  # the password opens it, text layer and all
    owner_only = tmp_path / "owner_only.pdf"
    owner_only.write_bytes(_encrypted(""))
    assert len(list(make_renderer("pypdfium2", RenderOptions()).pages(_ref(owner_only)))) == 1


def test_a_pdf_without_pages_is_not_called_password_protected(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    empty = tmp_path / "nopages.pdf"
    Canvas(str(empty)).save()
    code, message = _code(empty)
    assert code == ErrorCode.NO_PAGES and "password" not in message


def test_truncated_pdf_and_truncated_or_corrupt_images(tmp_path: Path) -> None:
    pdf = invoice_pdf("TR-1")
    (tmp_path / "cut.pdf").write_bytes(pdf[: len(pdf) // 2])
    assert _code(tmp_path / "cut.pdf")[0] == ErrorCode.TRUNCATED
    buf = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(buf, format="PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert _code(tmp_path / "cut.png")[0] == ErrorCode.TRUNCATED
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    assert _code(tmp_path / "garbage.png")[0] == ErrorCode.CORRUPT_IMAGE


@pytest.mark.parametrize(("size", "code"), [((20000, 3), ErrorCode.IMAGE_TOO_ELONGATED),
                                             ((10, 10), ErrorCode.IMAGE_TOO_SMALL)])
def test_images_too_elongated_or_too_small_say_so(tmp_path: Path, size: tuple[int, int], code: ErrorCode) -> None:
    Image.new("RGB", size, "white").save(tmp_path / "x.png")
    got, message = _code(tmp_path / "x.png")
    assert got == code and f"{size[0]} x {size[1]}" in message


def test_an_image_over_the_pixel_cap_is_refused_as_a_bomb_before_decoding(tmp_path: Path) -> None:
    Image.new("L", (3000, 3000), 255).save(tmp_path / "big.png", optimize=True)
    code, message = _code(tmp_path / "big.png", max_page_pixels=1_000_000)
    assert code == ErrorCode.DECOMPRESSION_BOMB and "9,000,000 pixels" in message


def test_animated_gif_is_read_as_its_first_frame_and_heic_is_read(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (200, 100), c) for c in ("white", "black", "red")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    pages = list(make_renderer("pypdfium2", RenderOptions()).pages(_ref(tmp_path / "anim.gif")))
    assert len(pages) == 1 and pages[0].render().getpixel((5, 5)) == (255, 255, 255)
    from pillow_heif import from_pillow

    from_pillow(Image.new("RGB", (64, 48), "white")).save(str(tmp_path / "photo.heic"))
    ref = _ref(tmp_path / "photo.heic")
    assert ref.mime == "image/heif"
    [page] = list(make_renderer("pypdfium2", RenderOptions()).pages(ref))
    assert page.render().size == (64, 48)


def test_file_size_cap_and_unsupported_type_by_name(tmp_path: Path) -> None:
    (tmp_path / "big.pdf").write_bytes(invoice_pdf("BIG-1"))
    rej = describe(tmp_path / "big.pdf", None, InputLimits(max_file_bytes=100))
    assert isinstance(rej, Rejected) and rej.code == ErrorCode.FILE_TOO_LARGE
    (tmp_path / "data.xml").write_text("<?xml version='1.0'?><order><secret>42</secret></order>")
    rej = describe(tmp_path / "data.xml")
    assert isinstance(rej, Rejected) and "XML document that is not an e-invoice" in rej.reason
    assert "secret" not in rej.reason


def test_a_file_that_changes_or_vanishes_during_the_run_says_so(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(invoice_pdf("CH-1"))
    ref = _ref(pdf)
    processor = Processor(load_settings(store=str(tmp_path / "o.duckdb")), EmbeddedEngine())
    pdf.write_bytes(invoice_pdf("CH-2") + b"\n% changed")
    changed = processor.process(ref)
    assert (changed.state, changed.error_code) == (DocState.FAILED, "changed")
    pdf.unlink()
    vanished = processor.process(ref)
    assert (vanished.state, vanished.error_code) == (DocState.FAILED, "vanished")
