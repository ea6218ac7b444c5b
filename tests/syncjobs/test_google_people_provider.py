"""GooglePeopleProvider against replayed People API responses.

The API is replayed with googleapiclient's own HttpMockSequence; bodies are
recorded files next to this module and the real person resources in
../shared/fixtures/google-people-api-json (used in place). The OAuth token
endpoint is mocked with ``responses``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from googleapiclient.http import HttpMockSequence

from contacts.birthdays import Birthday
from syncjobs.providers.base import (
    AccountCredentials,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.google_client import TOKEN_URI
from syncjobs.providers.google_people import (
    PERSON_FIELDS,
    GooglePeopleProvider,
    name_from_email,
    split_name_and_company,
)
from syncjobs.records import ContactRecord, RecordProblem
from tests.conftest import shared_fixture

RECORDED = Path(__file__).parent / "recorded" / "people"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


def ok(body: str) -> tuple[dict, str]:
    return {"status": "200", "content-type": "application/json"}, body


def failing(status: int, body: str, **headers: str) -> tuple[dict, str]:
    return {"status": str(status), "content-type": "application/json", **headers}, body


def credentials(**overrides) -> AccountCredentials:
    # No expiry: google-auth treats the access token as valid, so no refresh.
    values = {"account_id": "alice@example.com", "access_token": "ya29.test"}
    values.update(overrides)
    return AccountCredentials(**values)


def fetch(http: HttpMockSequence, cursor: dict[str, str] | None = None, **creds):
    return GooglePeopleProvider().fetch(
        credentials=credentials(**creds), cursor=cursor or {}, now=NOW, http=http
    )


def query(http: HttpMockSequence, index: int) -> dict[str, list[str]]:
    uri = http.request_sequence[index][0]
    return parse_qs(urlsplit(uri).query)


def test_it_asks_for_birthdays_photos_and_a_sync_token_on_a_full_list():
    http = HttpMockSequence([ok(recorded("connections-page3.json"))])

    fetch(http)

    uri, method, _, _ = http.request_sequence[0]
    assert method == "GET"
    assert urlsplit(uri).path == "/v1/people/me/connections"
    assert query(http, 0) == {
        "pageSize": ["1000"],
        "personFields": [PERSON_FIELDS],
        "requestSyncToken": ["true"],
        "alt": ["json"],
    }
    assert "birthdays" in PERSON_FIELDS.split(",")


def test_it_concatenates_three_pages_in_order_and_stores_the_sync_token():
    http = HttpMockSequence(
        [
            ok(recorded("connections-page1.json")),
            ok(recorded("connections-page2.json")),
            ok(recorded("connections-page3.json")),
        ]
    )

    result = fetch(http)

    assert [c.full_name for c in result.contacts] == [
        "Alice Archer",
        "Bob Baker",
        "Carol Chen",
    ]
    assert [c.external_id for c in result.contacts] == [
        "people/c1001",
        "people/c1002",
        "people/c1003",
    ]
    assert [c.emails for c in result.contacts] == [
        ("alice@example.com",),
        ("bob@example.com",),
        ("carol@example.com",),
    ]
    assert result.items_read == 3
    assert result.errors == []
    assert result.cursor == {"sync_token": "tok-1"}
    assert "pageToken" not in query(http, 0)
    assert query(http, 1)["pageToken"] == ["page-2"]
    assert query(http, 2)["pageToken"] == ["page-3"]
    assert query(http, 2)["personFields"] == [PERSON_FIELDS]


def test_it_sends_the_stored_sync_token_on_every_page_of_an_incremental_run():
    http = HttpMockSequence(
        [ok(recorded("connections-page1.json")), ok(recorded("connections-page3.json"))]
    )

    result = fetch(http, cursor={"sync_token": "tok-0"})

    assert query(http, 0)["syncToken"] == ["tok-0"]
    assert query(http, 1)["syncToken"] == ["tok-0"]
    assert query(http, 1)["pageToken"] == ["page-2"]
    assert result.cursor == {"sync_token": "tok-1"}


def test_it_maps_b06_birthdays_without_a_year_as_text_and_year_only():
    http = HttpMockSequence([ok(recorded("connections-b06-birthdays.json"))])

    result = fetch(http)

    by_id = {c.external_id: c for c in result.contacts}
    assert by_id["people/c601"].birthday == Birthday(month=2, day=14, year=None)
    assert by_id["people/c601"].birthday_text == ""
    assert by_id["people/c602"].birthday is None
    assert by_id["people/c602"].birthday_text == "mid-June, not sure"
    assert by_id["people/c603"].birthday == Birthday(month=7, day=9, year=1990)
    assert by_id["people/c603"].birthday.to_date() == dt.date(1990, 7, 9)
    assert by_id["people/c604"].birthday is None
    assert by_id["people/c604"].birthday_text == ""
    assert result.items_read == 4
    assert len(result.contacts) == 4
    assert result.errors == []
    assert result.warnings == [
        RecordProblem("people/c602", "text-only birthday: 'mid-June, not sure'")
    ]


def test_b14_an_expired_sync_token_reported_as_400_starts_a_full_list():
    http = HttpMockSequence(
        [
            failing(400, recorded("error-400-expired-sync-token.json")),
            ok(recorded("connections-full-c1-c3.json")),
        ]
    )

    result = fetch(http, cursor={"sync_token": "tok-old"})

    assert query(http, 0)["syncToken"] == ["tok-old"]
    assert "syncToken" not in query(http, 1)
    assert query(http, 1)["requestSyncToken"] == ["true"]
    assert [c.external_id for c in result.contacts] == [
        "people/c1",
        "people/c2",
        "people/c3",
    ]
    assert result.cursor == {"sync_token": "tok-new", "full_resync": "1"}
    assert result.errors == []


def test_b14_an_expired_token_named_only_in_the_message_is_recognised():
    body = json.dumps(
        {
            "error": {
                "code": 400,
                "message": "Sync token is expired. Clear local cache and retry call "
                "without the sync token.",
                "status": "INVALID_ARGUMENT",
            }
        }
    )
    http = HttpMockSequence(
        [failing(400, body), ok(recorded("connections-full-c1-c3.json"))]
    )

    result = fetch(http, cursor={"sync_token": "tok-old"})

    assert len(result.contacts) == 3
    assert result.cursor == {"sync_token": "tok-new", "full_resync": "1"}


def test_b14_an_expired_token_reported_as_410_also_starts_a_full_list():
    body = json.dumps({"error": {"code": 410, "message": "Gone", "status": "GONE"}})
    http = HttpMockSequence(
        [failing(410, body), ok(recorded("connections-full-c1-c3.json"))]
    )

    result = fetch(http, cursor={"sync_token": "tok-old"})

    assert len(result.contacts) == 3
    assert result.cursor == {"sync_token": "tok-new", "full_resync": "1"}


def test_a_400_on_a_full_list_is_a_permanent_error_not_a_resync():
    body = json.dumps(
        {
            "error": {
                "code": 400,
                "message": "Invalid personFields mask path.",
                "status": "INVALID_ARGUMENT",
            }
        }
    )
    http = HttpMockSequence([failing(400, body)])

    with pytest.raises(ProviderError) as caught:
        fetch(http)

    assert type(caught.value) is ProviderError
    assert caught.value.permanent is True
    assert caught.value.reauth is False


def test_b14_a_403_rate_limit_exceeded_is_rate_limited_not_an_auth_failure():
    http = HttpMockSequence(
        [failing(403, recorded("error-403-rate-limit-exceeded.json"))]
    )

    with pytest.raises(RateLimited) as caught:
        fetch(http, cursor={"sync_token": "tok-new"})

    assert caught.value.permanent is False
    assert caught.value.reauth is False
    assert "403" in str(caught.value)


def test_a_429_is_rate_limited_with_the_retry_after_header():
    http = HttpMockSequence(
        [
            failing(
                429,
                recorded("error-429-resource-exhausted.json"),
                **{"retry-after": "30"},
            )
        ]
    )

    with pytest.raises(RateLimited) as caught:
        fetch(http)

    assert caught.value.retry_after == 30.0
    assert caught.value.reauth is False


def test_a_403_for_a_missing_scope_asks_the_user_to_reconnect():
    http = HttpMockSequence(
        [failing(403, recorded("error-403-insufficient-scope.json"))]
    )

    with pytest.raises(ProviderError) as caught:
        fetch(http)

    assert caught.value.reauth is True
    assert not isinstance(caught.value, RateLimited)


def test_a_503_is_retried_later():
    body = json.dumps(
        {
            "error": {
                "code": 503,
                "message": "The service is currently unavailable.",
                "status": "UNAVAILABLE",
            }
        }
    )
    http = HttpMockSequence([failing(503, body)])

    with pytest.raises(ProviderError) as caught:
        fetch(http)

    assert caught.value.permanent is False


@responses.activate
def test_b14_invalid_grant_on_token_refresh_is_token_revoked():
    responses.add(
        responses.POST,
        TOKEN_URI,
        body=recorded("token-invalid-grant.json"),
        status=400,
        content_type="application/json",
    )
    http = HttpMockSequence([])

    with pytest.raises(TokenRevoked) as caught:
        fetch(http, access_token="", refresh_token="1//revoked")

    assert caught.value.reauth is True
    assert caught.value.permanent is True
    assert len(responses.calls) == 1
    assert http.request_sequence == []


@responses.activate
def test_invalid_grant_when_refreshing_after_a_401_is_token_revoked():
    # google-auth-httplib2 refreshes after a 401; every refresh goes to the
    # token endpoint through google-auth's requests transport.
    responses.post(TOKEN_URI, status=400, json=recorded("token-invalid-grant.json"))
    http = HttpMockSequence([failing(401, recorded("error-401-unauthenticated.json"))])

    with pytest.raises(TokenRevoked):
        fetch(http, refresh_token="1//revoked")

    assert len(http.request_sequence) == 1
    body = parse_qs(responses.calls[0].request.body.decode())
    assert body["refresh_token"] == ["1//revoked"]


def test_deleted_persons_are_warnings_and_never_contacts():
    http = HttpMockSequence([ok(recorded("connections-incremental-deleted.json"))])

    result = fetch(http, cursor={"sync_token": "tok-new"})

    assert [c.external_id for c in result.contacts] == ["people/c3"]
    assert result.warnings == [RecordProblem("people/c2", "deleted in Google")]
    assert result.errors == []
    assert result.items_read == 2
    assert result.cursor == {"sync_token": "tok-after-delete"}


def test_it_maps_names_emails_phones_organization_notes_and_photo():
    http = HttpMockSequence([ok(recorded("connections-field-mapping.json"))])

    result = fetch(http)

    dana = result.contacts[0]
    assert dana == ContactRecord(
        source="google",
        position="people/c501",
        external_id="people/c501",
        full_name="Dana Diaz",
        given_name="Dana",
        family_name="Diaz",
        emails=("Dana@Example.com", "dd@work.example"),
        phones=("+1 555 0101", "+1 555 0102"),
        company="Initech",
        title="Analyst",
        notes="Met at PyCon.",
        avatar_url="https://lh3.googleusercontent.com/a/dana-photo",
    )


def test_it_infers_a_name_from_the_email_when_the_person_has_none():
    http = HttpMockSequence([ok(recorded("connections-field-mapping.json"))])

    result = fetch(http)

    david = {c.external_id: c for c in result.contacts}["people/c502"]
    assert (david.full_name, david.given_name, david.family_name) == (
        "David Rodriguez",
        "David",
        "Rodriguez",
    )
    assert david.emails == ("david.rodriguez@blockworks.co",)


def test_it_splits_name_and_company_and_keeps_the_clean_name():
    http = HttpMockSequence([ok(recorded("connections-field-mapping.json"))])

    result = fetch(http)

    by_id = {c.external_id: c for c in result.contacts}
    jane = by_id["people/c503"]
    assert (jane.full_name, jane.given_name, jane.family_name, jane.company) == (
        "Jane Doe",
        "Jane",
        "Doe",
        "Acme",
    )
    # With an organization already set, the display name is left as it is.
    sam = by_id["people/c504"]
    assert (sam.full_name, sam.company) == ("Sam Lee | Acme", "Globex")
    # An address used as the name is never split at its "@".
    john = by_id["people/c505"]
    assert (john.full_name, john.company) == ("john@acme.io", "")


def test_it_skips_persons_with_neither_name_nor_email_and_keeps_name_only_ones():
    http = HttpMockSequence([ok(recorded("connections-field-mapping.json"))])

    result = fetch(http)

    assert [c.external_id for c in result.contacts] == [
        "people/c501",
        "people/c502",
        "people/c503",
        "people/c504",
        "people/c505",
        "people/c507",
        "people/c508",
    ]
    assert result.errors == [
        RecordProblem("people/c506", "the person has no name and no email")
    ]
    only_name = result.contacts[5]
    assert (only_name.full_name, only_name.emails) == ("Only Name", ())
    jdoe = result.contacts[6]
    assert (jdoe.full_name, jdoe.emails) == ("", ("jdoe@example.com",))
    assert result.items_read == 8


def test_an_empty_account_returns_no_contacts_and_a_sync_token():
    http = HttpMockSequence([ok('{"nextSyncToken": "tok-empty"}')])

    result = fetch(http)

    assert result.contacts == []
    assert result.items_read == 0
    assert result.cursor == {"sync_token": "tok-empty"}


def test_the_real_gwork_person_resources_map_to_three_contacts():
    people = json.loads(
        shared_fixture(
            "google-people-api-json/gwork-people-connections-array.json"
        ).read_text(encoding="utf-8")
    )
    body = json.dumps(
        {"connections": people, "nextSyncToken": "tok-gwork", "totalPeople": 3}
    )
    http = HttpMockSequence([ok(body)])

    result = fetch(http)

    assert result.contacts == [
        ContactRecord(
            source="google",
            position="people/c1234567890",
            external_id="people/c1234567890",
            full_name="Alice Johnson",
            given_name="Alice",
            family_name="Johnson",
            emails=("alice@example.com",),
            phones=("+1-555-0100",),
            company="Tech Corp",
            title="Software Engineer",
        ),
        ContactRecord(
            source="google",
            position="people/c2345678901",
            external_id="people/c2345678901",
            full_name="Bob Smith",
            given_name="Bob",
            family_name="Smith",
            emails=("bob@example.com",),
        ),
        ContactRecord(
            source="google",
            position="people/c3456789012",
            external_id="people/c3456789012",
            full_name="Charlie Brown",
            given_name="Charlie",
            family_name="Brown",
            emails=("charlie@example.com",),
        ),
    ]
    assert result.errors == []
    assert result.warnings == []
    assert result.cursor == {"sync_token": "tok-gwork"}


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("david.rodriguez@blockworks.co", ("David", "Rodriguez")),
        ("john_smith@example.com", ("John", "Smith")),
        ("jane-doe@example.com", ("Jane", "Doe")),
        ("john.smith01@example.com", ("John", "Smith")),
        ("jdoe@example.com", None),
        ("admin@example.com", None),
        ("j.doe@example.com", None),
        ("john.middle.doe@example.com", ("John", "Middle")),
        ("Jane.Doe+newsletter@example.com", ("Jane", "Doe")),
    ],
)
def test_name_from_email_reads_only_addresses_with_two_name_parts(email, expected):
    assert name_from_email(email) == expected


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Jane Doe | Acme", ("Jane Doe", "Acme")),
        ("Jane Doe @ Acme", ("Jane Doe", "Acme")),
        ("Jane Doe / Acme Inc", ("Jane Doe", "Acme Inc")),
        ("Jane Doe \u2014 Acme", ("Jane Doe", "Acme")),
        ("Jane Doe \u2013 Acme", ("Jane Doe", "Acme")),
        ("Jean-Luc Picard - Starfleet", ("Jean-Luc Picard", "Starfleet")),
        ("Mary-Jane Watson", ("Mary-Jane Watson", "")),
        ("john@acme.io", ("john@acme.io", "")),
        ("Jane Doe", ("Jane Doe", "")),
        ("", ("", "")),
    ],
)
def test_split_name_and_company_splits_only_at_a_real_separator(full_name, expected):
    assert split_name_and_company(full_name) == expected
