"""Decode the extension's avatar data URIs and save them under MEDIA_ROOT.

Avatars come only from ``avatar_data`` in a push. The server never fetches
a URL a client names: the original downloaded ``avatar_url`` from LinkedIn's
CDN hosts, which let any client make the server issue requests and hang a
push for up to 15 seconds per profile.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_AVATAR_BYTES = 5_000_000
AVATAR_DIR = "avatars"

# Base64 of MAX_AVATAR_BYTES is at most this long; anything longer is too big
# before it is decoded, so an oversized string is never decoded at all.
_MAX_ENCODED_CHARS = (MAX_AVATAR_BYTES + 2) // 3 * 4

_DATA_URI = re.compile(
    r"data:(?P<mime>[a-z0-9.+-]+/[a-z0-9.+-]+)(?P<params>(?:;[^;,]*)*),(?P<body>.*)",
    re.IGNORECASE | re.DOTALL,
)
_DECLARED_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"}
_WHITESPACE = re.compile(r"\s+")
_EXTENSIONS = ("png", "jpg", "gif", "webp")


class AvatarError(ValueError):
    """An ``avatar_data`` value that is not an acceptable image."""


@dataclass(frozen=True)
class AvatarImage:
    content: bytes
    extension: str


def image_extension(content: bytes) -> str:
    """Return "png", "jpg", "gif" or "webp" from the file's magic bytes, or ""."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return ""


def avatar_from_data_uri(value: str) -> AvatarImage:
    """Decode a ``data:image/...;base64,...`` URI into checked image bytes.

    The declared type must be PNG, JPEG, GIF or WebP, the body strict base64,
    the bytes one of those four formats by their magic bytes, and at most
    MAX_AVATAR_BYTES long. The file extension follows the bytes, not the
    declared type, so a PNG labelled image/jpeg is still saved as .png.
    Raise AvatarError saying what is wrong.
    """
    match = _DATA_URI.fullmatch(value.strip())
    if match is None:
        raise AvatarError("not a data: URI")
    mime = match["mime"].lower()
    if mime not in _DECLARED_TYPES:
        raise AvatarError(
            f"{mime} is not image/png, image/jpeg, image/gif or image/webp"
        )
    params = [p.strip().lower() for p in match["params"].split(";") if p.strip()]
    if "base64" not in params:
        raise AvatarError("not base64-encoded")

    body = _WHITESPACE.sub("", match["body"])
    if len(body) > _MAX_ENCODED_CHARS + 4:
        raise AvatarError(f"larger than {MAX_AVATAR_BYTES} bytes")
    try:
        content = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise AvatarError("not valid base64") from None
    if len(content) > MAX_AVATAR_BYTES:
        raise AvatarError(f"larger than {MAX_AVATAR_BYTES} bytes")

    extension = image_extension(content)
    if not extension:
        raise AvatarError("the data is not a PNG, JPEG, GIF or WebP image")
    return AvatarImage(content=content, extension=extension)


def avatar_url_for(*, contact_id: uuid.UUID, image: AvatarImage) -> str:
    """Return the URL the saved avatar of ``contact_id`` is served at."""
    return f"{settings.MEDIA_URL}{AVATAR_DIR}/{contact_id}.{image.extension}"


def avatar_save(*, contact_id: uuid.UUID, image: AvatarImage) -> Path:
    """Write ``image`` as MEDIA_ROOT/avatars/<contact_id>.<ext>; return its path.

    The file is written under a temporary name and renamed into place, so a
    reader never sees half an image. The contact's avatars in the other
    formats are removed: the newest one is the only one kept.
    """
    directory = Path(settings.MEDIA_ROOT) / AVATAR_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{contact_id}.{image.extension}"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(image.content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for extension in _EXTENSIONS:
        if extension != image.extension:
            (directory / f"{contact_id}.{extension}").unlink(missing_ok=True)
    return target


def is_expiring_linkedin_url(url: str | None) -> bool:
    """Tell whether ``url`` is a LinkedIn CDN image link (they expire).

    media.licdn.com links carry a signed expiry; the original fetched them
    on every push and cleared them when the fetch failed. We never fetch,
    so such a link is dropped and the contact is listed for a backfill,
    which makes the extension send the image itself.
    """
    if not url or not url.lower().startswith(("http://", "https://")):
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host == "licdn.com" or host.endswith(".licdn.com")
