"""A LinkedIn push racing a sync, an import, a rescore or itself, in real threads.

Run on PostgreSQL. Each race is forced with a ``Meeting`` right after the
runs' contact lookups, so both would write from what they read; the
owner's write lock (``contacts.services.owner_write_lock``) has to make
the second one wait and read again.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from contacts import scoring
from contacts import services as contact_services
from contacts.models import Contact, Interaction
from contacts.services import contact_create
from linkedin import services as push_services
from linkedin.serializers import push_payload_from_data
from linkedin.services import linkedin_push_apply
from syncjobs.models import ProviderAccount, SyncRun
from syncjobs.records import ParseResult
from syncjobs.services import import_file, rescore_all, sync_provider
from tests.linkedin.push_helpers import message, profile
from tests.reliability.concurrency import (
    MEET_SECONDS,
    Meeting,
    Race,
    meet_after,
    postgres_only,
)
from tests.reliability.exports import (
    duplicate_people,
    person_email,
    person_name,
    person_slug,
    stale_scores,
    write_connections_csv,
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

PEOPLE = 50  # the most profiles one push may carry
WAITED = "another job waits for a lock"
PROFILE_URL = "https://www.linkedin.com/in/"


def push_body(numbers: range, *, messages_each: int = 1) -> dict:
    """Return a push of the numbered people's profiles and their messages."""
    return {
        "profiles": [
            profile(
                person_slug(n),
                person_name(n),
                headline=f"Engineer at Company {n % 7}",
                location="Lisbon",
            )
            for n in numbers
        ],
        "messages": [
            message(
                person_slug(n),
                person_name(n),
                conversation_id=f"conv-{person_slug(n)}",
                timestamp=(NOW - dt.timedelta(days=2 + k, minutes=n)).isoformat(),
                content_hash=f"hash-{n}-{k}",
                content_preview=f"message {k} from {person_name(n)}",
            )
            for n in numbers
            for k in range(messages_each)
        ],
    }


def pushing(owner, body):
    payload = push_payload_from_data(body)
    return lambda: linkedin_push_apply(owner=owner, payload=payload, now=NOW)


def known_people(owner, numbers: range) -> None:
    """Store the numbered people with their email and LinkedIn id, nothing else."""
    for n in numbers:
        contact_create(
            owner=owner,
            full_name=person_name(n),
            emails=[person_email(n)],
            linkedin_profile_id=person_slug(n),
        )


def test_a_push_and_a_sync_touching_the_same_contacts_at_once_lose_nothing(
    alice, monkeypatch
):
    known_people(alice, range(PEOPLE))
    google = ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice.work@example.com"
    )
    # The sync fills company and resource name and adds two meetings each;
    # the push sets headline, title, location and URL and adds a message.
    synced = ParseResult(
        contacts=people_result(range(PEOPLE)).contacts,
        interactions=calendar_result(range(PEOPLE)).interactions,
        cursor={"sync_token": "cal-1"},
    )

    def sync():
        return sync_provider(
            account=google,
            platform="google_calendar",
            trigger="scheduled",
            now=NOW,
            provider=CannedProvider(synced),
        )

    race = Race(sync, pushing(alice, push_body(range(PEOPLE))))
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    meet_after(monkeypatch, push_services, "contacts_for_push", meeting)
    run, pushed = (outcome.get() for outcome in race.run())

    assert meeting.results == [WAITED, "met"]
    run.refresh_from_db()
    assert (run.status, run.details["contacts_updated"]) == ("success", PEOPLE)
    assert (pushed.contacts_created, pushed.contacts_updated) == (0, PEOPLE)
    assert pushed.interactions_created == PEOPLE
    assert duplicate_people(alice) == {}
    rows = Contact.objects.filter(owner=alice).order_by("full_name")
    assert rows.count() == PEOPLE
    seven = rows.get(linkedin_profile_id=person_slug(7))
    assert (
        seven.company,
        seven.google_resource_name,
        seven.title,
        seven.location,
        seven.linkedin_headline,
        seven.linkedin_url,
        seven.linkedin_url_key,
        seven.interaction_count,
    ) == (
        "Company 0",
        "people/c7",
        "Engineer",
        "Lisbon",
        "Engineer at Company 0",
        PROFILE_URL + "person-007",
        PROFILE_URL + "person-007",
        3,
    )
    # Every contact got both writes, and the URL key is the URL's.
    assert set(rows.values_list("interaction_count", "location")) == {(3, "Lisbon")}
    assert rows.filter(company=None).count() == 0
    for url, url_key in rows.values_list("linkedin_url", "linkedin_url_key"):
        assert url_key == url
    assert Interaction.objects.filter(owner=alice).count() == 3 * PEOPLE
    assert stale_scores(alice, now=NOW) == []


def identical_pushes_at_once(owner, monkeypatch) -> list:
    # The extension sent the same batch twice (a retry after a timeout).
    body = push_body(range(PEOPLE), messages_each=2)
    race = Race(pushing(owner, body), pushing(owner, body))
    meeting = Meeting(race)
    meet_after(monkeypatch, push_services, "contacts_for_push", meeting)
    results = [outcome.get() for outcome in race.run()]
    assert meeting.results == [WAITED, "met"]
    return results


def test_two_identical_pushes_at_once_create_each_new_sender_once(alice, monkeypatch):
    results = identical_pushes_at_once(alice, monkeypatch)

    assert sorted(r.contacts_created for r in results) == [0, PEOPLE]
    assert duplicate_people(alice) == {}
    assert Contact.objects.filter(owner=alice).count() == PEOPLE
    assert Interaction.objects.filter(owner=alice).count() == 2 * PEOPLE
    assert set(
        SyncRun.objects.filter(owner=alice).values_list("platform", "status")
    ) == {("linkedin", "success")}
    assert stale_scores(alice, now=NOW) == []


def test_the_second_of_two_identical_pushes_counts_its_messages_as_skipped(
    alice, monkeypatch
):
    # The stored message keys are read in the lookup, after the owner's
    # write lock: the second push sees the first one's 100 messages whole.
    results = identical_pushes_at_once(alice, monkeypatch)

    assert sorted(
        (
            r.contacts_created,
            r.contacts_updated,
            r.interactions_created,
            r.interactions_skipped,
        )
        for r in results
    ) == [(0, 0, 0, 2 * PEOPLE), (PEOPLE, 0, 2 * PEOPLE, 0)]
    assert sorted(
        SyncRun.objects.filter(owner=alice).values_list(
            "records_created", "records_updated", "records_skipped"
        )
    ) == [(0, 0, 2 * PEOPLE), (PEOPLE + 2 * PEOPLE, 0, 0)]


def test_an_import_and_a_push_creating_the_same_new_people_at_once_create_each_once(
    alice, tmp_path, monkeypatch
):
    # An import takes no SyncLock at all; only the owner's write lock keeps
    # it and the push from each creating the same people.
    export = write_connections_csv(tmp_path / "Connections.csv", numbers=range(PEOPLE))

    def importing():
        return import_file(owner=alice, path=export, now=NOW)

    race = Race(importing, pushing(alice, push_body(range(PEOPLE))))
    meeting = Meeting(race)
    meet_after(monkeypatch, contact_services, "_load_matches", meeting)
    meet_after(monkeypatch, push_services, "contacts_for_push", meeting)
    report, pushed = (outcome.get() for outcome in race.run())

    assert meeting.results == [WAITED, "met"]
    assert duplicate_people(alice) == {}
    rows = Contact.objects.filter(owner=alice)
    assert rows.count() == PEOPLE
    # Whoever came second found the first one's contacts.
    assert sorted([report.details["contacts_created"], pushed.contacts_created]) == [
        0,
        PEOPLE,
    ]
    assert set(
        rows.values_list("company", "title", "linkedin_headline")
        .filter(linkedin_profile_id=person_slug(3))
        .distinct()
    ) == {("Company 3", "Engineer", "Engineer at Company 3")}
    assert rows.exclude(company=None).count() == PEOPLE
    assert rows.exclude(linkedin_headline=None).count() == PEOPLE
    assert set(rows.values_list("interaction_count", flat=True)) == {1}
    assert stale_scores(alice, now=NOW) == []


def test_a_push_during_the_nightly_rescore_keeps_its_new_scores(alice, monkeypatch):
    # The nightly rescore reads every aggregate, then writes. Without the
    # owner's write lock (taken in the UPDATE that stores the user's
    # scores_as_of, before that read) a push committing in between had its
    # fresh counts overwritten with the older ones (1 instead of 2); with
    # it the push waits, then counts on top of the rescore's.
    known_people(alice, range(PEOPLE))
    # One old message each, stored but not scored yet, so the rescore has
    # rows to write: interaction_count 0 becomes 1.
    for contact in Contact.objects.filter(owner=alice):
        Interaction.objects.create(
            owner=alice,
            contact=contact,
            platform="email",
            direction="inbound",
            raw_reference_id=f"old-{contact.pk}",
            occurred_at=NOW - dt.timedelta(days=40),
        )
    read = threading.Event()
    real_scored_rows = scoring._scored_rows

    def read_then_meet(contacts, now):
        # Every aggregate is read; hold the UPDATE until the push has
        # committed (or is waiting for a lock this rescore holds).
        rows = list(real_scored_rows(contacts, now))
        if race.index_of_current() == 0:
            read.set()
            meeting()
        yield from rows

    def rescore():
        return rescore_all(owner=alice, now=NOW)

    push = pushing(alice, push_body(range(PEOPLE)))

    def push_once_the_rescore_has_read():
        read.wait(timeout=MEET_SECONDS)
        result = push()
        meeting()
        return result

    race = Race(rescore, push_once_the_rescore_has_read)
    meeting = Meeting(race)
    monkeypatch.setattr(scoring, "_scored_rows", read_then_meet)
    (run,), pushed = (outcome.get() for outcome in race.run())

    assert meeting.results[0] == WAITED
    assert (run.status, pushed.interactions_created) == ("success", PEOPLE)
    assert set(
        Contact.objects.filter(owner=alice).values_list("interaction_count", flat=True)
    ) == {2}
    assert stale_scores(alice, now=NOW) == []
