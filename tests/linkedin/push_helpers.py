"""Build push bodies, signed-in clients and tiny real images for the push tests."""

from __future__ import annotations

import base64
import io

from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import User

PUSH_URL = "/api/v1/linkedin/push"


def token_client(user: User) -> APIClient:
    """Return a client that signs in as ``user`` with a DRF token, as the extension does."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def push(client: APIClient, body):
    return client.post(PUSH_URL, body, format="json")


def profile(profile_id: str | None, full_name: str = "", **fields) -> dict:
    body = {"profile_id": profile_id, "full_name": full_name}
    if profile_id and "profile_url" not in fields:
        body["profile_url"] = f"https://www.linkedin.com/in/{profile_id}"
    body.update(fields)
    return body


def message(
    profile_id: str | None,
    profile_name: str = "",
    *,
    conversation_id: str = "conv-001",
    timestamp: str = "2024-05-01T10:00:00Z",
    direction: str = "inbound",
    content_preview: str = "Hello there",
    content_hash: str | None = None,
    **fields,
) -> dict:
    body = {
        "profile_id": profile_id,
        "profile_name": profile_name,
        "direction": direction,
        "content_preview": content_preview,
        "timestamp": timestamp,
        "conversation_id": conversation_id,
        # What the real extension also sends; the server ignores both.
        "source": "linkedin",
        "raw_reference_id": "ignored",
    }
    if content_hash is not None:
        body["content_hash"] = content_hash
    body.update(fields)
    return body


def image_bytes(image_format: str) -> bytes:
    """Return a real 2x2 image in ``image_format`` ("PNG", "JPEG", "GIF", "WEBP")."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(out, format=image_format)
    return out.getvalue()


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"
