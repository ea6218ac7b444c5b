"""GoogleCalendarProvider against recorded events.list pages.

The real discovery client is built by google_service; its HTTP is one of
googleapiclient's own mocks (HttpMockSequence), which also records every
request URI so the query can be checked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.http import HttpMockSequence

from syncjobs.providers.base import AccountCredentials, ProviderError, RateLimited
from syncjobs.providers.google_calendar import GoogleCalendarProvider
from syncjobs.records import ContactRecord, Participant, RecordProblem

RECORDED = Path(__file__).parent / "recorded" / "calendar"
NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)
THREE_YEARS_BACK = "2021-02-01T12:00:00Z"
EVENTS_URL = "https://www.googleapis.com/calendar/v3/calendars/primary/events"


def ok(name: str) -> tuple[dict, str]:
    return {"status": "200"}, (RECORDED / name).read_text(encoding="utf-8")


def failure(status: int, name: str, **headers: str) -> tuple[dict, str]:
    return {"status": str(status), **headers}, (RECORDED / name).read_text(
        encoding="utf-8"
    )


def credentials(*identities: str) -> AccountCredentials:
    return AccountCredentials(
        account_id="nick@sawinyh.example",
        access_token="ya29.recorded-token",
        own_identities=frozenset(
            identities or ("nick@sawinyh.example", "Nick Sawinyh")
        ),
    )


def queries(http: HttpMockSequence) -> list[dict[str, list[str]]]:
    assert all(uri.startswith(EVENTS_URL) for uri, *_ in http.request_sequence)
    return [parse_qs(urlsplit(uri).query) for uri, *_ in http.request_sequence]


def fetch(http, cursor=None, creds=None):
    return GoogleCalendarProvider().fetch(
        credentials=creds or credentials(), cursor=cursor or {}, now=NOW, http=http
    )


def test_a_full_sync_reads_every_page_up_to_now_and_keeps_past_meetings():
    http = HttpMockSequence(
        [ok("events-full-page1.json"), ok("events-full-page2.json")]
    )

    result = fetch(http)

    assert [
        (i.reference_id, i.occurred_at, i.participants, i.content_preview)
        for i in result.interactions
    ] == [
        (
            "gcal:7ci3ip2s0be8k9v0t7qg0fmc4c",
            dt.datetime(2024, 1, 10, 14, 0, tzinfo=dt.UTC),
            (Participant(email="simon.letort@letort.example", name="Simon Letort"),),
            "30 Min Meeting between Nick Sawinyh and Simon Letort",
        ),
        (
            "gcal:1o2hgb6mq7pl1d4e0kd3s5tu8v",
            dt.datetime(2024, 1, 12, 14, 30, tzinfo=dt.UTC),
            (Participant(email="awong@cafe.example", name="Alice"),),
            "Coffee with Alice",
        ),
        (
            "gcal:4d5e6f7g8h9i0j1k2l3m4n5o6p",
            dt.datetime(2024, 1, 15, 10, 0, tzinfo=dt.UTC),
            (Participant(email="simon@partner.example", name="Simon Letort"),),
            "Meeting with Simon Letort",
        ),
        (
            "gcal:standup7q1u3k5m_20240116T090000Z",
            dt.datetime(2024, 1, 16, 9, 0, tzinfo=dt.UTC),
            (Participant(email="bob@company.example", name="Bob"),),
            "Weekly team standup",
        ),
        (
            "gcal:0planning9q1r2s3t4u5v6w7x8",
            dt.datetime(2024, 1, 17, 14, 0, tzinfo=dt.UTC),
            (
                Participant(
                    email="priya.natarajan@company.example", name="Priya Natarajan"
                ),
                Participant(email="team@company.example"),
                Participant(email="j.doe@company.example"),
            ),
            "Q1 planning",
        ),
        (
            "gcal:offsite4d5e6f7g8h9i0j1k2l",
            dt.datetime(2024, 1, 20, 0, 0, tzinfo=dt.UTC),
            (Participant(email="dana@studio.example", name="Dana Scott"),),
            "Offsite with Dana",
        ),
        (
            # Started before now and still running: it counts.
            "gcal:inprogress5e6f7g8h9i0j1k2l",
            dt.datetime(2024, 2, 1, 11, 30, tzinfo=dt.UTC),
            (Participant(email="dana@studio.example", name="Dana"),),
            "Quarterly review with Dana",
        ),
    ]
    assert {(i.platform, i.direction, i.per_contact) for i in result.interactions} == {
        ("meeting", "mutual", True)
    }
    assert result.errors == [
        RecordProblem("event nostart6f7g8h9i0j1k2l3m4n", "event has no start time")
    ]
    assert result.items_read == 11
    assert result.cursor == {
        "sync_token": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
        "window_end": "2024-02-01T12:00:00Z",
    }


def test_a_full_sync_asks_for_three_years_up_to_now_and_follows_the_page_token():
    http = HttpMockSequence(
        [ok("events-full-page1.json"), ok("events-full-page2.json")]
    )

    fetch(http)

    first, second = queries(http)
    assert first == {
        "singleEvents": ["true"],
        "maxResults": ["250"],
        "timeMin": [THREE_YEARS_BACK],
        "timeMax": ["2024-02-01T12:00:00Z"],
        "alt": ["json"],
    }
    assert second == dict(
        first,
        pageToken=[
            "CigKGmh0dXJrdm9xMzBvNGk0bTdkNmFqZzQ0cjYwGAEggICAqJOd0f8XGg0IABIAGPiY9-K9loQD"
        ],
    )


def test_it_makes_one_contact_per_attendee_with_the_best_name_found():
    http = HttpMockSequence(
        [ok("events-full-page1.json"), ok("events-full-page2.json")]
    )

    result = fetch(http)

    def contact(
        event: str, email: str, name: str = "", given: str = "", family: str = ""
    ):
        return ContactRecord(
            source="google_calendar",
            position=f"event {event} attendee {email}",
            full_name=name,
            given_name=given,
            family_name=family,
            emails=(email,),
        )

    assert result.contacts == [
        contact(
            "7ci3ip2s0be8k9v0t7qg0fmc4c", "simon.letort@letort.example", "Simon Letort"
        ),
        contact("1o2hgb6mq7pl1d4e0kd3s5tu8v", "awong@cafe.example", "Alice"),
        contact("4d5e6f7g8h9i0j1k2l3m4n5o6p", "simon@partner.example", "Simon Letort"),
        # "Weekly team standup" names nobody, so the address does.
        contact(
            "standup7q1u3k5m_20240116T090000Z", "bob@company.example", "Bob", "Bob"
        ),
        contact(
            "0planning9q1r2s3t4u5v6w7x8",
            "priya.natarajan@company.example",
            "Priya Natarajan",
        ),
        # A role address and an initial give no name.
        contact("0planning9q1r2s3t4u5v6w7x8", "team@company.example"),
        contact("0planning9q1r2s3t4u5v6w7x8", "j.doe@company.example"),
        # The displayName beats the later "dana@" guess.
        contact("offsite4d5e6f7g8h9i0j1k2l", "dana@studio.example", "Dana Scott"),
    ]
    emails = [c.emails[0] for c in result.contacts]
    assert "nick@sawinyh.example" not in emails
    assert "c_1888a1b2c3d4e5f6@resource.calendar.google.com" not in emails


def test_the_between_title_picks_the_side_the_address_names_when_the_user_name_is_unknown():
    http = HttpMockSequence(
        [ok("events-full-page1.json"), ok("events-full-page2.json")]
    )

    result = fetch(http, creds=credentials("nick@sawinyh.example"))

    assert result.interactions[0].participants == (
        Participant(email="simon.letort@letort.example", name="Simon Letort"),
    )


def test_an_incremental_run_reads_changes_and_the_meetings_that_started_since():
    http = HttpMockSequence(
        [ok("events-changed.json"), ok("events-window-since-last-run.json")]
    )
    cursor = {
        "sync_token": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
        "window_end": "2024-01-31T12:00:00Z",
    }

    result = fetch(http, cursor)

    assert [
        (i.reference_id, i.occurred_at, i.participants) for i in result.interactions
    ] == [
        (
            "gcal:afterthefact8h9i0j1k2l3m4n",
            dt.datetime(2024, 1, 25, 16, 0, tzinfo=dt.UTC),
            (Participant(email="grace.hopper@navy.example", name="Grace"),),
        ),
        (
            "gcal:bookedahead9i0j1k2l3m4n5o6",
            dt.datetime(2024, 2, 1, 9, 0, tzinfo=dt.UTC),
            (Participant(email="heidi@example.com", name="Heidi Klum-Berg"),),
        ),
    ]
    # The future lunch and the cancelled coffee are read but are no meetings.
    assert result.items_read == 4
    assert result.errors == []
    changes, window = queries(http)
    # Google refuses timeMin/timeMax next to a syncToken.
    assert changes == {
        "singleEvents": ["true"],
        "maxResults": ["250"],
        "syncToken": ["CPDAlvWDx70CEPDAlvWDx70CGAU="],
        "alt": ["json"],
    }
    assert window["timeMin"] == ["2024-01-31T12:00:00Z"]
    assert window["timeMax"] == ["2024-02-01T12:00:00Z"]
    assert "syncToken" not in window
    assert result.cursor == {
        "sync_token": "CKCbtPSGx70CEKCbtPSGx70CGAU=",
        "window_end": "2024-02-01T12:00:00Z",
    }


def test_a_future_meeting_never_becomes_an_interaction():
    http = HttpMockSequence(
        [ok("events-changed.json"), ok("events-window-since-last-run.json")]
    )
    cursor = {
        "sync_token": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
        "window_end": "2024-01-31T12:00:00Z",
    }

    result = fetch(http, cursor)

    assert all(i.occurred_at <= NOW for i in result.interactions)
    assert "gcal:futurelunch7g8h9i0j1k2l3m4" not in {
        i.reference_id for i in result.interactions
    }
    assert "erin@example.net" not in {c.emails[0] for c in result.contacts}


def test_an_expired_sync_token_falls_back_to_a_full_read_and_says_so():
    http = HttpMockSequence(
        [
            failure(410, "error-410-full-sync-required.json"),
            ok("events-full-page2.json"),
        ]
    )
    cursor = {"sync_token": "stale-token", "window_end": "2024-01-31T12:00:00Z"}

    result = fetch(http, cursor)

    assert [i.reference_id for i in result.interactions] == [
        "gcal:offsite4d5e6f7g8h9i0j1k2l",
        "gcal:inprogress5e6f7g8h9i0j1k2l",
    ]
    assert result.cursor == {
        "full_resync": "1",
        "sync_token": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
        "window_end": "2024-02-01T12:00:00Z",
    }
    _, full = queries(http)
    assert full["timeMin"] == [THREE_YEARS_BACK]
    assert "syncToken" not in full


def test_a_rate_limit_403_raises_rate_limited():
    http = HttpMockSequence([failure(403, "error-403-rate-limit.json")])

    with pytest.raises(RateLimited) as caught:
        fetch(http)

    assert caught.value.permanent is False


def test_a_server_error_is_retryable_and_a_429_carries_retry_after():
    with pytest.raises(ProviderError) as server:
        fetch(HttpMockSequence([failure(500, "error-500.json")]))
    with pytest.raises(RateLimited) as limited:
        fetch(
            HttpMockSequence(
                [failure(429, "error-403-rate-limit.json", **{"retry-after": "30"})]
            )
        )

    assert server.value.permanent is False
    assert limited.value.retry_after == 30.0
