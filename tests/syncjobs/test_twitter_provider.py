"""TwitterProvider and refresh_twitter_token against replayed X API v2 bodies.

HTTP is mocked at the requests edge with ``responses``; bodies come from the
real shapes in ../shared/fixtures/twitter-api-v2 (used in place) and from
recorded files next to this module.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from syncjobs.providers.base import (
    AccountCredentials,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.twitter import TwitterProvider, refresh_twitter_token
from syncjobs.records import ContactRecord, Participant, RecordProblem
from tests.conftest import shared_fixture

RECORDED = Path(__file__).parent / "recorded" / "twitter"
API = "https://api.twitter.com/2"
ME = "2244994945"
NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)

DM_QUERY = {
    "dm_event.fields": "created_at,sender_id,text,dm_conversation_id,participant_ids",
    "event_types": "MessageCreate",
    "max_results": "100",
}
MENTION_QUERY = {
    "tweet.fields": "created_at,author_id,text",
    "expansions": "author_id",
    "user.fields": "username,name,description",
    "max_results": "100",
}
LOOKUP_FIELDS = "username,name,description,profile_image_url,location"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def shared(name: str) -> dict:
    path = shared_fixture(f"twitter-api-v2/{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def credentials(account_id: str = ME) -> AccountCredentials:
    return AccountCredentials(account_id=account_id, access_token="user-context-token")


def dm_page(mock, body: dict, *, token: str | None = None, status: int = 200, **kw):
    query = dict(DM_QUERY, **({"pagination_token": token} if token else {}))
    mock.get(
        f"{API}/dm_events",
        json=body,
        status=status,
        match=[matchers.query_param_matcher(query)],
        **kw,
    )


def mention_page(
    mock, body: dict, *, token: str | None = None, since: str | None = None
):
    query = dict(MENTION_QUERY)
    if token:
        query["pagination_token"] = token
    if since:
        query["since_id"] = since
    mock.get(
        f"{API}/users/{ME}/mentions",
        json=body,
        match=[matchers.query_param_matcher(query)],
    )


def lookup(mock, ids: str, body: dict, *, status: int = 200, **kw):
    mock.get(
        f"{API}/users",
        json=body,
        status=status,
        match=[
            matchers.query_param_matcher({"ids": ids, "user.fields": LOOKUP_FIELDS})
        ],
        **kw,
    )


def summary(result) -> list[tuple]:
    return [
        (
            i.reference_id,
            i.direction,
            i.participants,
            i.occurred_at,
            i.content_preview,
            i.per_contact,
        )
        for i in result.interactions
    ]


@pytest.fixture
def mock():
    with responses.RequestsMock() as rsps:
        yield rsps


def test_it_follows_next_token_across_two_dm_pages(mock):
    dm_page(mock, shared("docs-x-dm-events-quickstart-response.json"))
    dm_page(mock, recorded("dm-events-page2.json"), token="abc123")
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "1500000001,9876543210", recorded("users-lookup.json"))

    result = TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    carol = Participant(
        twitter_user_id="1500000001", twitter_handle="carol_meets", name="Carol Meetup"
    )
    dan = Participant(
        twitter_user_id="9876543210", twitter_handle="dan_qs", name="Dan Quickstart"
    )
    assert summary(result) == [
        (
            "twitter_dm:1234567890",
            "inbound",
            (dan,),
            dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC),
            "Hello! How are you?",
            False,
        ),
        (
            "twitter_dm:1234567001",
            "outbound",
            (dan,),
            dt.datetime(2024, 1, 15, 9, 0, tzinfo=dt.UTC),
            "Thanks, talk soon",
            False,
        ),
        (
            "twitter_dm:1234566002",
            "outbound",
            (carol,),
            dt.datetime(2024, 1, 14, 18, 45, 12, tzinfo=dt.UTC),
            "Welcome aboard",
            False,
        ),
        (
            "twitter_dm:1234565003",
            "inbound",
            (carol,),
            dt.datetime(2024, 1, 14, 18, 30, tzinfo=dt.UTC),
            "Hi Alice, nice to meet you at the meetup",
            False,
        ),
    ]
    assert result.contacts == [
        ContactRecord(
            source="twitter",
            position="user 9876543210",
            external_id="9876543210",
            twitter_user_id="9876543210",
            twitter_handle="dan_qs",
            full_name="Dan Quickstart",
            avatar_url="https://pbs.twimg.com/profile_images/9876543210/dan_normal.jpg",
        ),
        ContactRecord(
            source="twitter",
            position="user 1500000001",
            external_id="1500000001",
            twitter_user_id="1500000001",
            twitter_handle="carol_meets",
            full_name="Carol Meetup",
            twitter_bio="Organiser of the Thursday meetup",
            location="Lisbon",
            avatar_url="https://pbs.twimg.com/profile_images/1500000001/carol_normal.jpg",
        ),
    ]
    assert result.cursor == {"dm_newest_id": "1234567890"}
    assert result.items_read == 4
    assert result.errors == []
    assert result.warnings == []
    assert len(mock.calls) == 4
    assert mock.calls[0].request.headers["Authorization"] == "Bearer user-context-token"


def test_it_asks_x_for_the_own_id_when_the_account_id_is_not_numeric(mock):
    # Read the shared fixture first: a skip must come before any mock is set.
    quickstart = shared("docs-x-dm-events-quickstart-response.json")
    mock.get(f"{API}/users/me", json=recorded("users-me.json"))
    dm_page(mock, quickstart)
    dm_page(mock, recorded("empty-page.json"), token="abc123")
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "9876543210", recorded("users-lookup.json"))

    result = TwitterProvider().fetch(
        credentials=credentials(account_id="alice_owner"), cursor={}, now=NOW
    )

    assert [i.reference_id for i in result.interactions] == ["twitter_dm:1234567890"]
    assert mock.calls[0].request.url == f"{API}/users/me"


def test_it_stops_reading_dms_at_the_stored_newest_id_inside_a_page(mock):
    dm_page(mock, shared("docs-x-dm-events-quickstart-response.json"))
    dm_page(mock, recorded("dm-events-page2.json"), token="abc123")
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "9876543210", recorded("users-lookup.json"))

    result = TwitterProvider().fetch(
        credentials=credentials(), cursor={"dm_newest_id": "1234566002"}, now=NOW
    )

    assert [(i.reference_id, i.direction) for i in result.interactions] == [
        ("twitter_dm:1234567890", "inbound"),
        ("twitter_dm:1234567001", "outbound"),
    ]
    assert result.items_read == 2
    assert result.cursor == {"dm_newest_id": "1234567890"}


def test_it_does_not_fetch_the_next_page_once_the_stored_id_is_reached(mock):
    dm_page(mock, shared("docs-x-dm-events-quickstart-response.json"))
    mention_page(mock, recorded("empty-page.json"))

    result = TwitterProvider().fetch(
        credentials=credentials(), cursor={"dm_newest_id": "1234567890"}, now=NOW
    )

    assert result.interactions == []
    assert result.contacts == []
    assert result.items_read == 0
    assert result.cursor == {"dm_newest_id": "1234567890"}
    # The quickstart page carries next_token "abc123"; it is not followed,
    # and with nobody new no profile lookup is made.
    assert [c.request.url.split("?")[0] for c in mock.calls] == [
        f"{API}/dm_events",
        f"{API}/users/{ME}/mentions",
    ]


def test_it_compares_dm_ids_as_numbers_so_9_is_older_than_10(mock):
    def event(event_id: str) -> dict:
        return {
            "id": event_id,
            "event_type": "MessageCreate",
            "text": f"message {event_id}",
            "sender_id": "1500000001",
            "dm_conversation_id": f"1500000001-{ME}",
            "created_at": "2024-01-10T08:00:00.000Z",
        }

    body = {
        "data": [event("11"), event("10"), event("9"), event("8")],
        "meta": {"result_count": 4, "next_token": "older"},
    }
    dm_page(mock, body)
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "1500000001", recorded("users-lookup.json"))

    result = TwitterProvider().fetch(
        credentials=credentials(), cursor={"dm_newest_id": "9"}, now=NOW
    )

    assert [i.reference_id for i in result.interactions] == [
        "twitter_dm:11",
        "twitter_dm:10",
    ]
    # As strings "9" > "11", which would keep the cursor stuck at "9".
    assert result.cursor == {"dm_newest_id": "11"}


def test_it_keeps_the_stored_cursors_when_nothing_is_new(mock):
    dm_page(mock, recorded("empty-page.json"))
    mention_page(mock, recorded("empty-page.json"), since="1750000000000000003")
    cursor = {"dm_newest_id": "1234567890", "mention_newest_id": "1750000000000000003"}

    result = TwitterProvider().fetch(credentials=credentials(), cursor=cursor, now=NOW)

    assert result.cursor == cursor
    assert result.interactions == []


def test_it_counts_events_with_only_default_fields_as_errors(mock):
    dm_page(mock, shared("tweepy-dm-conversation-events-default-fields.json"))
    dm_page(mock, recorded("empty-page.json"), token="18LAA5G1SL0NR5OG0G00ZZZZ")
    mention_page(mock, recorded("empty-page.json"))

    result = TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert result.interactions == []
    assert result.errors == [
        RecordProblem(
            "dm event 1585800613752881156", "event has no sender_id or created_at"
        ),
        RecordProblem(
            "dm event 1585800613253812228", "event has no sender_id or created_at"
        ),
    ]
    assert result.items_read == 2
    # Bad events still move the cursor: re-reading them would not fix them.
    assert result.cursor == {"dm_newest_id": "1585800613752881156"}


def test_it_warns_about_non_message_events_and_skips_group_messages_of_the_user(mock):
    own_group_message = {
        "id": "1582838499983564807",
        "event_type": "MessageCreate",
        "text": "Hi all, welcome.",
        "sender_id": ME,
        "dm_conversation_id": "1578398451921985538",
        "created_at": "2022-10-19T20:59:00.000Z",
    }
    body = {
        "data": [
            own_group_message,
            shared("docs-x-dm-event-messagecreate-group.json"),
            shared("docs-x-dm-event-participantsjoin.json"),
        ],
        "meta": {"result_count": 3},
    }
    dm_page(mock, body)
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "944480690", {"data": []})

    result = TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert summary(result) == [
        (
            "twitter_dm:1582838499983564806",
            "inbound",
            (Participant(twitter_user_id="944480690"),),
            dt.datetime(2022, 10, 19, 20, 58, tzinfo=dt.UTC),
            "Hi everyone.",
            False,
        )
    ]
    assert result.errors == [
        RecordProblem(
            "dm event 1582838499983564807",
            "message sent by the user names no other person",
        )
    ]
    assert result.warnings == [
        RecordProblem(
            "dm event 1582835469712138240", "ParticipantsJoin event is not a message"
        )
    ]
    assert result.items_read == 3
    assert result.cursor == {"dm_newest_id": "1582838499983564807"}


def test_it_turns_mentions_into_inbound_interactions_and_skips_self_mentions(mock):
    dm_page(mock, recorded("empty-page.json"))
    mention_page(
        mock, recorded("mentions-with-authors.json"), since="1749999999999999999"
    )
    not_found = {
        "errors": [
            {
                "value": "3100000003",
                "detail": "Could not find user with ids: [3100000003].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "ids",
                "resource_id": "3100000003",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    lookup(mock, "3100000003", not_found)

    result = TwitterProvider().fetch(
        credentials=credentials(),
        cursor={"mention_newest_id": "1749999999999999999"},
        now=NOW,
    )

    assert summary(result) == [
        (
            "twitter_mention:1750000000000000002",
            "inbound",
            (
                Participant(
                    twitter_user_id="3100000002",
                    twitter_handle="erin_listens",
                    name="Erin Listener",
                ),
            ),
            dt.datetime(2024, 1, 19, 17, 5, tzinfo=dt.UTC),
            "@alice_owner loved your talk 🤨",
            False,
        ),
        (
            "twitter_mention:1750000000000000001",
            "inbound",
            (Participant(twitter_user_id="3100000003"),),
            dt.datetime(2024, 1, 18, 11, 0, tzinfo=dt.UTC),
            "@alice_owner are the slides online?",
            False,
        ),
    ]
    assert result.contacts == [
        ContactRecord(
            source="twitter",
            position="user 3100000002",
            external_id="3100000002",
            twitter_user_id="3100000002",
            twitter_handle="erin_listens",
            full_name="Erin Listener",
            twitter_bio="Conference goer",
        )
    ]
    assert result.warnings == [
        RecordProblem("user 3100000003", "Could not find user with ids: [3100000003].")
    ]
    assert result.items_read == 3
    assert result.cursor == {"mention_newest_id": "1750000000000000003"}


def test_it_reports_real_mentions_without_author_and_follows_their_next_token(mock):
    # Read the shared fixture first: a skip must come before any mock is set.
    mentions = shared("tweepy-users-mentions-response.json")
    dm_page(mock, recorded("empty-page.json"))
    mention_page(mock, mentions)
    mention_page(
        mock,
        recorded("empty-page.json"),
        token="7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j",
    )

    result = TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert result.interactions == []
    assert len(result.errors) == 10
    assert result.errors[0] == RecordProblem(
        "mention 1578516295611748353", "tweet has no author_id or created_at"
    )
    assert result.items_read == 10
    assert result.cursor == {"mention_newest_id": "1578516295611748353"}


def test_it_raises_rate_limited_with_the_seconds_until_the_reset(mock):
    reset = int(NOW.timestamp()) + 900
    dm_page(
        mock,
        recorded("error-429.json"),
        status=429,
        headers={"x-rate-limit-reset": str(reset)},
    )

    with pytest.raises(RateLimited) as caught:
        TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert caught.value.retry_after == 900.0
    assert caught.value.permanent is False


def test_it_raises_token_revoked_on_401(mock):
    dm_page(mock, recorded("error-401.json"), status=401)

    with pytest.raises(TokenRevoked) as caught:
        TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert caught.value.reauth is True
    assert caught.value.permanent is True


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (403, True), (503, False)]
)
def test_it_marks_client_errors_permanent_and_server_errors_retryable(
    mock, status, permanent
):
    dm_page(mock, recorded("error-403-dm-scope.json"), status=status)

    with pytest.raises(ProviderError) as caught:
        TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert type(caught.value) is ProviderError
    assert caught.value.permanent is permanent
    assert caught.value.reauth is False


def test_it_keeps_the_messages_when_the_profile_lookup_is_rate_limited(mock):
    dm_page(mock, shared("docs-x-dm-events-quickstart-response.json"))
    dm_page(mock, recorded("empty-page.json"), token="abc123")
    mention_page(mock, recorded("empty-page.json"))
    lookup(mock, "9876543210", recorded("error-429.json"), status=429)

    result = TwitterProvider().fetch(credentials=credentials(), cursor={}, now=NOW)

    assert [i.participants for i in result.interactions] == [
        (Participant(twitter_user_id="9876543210"),)
    ]
    assert result.contacts == []
    assert [w.position for w in result.warnings] == ["users 9876543210…9876543210"]
    assert result.cursor == {"dm_newest_id": "1234567890"}


def token_endpoint(mock, body: dict, status: int = 200):
    mock.post(f"{API}/oauth2/token", json=body, status=status)


def test_it_refreshes_the_token_with_basic_auth_and_returns_the_rotated_pair(mock):
    token_endpoint(mock, recorded("token-refreshed.json"))

    access, refresh, expires_at = refresh_twitter_token(
        client_id="client-abc",
        client_secret="secret-xyz",
        refresh_token="cmVmcmVzaC0xLW9sZA",
        now=NOW,
    )

    assert access == "bWRWa0VqUXRpZ2hUTW5ZdHRYeW5oR3Jr"
    assert refresh == "cmVmcmVzaC0yLWZyb20tWA"
    assert expires_at == dt.datetime(2024, 2, 1, 14, 0, tzinfo=dt.UTC)
    request = mock.calls[0].request
    assert parse_qs(request.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["cmVmcmVzaC0xLW9sZA"],
        "client_id": ["client-abc"],
    }
    expected = base64.b64encode(b"client-abc:secret-xyz").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_it_keeps_the_old_refresh_token_when_x_sends_none(mock):
    body = recorded("token-refreshed.json")
    del body["refresh_token"]
    token_endpoint(mock, body)

    _, refresh, _ = refresh_twitter_token(
        client_id="client-abc", client_secret="", refresh_token="old-one", now=NOW
    )

    assert refresh == "old-one"
    assert "Authorization" not in mock.calls[0].request.headers


@pytest.mark.parametrize(
    "body", ["token-invalid-grant.json", "token-invalid-request.json"]
)
def test_it_raises_token_revoked_when_x_rejects_the_refresh_token(mock, body):
    token_endpoint(mock, recorded(body), status=400)

    with pytest.raises(TokenRevoked):
        refresh_twitter_token(
            client_id="client-abc",
            client_secret="secret-xyz",
            refresh_token="spent",
            now=NOW,
        )


def test_it_raises_a_retryable_error_when_the_token_endpoint_fails(mock):
    mock.post(f"{API}/oauth2/token", body="<html>upstream error</html>", status=503)

    with pytest.raises(ProviderError) as caught:
        refresh_twitter_token(
            client_id="client-abc",
            client_secret="secret-xyz",
            refresh_token="still-good",
            now=NOW,
        )

    assert caught.value.permanent is False
