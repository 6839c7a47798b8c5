from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from ocrflow.core.models import DocumentRef
from ocrflow.pipeline.render import (
    ImageRenderer,
    RenderError,
    RenderOptions,
    TooManyPagesError,
    encode_jpeg,
    make_renderer,
    normalize,
)
from ocrflow.run.discover import describe


def _ref(p: Path) -> DocumentRef:
    ref = describe(p)
    assert isinstance(ref, DocumentRef)
    return ref


def test_normalize_applies_exif_orientation_rgb_and_long_side_cap() -> None:
    img = Image.new("RGBA", (4000, 1000), (255, 0, 0, 128))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", exif=exif.tobytes())
    rotated = normalize(Image.open(io.BytesIO(buf.getvalue())), 2048)
    assert rotated.mode == "RGB"
    assert rotated.size == (512, 2048)  # portrait after EXIF transpose, capped
    flat = normalize(img, 1000)
    assert flat.mode == "RGB" and max(flat.size) == 1000


def test_encode_jpeg_stays_under_cap() -> None:
    import random

    rnd = random.Random(1)
    img = Image.frombytes("RGB", (1500, 1500), bytes(rnd.getrandbits(8) for _ in range(1500 * 1500 * 3)))
    data = encode_jpeg(img, max_bytes=300_000, quality=95)
    assert len(data) <= 300_000
    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_multipage_tiff_yields_each_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (300, 200), c) for c in ("white", "gray", "black")]
    p = tmp_path / "scan.tif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    pages = list(ImageRenderer(RenderOptions()).pages(_ref(p), max_pages=10))
    assert [pg.page_no for pg in pages] == [1, 2, 3]
    assert pages[1].render().getpixel((5, 5)) == (128, 128, 128)
    assert len(list(ImageRenderer(RenderOptions()).pages(_ref(p)))) == 3  # no limit: every frame
    with pytest.raises(TooManyPagesError, match="3 pages, more than the limit of 2"):
        list(ImageRenderer(RenderOptions()).pages(_ref(p), max_pages=2))


def test_digital_pdf_pages_have_text_layer_and_render_on_demand(demo_dir: Path, demo_gold: list[dict]) -> None:
    rec = next(g for g in demo_gold if g["path"].endswith(".pdf") and g["doc_type"] == "invoice")
    for name in ("pypdfium2", "pdf2image"):
        renderer = make_renderer(name, RenderOptions(dpi=100, max_long_side=900))
        for page in renderer.pages(_ref(demo_dir / rec["path"]), max_pages=5):
            assert page.text_lines, name
            text = " ".join(ln.text for ln in page.text_lines)
            assert str(rec["fields"]["invoice_number"]) in text
            img = page.render()  # rasterized only on demand, while the document is open
            assert img.mode == "RGB" and max(img.size) <= 900
            break


def test_corrupt_pdf_is_a_render_error(tmp_path: Path) -> None:
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n this is not really a pdf")
    with pytest.raises(RenderError, match="PDF is truncated"):
        list(make_renderer("pypdfium2", RenderOptions()).pages(_ref(p), max_pages=1))
