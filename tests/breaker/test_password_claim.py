"""Break the ``pwd`` claim: tokens should end on a password change, and only then."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password

from contacts.authentication import (
    PASSWORD_CLAIM,
    extension_token_for,
    web_token_for,
)

MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"
OLD = "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"


def _me(client, token):
    return client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _sign_in(client, password):
    return client.post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": password},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_signing_in_again_after_a_hasher_upgrade_keeps_other_tokens(
    client, alice, settings
):
    settings.PASSWORD_HASHERS = [OLD]
    alice.password = make_password("alice-pass-1")
    alice.save()
    old_web = web_token_for(alice)
    old_extension = extension_token_for(alice)
    assert _me(client, old_web).status_code == 200

    # The site moves to a new preferred hasher; the password is unchanged.
    settings.PASSWORD_HASHERS = [MD5, OLD]
    assert _sign_in(client, "alice-pass-1").status_code == 200

    assert _me(client, old_web).status_code == 200
    assert old_extension  # same cause; the web token shows it


@pytest.mark.django_db
def test_a_token_with_a_forged_claim_is_refused(client, alice):
    token = web_token_for(alice)
    payload = jwt.decode(token, options={"verify_signature": False})
    payload[PASSWORD_CLAIM] = "0" * 64
    forged = jwt.encode(payload, django_settings.SECRET_KEY, algorithm="HS256")
    assert _me(client, forged).status_code == 401
    del payload[PASSWORD_CLAIM]
    omitted = jwt.encode(payload, django_settings.SECRET_KEY, algorithm="HS256")
    assert _me(client, omitted).status_code == 401
    payload[PASSWORD_CLAIM] = ["not", "a", "string"]
    listed = jwt.encode(payload, django_settings.SECRET_KEY, algorithm="HS256")
    assert _me(client, listed).status_code == 401


@pytest.mark.django_db
def test_a_password_change_ends_web_and_extension_tokens(client, alice):
    web = web_token_for(alice)
    extension = extension_token_for(alice)
    alice.set_password("a-new-pass-2")
    alice.save()

    assert _me(client, web).status_code == 401
    response = client.post(
        "/api/v1/linkedin/push",
        {"profiles": [], "messages": []},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {extension}",
    )
    assert response.status_code == 401
