"""Page image -> JPEG data URL under the size caps."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image

MIN_QUALITY = 50
SHRINK = 0.8


@dataclass(frozen=True, slots=True)
class EncodedImage:
    data_url: str
    width: int
    height: int
    quality: int
    downscaled: bool

    @property
    def size_bytes(self) -> int:
        return len(self.data_url)


def _fit_long_side(image: Image.Image, max_long_side: int) -> Image.Image:
    long_side = max(image.size)
    if long_side <= max_long_side:
        return image
    scale = max_long_side / long_side
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def encode_image(image: Image.Image, *, max_long_side: int = 2048, max_bytes: int = 4 * 1024 * 1024,
                 quality: int = 90) -> EncodedImage:
    """JPEG-encode ``image`` so the base64 data URL stays under ``max_bytes``.

    Downscales to ``max_long_side`` first, then lowers quality in steps down to 50, then
    shrinks by 20% at a time.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    current = _fit_long_side(rgb, max_long_side)
    q = quality
    while True:
        raw = _jpeg(current, q)
        url = "data:image/jpeg;base64," + base64.b64encode(raw).decode("ascii")
        if len(url) <= max_bytes or max(current.size) <= 64:
            return EncodedImage(url, current.width, current.height, q, current.size != rgb.size)
        if q > MIN_QUALITY:
            q = max(MIN_QUALITY, q - 10)
        else:
            size = (max(1, int(current.width * SHRINK)), max(1, int(current.height * SHRINK)))
            current = current.resize(size, Image.Resampling.LANCZOS)
