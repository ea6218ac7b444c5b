"""The ``pwd`` claim ends tokens on a real password change, and only then.

A real change is anything that goes through set_password (the API's change
password, the admin's password form, ``changepassword``, password reset) or
makes the password unusable; Django's rehash of an outdated hash on sign-in
is not one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth.forms import AdminPasswordChangeForm, SetPasswordForm
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.utils.crypto import salted_hmac

from contacts.authentication import (
    LEGACY_PASSWORD_CLAIM_SALT,
    PASSWORD_CLAIM,
    WEB_AUDIENCE,
    password_claim,
    web_token_for,
)
from contacts.models import User
from tests.accounts.clients import bearer, error_message, extension_client
from tests.accounts.test_auth_api import signed

pytestmark = pytest.mark.django_db

OLD = "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"
NEW = "django.contrib.auth.hashers.MD5PasswordHasher"


def _me(token: str) -> int:
    return bearer(token).get("/api/v1/auth/me").status_code


def _push(client) -> int:
    return client.post(
        "/api/v1/linkedin/push", {"profiles": [], "messages": []}, format="json"
    ).status_code


def _old_hash(user: User, settings) -> None:
    settings.PASSWORD_HASHERS = [OLD]
    user.password = make_password("alice-pass-1")
    user.save()
    settings.PASSWORD_HASHERS = [NEW, OLD]


def _legacy_token(user: User) -> str:
    """Return a web token as the code before migration 0006 issued it."""
    return signed(
        {
            "sub": str(user.pk),
            "aud": WEB_AUDIENCE,
            "exp": int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp()),
            "token_type": "access",
            "jti": "legacy",
            PASSWORD_CLAIM: salted_hmac(
                LEGACY_PASSWORD_CLAIM_SALT, user.password, algorithm="sha256"
            ).hexdigest(),
        }
    )


def test_a_rehash_on_sign_in_keeps_web_and_extension_tokens(alice, settings):
    _old_hash(alice, settings)
    web = web_token_for(alice)
    extension = extension_client(alice)
    before = User.objects.get(pk=alice.pk)

    response = bearer("").post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        format="json",
    )

    after = User.objects.get(pk=alice.pk)
    assert response.status_code == 200
    assert before.password.startswith("pbkdf2_sha1$")
    assert after.password.startswith("md5$")
    assert after.password_changed_at == before.password_changed_at
    assert _me(web) == 200
    assert _push(extension) == 200


def test_an_async_rehash_keeps_tokens_too(alice, settings):
    _old_hash(alice, settings)
    web = web_token_for(alice)
    user = User.objects.get(pk=alice.pk)

    with mock.patch.object(User, "asave", autospec=True) as asave:
        assert asyncio.run(user.acheck_password("alice-pass-1")) is True

    asave.assert_called_once_with(user, update_fields=["password"])
    assert user.password.startswith("md5$")
    user.save(update_fields=["password"])
    assert _me(web) == 200


def test_a_password_change_through_the_api_ends_other_tokens(alice):
    web = web_token_for(alice)
    response = bearer(web_token_for(alice)).post(
        "/api/v1/auth/change-password",
        {"current_password": "alice-pass-1", "new_password": "a-new-pass-2"},
        format="json",
    )

    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).password_changed_at is not None
    assert _me(web) == 401


@pytest.mark.parametrize(
    ("form_class", "prefix"),
    [(AdminPasswordChangeForm, ""), (SetPasswordForm, "new_")],
    ids=["admin", "password reset"],
)
def test_the_admin_and_password_reset_forms_end_tokens(alice, form_class, prefix):
    web = web_token_for(alice)
    extension = extension_client(alice)
    new = "b-new-pass-3"
    form = form_class(alice, {f"{prefix}password1": new, f"{prefix}password2": new})
    assert form.is_valid(), form.errors
    form.save()

    response = bearer(web).get("/api/v1/auth/me")
    assert response.status_code == 401
    assert error_message(response) == "Token was issued before a password change"
    assert _push(extension) == 401


def test_the_changepassword_command_ends_tokens(alice):
    web = web_token_for(alice)

    with mock.patch("getpass.getpass", return_value="c-new-pass-4"):
        call_command("changepassword", "alice@example.com", stdout=StringIO())

    assert User.objects.get(pk=alice.pk).check_password("c-new-pass-4")
    assert _me(web) == 401


def test_a_password_saved_with_update_fields_still_ends_tokens(alice):
    web = web_token_for(alice)
    alice.set_password("d-new-pass-5")
    alice.save(update_fields=["password"])

    assert _me(web) == 401


def test_making_the_password_unusable_ends_tokens(alice):
    web = web_token_for(alice)
    alice.set_unusable_password()
    alice.save()

    assert _me(web) == 401


def test_the_claim_is_per_user_and_moves_with_each_change(alice, bob):
    first = password_claim(alice)
    assert first != password_claim(bob)
    alice.set_password("e-new-pass-6")
    assert password_claim(alice) != first


def test_a_token_from_before_migration_0006_works_until_a_real_change(alice):
    assert alice.password_changed_at is None
    legacy = _legacy_token(alice)
    assert _me(legacy) == 200

    alice.set_password("f-new-pass-7")
    alice.save()

    assert _me(legacy) == 401


def test_a_legacy_claim_is_refused_once_the_password_was_changed(alice):
    alice.set_password("g-new-pass-8")
    alice.save()

    assert _me(_legacy_token(alice)) == 401
    assert _me(web_token_for(alice)) == 200
