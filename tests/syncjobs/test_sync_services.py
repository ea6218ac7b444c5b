"""sync_provider and rescore_all against providers that return canned records.

The fakes are Provider subclasses: what a real provider hands the engine
after its HTTP calls (those are replayed from recorded replies in the
provider tests and in test_provider_contract.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, FollowUpSuggestion, Interaction, Notification
from contacts.services import contact_create
from syncjobs import services
from syncjobs.models import ProviderAccount, SyncRun
from syncjobs.providers.base import Provider, ProviderError, RateLimited, TokenRevoked
from syncjobs.records import (
    ContactRecord,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)
from syncjobs.services import rescore_all, sync_provider

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
OLD = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"}


class CannedProvider(Provider):
    """Answer each fetch with the next canned result, or raise it."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.cursors: list[dict] = []
        self.credentials = None

    def fetch(self, *, credentials, cursor, now):
        self.cursors.append(dict(cursor))
        self.credentials = credentials
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(credentials)
        return reply


class FakePeopleApi(Provider):
    """The People API as known bug B14 describes it, one behaviour per run.

    run 1: the stored token is expired, so the provider lists everyone
    again; run 2: the same people, unchanged; run 3: a 403
    rateLimitExceeded; run 4 and later: the refresh fails with invalid_grant.
    """

    platform = "google_contacts"
    PEOPLE = [
        ("people/c1", "Ada Lovelace", "ada@example.com"),
        ("people/c2", "Grace Hopper", "Grace.Hopper@Example.com"),
        ("people/c3", "Carol Shaw", "carol@example.org"),
    ]

    def __init__(self):
        self.runs = 0
        self.cursors: list[dict] = []

    def _everyone(self, cursor: dict) -> ParseResult:
        return ParseResult(
            contacts=[
                ContactRecord(
                    source="google",
                    position=resource,
                    external_id=resource,
                    full_name=name,
                    emails=(email,),
                )
                for resource, name, email in self.PEOPLE
            ],
            items_read=3,
            cursor=cursor,
        )

    def fetch(self, *, credentials, cursor, now):
        self.runs += 1
        self.cursors.append(dict(cursor))
        if self.runs == 1:
            return self._everyone({"sync_token": "tok-new", "full_resync": "1"})
        if self.runs == 2:
            return self._everyone({"sync_token": "tok-new"})
        if self.runs == 3:
            raise RateLimited("403 rateLimitExceeded", retry_after=30.0)
        raise TokenRevoked("alice@example.com: invalid_grant: Token has been revoked.")


def meeting(key: str, when: dt.datetime, *people: Participant) -> InteractionRecord:
    return InteractionRecord(
        platform="meeting",
        direction="mutual",
        occurred_at=when,
        reference_id=key,
        position=key,
        participants=people,
        content_preview=f"meeting {key}",
    )


def email(key: str, when: dt.datetime, *addresses: str) -> InteractionRecord:
    return InteractionRecord(
        platform="email",
        direction="inbound",
        occurred_at=when,
        reference_id=key,
        position=f"message {key}",
        participants=tuple(Participant(email=a) for a in addresses),
    )


def calendar_result() -> ParseResult:
    dana = Participant(email="dana@studio.example", name="Dana Scott")
    simon = Participant(email="simon@partner.example", name="Simon Letort")
    return ParseResult(
        contacts=[
            ContactRecord(
                source="google_calendar",
                position="event e1",
                full_name="Dana Scott",
                emails=("dana@studio.example",),
            ),
            ContactRecord(
                source="google_calendar",
                position="event e2",
                full_name="Simon Letort",
                emails=("simon@partner.example",),
            ),
        ],
        interactions=[
            meeting("gcal:e1", dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), dana),
            meeting("gcal:e2", dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), simon, dana),
        ],
        errors=[RecordProblem("event e3", "event has no start time")],
        items_read=3,
        cursor={"sync_token": "cal-1"},
    )


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice.work@example.com",
        access_token="ya29.old",
        refresh_token="1//grant-one",
    )


def sync(account, platform, provider, trigger="manual"):
    return sync_provider(
        account=account, platform=platform, trigger=trigger, now=NOW, provider=provider
    )


# --- what one run writes -----------------------------------------------------


def test_a_calendar_run_creates_contacts_first_then_their_meetings(alice, google):
    run = sync(google, "google_calendar", CannedProvider(calendar_result()))

    assert sorted(
        Contact.objects.filter(owner=alice).values_list("full_name", "emails")
    ) == [
        ("Dana Scott", ["dana@studio.example"]),
        ("Simon Letort", ["simon@partner.example"]),
    ]
    assert sorted(
        Interaction.objects.filter(owner=alice).values_list(
            "contact__full_name", "platform", "direction"
        )
    ) == [
        ("Dana Scott", "meeting", "mutual"),
        ("Dana Scott", "meeting", "mutual"),
        ("Simon Letort", "meeting", "mutual"),
    ]
    run.refresh_from_db()
    assert (
        run.status,
        run.platform,
        run.sync_type,
        run.account_id,
        run.records_fetched,
        run.records_created,
        run.records_updated,
        run.records_skipped,
        run.records_failed,
        run.contacts_rescored,
    ) == ("partial", "google_calendar", "manual", google.pk, 3, 5, 0, 0, 1, 2)
    assert run.details["problems"] == [
        {"position": "event e3", "reason": "event has no start time", "kind": "error"}
    ]
    assert (run.details["contacts_created"], run.details["interactions_created"]) == (
        2,
        3,
    )


def test_a_gmail_run_links_mail_only_to_existing_contacts(alice, google):
    ann = contact_create(owner=alice, full_name="Ann Roe", emails=["ann@example.org"])
    result = ParseResult(
        contacts=[
            ContactRecord(
                source="gmail", position="m2", emails=("stranger@example.net",)
            )
        ],
        interactions=[
            email(
                "email:m1", dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "ANN@example.org"
            ),
            email(
                "email:m2",
                dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                "stranger@example.net",
            ),
        ],
        items_read=2,
        cursor={"history_id": "48000"},
    )

    run = sync(google, "gmail", CannedProvider(result), trigger="scheduled")

    assert list(Contact.objects.values_list("full_name", flat=True)) == ["Ann Roe"]
    assert list(Interaction.objects.values_list("raw_reference_id", flat=True)) == [
        f"email:m1:{ann.pk}"
    ]
    run.refresh_from_db()
    # The stranger is skipped, not an error: most senders are nobody's contact.
    assert (
        run.status,
        run.records_created,
        run.records_skipped,
        run.records_failed,
    ) == ("success", 1, 1, 0)
    assert run.details["unmatched_participants"] == 1
    assert "problems" not in run.details


def test_the_provider_gets_the_stored_cursor_and_the_next_one_is_stored(alice, google):
    google.cursor = {
        "gmail": {"history_id": "41"},
        "google_calendar": {"sync_token": "cal-0"},
    }
    google.save()
    provider = CannedProvider(calendar_result())

    sync(google, "google_calendar", provider)

    assert provider.cursors == [{"sync_token": "cal-0"}]
    google.refresh_from_db()
    # Gmail's cursor on the same account is kept.
    assert google.cursor == {
        "gmail": {"history_id": "41"},
        "google_calendar": {"sync_token": "cal-1"},
    }


def test_the_credentials_carry_the_tokens_and_the_users_own_addresses(alice, google):
    provider = CannedProvider(ParseResult())

    sync(google, "gmail", provider)

    creds = provider.credentials
    assert (creds.account_id, creds.access_token, creds.refresh_token) == (
        "alice.work@example.com",
        "ya29.old",
        "1//grant-one",
    )
    assert creds.own_identities == frozenset(
        {"alice@example.com", "alice.work@example.com"}
    )


def test_a_refreshed_token_is_stored_encrypted(alice, google):
    expiry = dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC)

    def refreshing(credentials):
        credentials.on_refresh("ya29.fresh", expiry)
        return ParseResult()

    sync(google, "gmail", CannedProvider(refreshing))

    google.refresh_from_db()
    assert (google.access_token, google.token_expires_at) == ("ya29.fresh", expiry)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM syncjobs_provideraccount WHERE id = %s",
            [google.pk.hex],
        )
        (raw,) = cursor.fetchone()
    assert "ya29.fresh" not in raw


def test_only_contacts_with_new_interactions_are_rescored_in_one_batch(alice, google):
    untouched = Contact.objects.create(
        owner=alice, full_name="Untouched", relationship_score=7
    )

    with CaptureQueriesContext(connection) as queries:
        run = sync(google, "google_calendar", CannedProvider(calendar_result()))

    untouched.refresh_from_db()
    assert untouched.relationship_score == 7
    assert run.contacts_rescored == 2
    statements = [q["sql"] for q in queries.captured_queries]
    # On PostgreSQL the chunked read is a server-side cursor (DECLARE ...).
    aggregates = [s for s in statements if "COUNT(" in s]
    score_writes = [
        s
        for s in statements
        if s.startswith('UPDATE "contacts_contact"') and "FROM (VALUES" in s
    ]
    assert (len(aggregates), len(score_writes)) == (1, 1)
    dana = Contact.objects.get(full_name="Dana Scott")
    assert (dana.interaction_count, dana.last_interaction_at) == (
        2,
        dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
    )


def test_new_activity_dismisses_a_pending_follow_up_but_a_backfill_does_not(
    alice, google
):
    dana = contact_create(owner=alice, full_name="Dana", emails=["dana@studio.example"])
    olga = contact_create(owner=alice, full_name="Olga", emails=["olga@example.com"])
    answered = FollowUpSuggestion.objects.create(owner=alice, contact=dana)
    kept = FollowUpSuggestion.objects.create(owner=alice, contact=olga)
    FollowUpSuggestion.objects.update(created_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    result = ParseResult(
        interactions=[
            email(
                "email:new",
                dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                "dana@studio.example",
            ),
            email(
                "email:old", dt.datetime(2025, 6, 1, tzinfo=dt.UTC), "olga@example.com"
            ),
        ],
        items_read=2,
    )

    run = sync(google, "gmail", CannedProvider(result))

    answered.refresh_from_db()
    kept.refresh_from_db()
    assert (answered.status, kept.status) == ("dismissed", "pending")
    assert run.details["suggestions_dismissed"] == 1


def test_a_provider_for_another_kind_of_account_is_refused(alice, google):
    with pytest.raises(ValueError, match="twitter cannot sync a google account"):
        sync_provider(account=google, platform="twitter", trigger="manual")


# --- failures ----------------------------------------------------------------


def test_a_failure_after_the_contacts_are_written_leaves_no_rows_and_a_failed_run(
    alice, google, monkeypatch
):
    real_upsert = services.interactions_upsert

    def failing_upsert(**kwargs):
        real_upsert(**kwargs)
        raise RuntimeError("connection lost after the first batch")

    monkeypatch.setattr(services, "interactions_upsert", failing_upsert)
    provider = CannedProvider(calendar_result(), calendar_result())

    with pytest.raises(RuntimeError, match="connection lost"):
        sync(google, "google_calendar", provider)

    assert (Contact.objects.count(), Interaction.objects.count()) == (0, 0)
    failed = SyncRun.objects.get()
    assert (failed.status, failed.records_created, failed.error_message) == (
        "failed",
        0,
        "RuntimeError: connection lost after the first batch",
    )
    google.refresh_from_db()
    assert google.cursor == {}

    monkeypatch.setattr(services, "interactions_upsert", real_upsert)
    rerun = sync(google, "google_calendar", provider)

    assert (rerun.status, rerun.records_created) == ("partial", 5)
    assert (Contact.objects.count(), Interaction.objects.count()) == (2, 3)
    google.refresh_from_db()
    assert google.cursor == {"google_calendar": {"sync_token": "cal-1"}}


def test_a_permanent_error_fails_the_run_without_raising_or_notifying(alice, google):
    error = ProviderError("insufficientPermissions", permanent=True)

    run = sync(google, "gmail", CannedProvider(error))

    assert (run.status, run.error_message) == ("failed", "insufficientPermissions")
    google.refresh_from_db()
    assert google.status == "connected"
    assert Notification.objects.count() == 0


def test_b14_expired_token_rerun_rate_limit_and_revoked_grant(alice, google):
    google.cursor = {"google_contacts": {"sync_token": "tok-old"}}
    google.save()
    api = FakePeopleApi()

    def run():
        return sync(google, "google_contacts", api, trigger="scheduled")

    # Run 1: the provider met an expired token and listed everyone again.
    first = run()
    google.refresh_from_db()
    assert api.cursors[0] == {"sync_token": "tok-old"}
    assert (first.status, first.records_created, first.details["full_resync"]) == (
        "success",
        3,
        True,
    )
    assert google.cursor == {"google_contacts": {"sync_token": "tok-new"}}
    assert sorted(
        Contact.objects.filter(owner=alice).values_list(
            "google_resource_name", "full_name"
        )
    ) == [
        ("people/c1", "Ada Lovelace"),
        ("people/c2", "Grace Hopper"),
        ("people/c3", "Carol Shaw"),
    ]

    # Run 2: the same three people again, nothing new.
    second = run()
    assert api.cursors[1] == {"sync_token": "tok-new"}
    assert (
        second.status,
        second.records_created,
        second.records_updated,
        second.records_skipped,
        second.details["contacts_unchanged"],
    ) == ("success", 0, 0, 3, 3)
    assert "full_resync" not in second.details

    # Run 3: a rate limit is not an auth failure; the task will retry.
    with pytest.raises(RateLimited):
        run()
    third = SyncRun.objects.exclude(pk__in=[first.pk, second.pk]).get()
    google.refresh_from_db()
    assert google.status == "connected"
    assert (
        third.status,
        third.details["retrying"],
        third.details["retry_after"],
    ) == ("partial", True, 30.0)
    assert google.cursor == {"google_contacts": {"sync_token": "tok-new"}}

    # Run 4: the grant is revoked: reconnect needed, one notification.
    fourth = run()
    google.refresh_from_db()
    assert (fourth.status, google.status) == ("failed", "reauth_required")
    assert fourth.error_message == (
        "reauth required: alice@example.com: invalid_grant: Token has been revoked."
    )
    assert list(
        Notification.objects.filter(owner=alice).values_list(
            "notification_type", "title", "link"
        )
    ) == [("sync", "Google Contacts sync failed", "/settings")]

    # Run 5 fails the same way and does not notify again; nothing is deleted.
    fifth = run()
    assert (fifth.status, fifth.details["notified"]) == ("failed", False)
    assert Notification.objects.filter(owner=alice).count() == 1
    assert Contact.objects.filter(owner=alice).count() == 3
    assert SyncRun.objects.filter(owner=alice, platform="google_contacts").count() == 5


def test_a_reconnected_grant_that_fails_again_notifies_again(alice, google):
    revoked = TokenRevoked("invalid_grant")
    provider = CannedProvider(revoked, revoked)
    sync(google, "gmail", provider)
    google.refresh_token = "1//grant-two"
    google.status = "connected"
    google.save()

    sync(google, "gmail", provider)

    assert Notification.objects.filter(title="Gmail sync failed").count() == 2


# --- rescoring ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_b16_rescore_writes_only_the_changed_rows_in_two_updates(alice, bob):
    Contact.objects.bulk_create(
        [
            Contact(owner=alice, full_name=f"stale {n}", relationship_score=5)
            for n in range(300)
        ]
        + [Contact(owner=alice, full_name=f"fresh {n}") for n in range(700)]
    )
    Contact.objects.create(owner=bob, full_name="bob's stale", relationship_score=5)
    Contact.objects.update(updated_at=OLD)

    with CaptureQueriesContext(connection) as queries:
        (run,) = rescore_all(owner=alice, now=NOW, batch_size=250)

    statements = [q["sql"] for q in queries.captured_queries]
    work = [s for s in statements if s.split()[0] not in TRANSACTION_CONTROL]
    contact_updates = [s for s in work if s.startswith('UPDATE "contacts_contact"')]
    assert len(contact_updates) == 2
    # INSERT the run, store the user's scores_as_of (taking the owner's
    # write lock), the aggregate read, 2 UPDATEs, UPDATE the run; plus the
    # BEGIN and COMMIT of the rescore's own transaction.
    assert len(work) == 6
    assert len(statements) == 8
    assert (
        run.status,
        run.platform,
        run.contacts_rescored,
        run.records_updated,
        run.records_skipped,
        run.details["update_statements"],
    ) == ("success", "scoring", 1000, 300, 700, 2)
    # On SQLite the wrapper sees the BEGIN (PostgreSQL opens transactions
    # implicitly); the COMMIT and the final UPDATE come after it.
    assert run.query_count == (6 if connection.vendor == "sqlite" else 5)
    stale = Contact.objects.filter(owner=alice, full_name__startswith="stale")
    fresh = Contact.objects.filter(owner=alice, full_name__startswith="fresh")
    assert set(stale.values_list("relationship_score", "updated_at")) == {(0, NOW)}
    assert set(fresh.values_list("relationship_score", "updated_at")) == {(0, OLD)}
    assert Contact.objects.get(owner=bob).relationship_score == 5


def test_one_users_failed_rescore_does_not_stop_the_others(alice, bob, monkeypatch):
    Contact.objects.create(owner=alice, full_name="alice's", relationship_score=4)
    Contact.objects.create(owner=bob, full_name="bob's", relationship_score=4)
    real = services.contacts_rescore

    def failing_for_alice(*, contacts, **kwargs):
        result = real(contacts=contacts, **kwargs)
        if contacts.filter(owner=alice).exists():
            raise RuntimeError("alice's batch failed")
        return result

    monkeypatch.setattr(services, "contacts_rescore", failing_for_alice)

    runs = rescore_all(now=NOW)

    assert [(r.owner.email, r.status) for r in runs] == [
        ("alice@example.com", "failed"),
        ("bob@example.com", "success"),
    ]
    # Alice's writes rolled back; Bob's were kept.
    assert Contact.objects.get(owner=alice).relationship_score == 4
    assert Contact.objects.get(owner=bob).relationship_score == 0
