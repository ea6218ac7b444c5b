"""A Gmail run whose access token is refused mid-run refreshes it and stores it.

The Gmail API is replayed with googleapiclient's ``HttpMockSequence``, the
token endpoint with ``responses``; both refresh paths of the client
libraries are exercised for real: google-auth-httplib2's (a 401 on a
plain call) and the batch client's (a 401 part inside a batch reply).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest
import responses
import time_machine
from django.db import connection
from googleapiclient.http import HttpMockSequence

from syncjobs.models import ProviderAccount
from syncjobs.providers.base import AccountCredentials
from syncjobs.providers.gmail import GmailProvider
from syncjobs.providers.google_client import TOKEN_URI
from syncjobs.services import sync_provider
from tests.syncjobs.test_gmail_provider import (
    OWN,
    batch_reply,
    failure,
    list_page,
    metadata,
    ok,
    recorded,
)

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
OLD_TOKEN = "ya29.valid-token"
NEW_TOKEN = "ya29.a0-refreshed-token"
NEW_EXPIRY = NOW + dt.timedelta(seconds=3599)


def refused_mid_batch() -> HttpMockSequence:
    """Return a full sync whose batch reply refuses one of its two parts with 401."""
    return HttpMockSequence(
        [
            ok(recorded("profile.json")),
            list_page("m-outbound", "m-b12"),
            batch_reply(
                {
                    "m-outbound": (200, metadata("m-outbound")),
                    "m-b12": (401, recorded("error-401.json")),
                }
            ),
            batch_reply({"m-b12": (200, metadata("m-b12"))}),
        ]
    )


def token_endpoint() -> None:
    responses.post(TOKEN_URI, json=recorded("token-refresh.json"))


def sent_refresh_tokens() -> list[str]:
    return [
        parse_qs(call.request.body.decode())["refresh_token"][0]
        for call in responses.calls
    ]


def credentials(reported: list) -> AccountCredentials:
    return AccountCredentials(
        account_id="acct-1",
        access_token=OLD_TOKEN,
        refresh_token="1//refresh-token",
        expires_at=NOW + dt.timedelta(hours=1),
        own_identities=OWN,
        on_refresh=lambda token, expiry: reported.append((token, expiry)),
    )


@responses.activate
@time_machine.travel(NOW, tick=False)
def test_a_401_part_in_a_batch_refreshes_reports_the_token_and_resends_the_part():
    token_endpoint()
    reported: list = []
    http = refused_mid_batch()

    result = GmailProvider().fetch(
        credentials=credentials(reported), cursor={}, now=NOW, http=http
    )

    assert reported == [(NEW_TOKEN, NEW_EXPIRY)]
    assert sent_refresh_tokens() == ["1//refresh-token"]
    assert [i.position for i in result.interactions] == [
        "message m-outbound",
        "message m-b12",
    ]
    first_batch, resent = http.request_sequence[2], http.request_sequence[3]
    assert f"Bearer {OLD_TOKEN}" in first_batch[2]
    assert f"Bearer {NEW_TOKEN}" in resent[2]
    assert "/gmail/v1/users/me/messages/m-outbound" not in resent[2]


@responses.activate
@time_machine.travel(NOW, tick=False)
def test_a_401_on_a_plain_call_refreshes_reports_the_token_and_retries():
    token_endpoint()
    reported: list = []
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            failure(401, "error-401.json"),
            list_page(),
        ]
    )

    result = GmailProvider().fetch(
        credentials=credentials(reported), cursor={}, now=NOW, http=http
    )

    assert reported == [(NEW_TOKEN, NEW_EXPIRY)]
    assert result.cursor == {"history_id": "48000"}
    refused, retried = http.request_sequence[1], http.request_sequence[2]
    assert refused[3]["authorization"] == f"Bearer {OLD_TOKEN}"
    assert retried[3]["authorization"] == f"Bearer {NEW_TOKEN}"


@pytest.mark.django_db
@responses.activate
@time_machine.travel(NOW, tick=False)
def test_a_sync_stores_the_token_refreshed_mid_batch_encrypted(alice):
    token_endpoint()
    account = ProviderAccount.objects.create(
        owner=alice,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="alice@example.com",
        access_token=OLD_TOKEN,
        refresh_token="1//refresh-token",
        token_expires_at=NOW + dt.timedelta(hours=1),
    )

    run = sync_provider(
        account=account, platform="gmail", trigger="manual", http=refused_mid_batch()
    )

    assert (run.status, run.records_fetched) == ("success", 2)
    stored = ProviderAccount.objects.get(pk=account.pk)
    assert (stored.access_token, stored.token_expires_at) == (NEW_TOKEN, NEW_EXPIRY)
    assert stored.refresh_token == "1//refresh-token"
    assert stored.cursor == {"gmail": {"history_id": "48000"}}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT access_token FROM {ProviderAccount._meta.db_table} WHERE id = %s",
            [account.pk.hex if connection.vendor == "sqlite" else account.pk],
        )
        (raw,) = cursor.fetchone()
    assert raw and NEW_TOKEN not in raw and OLD_TOKEN not in raw
