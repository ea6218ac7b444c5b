"""Disconnecting Google or X revokes the grant at the provider, and never depends on it.

Google's and X's revoke endpoints are mocked with ``responses`` (recorded
bodies in ``tests/syncjobs/recorded/revoke``); an unregistered URL makes
``responses`` refuse the call, so nothing here reaches the network.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses

from contacts.models import Notification
from syncjobs.models import ProviderAccount
from syncjobs.revocation import GOOGLE_REVOKE_URI, TWITTER_REVOKE_URL
from tests.accounts.clients import web_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("x_app")]

RECORDED = Path(__file__).resolve().parent.parent / "syncjobs" / "recorded"
REVOKE = RECORDED / "revoke"
JSON = "application/json; charset=utf-8"


@pytest.fixture
def x_app(settings):
    settings.TWITTER_CLIENT_ID = "x-client-id"
    settings.TWITTER_CLIENT_SECRET = "x-client-secret"


def reply(status: int, path: Path) -> dict:
    return {"status": status, "body": path.read_text(), "content_type": JSON}


def sent_forms() -> list[dict[str, list[str]]]:
    return [parse_qs(call.request.body) for call in responses.calls]


def notifications(owner) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(owner=owner).values_list("title", "body"))


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice.work@example.com",
        access_token="ya29.access-alice",
        refresh_token="1//refresh-alice",
    )


@pytest.fixture
def x_account(alice):
    return ProviderAccount.objects.create(
        owner=alice,
        kind="twitter",
        account_id="1400000000000000001",
        account_name="alice",
        access_token="x-access-alice",
        refresh_token="x-refresh-alice",
    )


def disconnect_google(owner, account):
    return web_client(owner).delete(f"/api/v1/auth/google/accounts/{account.pk}")


def disconnect_x(owner):
    return web_client(owner).post("/api/v1/auth/twitter/disconnect")


# --- Google ------------------------------------------------------------------------


@responses.activate
def test_disconnecting_google_revokes_the_refresh_token_then_deletes(alice, google):
    other = ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice.home@example.com",
        refresh_token="1//refresh-home",
    )
    responses.post(GOOGLE_REVOKE_URI, **reply(200, REVOKE / "google-revoked.json"))

    response = disconnect_google(alice, google)

    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": str(google.pk),
        "deleted": True,
        "revoked": True,
    }
    assert sent_forms() == [{"token": ["1//refresh-alice"]}]
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert list(ProviderAccount.objects.values_list("pk", flat=True)) == [other.pk]
    assert notifications(alice) == []


@responses.activate
def test_an_account_without_a_refresh_token_revokes_its_access_token(alice, google):
    ProviderAccount.objects.filter(pk=google.pk).update(refresh_token="")
    responses.post(GOOGLE_REVOKE_URI, **reply(200, REVOKE / "google-revoked.json"))

    response = disconnect_google(alice, google)

    assert response.json()["data"]["revoked"] is True
    assert sent_forms() == [{"token": ["ya29.access-alice"]}]


@responses.activate
def test_a_grant_google_already_ended_counts_as_revoked(alice, google):
    responses.post(
        GOOGLE_REVOKE_URI, **reply(400, REVOKE / "google-invalid-token.json")
    )

    response = disconnect_google(alice, google)

    assert response.json()["data"]["revoked"] is True
    assert not ProviderAccount.objects.exists()
    assert notifications(alice) == []


@responses.activate
def test_google_down_still_disconnects_and_tells_the_user_to_revoke_by_hand(
    alice, google, caplog
):
    responses.post(
        GOOGLE_REVOKE_URI, body=requests.ConnectionError("connection refused")
    )

    with caplog.at_level(logging.WARNING, logger="syncjobs.revocation"):
        response = disconnect_google(alice, google)

    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": str(google.pk),
        "deleted": True,
        "revoked": False,
    }
    assert not ProviderAccount.objects.exists()
    assert notifications(alice) == [
        (
            "Google access not revoked",
            "Disconnected alice.work@example.com, but Google could not be told "
            "to end this app's access (Google's revoke endpoint is unreachable: "
            "connection refused). Remove it in your Google Account, under "
            "Security, Your connections to third-party apps & services.",
        )
    ]
    (record,) = [r for r in caplog.records if r.name == "syncjobs.revocation"]
    assert (record.levelname, record.getMessage()) == (
        "WARNING",
        "could not revoke grant",
    )
    assert record.account_pk == str(google.pk)


@responses.activate
def test_a_google_5xx_still_disconnects_and_is_recorded(alice, google):
    responses.post(GOOGLE_REVOKE_URI, **reply(503, REVOKE / "google-503.json"))

    response = disconnect_google(alice, google)

    assert response.json()["data"]["revoked"] is False
    assert not ProviderAccount.objects.exists()
    ((title, body),) = notifications(alice)
    assert title == "Google access not revoked"
    assert "(Google answered HTTP 503)" in body


# --- X -----------------------------------------------------------------------------


@responses.activate
def test_disconnecting_x_revokes_both_tokens_as_a_confidential_client(alice, x_account):
    responses.post(TWITTER_REVOKE_URL, **reply(200, REVOKE / "twitter-revoked.json"))

    response = disconnect_x(alice)

    assert response.status_code == 200
    assert response.json()["data"] == {
        "disconnected": True,
        "accounts": 1,
        "revoked": True,
    }
    assert sent_forms() == [
        {
            "token": ["x-refresh-alice"],
            "token_type_hint": ["refresh_token"],
            "client_id": ["x-client-id"],
        },
        {
            "token": ["x-access-alice"],
            "token_type_hint": ["access_token"],
            "client_id": ["x-client-id"],
        },
    ]
    basic = base64.b64encode(b"x-client-id:x-client-secret").decode()
    for call in responses.calls:
        assert call.request.headers["Authorization"] == f"Basic {basic}"
    assert not ProviderAccount.objects.exists()
    assert notifications(alice) == []


@responses.activate
def test_a_public_x_client_sends_no_basic_auth(alice, x_account, settings):
    settings.TWITTER_CLIENT_SECRET = ""
    responses.post(TWITTER_REVOKE_URL, **reply(200, REVOKE / "twitter-revoked.json"))

    disconnect_x(alice)

    assert len(responses.calls) == 2
    assert all("Authorization" not in c.request.headers for c in responses.calls)


@responses.activate
def test_x_tokens_it_no_longer_knows_count_as_revoked(alice, x_account):
    responses.post(
        TWITTER_REVOKE_URL,
        **reply(400, RECORDED / "twitter" / "token-invalid-request.json"),
    )

    response = disconnect_x(alice)

    assert response.json()["data"]["revoked"] is True
    assert notifications(alice) == []


@responses.activate
def test_x_down_still_disconnects_and_tells_the_user(alice, x_account):
    responses.post(TWITTER_REVOKE_URL, **reply(503, REVOKE / "twitter-503.json"))

    response = disconnect_x(alice)

    assert response.json()["data"] == {
        "disconnected": True,
        "accounts": 1,
        "revoked": False,
    }
    assert not ProviderAccount.objects.exists()
    assert notifications(alice) == [
        (
            "X access not revoked",
            "Disconnected @alice, but X could not be told to end this app's "
            "access (X answered HTTP 503; X answered HTTP 503). Remove it on X, "
            "under Settings, Security and account access, Apps and sessions.",
        )
    ]


@responses.activate
def test_without_x_client_settings_it_disconnects_and_says_why_not_revoked(
    alice, x_account, settings
):
    settings.TWITTER_CLIENT_ID = ""

    response = disconnect_x(alice)

    assert response.json()["data"]["revoked"] is False
    assert len(responses.calls) == 0
    assert not ProviderAccount.objects.exists()
    ((_, body),) = notifications(alice)
    assert "(X OAuth is not configured (TWITTER_CLIENT_ID))" in body


@responses.activate
def test_an_account_without_tokens_asks_no_provider(alice, bob):
    ProviderAccount.objects.create(owner=alice, kind="twitter", account_id="1")
    ProviderAccount.objects.create(owner=bob, kind="twitter", account_id="2")

    response = disconnect_x(alice)

    assert response.json()["data"] == {
        "disconnected": True,
        "accounts": 1,
        "revoked": True,
    }
    assert len(responses.calls) == 0
    assert list(ProviderAccount.objects.values_list("account_id", flat=True)) == ["2"]


# --- deleting the user -------------------------------------------------------------


@responses.activate
def test_deleting_the_user_revokes_every_grant_even_when_one_provider_is_down(
    alice, google, x_account
):
    responses.post(GOOGLE_REVOKE_URI, **reply(503, REVOKE / "google-503.json"))
    responses.post(TWITTER_REVOKE_URL, **reply(200, REVOKE / "twitter-revoked.json"))

    response = web_client(alice).delete("/api/v1/auth/me")

    assert response.status_code == 200
    assert [call.request.url for call in responses.calls] == [
        GOOGLE_REVOKE_URI,
        TWITTER_REVOKE_URL,
        TWITTER_REVOKE_URL,
    ]
    assert not ProviderAccount.objects.exists()
    assert not Notification.objects.exists()
