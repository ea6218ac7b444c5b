"""The nightly rescore: only contacts an interaction's age moved across a boundary.

Time is passed in (``now``); the user's ``scores_as_of`` says when the
previous nightly run brought every score up to date.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact, Interaction, User
from contacts.scoring import (
    LONGEST_AGE,
    RECENCY_AGES,
    TENURE_AGES,
    WINDOW_AGES,
    contact_score_breakdown,
    contacts_rescore,
    contacts_rescore_ids,
    crossed_contact_ids,
    nightly_rescore_start,
)
from syncjobs import services
from syncjobs.services import rescore_all

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
FIELDS = ("relationship_score", "interaction_count", "last_interaction_at")


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def add(contact: Contact, specs) -> None:
    """Store (direction, occurred_at[, platform]) interactions of ``contact``."""
    Interaction.objects.bulk_create(
        Interaction(
            owner_id=contact.owner_id,
            contact=contact,
            platform=spec[2] if len(spec) > 2 else "email",
            direction=spec[0],
            occurred_at=spec[1],
            raw_reference_id=f"n:{uuid.uuid4()}",
        )
        for spec in specs
    )


def stored(owner) -> dict:
    return {
        name: tuple(row)
        for name, *row in Contact.objects.filter(owner=owner).values_list(
            "full_name", *FIELDS
        )
    }


def recomputed(owner, now: dt.datetime) -> dict:
    """Return every contact's values as a full recompute at ``now`` gives them."""
    values = {}
    for contact in Contact.objects.filter(owner=owner):
        breakdown = contact_score_breakdown(contact, now=now)
        inputs = breakdown.inputs
        values[contact.full_name] = (
            breakdown.total,
            inputs.lifetime_count,
            inputs.last_any,
        )
    return values


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_the_ages_come_from_the_formula():
    assert [a.days for a in WINDOW_AGES] == [30, 90, 365, 730, 1825]
    # "at most 7 / 30 / 90 whole days" ends at 8, 31, 91 days exactly.
    assert [a.days for a in RECENCY_AGES] == [8, 31, 91]
    # 1 and 2 years of 365.25 days, in whole days: 366 and 731.
    assert sorted(a.days for a in TENURE_AGES) == [366, 731]
    assert days(1825) == LONGEST_AGE


# --- golden: what a day's run rescores ----------------------------------------


def _golden_contacts(owner, other):
    def person(name, specs, who=owner):
        contact = Contact.objects.create(owner=who, full_name=name)
        add(contact, specs)
        return contact

    # Three messages 29.5 days old leave the 30-day window: frequency 1 -> 0.
    person("window", [("outbound", NOW - days(29.5))] * 3)
    # Nothing near any boundary.
    person("quiet", [("inbound", NOW - days(10)), ("outbound", NOW - days(12))])
    # A meeting stored ahead of time, six hours after the first run.
    person("future", [("mutual", NOW + dt.timedelta(hours=6), "meeting")])
    # Their message turns 8 days old: recency 3 -> 2.
    person("recency", [("inbound", NOW - days(7.5))])
    # The 8 days of my message do not matter: recency counts from theirs.
    person("answered", [("outbound", NOW - days(7.5)), ("inbound", NOW - days(2))])
    # 20 interactions, the first turning 366 days old: tenure 0 -> 1.
    person(
        "tenure",
        [("inbound", NOW - days(365.5))]
        + [("outbound", NOW - days(200 + n)) for n in range(19)],
    )
    # A bio change is not contact: it crosses nothing.
    person("event", [("event", NOW - days(29.5), "twitter")])
    person("empty", [])
    person("bob's", [("outbound", NOW - days(29.5))] * 3, who=other)


@pytest.mark.django_db
def test_a_day_later_only_the_contacts_that_crossed_a_boundary_are_rescored(
    alice, bob, django_assert_num_queries
):
    _golden_contacts(alice, bob)
    first = nightly_rescore_start(owner=alice, now=NOW)
    assert first.full
    assert contacts_rescore(contacts=first.contacts, now=NOW).examined == 8
    assert fresh(alice).scores_as_of == NOW
    before = stored(alice)

    later = NOW + DAY
    owner = fresh(alice)
    # Store the time (taking the owner's lock), find the four, read their
    # aggregates, write them in one UPDATE.
    with django_assert_num_queries(4):
        nightly = nightly_rescore_start(owner=owner, now=later)
        result = contacts_rescore(contacts=nightly.contacts, now=later)

    assert (nightly.full, nightly.since) == (False, NOW)
    assert (result.examined, result.changed, result.update_statements) == (4, 4, 1)
    after = stored(alice)
    assert after == recomputed(alice, later)
    assert {name for name in after if after[name] != before[name]} == {
        "window",
        "future",
        "recency",
        "tenure",
    }
    assert (before["window"][0], after["window"][0]) == (2, 1)
    assert (before["recency"][0], after["recency"][0]) == (3, 2)
    assert before["future"] == (0, 0, None)
    # A meeting counts both ways: reciprocity 4, recency 3.
    assert after["future"] == (7, 1, NOW + dt.timedelta(hours=6))
    assert (before["tenure"][0], after["tenure"][0]) == (0, 1)
    assert fresh(alice).scores_as_of == later
    # Bob's contact is not Alice's to rescore.
    assert Contact.objects.get(owner=bob).interaction_count == 0


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="PostgreSQL plans from table statistics; its plan at 100,000 "
    "contacts (an Append of the same 11 index ranges) is in the notes",
)
def test_the_search_is_range_scans_of_the_owner_time_index(alice):
    crossed = crossed_contact_ids(owner_id=alice.pk, since=NOW - DAY, now=NOW)
    sql, params = crossed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    ranges = (
        "SEARCH contacts_interaction USING INDEX interaction_owner_time "
        "(owner_id=? AND occurred_at>? AND occurred_at<?)"
    )
    # One range per age (11), and no table is ever scanned.
    assert plan[0] == "COMPOUND QUERY"
    assert plan.count(ranges) == 11
    assert not any(step.startswith("SCAN") for step in plan)


@pytest.mark.django_db
def test_the_nightly_run_records_the_time_and_a_second_run_is_incremental(alice):
    _golden_contacts(alice, alice)
    (run,) = rescore_all(owner=alice, now=NOW)
    assert (run.contacts_rescored, run.details["full"]) == (9, True)

    (run,) = rescore_all(owner=fresh(alice), now=NOW + DAY)
    assert (run.contacts_rescored, run.details["full"]) == (5, False)
    assert fresh(alice).scores_as_of == NOW + DAY
    assert stored(alice) == recomputed(alice, NOW + DAY)


@pytest.mark.django_db
def test_a_sync_rescoring_its_contacts_leaves_the_time_alone(alice):
    contact = Contact.objects.create(owner=alice, full_name="synced")
    rescore_all(owner=alice, now=NOW)
    add(contact, [("inbound", NOW + dt.timedelta(hours=1))])

    result = contacts_rescore_ids(
        owner_id=alice.pk, contact_ids=[contact.pk], now=NOW + dt.timedelta(hours=2)
    )

    assert result.changed == 1
    assert fresh(alice).scores_as_of == NOW


@pytest.mark.django_db
def test_a_failed_nightly_run_keeps_the_previous_time(alice, monkeypatch):
    Contact.objects.create(owner=alice, full_name="someone")
    rescore_all(owner=alice, now=NOW)

    def failing(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "contacts_rescore", failing)
    (run,) = rescore_all(owner=fresh(alice), now=NOW + DAY)

    assert run.status == "failed"
    assert fresh(alice).scores_as_of == NOW


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("previous", "full"),
    [
        (None, True),
        (NOW - days(1825), True),  # as old as the longest window
        (NOW - days(1824.9), False),
        (NOW + dt.timedelta(seconds=1), True),  # a clock set back
        (NOW, False),
    ],
)
def test_everything_is_rescored_without_a_usable_previous_time(alice, previous, full):
    Contact.objects.create(owner=alice, full_name="someone")
    User.objects.filter(pk=alice.pk).update(scores_as_of=previous)

    nightly = nightly_rescore_start(owner=fresh(alice), now=NOW)

    assert nightly.full is full
    assert nightly.since == (None if full else previous)
    assert contacts_rescore(contacts=nightly.contacts, now=NOW).examined == (
        1 if full else 0
    )


# --- property: incremental == full recompute ---------------------------------

BOUNDARY_DAYS = [0, *(a.days for a in WINDOW_AGES + RECENCY_AGES + TENURE_AGES)]
directions = st.sampled_from(["inbound", "outbound", "mutual", "event"])
platforms = st.sampled_from(["email", "telegram", "meeting"])
# Ages at the first run: mostly within two days of a boundary (either side,
# so some cross during the gaps), some anywhere, some in the future.
near_boundary = st.builds(
    lambda boundary, offset: boundary + offset,
    st.sampled_from(BOUNDARY_DAYS),
    st.floats(min_value=-2.5, max_value=0.5),
)
ages = st.one_of(near_boundary, st.floats(min_value=-5, max_value=2000))
contact_specs = st.lists(st.tuples(directions, ages, platforms), max_size=25)
# Hours between nightly runs: a few minutes to several days, now and then
# weeks, now and then longer than the longest window.
gaps = st.one_of(
    st.floats(min_value=0.05, max_value=80),
    st.floats(min_value=300, max_value=2000),
    st.just(24.0),
    st.just(1825 * 24.0 + 1),
)
# A sync between two runs: (contact, when within the gap 0..1, age of the
# new interaction at that moment in days; negative is in the future).
syncs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),
        st.floats(min_value=0.01, max_value=0.99),
        st.floats(min_value=-3, max_value=100),
        directions,
    ),
    max_size=3,
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(contact_specs, min_size=1, max_size=6),
    runs=st.lists(st.tuples(gaps, syncs), min_size=1, max_size=4),
)
def test_nightly_scores_equal_a_full_recompute_after_any_gaps(
    django_user_model, people, runs
):
    owner, _ = django_user_model.objects.get_or_create(
        username="nightly", defaults={"email": "nightly@example.com"}
    )
    User.objects.filter(pk=owner.pk).update(scores_as_of=None)
    Contact.objects.filter(owner=owner).delete()
    contacts = []
    for number, specs in enumerate(people):
        contact = Contact.objects.create(
            owner=owner, full_name=f"p{number}", relationship_score=number % 11
        )
        add(contact, [(d, NOW - days(age), p) for d, age, p in specs])
        contacts.append(contact)

    now = NOW
    rescore_all(now=now)
    assert stored(owner) == recomputed(owner, now)
    for gap_hours, synced in runs:
        previous, now = now, now + dt.timedelta(hours=gap_hours)
        for index, share, age, direction in synced:
            contact = contacts[index % len(contacts)]
            at = previous + (now - previous) * share
            add(contact, [(direction, at - days(age))])
            contacts_rescore_ids(owner_id=owner.pk, contact_ids=[contact.pk], now=at)
        (run,) = rescore_all(now=now)
        assert run.status == "success"
        assert stored(owner) == recomputed(owner, now)
        assert fresh(owner).scores_as_of == now
