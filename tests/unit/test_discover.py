from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from ocrflow.core.models import DocumentRef
from ocrflow.run.discover import Rejected, describe, discover, sniff_mime


def _write_images(d: Path) -> dict[str, str]:
    img = Image.new("RGB", (40, 30), "white")
    expected = {}
    for fmt, mime, name in (("PNG", "image/png", "a.png"), ("JPEG", "image/jpeg", "b.jpg"),
                            ("TIFF", "image/tiff", "c.tif"), ("WEBP", "image/webp", "d.webp"),
                            ("BMP", "image/bmp", "e.bmp")):
        img.save(d / name, format=fmt)
        expected[name] = mime
    return expected


def test_type_comes_from_magic_bytes_not_extension(tmp_path: Path) -> None:
    expected = _write_images(tmp_path)
    # a PNG named .pdf and a PDF named .png
    (tmp_path / "a.png").rename(tmp_path / "looks_like.pdf")
    expected["looks_like.pdf"] = expected.pop("a.png")
    (tmp_path / "doc.png").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    expected["doc.png"] = "application/pdf"
    for name, mime in expected.items():
        ref = describe(tmp_path / name)
        assert isinstance(ref, DocumentRef), name
        assert ref.mime == mime, name


def test_unsupported_and_empty_files_are_rejected_with_reason(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_text("just text, not a pdf")
    (tmp_path / "empty.jpg").write_bytes(b"")
    rej = {Path(r.path).name: r for r in discover([str(tmp_path)]) if isinstance(r, Rejected)}
    assert "unsupported file type: plain text" in rej["notes.pdf"].reason
    assert "just text" not in rej["notes.pdf"].reason  # the kind is named, the content never quoted
    assert "empty" in rej["empty.jpg"].reason


def test_sha256_and_dedup_and_recursive_glob(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    data = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    (tmp_path / "sub" / "x.png").write_bytes(data)
    (tmp_path / "sub" / "deeper" / "copy.png").write_bytes(data)
    (tmp_path / "sub" / "deeper" / "other.bmp").write_bytes(b"BM" + b"1" * 100)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.png").write_bytes(data + b"2")
    found = list(discover([str(tmp_path)]))
    assert len(found) == 2  # duplicate content reported once, hidden folder ignored
    shas = {f.sha256 for f in found}
    assert hashlib.sha256(data).hexdigest() in shas
    only_png = list(discover([str(tmp_path)], glob="**/*.png"))
    assert [Path(f.path).suffix for f in only_png] == [".png"]


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(discover([str(tmp_path / "nope")]))


def test_sniff_mime_tiff_big_endian_and_webp() -> None:
    assert sniff_mime(b"MM\x00*rest") == "image/tiff"
    assert sniff_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_mime(b"GIF89a") == "image/gif"  # read as its first frame
    assert sniff_mime(b"PK\x03\x04rest") is None


def test_fsspec_url_inputs(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/inbox/a.png", b"\x89PNG\r\n\x1a\n" + b"z" * 50)
    found = list(discover(["memory://inbox"]))
    assert len(found) == 1 and isinstance(found[0], DocumentRef)
    assert found[0].mime == "image/png"


def test_failure_values_stay_json_structured() -> None:
    import json

    from ocrflow.core.models import Failure

    f = Failure("a,b", "sum", {"a": 1.5, "b": None}, "a + b must equal c")
    assert json.loads(json.dumps(f.as_dict()))["value"] == {"a": 1.5, "b": None}
