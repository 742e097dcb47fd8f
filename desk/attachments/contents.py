"""What is inside an accepted file, checked before it is kept (issue 16, point 7: "minimum out
of the building"). Called by desk.attachments.service.write_file, the one place every upload
passes (ticket documents from staff, the portal and the channels, survey photos, the logo).

- An image (PNG, JPEG, WebP) is decoded with Pillow and written again without its metadata:
  EXIF (with the GPS position a phone puts in every photo), XMP, comments and text chunks go;
  the pixels and the colour profile stay, turned upright first as the EXIF orientation said.
  One with more than MAX_PIXELS pixels is refused before it is decoded (a small file can
  declare a huge image: a decompression bomb), as is one Pillow cannot read.
- An Office document (docx, xlsx, pptx) is a ZIP: refused when it has too many entries, when
  its entries would unpack to more than MAX_UNPACKED bytes, or when an entry unpacks to more
  than MAX_RATIO times its packed size. The sizes are counted while unpacking, never taken
  from the archive's own (forgeable) headers alone.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from desk.errors import ValidationFailed

# An 8000 × 6000 photo (48 MP) is the largest a phone takes in its full mode; a decoded RGB
# image of this size is about 150 MB of memory, which a worker can afford once.
MAX_PIXELS = 50_000_000
# Pillow's own guard, for any image opened anywhere in the process: past it Pillow warns, past
# twice it refuses (DecompressionBombError). We check before decoding, with a clear message.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

MAX_ENTRIES = 5_000                 # a large presentation has a few hundred parts
MAX_UNPACKED = 200 * 1024 * 1024    # all entries together, unpacked
MAX_RATIO = 200                     # XML packs 5 to 20 times; a bomb packs thousands of times
CHUNK = 64 * 1024

_JPEG_QUALITY = 92  # re-encoded once: no visible loss on a photo of a document

IMAGES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
OFFICE = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})


class UnsafeContent(ValidationFailed):
    """The file is of an accepted kind but its contents are refused (on the field "file")."""

    def __init__(self, message) -> None:
        super().__init__({"file": [message]})


def too_many_pixels() -> UnsafeContent:
    return UnsafeContent(_l("The image is too large (at most %(n)s megapixels): send a smaller photo or a "
                            "screenshot of it.", n=MAX_PIXELS // 1_000_000))


def unreadable_image() -> UnsafeContent:
    return UnsafeContent(_l("The image could not be read: it may be damaged. Take the photo again or send a PDF."))


def unsafe_document() -> UnsafeContent:
    return UnsafeContent(_l("This document cannot be accepted: its contents are unusually large or many. "
                            "Save it again, or send it as a PDF."))


def check_office(path: Path) -> None:
    """Refuse (UnsafeContent) an Office document whose ZIP would unpack to too much."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                raise unsafe_document()
            declared = sum(entry.file_size for entry in entries)
            if declared > MAX_UNPACKED:
                raise unsafe_document()
            total = 0
            for entry in entries:
                if entry.is_dir():
                    continue
                unpacked, limit = 0, max(entry.compress_size, 1) * MAX_RATIO
                with archive.open(entry) as member:
                    while chunk := member.read(CHUNK):
                        unpacked += len(chunk)
                        total += len(chunk)
                        if (unpacked > limit and unpacked > CHUNK) or total > MAX_UNPACKED:
                            raise unsafe_document()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError):  # damaged, encrypted, a size that lies (zipfile checks it as it reads)
        raise unsafe_document() from None


@contextmanager
def _decoding(path: Path) -> Iterator[Image.Image]:
    """The image at ``path``, opened (not decoded) and refused past MAX_PIXELS; what fails
    while the caller decodes or encodes it in the block is the image's fault (UnsafeContent),
    except an error of the disk itself (an OSError with an errno: ENOSPC, EIO…), raised as it is
    (desk.outage answers it)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise too_many_pixels()
            yield image
    except UnsafeContent:
        raise
    except Image.DecompressionBombError:
        raise too_many_pixels() from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning) as error:
        if isinstance(error, OSError) and error.errno:
            raise
        raise unreadable_image() from None


def strip_image(path: Path, content_type: str) -> None:
    """Write the image at ``path`` again without its metadata (in place, through a temporary
    file beside it). Refused (UnsafeContent) past MAX_PIXELS or when Pillow cannot read or
    write it; a disk that fails raises its own OSError (desk.outage), not a refusal."""
    kind = IMAGES[content_type]
    temporary = path.with_name(path.name + ".clean")
    with _decoding(path) as image:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # the pixels as they are seen (no copy of a photo)
        # What an encoder would write back: Pillow's encoders take EXIF, XMP and text only from
        # what save() is given, but a JPEG comment, a PNG's colour profile and transparency
        # from the image's info. Keep the last two, drop everything else.
        image.info = {key: image.info[key] for key in ("icc_profile", "transparency") if key in image.info}
        options: dict = {"icc_profile": image.info["icc_profile"]} if "icc_profile" in image.info else {}
        if kind in ("JPEG", "WEBP"):
            options.update(quality=_JPEG_QUALITY)
        try:
            image.save(temporary, format=kind, **options)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def check(path: Path, content_type: str) -> None:
    """What ``accept`` would refuse (UnsafeContent), without writing anything: for a caller
    that sorts several documents before storing them (desk.channels.inbound.acceptable)."""
    if content_type in IMAGES:
        with _decoding(path) as image:
            image.verify()
    elif content_type in OFFICE:
        check_office(path)


def accept(path: Path, content_type: str) -> bool:
    """Check the file at ``path`` of the sniffed ``content_type``, and strip an image's metadata.
    True when the file was written again (its size and digest changed)."""
    if content_type in IMAGES:
        strip_image(path, content_type)
        return True
    if content_type in OFFICE:
        check_office(path)
    return False
