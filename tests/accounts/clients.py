"""API clients signed in the way the real clients sign in: with Bearer tokens."""

from __future__ import annotations

from rest_framework.test import APIClient

from contacts.authentication import extension_token_for, web_token_for


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def web_client(user) -> APIClient:
    """Return a client that sends a fresh web token of ``user``."""
    return bearer(web_token_for(user))


def extension_client(user) -> APIClient:
    """Return a client that sends a fresh extension token of ``user``."""
    return bearer(extension_token_for(user))


def error_message(response) -> str:
    return response.json()["error"]["message"]
