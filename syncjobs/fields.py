"""A text field whose value is encrypted at rest with Fernet keys.

The first key of ``TOKEN_ENCRYPTION_KEYS`` encrypts; every listed key can
decrypt (``MultiFernet``), so keys rotate by putting a new one first and
re-saving rows. With no key configured (a fresh development clone), one is
derived from ``SECRET_KEY`` so tokens are still never stored in clear.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def token_cipher() -> MultiFernet:
    keys = list(settings.TOKEN_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(f"token-key:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"TOKEN_ENCRYPTION_KEYS: {exc}") from exc


class EncryptedTextField(models.TextField):
    """Stores ``Fernet(value)``; reads back the clear text."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return token_cipher().encrypt(value.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return token_cipher().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS"
            ) from exc
