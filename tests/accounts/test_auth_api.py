"""Sign-in through the HTTP interface: register, login, /me, change-password, audiences."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
import time_machine
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from contacts.authentication import (
    EXTENSION_AUDIENCE,
    WEB_AUDIENCE,
    ExtensionJWTAuthentication,
    WebJWTAuthentication,
    extension_token_for,
    web_token_for,
)
from contacts.models import User
from syncjobs.models import ProviderAccount
from tests.accounts.clients import bearer, error_message, extension_client, web_client

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signed(payload: dict, key: str | None = None) -> str:
    return jwt.encode(payload, key or settings.SECRET_KEY, algorithm="HS256")


class PushLikeView(APIView):
    """Stands in for the LinkedIn push: a view that opts in to extension tokens."""

    accepts_extension_tokens = True

    def get(self, request):
        return Response({"user": request.user.email})


def call_push_like(token: str, view=PushLikeView):
    request = APIRequestFactory().get("/push", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = view.as_view()(request)
    response.render()
    return response


# --- register and login ----------------------------------------------------------


def test_register_creates_the_user_and_returns_them_with_a_web_token():
    response = APIClient().post(
        "/api/v1/auth/register",
        {
            "email": "casey@example.com",
            "password": "a-long-passphrase",
            "full_name": "Casey",
        },
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    user = User.objects.get(email="casey@example.com")
    assert data["id"] == str(user.pk)
    assert data["email"] == "casey@example.com"
    assert data["full_name"] == "Casey"
    assert data["token_type"] == "bearer"
    assert data["google_connected"] is False
    assert data["google_accounts"] == []
    assert claims(data["access_token"])["sub"] == str(user.pk)
    assert user.check_password("a-long-passphrase")
    me = bearer(data["access_token"]).get("/api/v1/auth/me")
    assert me.json()["data"]["email"] == "casey@example.com"


def test_register_refuses_an_email_already_registered_in_any_case(alice):
    response = APIClient().post(
        "/api/v1/auth/register",
        {"email": "ALICE@example.com", "password": "a-long-passphrase"},
        format="json",
    )

    assert response.status_code == 400
    assert error_message(response) == "email: Email already registered"
    assert User.objects.count() == 1


def test_register_refuses_a_short_password():
    response = APIClient().post(
        "/api/v1/auth/register",
        {"email": "casey@example.com", "password": "short"},
        format="json",
    )

    assert response.status_code == 400
    assert error_message(response) == (
        "password: This password is too short. It must contain at least 8 characters."
    )
    assert not User.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_login_with_json_returns_a_24_hour_web_token(alice):
    response = APIClient().post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["token_type"] == "bearer"
    token = claims(data["access_token"])
    assert token["aud"] == WEB_AUDIENCE
    assert token["sub"] == str(alice.pk)
    assert token["iat"] == int(NOW.timestamp())
    assert token["exp"] - token["iat"] == 24 * 3600


def test_login_accepts_the_original_form_fields_username_and_password(alice):
    response = APIClient().post(
        "/api/v1/auth/login",
        {"username": "alice@example.com", "password": "alice-pass-1"},
    )

    assert response.status_code == 200
    assert claims(response.json()["data"]["access_token"])["sub"] == str(alice.pk)


def test_login_with_a_wrong_password_is_a_401_with_a_bearer_challenge(alice):
    response = APIClient().post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "wrong"},
        format="json",
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_message(response) == "Incorrect email or password"
    assert response.json()["detail"] == "Incorrect email or password"


def test_login_refuses_an_inactive_user(alice):
    User.objects.filter(pk=alice.pk).update(is_active=False)

    response = APIClient().post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        format="json",
    )

    assert response.status_code == 401


def test_a_stale_token_in_the_header_does_not_stop_a_login(alice):
    client = bearer("not-a-jwt")

    response = client.post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        format="json",
    )

    assert response.status_code == 200


# --- /me ---------------------------------------------------------------------------


def test_me_without_a_token_is_a_401_with_a_bearer_challenge():
    response = APIClient().get("/api/v1/auth/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_me_shows_the_user_and_their_connected_accounts(alice):
    google = ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice.work@example.com"
    )
    ProviderAccount.objects.create(
        owner=alice, kind="twitter", account_id="2244994945", account_name="alice_owner"
    )

    data = web_client(alice).get("/api/v1/auth/me").json()["data"]

    assert data["email"] == "alice@example.com"
    assert data["full_name"] == "Alice Owner"
    assert data["time_zone"] == "UTC"
    assert data["google_connected"] is True
    assert data["google_email"] == "alice.work@example.com"
    assert [(a["id"], a["email"], a["status"]) for a in data["google_accounts"]] == [
        (str(google.pk), "alice.work@example.com", "connected")
    ]
    assert data["twitter_connected"] is True
    assert data["twitter_username"] == "alice_owner"
    assert data["telegram_connected"] is False
    assert data["linkedin_extension_paired_at"] is None


def test_put_me_changes_the_name_and_time_zone(alice):
    response = web_client(alice).put(
        "/api/v1/auth/me",
        {"full_name": "Alice Renamed", "time_zone": "Europe/Berlin"},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["updated"] is True
    assert data["full_name"] == "Alice Renamed"
    alice.refresh_from_db()
    assert (alice.full_name, alice.time_zone) == ("Alice Renamed", "Europe/Berlin")


def test_patch_me_changes_only_what_it_names(alice):
    response = web_client(alice).patch(
        "/api/v1/auth/me", {"birthday_reminder_hour": 7}, format="json"
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.full_name, alice.birthday_reminder_hour) == ("Alice Owner", 7)


def test_put_me_refuses_an_unknown_time_zone(alice):
    response = web_client(alice).put(
        "/api/v1/auth/me", {"time_zone": "Mars/Olympus"}, format="json"
    )

    assert response.status_code == 400
    assert error_message(response) == (
        "time_zone: 'Mars/Olympus' is not an IANA time zone name"
    )


def test_delete_me_deletes_the_account_and_its_token_stops_working(alice, bob):
    client = web_client(alice)

    response = client.delete("/api/v1/auth/me")

    assert response.status_code == 200
    assert response.json()["data"] == {"deleted": True}
    assert list(User.objects.values_list("email", flat=True)) == ["bob@example.com"]
    assert client.get("/api/v1/auth/me").status_code == 401


# --- change-password ---------------------------------------------------------------


def test_change_password_needs_the_current_password(alice):
    response = web_client(alice).post(
        "/api/v1/auth/change-password",
        {"current_password": "wrong", "new_password": "a-new-passphrase"},
        format="json",
    )

    assert response.status_code == 400
    assert error_message(response) == "current_password: Current password is incorrect"
    alice.refresh_from_db()
    assert alice.check_password("alice-pass-1")


def test_change_password_sets_the_new_password_for_the_next_login(alice):
    response = web_client(alice).post(
        "/api/v1/auth/change-password",
        {"current_password": "alice-pass-1", "new_password": "a-new-passphrase"},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["updated"], data["token_type"]) == (True, "bearer")
    login = APIClient().post
    old = login(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        format="json",
    )
    new = login(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "a-new-passphrase"},
        format="json",
    )
    assert (old.status_code, new.status_code) == (401, 200)


def change_password(client: APIClient):
    return client.post(
        "/api/v1/auth/change-password",
        {"current_password": "alice-pass-1", "new_password": "a-new-passphrase"},
        format="json",
    )


def test_change_password_ends_every_web_and_extension_token_issued_before(alice):
    old_web = web_token_for(alice)
    other_device = web_token_for(alice)
    old_extension = extension_token_for(alice)

    response = change_password(bearer(old_web))

    assert response.status_code == 200
    for token in (old_web, other_device):
        refused = bearer(token).get("/api/v1/auth/me")
        assert refused.status_code == 401
        assert refused.json()["data"] is None
        assert refused.json()["error"]["code"] == "authentication_failed"
        assert error_message(refused) == "Token was issued before a password change"
        assert refused["WWW-Authenticate"] == 'Bearer realm="api"'
    pushed = call_push_like(old_extension)
    assert pushed.status_code == 401
    assert pushed.data["detail"] == "Token was issued before a password change"


def test_change_password_answers_with_a_new_web_token_that_works(alice):
    response = change_password(web_client(alice))

    new_token = response.json()["data"]["access_token"]
    me = bearer(new_token).get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["data"]["email"] == "alice@example.com"
    assert claims(new_token)["aud"] == WEB_AUDIENCE
    alice.refresh_from_db()
    # Tokens issued after the change work, the extension's too (it pairs
    # again and gets one).
    assert web_client(alice).get("/api/v1/auth/me").status_code == 200
    assert call_push_like(extension_token_for(alice)).status_code == 200


def test_a_password_changed_outside_the_api_ends_the_tokens_too(alice):
    token = web_token_for(alice)
    # What the admin's password form and ``manage.py changepassword`` do.
    alice.set_password("changed-by-support")
    alice.save()

    response = bearer(token).get("/api/v1/auth/me")

    assert response.status_code == 401
    assert error_message(response) == "Token was issued before a password change"


def test_a_failed_password_change_leaves_the_token_working(alice):
    client = web_client(alice)

    client.post(
        "/api/v1/auth/change-password",
        {"current_password": "wrong", "new_password": "a-new-passphrase"},
        format="json",
    )

    assert client.get("/api/v1/auth/me").status_code == 200


def test_change_password_deletes_the_users_drf_tokens(alice, bob):
    Token.objects.create(user=alice)
    kept = Token.objects.create(user=bob)

    change_password(web_client(alice))

    assert list(Token.objects.values_list("key", flat=True)) == [kept.key]


def test_a_token_without_the_password_claim_is_refused(alice):
    token = signed(
        {
            "sub": str(alice.pk),
            "aud": WEB_AUDIENCE,
            "exp": int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp()),
            "token_type": "access",
            "jti": "before-the-claim",
        }
    )

    response = bearer(token).get("/api/v1/auth/me")

    assert response.status_code == 401
    assert error_message(response) == "Token was issued before a password change"


def test_the_password_claim_does_not_show_the_password_hash(alice):
    claim = claims(web_token_for(alice))["pwd"]

    assert len(claim) == 64
    assert claim not in alice.password
    assert alice.password.split("$")[-1] not in claim


@pytest.mark.parametrize("audience", ["web", "extension"])
def test_checking_the_password_claim_costs_no_statement(
    alice, audience, django_assert_num_queries
):
    token = (web_token_for if audience == "web" else extension_token_for)(alice)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    request.parser_context = {"view": PushLikeView()}

    # One SELECT of the user (joined with its extension access), as before
    # the claim: the password hash is on the row it loads anyway.
    with django_assert_num_queries(1):
        user, _ = WebJWTAuthentication().authenticate(request)

    assert user == alice


# --- tokens and audiences ------------------------------------------------------------


def test_a_web_token_works_until_the_end_of_its_24_hours(alice):
    with time_machine.travel(NOW, tick=False):
        client = web_client(alice)
    with time_machine.travel(NOW + dt.timedelta(hours=23, minutes=59), tick=False):
        assert client.get("/api/v1/auth/me").status_code == 200


def test_an_expired_web_token_is_a_401(alice):
    with time_machine.travel(NOW, tick=False):
        client = web_client(alice)

    with time_machine.travel(NOW + dt.timedelta(hours=24, seconds=1), tick=False):
        response = client.get("/api/v1/auth/me")

    assert response.status_code == 401
    assert error_message(response) == "Token has expired"


def test_an_extension_token_is_refused_on_web_endpoints(alice):
    response = extension_client(alice).get("/api/v1/auth/me")

    assert response.status_code == 401
    assert error_message(response) == "Extension tokens are not accepted here"


def test_a_view_that_opts_in_accepts_extension_and_web_tokens(alice):
    by_extension = call_push_like(extension_token_for(alice))
    by_web = call_push_like(web_token_for(alice))

    assert (by_extension.status_code, by_web.status_code) == (200, 200)
    assert by_extension.data == {"user": "alice@example.com"}


def test_the_extension_only_class_refuses_web_tokens(alice):
    class ExtensionOnly(PushLikeView):
        authentication_classes = [ExtensionJWTAuthentication]

    response = call_push_like(web_token_for(alice), view=ExtensionOnly)

    assert response.status_code == 401


def test_an_extension_token_lasts_thirty_days(alice):
    with time_machine.travel(NOW, tick=False):
        token = extension_token_for(alice)
    with time_machine.travel(NOW + dt.timedelta(days=29, hours=23), tick=False):
        assert call_push_like(token).status_code == 200
    with time_machine.travel(NOW + dt.timedelta(days=30, seconds=1), tick=False):
        assert call_push_like(token).status_code == 401
    assert claims(token)["aud"] == EXTENSION_AUDIENCE


def test_a_legacy_token_without_an_audience_is_refused_everywhere(alice):
    # Decision: the original accepted tokens without "aud" everywhere; we
    # refuse them, on web endpoints and on the push alike.
    token = signed(
        {
            "sub": str(alice.pk),
            "exp": int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp()),
            "token_type": "access",
            "jti": "legacy",
        }
    )

    assert bearer(token).get("/api/v1/auth/me").status_code == 401
    assert call_push_like(token).status_code == 401


def test_a_token_for_another_audience_is_refused(alice):
    token = signed(
        {
            "sub": str(alice.pk),
            "aud": "some-other-app",
            "exp": int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp()),
            "token_type": "access",
            "jti": "other",
        }
    )

    response = bearer(token).get("/api/v1/auth/me")

    assert response.status_code == 401
    assert error_message(response) == "Could not validate credentials"
    assert call_push_like(token).status_code == 401


def test_a_token_signed_with_another_key_is_refused(alice):
    token = signed(
        {
            "sub": str(alice.pk),
            "aud": WEB_AUDIENCE,
            "exp": int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp()),
            "token_type": "access",
            "jti": "forged",
        },
        key="not-the-secret-key-of-this-server-0123456789",
    )

    assert bearer(token).get("/api/v1/auth/me").status_code == 401


def test_drf_token_and_session_authentication_keep_working(alice):
    token = Token.objects.create(user=alice)
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    by_session = APIClient()
    by_session.force_login(alice)

    assert by_token.get("/api/v1/auth/me").status_code == 200
    assert by_session.get("/api/v1/auth/me").status_code == 200
