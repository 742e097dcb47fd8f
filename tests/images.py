"""Small real images for the tests: what the desk keeps of an image is what Pillow decodes and
writes again (desk.attachments.contents), so a test image must be one Pillow can read."""
from __future__ import annotations

import io

from PIL import Image

GPS_TAG = 0x8825
MAKE_TAG = 0x010F


def image_bytes(fmt: str, size: tuple[int, int] = (24, 16), colour=(30, 120, 200), exif: bool = False,
                pixels: int | None = None) -> bytes:
    """A ``fmt`` ("PNG", "JPEG", "WEBP") image; with ``exif``, a phone's EXIF with a GPS position
    (Riyadh) and the maker "DeskTestPhone"."""
    image = Image.new("RGB", size, colour)
    options: dict = {}
    if exif:
        tags = Image.Exif()
        tags[MAKE_TAG] = "DeskTestPhone"
        tags[GPS_TAG] = {1: "N", 2: (24.0, 42.0, 36.0), 3: "E", 4: (46.0, 43.0, 12.0)}
        options["exif"] = tags.tobytes()
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
WEBP = image_bytes("WEBP")
