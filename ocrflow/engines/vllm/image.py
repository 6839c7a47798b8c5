"""Page image -> JPEG data URL under the size caps, once per image (``EncodedImages``)."""

from __future__ import annotations

import base64
import io
import weakref
from dataclasses import dataclass

from PIL import Image

from ocrflow.core.models import SOURCE_JPEG

MIN_QUALITY = 50
SOURCE_QUALITY = 0
"""``EncodedImage.quality`` of a page sent as its source file's own JPEG bytes (``SOURCE_JPEG``)."""
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

    A page that carries its source file's JPEG bytes (``SOURCE_JPEG``) within both caps is sent as those
    bytes. Otherwise: downscales to ``max_long_side`` first, then lowers quality in steps down to 50, then
    shrinks by 20% at a time.
    """
    source = image.info.get(SOURCE_JPEG)
    if isinstance(source, bytes) and image.mode == "RGB" and max(image.size) <= max_long_side:
        url = "data:image/jpeg;base64," + base64.b64encode(source).decode("ascii")
        if len(url) <= max_bytes:
            return EncodedImage(url, image.width, image.height, SOURCE_QUALITY, False)
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


class EncodedImages:
    """``encode_image`` once per page image: a document's spotting and extraction requests carry the same page
    (the pipeline hands the same image object to both), so the second one reuses the first one's JPEG.

    Keyed by the image object (not its pixels: hashing them costs about what encoding does); an entry goes
    when its image is garbage-collected. An image must not be changed in place after it was sent."""

    def __init__(self, *, max_long_side: int = 2048, max_bytes: int = 4 * 1024 * 1024, quality: int = 90) -> None:
        self.max_long_side, self.max_bytes, self.quality = max_long_side, max_bytes, quality
        self._done: dict[int, tuple[weakref.ref[Image.Image], EncodedImage]] = {}
        self.encoded = 0
        """Images encoded (the misses), for tests and benchmarks."""

    def encode(self, image: Image.Image) -> EncodedImage:
        key = id(image)
        found = self._done.get(key)
        if found is not None and found[0]() is image:
            return found[1]
        encoded = encode_image(image, max_long_side=self.max_long_side, max_bytes=self.max_bytes,
                               quality=self.quality)
        self.encoded += 1
        self._done[key] = (weakref.ref(image, lambda ref: self._forget(key, ref)), encoded)
        return encoded

    def _forget(self, key: int, ref: weakref.ref[Image.Image]) -> None:
        """The image died: drop its entry unless a newer image (same id) took the key. No lock: this runs
        wherever the collector runs, and each dict operation is atomic."""
        found = self._done.get(key)
        if found is not None and found[0] is ref:
            self._done.pop(key, None)

    def __len__(self) -> int:
        return len(self._done)
