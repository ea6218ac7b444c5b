"""Connecting Google accounts: the consent URL, the callback, listing and removing.

Google's token endpoint is mocked with ``responses``; the ID token in its
reply is built here (its signature is not checked, see syncjobs.oauth).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
import time_machine
from django.db import connection

from contacts.models import Notification
from syncjobs.accounts import account_mark_reauth_required
from syncjobs.models import ProviderAccount
from syncjobs.providers.google_client import TOKEN_URI
from syncjobs.revocation import GOOGLE_REVOKE_URI
from tests.accounts.clients import error_message, web_client

pytestmark = pytest.mark.django_db

CLIENT_ID = "crm-test.apps.googleusercontent.com"
REDIRECT = "https://crm.example.com/settings/google-callback"
SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/contacts.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
]


@pytest.fixture(autouse=True)
def google_app(settings):
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = "crm-test-secret"
    settings.GOOGLE_REDIRECT_URI = REDIRECT


def id_token(email: str, *, aud: str = CLIENT_ID, name: str = "Casey Example") -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": aud,
        "sub": "1070" + str(abs(hash(email)))[:10],
        "email": email,
        "email_verified": True,
        "name": name,
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, "google-signs-with-rs256-unchecked", algorithm="HS256")


def token_reply(email: str, *, refresh: str = "1//refresh-casey", **extra) -> dict:
    return {
        "access_token": "ya29.access-casey",
        "expires_in": 3599,
        "refresh_token": refresh,
        "scope": " ".join(SCOPES),
        "token_type": "Bearer",
        "id_token": id_token(email),
        **extra,
    }


def start(client) -> tuple[str, dict]:
    data = client.get("/api/v1/auth/google/url").json()["data"]
    return data["state"], parse_qs(urlparse(data["url"]).query)


def callback(client, state: str, code: str = "4/0-auth-code"):
    return client.post(
        "/api/v1/auth/google/callback", {"code": code, "state": state}, format="json"
    )


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_the_url_asks_for_offline_access_to_mail_contacts_and_calendar(alice):
    response = web_client(alice).get("/api/v1/auth/google/url")

    assert response.status_code == 200
    data = response.json()["data"]
    url = urlparse(data["url"])
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "accounts.google.com",
        "/o/oauth2/auth",
    )
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["response_type"] == ["code"]
    assert query["scope"] == [" ".join(SCOPES)]
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["state"] == [data["state"]]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43


def test_without_client_credentials_google_is_not_configured(alice, settings):
    settings.GOOGLE_CLIENT_ID = ""

    response = web_client(alice).get("/api/v1/auth/google/url")

    assert response.status_code == 400
    assert error_message(response).startswith("Google OAuth not configured")


@responses.activate
def test_the_callback_connects_the_account_with_its_tokens_encrypted(alice):
    client = web_client(alice)
    state, query = start(client)
    exchange = responses.post(TOKEN_URI, json=token_reply("Casey@ExampleOrg.com"))

    response = callback(client, state)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["token_type"] == "bearer"
    assert data["account"]["email"] == "casey@exampleorg.com"
    assert data["account"]["status"] == "connected"
    assert data["account"]["scopes"] == SCOPES
    assert "access_token" not in data["account"]

    sent = parse_qs(exchange.calls[0].request.body)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["4/0-auth-code"]
    assert sent["redirect_uri"] == [REDIRECT]
    # PKCE: the verifier sent now is the one the URL's challenge was made of.
    assert pkce_challenge(sent["code_verifier"][0]) == query["code_challenge"][0]

    account = ProviderAccount.objects.get(owner=alice)
    assert (account.kind, account.account_id, account.account_name) == (
        "google",
        "casey@exampleorg.com",
        "Casey Example",
    )
    assert (account.access_token, account.refresh_token) == (
        "ya29.access-casey",
        "1//refresh-casey",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM syncjobs_provideraccount"
        )
        stored = cursor.fetchone()
    assert "ya29.access-casey" not in stored[0]
    assert "1//refresh-casey" not in stored[1]
    assert list(Notification.objects.values_list("title", "body")) == [
        ("Google account connected", "Connected casey@exampleorg.com")
    ]


@responses.activate
def test_a_user_connects_several_google_accounts_and_removes_one(alice):
    client = web_client(alice)
    for email in ("casey@exampleorg.com", "casey.home@example.com"):
        state, _ = start(client)
        responses.post(TOKEN_URI, json=token_reply(email))
        assert callback(client, state).status_code == 200

    listed = client.get("/api/v1/auth/google/accounts").json()["data"]
    assert [a["email"] for a in listed] == [
        "casey@exampleorg.com",
        "casey.home@example.com",
    ]
    me = client.get("/api/v1/auth/me").json()["data"]
    assert [a["email"] for a in me["google_accounts"]] == [a["email"] for a in listed]

    revoke = responses.post(GOOGLE_REVOKE_URI, json={})
    removed = client.delete(f"/api/v1/auth/google/accounts/{listed[0]['id']}")

    assert removed.status_code == 200
    assert removed.json()["data"] == {
        "id": listed[0]["id"],
        "deleted": True,
        "revoked": True,
    }
    assert revoke.call_count == 1
    after = client.get("/api/v1/auth/google/accounts").json()["data"]
    assert [a["email"] for a in after] == ["casey.home@example.com"]


def test_another_users_google_account_id_is_a_404(alice, bob):
    bobs = ProviderAccount.objects.create(
        owner=bob, kind="google", account_id="bob@example.com"
    )

    response = web_client(alice).delete(f"/api/v1/auth/google/accounts/{bobs.pk}")

    assert response.status_code == 404
    assert ProviderAccount.objects.filter(pk=bobs.pk).exists()
    assert web_client(alice).get("/api/v1/auth/google/accounts").json()["data"] == []


@responses.activate
def test_a_state_can_be_used_once(alice):
    client = web_client(alice)
    state, _ = start(client)
    exchange = responses.post(TOKEN_URI, json=token_reply("casey@exampleorg.com"))
    assert callback(client, state).status_code == 200

    replay = callback(client, state, code="4/0-another-code")

    assert replay.status_code == 400
    assert error_message(replay) == "OAuth state already used or expired"
    assert len(exchange.calls) == 1


@responses.activate
def test_a_forged_state_is_refused_before_google_is_asked(alice):
    client = web_client(alice)
    state, _ = start(client)
    exchange = responses.post(TOKEN_URI, json=token_reply("casey@exampleorg.com"))
    value, signature = state.rsplit(":", 1)
    forged = f"{value}:{'A' * len(signature)}"

    response = callback(client, forged)

    assert response.status_code == 400
    assert error_message(response) == "Invalid or expired OAuth state parameter"
    assert len(exchange.calls) == 0
    assert not ProviderAccount.objects.exists()


@responses.activate
def test_a_state_issued_to_another_user_is_a_403(alice, bob):
    bobs_state, _ = start(web_client(bob))
    exchange = responses.post(TOKEN_URI, json=token_reply("casey@exampleorg.com"))

    response = callback(web_client(alice), bobs_state)

    assert response.status_code == 403
    assert (
        error_message(response) == "Authenticated user does not match the OAuth state"
    )
    assert len(exchange.calls) == 0


def test_an_x_state_is_not_a_google_state(alice, settings):
    settings.TWITTER_CLIENT_ID = "x-client"
    settings.TWITTER_REDIRECT_URI = "https://crm.example.com/settings/x-callback"
    client = web_client(alice)
    x_state = client.get("/api/v1/auth/twitter/url").json()["data"]["state"]

    response = callback(client, x_state)

    assert response.status_code == 400
    assert error_message(response) == "Invalid or expired OAuth state parameter"


def test_a_state_older_than_ten_minutes_is_refused(alice):
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        client = web_client(alice)
        state, _ = start(client)

    with time_machine.travel(now + dt.timedelta(minutes=10, seconds=1), tick=False):
        response = callback(client, state)

    assert response.status_code == 400
    assert error_message(response) == "Invalid or expired OAuth state parameter"


@responses.activate
def test_a_code_google_refuses_connects_nothing(alice):
    client = web_client(alice)
    state, _ = start(client)
    responses.post(
        TOKEN_URI,
        status=400,
        json={"error": "invalid_grant", "error_description": "Bad Request"},
    )

    response = callback(client, state)

    assert response.status_code == 400
    assert error_message(response) == (
        "Google refused the authorization code: invalid_grant"
    )
    assert not ProviderAccount.objects.exists()


@responses.activate
def test_an_id_token_for_another_client_is_refused(alice):
    client = web_client(alice)
    state, _ = start(client)
    reply = token_reply("casey@exampleorg.com")
    reply["id_token"] = id_token("casey@exampleorg.com", aud="someone-else")
    responses.post(TOKEN_URI, json=reply)

    response = callback(client, state)

    assert response.status_code == 400
    assert error_message(response) == "Google's ID token is for another client"
    assert not ProviderAccount.objects.exists()


@responses.activate
def test_fewer_granted_scopes_are_recorded_as_granted(alice):
    client = web_client(alice)
    state, _ = start(client)
    granted = SCOPES[:3]
    responses.post(
        TOKEN_URI, json=token_reply("casey@exampleorg.com", scope=" ".join(granted))
    )

    response = callback(client, state)

    assert response.status_code == 200
    assert ProviderAccount.objects.get(owner=alice).scopes == granted


@responses.activate
def test_reconnecting_a_revoked_account_makes_it_connected_and_notifiable_again(alice):
    account = ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="casey@exampleorg.com",
        refresh_token="1//old-grant",
        cursor={"gmail": {"history_id": "48000"}},
    )
    assert account_mark_reauth_required(account=account, platform="gmail", reason="x")
    assert not account_mark_reauth_required(
        account=account, platform="gmail", reason="x"
    )
    client = web_client(alice)
    state, _ = start(client)
    responses.post(
        TOKEN_URI, json=token_reply("casey@exampleorg.com", refresh="1//new-grant")
    )

    assert callback(client, state).status_code == 200

    account.refresh_from_db()
    assert account.status == "connected"
    assert account.refresh_token == "1//new-grant"
    assert account.cursor == {"gmail": {"history_id": "48000"}}
    assert ProviderAccount.objects.filter(owner=alice).count() == 1
    # A new grant that breaks again is notified again, once.
    assert account_mark_reauth_required(account=account, platform="gmail", reason="y")


@responses.activate
def test_a_reply_without_a_refresh_token_keeps_the_stored_one(alice):
    ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="casey@exampleorg.com",
        refresh_token="1//kept",
    )
    client = web_client(alice)
    state, _ = start(client)
    reply = token_reply("casey@exampleorg.com")
    del reply["refresh_token"]
    responses.post(TOKEN_URI, json=reply)

    assert callback(client, state).status_code == 200

    account = ProviderAccount.objects.get(owner=alice)
    assert (account.refresh_token, account.access_token) == (
        "1//kept",
        "ya29.access-casey",
    )


def test_the_google_endpoints_need_a_web_token(alice):
    from rest_framework.test import APIClient

    anonymous = APIClient()

    assert anonymous.get("/api/v1/auth/google/url").status_code == 401
    assert anonymous.get("/api/v1/auth/google/accounts").status_code == 401
    assert (
        anonymous.post(
            "/api/v1/auth/google/callback",
            json.dumps({"code": "c", "state": "s"}),
            content_type="application/json",
        ).status_code
        == 401
    )
