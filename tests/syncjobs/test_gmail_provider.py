"""Gmail provider against recorded API replies, replayed by googleapiclient's mocks.

The Gmail API is replayed with ``HttpMockSequence`` (batch replies as the
multipart/mixed bodies Google sends); the OAuth token endpoint, which
google-auth calls through ``requests``, is mocked with ``responses``.
Recorded bodies live in ``recorded/gmail``; the real message dumps in the
shared fixtures are turned into ``format=metadata`` replies.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from googleapiclient.http import HttpMockSequence

from syncjobs.imports.mail import parse_mbox
from syncjobs.providers.base import (
    AccountCredentials,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.gmail import GmailProvider, parse_message
from syncjobs.providers.google_client import TOKEN_URI
from syncjobs.records import Participant, RecordProblem
from tests.conftest import shared_fixture

RECORDED = Path(__file__).parent / "recorded" / "gmail"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
OWN = frozenset({"casey@exampleorg.com", "jermaine@example.com"})
JSON = "application/json; charset=UTF-8"
WANTED_HEADERS = {"from", "to", "cc", "bcc", "date", "subject", "message-id"}


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def ok(body: dict) -> tuple[dict, str]:
    return {"status": "200", "content-type": JSON}, json.dumps(body)


def failure(status: int, name: str, **headers: str) -> tuple[dict, str]:
    return {"status": str(status), "content-type": JSON, **headers}, (
        (RECORDED / name).read_text()
    )


def batch_reply(parts: dict[str, tuple[int, dict]]) -> tuple[dict, str]:
    """Return a multipart/mixed batch reply, one part per request id."""
    boundary = "batch_Ab3dE5gH7jK9mN1pQ3sT5vX7z"
    chunks = []
    for request_id, (status, body) in parts.items():
        chunks.append(
            f"--{boundary}\r\n"
            "Content-Type: application/http\r\n"
            f"Content-ID: <response-9b2c1e0a-7f4d-4b8e-a1c3-5d6e7f809a1b + {request_id}>\r\n"
            "\r\n"
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/json; charset=UTF-8\r\n"
            "Vary: Origin\r\n"
            "\r\n"
            f"{json.dumps(body)}\r\n"
        )
    chunks.append(f"--{boundary}--\r\n")
    headers = {
        "status": "200",
        "content-type": f"multipart/mixed; boundary={boundary}",
    }
    return headers, "".join(chunks)


def as_metadata(message: dict) -> dict:
    """Return what messages.get(format=metadata) gives for a full message dump."""
    reply = {k: v for k, v in message.items() if k != "payload"}
    payload = message["payload"]
    reply["payload"] = {
        "partId": "",
        "mimeType": payload.get("mimeType", ""),
        "filename": "",
        "headers": [
            h for h in payload.get("headers", ()) if h["name"].lower() in WANTED_HEADERS
        ],
    }
    return reply


def metadata(message_id: str) -> dict:
    """Return the metadata reply for a recorded or a shared-fixture message."""
    mine = recorded("messages-metadata.json")
    if message_id in mine:
        return mine[message_id]
    return as_metadata(fixture_messages()[message_id])


def fixture_messages() -> dict[str, dict]:
    calliope = json.loads(
        shared_fixture(
            "gmail-api-json/calliope-messages-get-full-slack-notification.json"
        ).read_text()
    )
    founder = json.loads(
        shared_fixture(
            "gmail-api-json/founder-os-messages-list-and-get.json"
        ).read_text()
    )
    trashtalk = json.loads(
        shared_fixture(
            "gmail-api-json/trashtalk-message-mixedcase-header-nested-parts.json"
        ).read_text()
    )
    return {calliope["id"]: calliope, **founder["messages"], trashtalk["id"]: trashtalk}


def batch_of(*message_ids: str) -> tuple[dict, str]:
    return batch_reply({i: (200, metadata(i)) for i in message_ids})


def list_page(*message_ids: str, next_token: str = "") -> tuple[dict, str]:
    body = {
        "messages": [{"id": i, "threadId": f"t-{i}"} for i in message_ids],
        "resultSizeEstimate": len(message_ids),
    }
    if next_token:
        body["nextPageToken"] = next_token
    return ok(body)


def query(uri: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(uri).query)


def batch_part_uris(body: str) -> list[str]:
    return [line.split(" ")[1] for line in body.splitlines() if line.startswith("GET ")]


@pytest.fixture
def credentials():
    return AccountCredentials(
        account_id="acct-1",
        access_token="ya29.valid-token",
        refresh_token="1//refresh-token",
        own_identities=OWN,
    )


@pytest.fixture
def sleeps(monkeypatch):
    """Record the client library's backoff sleeps instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(time, "sleep", calls.append)
    return calls


def fetch(credentials, http, cursor=None):
    return GmailProvider().fetch(
        credentials=credentials, cursor=cursor or {}, now=NOW, http=http
    )


def summary(result) -> list[tuple]:
    return [
        (
            i.position,
            i.direction,
            i.occurred_at,
            i.reference_id,
            [(p.email, p.name) for p in i.participants],
            i.content_preview,
        )
        for i in result.interactions
    ]


SLACK = (
    "message 16753a2ae7f95997",
    "inbound",
    dt.datetime(2018, 11, 27, 5, 27, 9, tzinfo=dt.UTC),
    "email:0100016753a2ac08-7f04909f-4040-4434-9cf8-6647967f5a19-000000"
    "@email.amazonses.com",
    [("no-reply@slack.com", "Slack")],
    "[Slack] Notifications from the Example Org workspace for November 26th, "
    "2018 at 9:27 PM",
)
TIMELINE = (
    "message msg001",
    "inbound",
    dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC),
    "gmail:msg001",
    [("alice@example.com", "")],
    "Project timeline update",
)
OUTBOUND = (
    "message m-outbound",
    "outbound",
    dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
    "email:CAB-outbound-1@mail.gmail.com",
    [
        ("ann@example.org", "Roe, Ann"),
        ("bob@example.net", "Bob Example"),
        ("dana@example.com", "Dana"),
    ],
    "Re: Thursday",
)
DINNER = (
    "message fixture-1",
    "inbound",
    dt.datetime(2026, 9, 28, 14, 0, tzinfo=dt.UTC),
    "gmail:fixture-1",
    [("friend@example.invalid", "Fixture Friend")],
    "Dinner on Friday?",
)
B12 = (
    "message m-b12",
    "inbound",
    dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC),
    "email:b12-1@example.com",
    [("j.doe@example.com", "Doe, Jörg")],
    "Grüße",
)


# --- full sync --------------------------------------------------------------


@pytest.mark.fixtures
def test_it_lists_two_pages_and_reads_every_message_in_one_batch(credentials):
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            ok(recorded("messages-list-page1.json")),
            ok(recorded("messages-list-page2.json")),
            batch_of("16753a2ae7f95997", "msg001", "m-outbound", "fixture-1", "m-b12"),
        ]
    )

    result = fetch(credentials, http)

    assert summary(result) == [SLACK, TIMELINE, OUTBOUND, DINNER, B12]
    assert all(i.platform == "email" and i.per_contact for i in result.interactions)
    assert result.items_read == 5
    assert result.errors == []
    assert result.cursor == {"history_id": "48000"}

    profile, page1, page2, batch = http.request_sequence
    assert urlparse(profile[0]).path == "/gmail/v1/users/me/profile"
    assert query(page1[0])["q"] == ["newer_than:1y"]
    assert query(page1[0])["maxResults"] == ["500"]
    assert "pageToken" not in query(page1[0])
    assert query(page2[0])["pageToken"] == ["09177471468523339937"]
    assert (batch[0], batch[1]) == ("https://gmail.googleapis.com/batch", "POST")
    parts = batch_part_uris(batch[2])
    assert [urlparse(uri).path for uri in parts] == [
        "/gmail/v1/users/me/messages/16753a2ae7f95997",
        "/gmail/v1/users/me/messages/msg001",
        "/gmail/v1/users/me/messages/m-outbound",
        "/gmail/v1/users/me/messages/fixture-1",
        "/gmail/v1/users/me/messages/m-b12",
    ]
    assert query(parts[0])["format"] == ["metadata"]
    assert query(parts[0])["metadataHeaders"] == [
        "From",
        "To",
        "Cc",
        "Bcc",
        "Date",
        "Subject",
        "Message-ID",
    ]


@pytest.mark.fixtures
def test_it_splits_more_than_fifty_messages_into_batches_of_fifty(credentials):
    template = metadata("msg001")
    ids = [f"bulk-{n:02d}" for n in range(51)]

    def message(message_id):
        reply = copy.deepcopy(template)
        reply["id"] = message_id
        return reply

    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            list_page(*ids),
            batch_reply({i: (200, message(i)) for i in ids[:50]}),
            batch_reply({ids[50]: (200, message(ids[50]))}),
        ]
    )

    result = fetch(credentials, http)

    assert len(result.interactions) == 51
    assert result.interactions[50].reference_id == "gmail:bulk-50"
    first_batch, second_batch = http.request_sequence[2:]
    assert len(batch_part_uris(first_batch[2])) == 50
    assert len(batch_part_uris(second_batch[2])) == 1


@pytest.mark.fixtures
def test_it_skips_malformed_messages_and_counts_them(credentials):
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            list_page("m-no-from", "msg001", "m-bad-date"),
            batch_of("m-no-from", "msg001", "m-bad-date"),
        ]
    )

    result = fetch(credentials, http)

    assert summary(result) == [TIMELINE]
    assert result.items_read == 3
    assert result.errors == [
        RecordProblem("message m-no-from", "no From header"),
        RecordProblem(
            "message m-bad-date",
            "no internalDate and unreadable Date: 'sometime last week'",
        ),
    ]


@pytest.mark.fixtures
def test_it_warns_about_a_message_deleted_mid_run_and_refetches_a_throttled_one(
    credentials, sleeps
):
    busy = copy.deepcopy(metadata("m-b12"))
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            list_page("msg001", "m-gone", "m-b12"),
            batch_reply(
                {
                    "msg001": (200, metadata("msg001")),
                    "m-gone": (404, recorded("error-404-history.json")),
                    "m-b12": (429, recorded("error-429.json")),
                }
            ),
            ok(busy),
        ]
    )

    result = fetch(credentials, http)

    assert summary(result) == [TIMELINE, B12]
    assert result.warnings == [
        RecordProblem("message m-gone", "deleted before it could be read")
    ]
    assert result.items_read == 3
    refetch = http.request_sequence[3]
    assert urlparse(refetch[0]).path == "/gmail/v1/users/me/messages/m-b12"
    assert query(refetch[0])["format"] == ["metadata"]


@pytest.mark.fixtures
def test_it_fetches_one_by_one_when_the_whole_batch_fails_with_a_5xx(
    credentials, sleeps
):
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            list_page("msg001", "m-b12"),
            failure(503, "error-500.json"),
            ok(metadata("msg001")),
            ok(metadata("m-b12")),
        ]
    )

    result = fetch(credentials, http)

    assert summary(result) == [TIMELINE, B12]
    assert [r[1] for r in http.request_sequence] == ["GET", "GET", "POST", "GET", "GET"]


# --- incremental sync -------------------------------------------------------


def test_it_reads_only_the_messages_the_history_added(credentials):
    http = HttpMockSequence(
        [
            ok(recorded("history-list-page1.json")),
            ok(recorded("history-list-page2.json")),
            batch_of("m-b12", "m-outbound"),
        ]
    )

    result = fetch(credentials, http, cursor={"history_id": "47990"})

    # The draft is left out and m-b12, added twice, is read once.
    assert summary(result) == [B12, OUTBOUND]
    assert result.cursor == {"history_id": "48100"}
    page1, page2, batch = http.request_sequence
    assert urlparse(page1[0]).path == "/gmail/v1/users/me/history"
    assert query(page1[0])["startHistoryId"] == ["47990"]
    assert query(page1[0])["historyTypes"] == ["messageAdded"]
    assert query(page2[0])["pageToken"] == ["h-page-2"]
    assert query(page2[0])["startHistoryId"] == ["47990"]
    assert len(batch_part_uris(batch[2])) == 2


def test_it_moves_the_cursor_when_the_history_has_nothing_new(credentials):
    http = HttpMockSequence([ok({"historyId": "48123"})])

    result = fetch(credentials, http, cursor={"history_id": "48100"})

    assert result.interactions == []
    assert result.cursor == {"history_id": "48123"}
    assert len(http.request_sequence) == 1


@pytest.mark.fixtures
def test_it_runs_a_full_sync_when_the_history_id_has_expired(credentials):
    http = HttpMockSequence(
        [
            failure(404, "error-404-history.json"),
            ok(recorded("profile.json")),
            ok(recorded("messages-list-page2.json")),
            batch_of("fixture-1", "m-b12"),
        ]
    )

    result = fetch(credentials, http, cursor={"history_id": "1200"})

    assert summary(result) == [DINNER, B12]
    assert result.cursor == {"history_id": "48000", "full_resync": "1"}
    assert query(http.request_sequence[2][0])["q"] == ["newer_than:1y"]


# --- HTTP failures ----------------------------------------------------------


@pytest.mark.fixtures
def test_it_retries_a_429_inside_the_call_and_carries_on(credentials, sleeps):
    http = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            failure(429, "error-429.json"),
            ok(recorded("messages-list-page2.json")),
            batch_of("fixture-1", "m-b12"),
        ]
    )

    result = fetch(credentials, http)

    assert summary(result) == [DINNER, B12]
    assert len(sleeps) == 1


def test_it_raises_a_retryable_error_when_5xx_retries_are_exhausted(
    credentials, sleeps
):
    http = HttpMockSequence(
        [ok(recorded("profile.json"))] + [failure(500, "error-500.json")] * 4
    )

    with pytest.raises(ProviderError) as caught:
        fetch(credentials, http)

    assert not isinstance(caught.value, RateLimited)
    assert caught.value.permanent is False
    assert caught.value.reauth is False
    assert str(caught.value) == "messages.list: HTTP 500 backendError"
    assert len(sleeps) == 3
    assert len(http.request_sequence) == 5


def test_it_raises_rate_limited_with_retry_after_when_429s_persist(credentials, sleeps):
    http = HttpMockSequence(
        [failure(429, "error-429.json", **{"retry-after": "30"})] * 4
    )

    with pytest.raises(RateLimited) as caught:
        fetch(credentials, http)

    assert caught.value.retry_after == 30.0
    assert caught.value.permanent is False
    assert str(caught.value) == "getProfile: HTTP 429 rateLimitExceeded"


def test_it_treats_a_user_rate_limit_403_as_rate_limited_not_as_auth(
    credentials, sleeps
):
    http = HttpMockSequence([failure(403, "error-403-rate.json")] * 4)

    with pytest.raises(RateLimited) as caught:
        fetch(credentials, http)

    assert caught.value.reauth is False
    assert caught.value.retry_after is None
    assert len(sleeps) == 3


def test_it_asks_for_reauth_when_the_grant_lacks_the_gmail_scope(credentials, sleeps):
    http = HttpMockSequence([failure(403, "error-403-scope.json")])

    with pytest.raises(ProviderError) as caught:
        fetch(credentials, http)

    assert caught.value.permanent is True
    assert caught.value.reauth is True
    assert sleeps == []


def test_it_fails_permanently_on_another_4xx(credentials, sleeps):
    http = HttpMockSequence([failure(400, "error-400.json")])

    with pytest.raises(ProviderError) as caught:
        fetch(credentials, http)

    assert caught.value.permanent is True
    assert caught.value.reauth is False
    assert str(caught.value) == "getProfile: HTTP 400 invalidArgument"


@responses.activate
def test_it_raises_token_revoked_on_a_401_that_survives_refreshing(credentials):
    # google-auth-httplib2 refreshes and retries twice before handing the
    # 401 back.
    responses.post(TOKEN_URI, json=recorded("token-refresh.json"))
    http = HttpMockSequence([failure(401, "error-401.json")] * 3)

    with pytest.raises(TokenRevoked) as caught:
        fetch(credentials, http)

    assert caught.value.reauth is True
    assert len(responses.calls) == 2
    assert len(http.request_sequence) == 3


# --- token refresh before the run -------------------------------------------


@responses.activate
def test_it_refreshes_an_expired_access_token_and_reports_the_new_one():
    responses.post(TOKEN_URI, json=recorded("token-refresh.json"))
    refreshed = []
    credentials = AccountCredentials(
        account_id="acct-1",
        access_token="ya29.expired-token",
        refresh_token="1//refresh-token",
        expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        own_identities=OWN,
        on_refresh=lambda token, expiry: refreshed.append((token, expiry)),
    )
    http = HttpMockSequence([ok(recorded("profile.json")), list_page()])

    result = fetch(credentials, http)

    assert result.cursor == {"history_id": "48000"}
    assert len(refreshed) == 1
    token, expiry = refreshed[0]
    assert token == "ya29.a0-refreshed-token"
    assert expiry.tzinfo == dt.UTC
    token_request = parse_qs(responses.calls[0].request.body.decode())
    assert token_request["refresh_token"] == ["1//refresh-token"]
    assert token_request["grant_type"] == ["refresh_token"]
    profile_headers = http.request_sequence[0][3]
    assert profile_headers["authorization"] == "Bearer ya29.a0-refreshed-token"
    # No ids were listed, so no batch was sent.
    assert len(http.request_sequence) == 2


@responses.activate
def test_it_raises_token_revoked_when_the_refresh_token_is_refused():
    responses.post(TOKEN_URI, status=400, json=recorded("token-invalid-grant.json"))
    refreshed = []
    credentials = AccountCredentials(
        account_id="acct-1",
        access_token="ya29.expired-token",
        refresh_token="1//revoked",
        expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        own_identities=OWN,
        on_refresh=lambda token, expiry: refreshed.append(token),
    )
    http = HttpMockSequence([])

    with pytest.raises(TokenRevoked) as caught:
        fetch(credentials, http)

    assert caught.value.permanent is True
    assert caught.value.reauth is True
    assert refreshed == []
    assert http.request_sequence == []


# --- parse_message on real and recorded messages ----------------------------


@pytest.mark.fixtures
def test_it_reads_the_real_full_format_slack_message():
    message = fixture_messages()["16753a2ae7f95997"]

    result = parse_message(message, own_addresses=frozenset({"casey@exampleorg.com"}))

    assert summary(result) == [SLACK]


@pytest.mark.fixtures
def test_it_reads_headers_only_messages_by_their_date_header():
    messages = fixture_messages()
    own = frozenset({"jermaine@example.com"})

    results = [
        parse_message(messages[i], own_addresses=own)
        for i in ("msg001", "msg002", "msg003")
    ]

    assert [summary(r)[0] for r in results] == [
        TIMELINE,
        (
            "message msg002",
            "inbound",
            dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC),
            "gmail:msg002",
            [("billing@vendor.com", "")],
            "Invoice #1042",
        ),
        (
            "message msg003",
            "inbound",
            dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
            "gmail:msg003",
            [("digest@newsletter.com", "")],
            "Weekly Digest: 2 Mar 2026",
        ),
    ]


@pytest.mark.fixtures
def test_it_reads_a_mixed_case_from_header_name():
    message = fixture_messages()["fixture-1"]

    result = parse_message(message, own_addresses=OWN)

    assert summary(result) == [DINNER]


def test_it_keeps_the_b12_sender_whole_and_gives_three_named_people():
    message = recorded("messages-metadata.json")["m-b12"]

    inbound = parse_message(message, own_addresses=frozenset({"ann@example.org"}))
    outbound = parse_message(message, own_addresses=frozenset({"J.Doe@example.com"}))

    assert inbound.interactions[0].participants == (
        Participant(email="j.doe@example.com", name="Doe, Jörg"),
    )
    assert outbound.interactions[0].direction == "outbound"
    assert outbound.interactions[0].participants == (
        Participant(email="ann@example.org", name="Roe, Ann"),
        Participant(email="bob@example.net", name="Bob Example"),
        Participant(email="casey@exampleorg.com", name=""),
    )


def test_it_skips_a_draft_without_reporting_it():
    message = copy.deepcopy(recorded("messages-metadata.json")["m-outbound"])
    message["labelIds"] = ["DRAFT"]

    result = parse_message(message, own_addresses=OWN)

    assert (result.items_read, result.interactions, result.errors) == (1, [], [])
    assert result.warnings == []


@pytest.mark.fixtures
def test_it_gives_a_gmail_message_the_same_key_as_the_same_mail_in_an_mbox():
    message = recorded("messages-metadata.json")["m-test001"]
    own = frozenset({"bob@example.com"})

    from_gmail = parse_message(message, own_addresses=own).interactions[0]
    from_mbox = parse_mbox(
        shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox"),
        own_addresses=own,
    ).interactions[0]

    assert (
        from_gmail.reference_id
        == from_mbox.reference_id
        == ("email:test001@example.com")
    )
    assert from_gmail.participants == from_mbox.participants
    assert from_gmail.occurred_at == from_mbox.occurred_at
    assert from_gmail.direction == from_mbox.direction == "inbound"
