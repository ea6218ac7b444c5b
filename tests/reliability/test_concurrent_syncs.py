"""Two syncs or imports of the same data at the same moment, in real threads.

Run on PostgreSQL (DATABASE_URL=postgres://...): each thread has its own
connection and READ COMMITTED transactions, as two Celery workers would.
Every race is forced: a ``Meeting`` after the contact lookup holds each
run until the other has read too, unless the other is blocked behind a
lock, which is the behaviour under test.
"""

from __future__ import annotations

import time

import pytest

from contacts import services as contact_services
from contacts.models import Contact, Interaction
from syncjobs import services
from syncjobs.locks import SyncLocked, sync_lock_claim
from syncjobs.models import ProviderAccount, SyncLock, SyncRun
from syncjobs.services import import_file, sync_provider
from tests.reliability.concurrency import Meeting, Race, meet_after, postgres_only
from tests.reliability.exports import (
    duplicate_people,
    person_email,
    stale_scores,
    write_mbox,
    write_vcards,
)
from tests.reliability.providers import (
    NOW,
    CannedProvider,
    calendar_result,
    people_result,
)

pytestmark = [
    pytest.mark.postgres,
    postgres_only,
    pytest.mark.django_db(transaction=True),
]

PEOPLE = 150
# Why the first run went on from the meeting: the second was waiting for
# the owner's write lock. (Without the lock both read, then both wrote.)
WAITED = "another job waits for a lock"
WAIT_FOR_THE_OTHER_SECONDS = 15


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice.work@example.com",
        access_token="ya29.token",
        refresh_token="1//grant",
    )


def run_counts(run_ids) -> list[tuple]:
    """Return (status, created, updated, skipped) of each run, sorted."""
    runs = SyncRun.objects.filter(pk__in=run_ids)
    return sorted(
        runs.values_list(
            "status", "records_created", "records_updated", "records_skipped"
        )
    )


def test_two_imports_of_the_same_mbox_at_once_store_each_person_and_mail_once(
    alice, tmp_path, monkeypatch
):
    mbox = write_mbox(tmp_path / "mail.mbox", people=PEOPLE, per_person=2, newest=NOW)

    def run():
        return import_file(owner=alice, path=mbox, now=NOW)

    race = Race(run, run)
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    reports = [outcome.get() for outcome in race.run()]

    assert meeting.results == [WAITED, "met"]

    assert duplicate_people(alice) == {}
    assert Contact.objects.filter(owner=alice).count() == PEOPLE
    assert Interaction.objects.filter(owner=alice).count() == 2 * PEOPLE
    # One run wrote everything; the other found it all stored.
    assert run_counts([r.run.pk for r in reports]) == [
        ("success", 0, 0, 3 * PEOPLE),
        ("success", 3 * PEOPLE, 0, 0),
    ]
    assert stale_scores(alice, now=NOW) == []


def test_two_imports_of_the_same_vcards_at_once_create_each_card_once(
    alice, tmp_path, monkeypatch
):
    cards = write_vcards(tmp_path / "people.vcf", people=300)

    def run():
        return import_file(owner=alice, path=cards, now=NOW)

    race = Race(run, run)
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    reports = [outcome.get() for outcome in race.run()]

    assert meeting.results == [WAITED, "met"]

    assert duplicate_people(alice) == {}
    assert Contact.objects.filter(owner=alice).count() == 300
    assert sorted(r.created for r in reports) == [0, 300]
    assert sorted(r.skipped for r in reports) == [0, 300]


def test_without_the_owner_write_lock_the_same_race_does_create_duplicates(
    alice, tmp_path, monkeypatch
):
    # Proof that the meeting really overlaps the two runs: with the lock
    # taken away, both read "nobody yet" and both create all 300.
    monkeypatch.setattr(services, "owner_write_lock", lambda *, owner_id: None)
    cards = write_vcards(tmp_path / "people.vcf", people=300)

    def run():
        return import_file(owner=alice, path=cards, now=NOW)

    race = Race(run, run)
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    reports = [outcome.get() for outcome in race.run()]

    assert meeting.results == ["met", "met"]
    assert [r.created for r in reports] == [300, 300]
    assert Contact.objects.filter(owner=alice).count() == 600


def test_two_runs_of_the_same_provider_sync_at_once_leave_one_skipped_by_the_lock(
    alice, google
):
    race = None

    def wait_for_the_other_run():
        # Hold the fetch until the other run has ended: a working lock ends
        # it at once as skipped; without one both would fetch and write.
        deadline = time.monotonic() + WAIT_FOR_THE_OTHER_SECONDS
        while not race.ended and time.monotonic() < deadline:
            time.sleep(0.02)

    def run():
        provider = CannedProvider(
            calendar_result(range(PEOPLE)), before_fetch=wait_for_the_other_run
        )
        run = sync_provider(
            account=google,
            platform="google_calendar",
            trigger="manual",
            now=NOW,
            provider=provider,
        )
        return run, provider.fetches

    race = Race(run, run)
    (first, first_fetches), (second, second_fetches) = (
        outcome.get() for outcome in race.run()
    )

    assert sorted([first_fetches, second_fetches]) == [0, 1]
    assert run_counts([first.pk, second.pk]) == [
        ("skipped", 0, 0, 0),
        ("success", 3 * PEOPLE, 0, 0),
    ]
    skipped = SyncRun.objects.get(owner=alice, status="skipped")
    assert skipped.details["reason"].startswith(
        "another google_calendar run holds the lock until "
    )
    assert duplicate_people(alice) == {}
    assert Contact.objects.filter(owner=alice).count() == PEOPLE
    assert Interaction.objects.filter(owner=alice).count() == 2 * PEOPLE
    assert SyncLock.objects.get(owner=alice, platform="google_calendar").holder == ""
    google.refresh_from_db()
    assert google.cursor == {"google_calendar": {"sync_token": "cal-1"}}
    assert stale_scores(alice, now=NOW) == []


def test_a_contacts_sync_and_a_calendar_sync_of_the_same_people_at_once_store_each_once(
    alice, google, monkeypatch
):
    # Two providers have two locks: nothing in sync_lock keeps these apart.
    def run(platform, result):
        def job():
            return sync_provider(
                account=google,
                platform=platform,
                trigger="scheduled",
                now=NOW,
                provider=CannedProvider(result),
            )

        return job

    race = Race(
        run("google_contacts", people_result(range(PEOPLE))),
        run("google_calendar", calendar_result(range(PEOPLE))),
    )
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    people_run, calendar_run = (outcome.get() for outcome in race.run())

    assert meeting.results == [WAITED, "met"]

    assert duplicate_people(alice) == {}
    contacts = Contact.objects.filter(owner=alice)
    assert contacts.count() == PEOPLE
    # Whichever ran second filled in what the first had left blank.
    assert contacts.exclude(google_resource_name=None).count() == PEOPLE
    assert contacts.exclude(company=None).count() == PEOPLE
    assert Interaction.objects.filter(owner=alice).count() == 2 * PEOPLE
    people_run.refresh_from_db()
    calendar_run.refresh_from_db()
    assert (people_run.status, calendar_run.status) == ("success", "success")
    created = (
        people_run.details["contacts_created"]
        + calendar_run.details["contacts_created"]
    )
    assert created == PEOPLE
    google.refresh_from_db()
    # Each run kept the other's cursor (a row lock guards the cursor write).
    assert google.cursor == {
        "google_contacts": {"sync_token": "people-1"},
        "google_calendar": {"sync_token": "cal-1"},
    }
    assert stale_scores(alice, now=NOW) == []
    ada = contacts.get(emails=[person_email(7)])
    assert (ada.google_resource_name, ada.interaction_count) == ("people/c7", 2)


def test_eight_claims_of_a_lock_no_one_has_used_yet_have_exactly_one_winner(alice):
    def claim():
        try:
            return sync_lock_claim(owner=alice, platform="gmail")
        except SyncLocked:
            return None

    holders = [outcome.get() for outcome in Race(*[claim] * 8).run()]

    winners = [holder for holder in holders if holder is not None]
    assert len(winners) == 1
    stored = SyncLock.objects.filter(owner=alice).values_list("holder", flat=True)
    assert list(stored) == winners
