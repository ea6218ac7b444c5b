"""Connecting an X account through OAuth 2 with PKCE, and disconnecting it.

X's token endpoint and ``GET /2/users/me`` are mocked with ``responses``;
the ``/2/users/me`` body is the one recorded for the provider tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from contacts.models import Notification
from syncjobs.models import ProviderAccount
from tests.accounts.clients import error_message, web_client

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parent.parent / "syncjobs" / "recorded" / "twitter"
TOKEN_URL = "https://api.twitter.com/2/oauth2/token"
ME_URL = "https://api.twitter.com/2/users/me"
REDIRECT = "https://crm.example.com/settings/x-callback"
TOKEN_REPLY = {
    "token_type": "bearer",
    "expires_in": 7200,
    "access_token": "x-access-alice",
    "scope": "tweet.read users.read dm.read offline.access",
    "refresh_token": "x-refresh-alice",
}


@pytest.fixture(autouse=True)
def x_app(settings):
    settings.TWITTER_CLIENT_ID = "x-client-id"
    settings.TWITTER_CLIENT_SECRET = "x-client-secret"
    settings.TWITTER_REDIRECT_URI = REDIRECT


def users_me() -> dict:
    return json.loads((RECORDED / "users-me.json").read_text())


def start(client) -> tuple[str, dict]:
    data = client.get("/api/v1/auth/twitter/url").json()["data"]
    return data["state"], parse_qs(urlparse(data["url"]).query)


def callback(client, state: str, code: str = "x-auth-code"):
    return client.post(
        "/api/v1/auth/twitter/callback", {"code": code, "state": state}, format="json"
    )


def test_the_url_asks_x_for_dm_access_with_pkce(alice):
    response = web_client(alice).get("/api/v1/auth/twitter/url")

    assert response.status_code == 200
    data = response.json()["data"]
    url = urlparse(data["url"])
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("twitter.com", "/i/oauth2/authorize")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["x-client-id"]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["scope"] == ["tweet.read users.read dm.read offline.access"]
    assert query["state"] == [data["state"]]
    assert query["code_challenge_method"] == ["S256"]


def test_an_http_redirect_uri_is_refused_as_misconfigured(alice, settings):
    settings.TWITTER_REDIRECT_URI = "http://crm.example.com/x-callback"

    response = web_client(alice).get("/api/v1/auth/twitter/url")

    assert response.status_code == 400
    assert error_message(response) == "TWITTER_REDIRECT_URI must be an https:// URL"


@responses.activate
def test_the_callback_connects_the_x_account(alice):
    client = web_client(alice)
    state, query = start(client)
    exchange = responses.post(TOKEN_URL, json=TOKEN_REPLY)
    me = responses.get(ME_URL, json=users_me())

    response = callback(client, state)

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["connected"], data["username"]) == (True, "alice_owner")
    account = ProviderAccount.objects.get(owner=alice)
    assert (account.kind, account.account_id, account.account_name) == (
        "twitter",
        "2244994945",
        "alice_owner",
    )
    assert (account.access_token, account.refresh_token) == (
        "x-access-alice",
        "x-refresh-alice",
    )
    assert account.scopes == ["tweet.read", "users.read", "dm.read", "offline.access"]
    assert account.token_expires_at is not None

    sent = exchange.calls[0].request
    body = parse_qs(sent.body)
    assert body["grant_type"] == ["authorization_code"]
    assert body["code"] == ["x-auth-code"]
    assert body["client_id"] == ["x-client-id"]
    verifier = body["code_verifier"][0]
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .decode()
        .rstrip("=")
    )
    assert challenge == query["code_challenge"][0]
    basic = base64.b64encode(b"x-client-id:x-client-secret").decode()
    assert sent.headers["Authorization"] == f"Basic {basic}"
    assert me.calls[0].request.headers["Authorization"] == "Bearer x-access-alice"
    assert list(Notification.objects.values_list("title", "body")) == [
        ("X account connected", "Connected @alice_owner")
    ]


@responses.activate
def test_an_x_state_can_be_used_once(alice):
    client = web_client(alice)
    state, _ = start(client)
    exchange = responses.post(TOKEN_URL, json=TOKEN_REPLY)
    responses.get(ME_URL, json=users_me())
    assert callback(client, state).status_code == 200

    replay = callback(client, state)

    assert replay.status_code == 400
    assert error_message(replay) == "OAuth state already used or expired"
    assert len(exchange.calls) == 1


@responses.activate
def test_a_forged_or_foreign_x_state_is_refused(alice, bob):
    exchange = responses.post(TOKEN_URL, json=TOKEN_REPLY)
    bobs_state, _ = start(web_client(bob))

    foreign = callback(web_client(alice), bobs_state)
    forged = callback(web_client(alice), "eyJ1IjoiYWxpY2UifQ:1tAbCd:forged")

    assert foreign.status_code == 403
    assert forged.status_code == 400
    assert len(exchange.calls) == 0


@responses.activate
def test_a_code_x_refuses_connects_nothing(alice):
    client = web_client(alice)
    state, _ = start(client)
    responses.post(
        TOKEN_URL,
        status=400,
        json={
            "error": "invalid_request",
            "error_description": "Value passed for the authorization code was invalid.",
        },
    )

    response = callback(client, state)

    assert response.status_code == 400
    assert error_message(response) == (
        "X refused the authorization code: invalid_request"
    )
    assert not ProviderAccount.objects.exists()


@responses.activate
def test_reconnecting_x_after_a_revoked_grant_makes_it_connected(alice):
    account = ProviderAccount.objects.create(
        owner=alice,
        kind="twitter",
        account_id="2244994945",
        refresh_token="x-refresh-old",
        status=ProviderAccount.STATUS_REAUTH,
    )
    client = web_client(alice)
    state, _ = start(client)
    responses.post(TOKEN_URL, json=TOKEN_REPLY)
    responses.get(ME_URL, json=users_me())

    assert callback(client, state).status_code == 200

    account.refresh_from_db()
    assert (account.status, account.refresh_token) == ("connected", "x-refresh-alice")


def test_disconnect_removes_the_x_account_and_sync_then_says_not_connected(alice, bob):
    ProviderAccount.objects.create(owner=alice, kind="twitter", account_id="1")
    ProviderAccount.objects.create(owner=bob, kind="twitter", account_id="2")
    client = web_client(alice)

    response = client.post("/api/v1/auth/twitter/disconnect")

    assert response.status_code == 200
    # Neither account holds a token, so X is not asked (see
    # test_disconnect_revoke.py for the revocation itself).
    assert response.json()["data"] == {
        "disconnected": True,
        "accounts": 1,
        "revoked": True,
    }
    assert list(ProviderAccount.objects.values_list("account_id", flat=True)) == ["2"]
    sync = client.post("/api/v1/contacts/sync/twitter")
    assert sync.status_code == 400
    assert error_message(sync) == "X account not connected. Complete X OAuth first."
