"""OAuth tokens are encrypted at rest, and keys rotate without losing tokens."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from syncjobs.models import ProviderAccount

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw_refresh_token(account) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT refresh_token FROM {ProviderAccount._meta.db_table} WHERE id = %s",
            [account.pk.hex if connection.vendor == "sqlite" else account.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_tokens_survive_a_key_rotation_and_end_under_the_new_key(alice, settings):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    account = ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id=alice.email,
        refresh_token="1//secret-grant",
    )
    stored = _raw_refresh_token(account)
    assert "secret-grant" not in stored
    assert Fernet(OLD_KEY).decrypt(stored.encode()) == b"1//secret-grant"

    # A new key goes first; the old one still decrypts what is stored.
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert ProviderAccount.objects.get(pk=account.pk).refresh_token == "1//secret-grant"

    out = io.StringIO()
    call_command("rotate_token_keys", stdout=out)
    assert out.getvalue().strip() == "re-encrypted the tokens of 1 account(s)"
    rotated = _raw_refresh_token(account)
    assert Fernet(NEW_KEY).decrypt(rotated.encode()) == b"1//secret-grant"

    # Once rotated, the old key can go.
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    assert ProviderAccount.objects.get(pk=account.pk).refresh_token == "1//secret-grant"
