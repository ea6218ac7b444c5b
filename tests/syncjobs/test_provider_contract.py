"""The contract every import format and every provider keeps (STYLE.md item 21).

One test class runs against every real export in ../shared/fixtures (used
in place) and against each provider replaying recorded HTTP replies
(googleapiclient's HttpMockSequence for Google, ``responses`` for X):

- a second run of the same data creates no contact and no interaction;
- bad items are counted and listed, never raised;
- the SyncRun stores what the run read, wrote, skipped and cost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses
from googleapiclient.http import HttpMockSequence

from contacts.models import Contact, Interaction, Notification
from contacts.services import contact_create
from syncjobs.models import ProviderAccount, SyncRun
from syncjobs.providers.base import RateLimited
from syncjobs.providers.google_client import TOKEN_URI
from syncjobs.services import import_file, sync_provider
from tests.conftest import shared_fixture

RECORDED = Path(__file__).parent / "recorded"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
X_API = "https://api.twitter.com/2"
X_ME = "2244994945"


@dataclass(frozen=True)
class Case:
    """One source, what its first run must record, and how to run it.

    ``first`` is (fetched, created, updated, skipped, failed) of run 1;
    ``cursor`` what a provider must store after it.
    """

    name: str
    first: tuple[int, int, int, int, int]
    run: Callable[..., SyncRun]
    cursor: dict | None = None


# --- file imports ------------------------------------------------------------


def importing(relative: str) -> Callable[..., SyncRun]:
    def run(owner, number: int) -> SyncRun:
        return import_file(owner=owner, path=shared_fixture(relative), now=NOW).run

    return run


IMPORTS = {
    "eml/419-undisclosed-recipients-group.eml": (1, 2, 0, 0, 0),
    "eml/folded-to-list-blank-continuation.eml": (1, 2, 0, 0, 0),
    "eml/mailparser-test18-rfc2047-comma-in-display-name.eml": (1, 2, 0, 0, 0),
    "eml/mimekit-japanese-iso2022jp-multiword-subject.eml": (1, 2, 0, 0, 0),
    "eml/multiple-from-at-in-display-name.eml": (1, 4, 0, 0, 0),
    "eml/partially-encoded-subject-euc-kr-mbox-from.eml": (1, 2, 0, 0, 0),
    "eml/rfc6532-utf8-raw-headers.eml": (1, 0, 0, 0, 1),
    "mbox/cpython-mailbox_01-unquoted-from-extra-info.mbox": (1, 0, 0, 0, 1),
    "mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox": (5, 9, 0, 0, 0),
    "mbox/mimekit-issue1189-gmail-takeout-from-lines.mbox": (4, 5, 0, 0, 0),
    "mbox/mimekit-simple-dash-from-lines-nested-boundaries.mbox": (3, 4, 0, 0, 0),
    "mbox/takeoutreader-sample-x-gmail-labels.mbox": (3, 6, 0, 0, 0),
    "vcard/calcard-027-bday-text-value.vcf": (1, 1, 0, 0, 0),
    "vcard/calcard-048-rfc2426-bday-datetime.vcf": (1, 1, 0, 0, 0),
    "vcard/calcard-053-malformed-bday-no-version.vcf": (1, 0, 0, 0, 1),
    "vcard/calcard-077-apple-macos15-company.vcf": (1, 1, 0, 0, 0),
    "vcard/eds-12-v21-qp-soft-breaks.vcf": (1, 1, 0, 0, 0),
    "vcard/eds-13-evil-folding-escapes.vcf": (1, 1, 0, 0, 0),
    "vcard/ezvcard-android-v21-multi.vcf": (6, 6, 0, 0, 0),
    "vcard/ezvcard-gmail-export-single.vcf": (1, 1, 0, 0, 0),
    "vcard/ezvcard-rfc6350-example-v4.vcf": (1, 1, 0, 0, 0),
    "vcard/largefile-1000-cards.vcf": (1000, 1000, 0, 0, 0),
    "vcard/leapsake-ios-probe-dates-v3.vcf": (7, 7, 0, 0, 0),
    "vcard/outlook-v21-cp1252.vcf": (1, 1, 0, 0, 0),
    "vcard/vcard4android-allfields-v3.vcf": (1, 1, 0, 0, 0),
    "google-contacts-csv/constellation-google-csv-minimal-columns.csv": (2, 2, 0, 0, 0),
    "google-contacts-csv/google-csv-2024-format-noyear-bday.csv": (3, 3, 0, 0, 0),
    "google-contacts-csv/google-csv-legacy-format.csv": (45, 45, 0, 0, 0),
    "google-contacts-csv/google-csv-legacy-star-type.csv": (3, 3, 0, 0, 0),
    "linkedin-connections-csv/connections-2018-no-url-datetime.csv": (41, 41, 0, 0, 0),
    "linkedin-connections-csv/connections-2024-notes-preamble.csv": (75, 74, 0, 0, 1),
    "linkedin-messages-csv/messages-2023-10col.csv": (33, 37, 0, 0, 10),
    "linkedin-messages-csv/messages-2025-12col-group-draft.csv": (17, 19, 0, 0, 1),
    "twitter-archive/archive-1": (34, 31, 0, 0, 1),
    "twitter-archive/archive-2": (27, 33, 0, 0, 0),
}


# --- Gmail, replayed -----------------------------------------------------------

GMAIL_JSON = "application/json; charset=UTF-8"


def gmail_ok(body: dict) -> tuple[dict, str]:
    return {"status": "200", "content-type": GMAIL_JSON}, json.dumps(body)


def gmail_batch(*message_ids: str) -> tuple[dict, str]:
    """Return the multipart/mixed reply of one messages.get batch."""
    stored = json.loads((RECORDED / "gmail" / "messages-metadata.json").read_text())
    boundary = "batch_contract_boundary"
    parts = [
        f"--{boundary}\r\nContent-Type: application/http\r\n"
        f"Content-ID: <response-contract + {message_id}>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(stored[message_id])}\r\n"
        for message_id in message_ids
    ]
    headers = {"status": "200", "content-type": f"multipart/mixed; boundary={boundary}"}
    return headers, "".join(parts) + f"--{boundary}--\r\n"


def gmail_run(owner, number: int) -> SyncRun:
    account, created = ProviderAccount.objects.get_or_create(
        owner=owner,
        kind="google",
        account_id="casey@exampleorg.com",
        defaults={"access_token": "ya29.recorded"},
    )
    if created:
        # Gmail links mail only to people already in the CRM.
        contact_create(owner=owner, full_name="Ann Roe", emails=["ann@example.org"])
        contact_create(owner=owner, full_name="Jörg Doe", emails=["j.doe@example.com"])
    recorded = RECORDED / "gmail"
    if number == 1:
        listing = {
            "messages": [
                {"id": i, "threadId": f"t-{i}"}
                for i in ("m-outbound", "m-b12", "m-no-from", "m-bad-date")
            ],
            "resultSizeEstimate": 4,
        }
        replies = [
            gmail_ok(json.loads((recorded / "profile.json").read_text())),
            gmail_ok(listing),
            gmail_batch("m-outbound", "m-b12", "m-no-from", "m-bad-date"),
        ]
    else:
        # Incremental: the history since run 1 names two of the same messages.
        replies = [
            gmail_ok(json.loads((recorded / "history-list-page1.json").read_text())),
            gmail_ok(json.loads((recorded / "history-list-page2.json").read_text())),
            gmail_batch("m-b12", "m-outbound"),
        ]
    return sync_provider(
        account=account,
        platform="gmail",
        trigger="scheduled",
        now=NOW,
        http=HttpMockSequence(replies),
    )


# --- Google People and Calendar, replayed ------------------------------------


def recorded_reply(folder: str, name: str, status: int = 200) -> tuple[dict, str]:
    body = (RECORDED / folder / name).read_text(encoding="utf-8")
    return {"status": str(status), "content-type": "application/json"}, body


def google_account(owner, account_id: str) -> ProviderAccount:
    account, _ = ProviderAccount.objects.get_or_create(
        owner=owner,
        kind="google",
        account_id=account_id,
        defaults={"access_token": "ya29.recorded"},
    )
    return account


def people_run(owner, number: int) -> SyncRun:
    # Run 2 sends the stored sync token; the API answers with the same people.
    replies = [recorded_reply("people", "connections-full-c1-c3.json")]
    return sync_provider(
        account=google_account(owner, "alice@example.com"),
        platform="google_contacts",
        trigger="scheduled",
        now=NOW,
        http=HttpMockSequence(replies),
    )


def calendar_run(owner, number: int) -> SyncRun:
    replies = [
        recorded_reply("calendar", "events-full-page1.json"),
        recorded_reply("calendar", "events-full-page2.json"),
    ]
    if number > 1:
        # The stored token has expired: a full read again, flagged.
        replies.insert(
            0, recorded_reply("calendar", "error-410-full-sync-required.json", 410)
        )
    return sync_provider(
        account=google_account(owner, "nick@sawinyh.example"),
        platform="google_calendar",
        trigger="scheduled",
        now=dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC),
        http=HttpMockSequence(replies),
    )


# --- X, replayed ---------------------------------------------------------------


def twitter_run(owner, number: int) -> SyncRun:
    account, _ = ProviderAccount.objects.get_or_create(
        owner=owner,
        kind="twitter",
        account_id=X_ME,
        defaults={"access_token": "user-context-token"},
    )
    first_page = json.loads(
        shared_fixture(
            "twitter-api-v2/docs-x-dm-events-quickstart-response.json"
        ).read_text(encoding="utf-8")
    )
    recorded = RECORDED / "twitter"
    # Run 2 stops at the stored newest DM id, on the first page.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{X_API}/dm_events", json=first_page)
        mock.get(
            f"{X_API}/dm_events",
            json=json.loads((recorded / "dm-events-page2.json").read_text()),
        )
        mock.get(
            f"{X_API}/users/{X_ME}/mentions",
            json=json.loads((recorded / "empty-page.json").read_text()),
        )
        mock.get(
            f"{X_API}/users",
            json=json.loads((recorded / "users-lookup.json").read_text()),
        )
        return sync_provider(
            account=account,
            platform="twitter",
            trigger="scheduled",
            now=dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC),
        )


PROVIDERS = [
    Case(
        "provider:gmail",
        (4, 2, 0, 2, 2),
        gmail_run,
        cursor={"history_id": "48000"},
    ),
    Case(
        "provider:google_contacts",
        (3, 3, 0, 0, 0),
        people_run,
        cursor={"sync_token": "tok-new"},
    ),
    Case(
        "provider:google_calendar",
        (11, 17, 0, 0, 1),
        calendar_run,
        cursor={
            "sync_token": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
            "window_end": "2024-02-01T12:00:00Z",
        },
    ),
    Case(
        "provider:twitter",
        (4, 6, 0, 0, 0),
        twitter_run,
        cursor={"dm_newest_id": "1234567890"},
    ),
]
CASES = [
    Case(f"import:{relative}", counts, importing(relative))
    for relative, counts in IMPORTS.items()
] + PROVIDERS


def table_sizes(owner) -> tuple[int, int]:
    return (
        Contact.objects.filter(owner=owner).count(),
        Interaction.objects.filter(owner=owner).count(),
    )


@pytest.mark.fixtures
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
class TestSourceContract:
    def test_the_run_records_what_it_read_wrote_skipped_and_cost(self, alice, case):
        run = SyncRun.objects.get(pk=case.run(alice, 1).pk)

        created, failed = case.first[1], case.first[4]
        assert (
            run.records_fetched,
            run.records_created,
            run.records_updated,
            run.records_skipped,
            run.records_failed,
        ) == case.first
        assert run.status == ("partial" if failed else "success")
        assert run.query_count > 0
        assert run.duration_ms is not None
        assert run.completed_at is not None
        details = run.details
        assert details["contacts_created"] + details["interactions_created"] == created

    def test_a_second_run_creates_no_contact_and_no_interaction(self, alice, case):
        case.run(alice, 1)
        after_first = table_sizes(alice)

        second = case.run(alice, 2)

        assert table_sizes(alice) == after_first
        assert (second.records_created, second.records_updated) == (0, 0)
        assert second.status in ("success", "partial")

    def test_bad_items_are_counted_and_named_not_raised(self, alice, case):
        run = SyncRun.objects.get(pk=case.run(alice, 1).pk)

        errors = [p for p in run.details.get("problems", []) if p["kind"] == "error"]
        assert len(errors) == run.records_failed == case.first[4]
        assert all(p["position"] and p["reason"] for p in errors)


@pytest.mark.fixtures
@pytest.mark.parametrize("case", PROVIDERS, ids=lambda case: case.name)
def test_a_provider_run_stores_its_next_cursor(alice, case):
    run = case.run(alice, 1)

    assert ProviderAccount.objects.get(pk=run.account_id).cursor == {
        run.platform: case.cursor
    }


@pytest.mark.fixtures
def test_an_expired_calendar_token_is_flagged_as_a_full_resync(alice):
    calendar_run(alice, 1)

    second = calendar_run(alice, 2)

    assert (second.details["full_resync"], second.records_created) == (True, 0)


@responses.activate
def test_b14_with_recorded_people_replies_from_expired_token_to_revoked_grant(alice):
    account = ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice@example.com",
        access_token="ya29.recorded",
        refresh_token="1//grant",
        cursor={"google_contacts": {"sync_token": "tok-old"}},
    )

    def run(*replies):
        return sync_provider(
            account=account,
            platform="google_contacts",
            trigger="scheduled",
            now=NOW,
            http=HttpMockSequence(list(replies)),
        )

    first = run(
        recorded_reply("people", "error-400-expired-sync-token.json", 400),
        recorded_reply("people", "connections-full-c1-c3.json"),
    )
    assert (first.status, first.records_created, first.details["full_resync"]) == (
        "success",
        3,
        True,
    )
    second = run(recorded_reply("people", "connections-full-c1-c3.json"))
    assert (
        second.records_created,
        second.records_updated,
        second.details["contacts_unchanged"],
    ) == (0, 0, 3)

    with pytest.raises(RateLimited):
        run(recorded_reply("people", "error-403-rate-limit-exceeded.json", 403))
    account.refresh_from_db()
    assert account.status == "connected"
    assert account.cursor == {"google_contacts": {"sync_token": "tok-new"}}

    # The access token has expired and Google refuses the refresh token.
    account.access_token = ""
    account.save()
    responses.add(
        responses.POST,
        TOKEN_URI,
        body=(RECORDED / "people" / "token-invalid-grant.json").read_text(),
        status=400,
        content_type="application/json",
    )
    fourth = run()
    fifth = run()

    account.refresh_from_db()
    assert (fourth.status, fifth.status, account.status) == (
        "failed",
        "failed",
        "reauth_required",
    )
    assert list(
        Notification.objects.filter(owner=alice).values_list("title", "link")
    ) == [("Google Contacts sync failed", "/settings")]
    assert Contact.objects.filter(owner=alice).count() == 3
