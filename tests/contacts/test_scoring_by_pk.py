"""Batch rescoring finds contacts by primary key and still checks their owner.

With ``owner_id = ?`` beside ``id IN (...)`` SQLite (no statistics, nothing
runs ANALYZE) walks an (owner, ...) index over every contact of the owner
from about 235 ids on; these tests pin the primary-key plan and the owner
check that replaced it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection

from contacts.models import Contact, Interaction
from contacts.scoring import (
    _owned_aggregate_rows,
    contacts_rescore,
    contacts_rescore_ids,
    nightly_rescore_start,
    owned_contacts_by_pk,
    rescore_aggregate,
)
from crm import compiled_sql
from syncjobs.services import rescore_all

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
FIELDS = ("relationship_score", "interaction_count", "last_interaction_at")
# Enough ids for SQLite to prefer the owner index when the owner is a
# plain column filter (it does from about 235 on).
MANY_IDS = 400


def talked(contact: Contact, at: dt.datetime) -> None:
    Interaction.objects.bulk_create(
        Interaction(
            owner_id=contact.owner_id,
            contact=contact,
            platform="email",
            direction=direction,
            occurred_at=at,
            raw_reference_id=f"t:{uuid.uuid4()}",
        )
        for direction in ("inbound", "outbound")
    )


def values_of(contact: Contact) -> tuple:
    return Contact.objects.values_list(*FIELDS).get(pk=contact.pk)


@pytest.mark.django_db
def test_only_the_owners_contacts_come_back_by_primary_key(alice, bob):
    mine = Contact.objects.create(owner=alice, full_name="mine")
    theirs = Contact.objects.create(owner=bob, full_name="theirs")

    found = owned_contacts_by_pk(owner_id=alice.pk, ids=[theirs.pk, mine.pk])

    assert list(found.values_list("full_name", flat=True)) == ["mine"]


@pytest.mark.django_db
def test_a_contact_id_of_another_owner_is_never_rescored(alice, bob):
    mine = Contact.objects.create(owner=alice, full_name="mine")
    theirs = Contact.objects.create(owner=bob, full_name="theirs")
    talked(mine, NOW - dt.timedelta(days=2))
    talked(theirs, NOW - dt.timedelta(days=2))

    result = contacts_rescore_ids(
        owner_id=alice.pk, contact_ids=[theirs.pk, mine.pk], now=NOW
    )

    assert (result.examined, result.changed, result.update_statements) == (1, 1, 1)
    assert values_of(mine) == (7, 2, NOW - dt.timedelta(days=2))
    assert values_of(theirs) == (0, 0, None)


@pytest.mark.django_db
def test_the_nightly_rescore_reads_only_the_owners_crossed_contacts(alice, bob):
    mine = Contact.objects.create(owner=alice, full_name="mine")
    theirs = Contact.objects.create(owner=bob, full_name="theirs")
    rescore_all(owner=alice, now=NOW)
    rescore_all(owner=bob, now=NOW)
    # Both turn 8 days old a day later: recency 3 -> 2 for each.
    talked(mine, NOW - dt.timedelta(days=7, hours=12))
    talked(theirs, NOW - dt.timedelta(days=7, hours=12))
    contacts_rescore_ids(owner_id=alice.pk, contact_ids=[mine.pk], now=NOW)
    contacts_rescore_ids(owner_id=bob.pk, contact_ids=[theirs.pk], now=NOW)

    alice.refresh_from_db()
    nightly = nightly_rescore_start(owner=alice, now=NOW + dt.timedelta(days=1))

    assert nightly.since == NOW
    assert list(nightly.contacts.values_list("full_name", flat=True)) == ["mine"]


def _sqlite_plan(queryset) -> list[str]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[3] for row in cursor.fetchall()]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_the_rescore_aggregate_finds_contacts_by_primary_key_on_sqlite(alice):
    ids = [uuid.uuid4() for _ in range(MANY_IDS)]
    # The form the trap came from, to show the test would catch it.
    by_owner_column = Contact.objects.filter(owner_id=alice.pk, pk__in=ids)
    assert any(
        "USING INDEX contact_owner" in step
        for step in _sqlite_plan(rescore_aggregate(by_owner_column, NOW))
    )

    plan = _sqlite_plan(
        rescore_aggregate(owned_contacts_by_pk(owner_id=alice.pk, ids=ids), NOW)
    )

    contact_steps = [step for step in plan if "contacts_contact " in step]
    assert contact_steps == [
        "SEARCH contacts_contact USING INDEX sqlite_autoindex_contacts_contact_1 (id=?)"
    ]


# --- the aggregate through crm.compiled_sql -----------------------------------


def _varied_contacts(owner) -> list[Contact]:
    """Contacts with interactions in every window, a future one, an event."""
    made = []
    for number, age_days in enumerate((0.5, 20, 60, 200, 500, 1000, 3000)):
        contact = Contact.objects.create(owner=owner, full_name=f"c{number}")
        talked(contact, NOW - dt.timedelta(days=age_days))
        made.append(contact)
    Interaction.objects.create(
        owner=owner,
        contact=made[0],
        platform="meeting",
        direction="mutual",
        occurred_at=NOW + dt.timedelta(hours=3),
        raw_reference_id="t:future",
    )
    Interaction.objects.create(
        owner=owner,
        contact=made[1],
        platform="twitter",
        direction="event",
        occurred_at=NOW - dt.timedelta(days=1),
        raw_reference_id="t:event",
    )
    made.append(Contact.objects.create(owner=owner, full_name="silent"))
    return made


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 3, 4, 8])
def test_the_compiled_aggregate_returns_the_rows_the_orm_returns(alice, bob, count):
    ids = [c.pk for c in _varied_contacts(alice)[:count]]
    theirs = Contact.objects.create(owner=bob, full_name="theirs")

    rows = _owned_aggregate_rows(owner_id=alice.pk, ids=[*ids, theirs.pk], now=NOW)

    expected = list(
        rescore_aggregate(owned_contacts_by_pk(owner_id=alice.pk, ids=ids), NOW)
    )
    key = lambda row: str(row["pk"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(expected, key=key)
    assert len(rows) == count
    for got, want in zip(sorted(rows, key=key), sorted(expected, key=key), strict=True):
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


@pytest.mark.django_db
def test_id_lists_up_to_a_power_of_two_share_one_compiled_statement(alice):
    contacts = _varied_contacts(alice)
    compiled_sql.cache_clear()

    for count in (5, 6, 8):
        _owned_aggregate_rows(
            owner_id=alice.pk, ids=[c.pk for c in contacts[:count]], now=NOW
        )
    _owned_aggregate_rows(owner_id=alice.pk, ids=[contacts[0].pk], now=NOW)

    assert list(compiled_sql._cache()) == [
        ("prepared", "rescore aggregate", 8),
        ("prepared", "rescore aggregate", 1),
    ]
    compiled_sql.cache_clear()


@pytest.mark.django_db
def test_a_rescore_by_ids_is_one_aggregate_and_one_update(
    alice, django_assert_num_queries
):
    contacts = _varied_contacts(alice)
    ids = [c.pk for c in contacts]
    # The compiled and the ORM path store the same values.
    contacts_rescore_ids(owner_id=alice.pk, contact_ids=ids, now=NOW)
    via_compiled = [values_of(c) for c in contacts]
    Contact.objects.update(relationship_score=0, interaction_count=0)

    with django_assert_num_queries(2):
        contacts_rescore_ids(owner_id=alice.pk, contact_ids=ids, now=NOW)
    assert [values_of(c) for c in contacts] == via_compiled

    Contact.objects.update(relationship_score=0, interaction_count=0)
    contacts_rescore(contacts=Contact.objects.filter(pk__in=ids), now=NOW)
    assert [values_of(c) for c in contacts] == via_compiled
