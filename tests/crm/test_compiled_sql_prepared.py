"""crm.compiled_sql by shape: the push's lookup compiled once sends what the ORM would."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection

from contacts.models import Contact, Interaction
from contacts.services import contact_create
from crm import compiled_sql
from crm.compiled_sql import prepare, prepared_query
from linkedin.matching import _lookup_query, contacts_for_push, push_keys
from linkedin.serializers import push_payload_from_data
from tests.linkedin.push_helpers import message, profile

# (profile ids, URL keys, names, spelled names, message keys)
SHAPES = [
    ([], [], [], [], []),
    (["jane-doe-123"], [], [], [], []),
    (
        ["jane-doe-123", "ACoAAB12"],
        ["https://www.linkedin.com/in/jane-doe-123"],
        ["jane doe", "omar"],
        ["Zoë Ünal"],
        ["linkedin:conv-1:h1", "linkedin:conv-1:h2"],
    ),
    ([], [], ["jane doe"], [], ["linkedin:conv-1:h1"]),
]


def _comparable(params) -> list:
    # psycopg's Jsonb wrapper (of a NULL JSON column) compares by identity.
    return [getattr(param, "obj", param) for param in params]


def _arguments(owner_id, lists) -> list:
    return [owner_id, *(value for values in lists for value in values)]


def _build(lists, backfill_limit=10):
    def build(stand_ins: list):
        split, start = [], 1
        for values in lists:
            split.append(stand_ins[start : start + len(values)])
            start += len(values)
        return _lookup_query(stand_ins[0], *split, backfill_limit=backfill_limit)

    return build


@pytest.mark.parametrize("lists", SHAPES)
def test_the_prepared_lookup_is_the_sql_and_parameters_the_orm_compiles(alice, lists):
    arguments = _arguments(alice.pk, lists)
    query = prepare(_build(lists), arguments)

    orm = _lookup_query(alice.pk, *lists, backfill_limit=10)
    sql, params = orm.query.get_compiler(connection=connection).as_sql()
    assert query.sql == sql
    assert _comparable(query.params(arguments)) == _comparable(params)


@pytest.mark.parametrize("lists", SHAPES)
def test_the_prepared_lookup_returns_the_rows_values_list_returns(alice, bob, lists):
    jane = contact_create(
        owner=alice,
        full_name="Jane Doe",
        linkedin_profile_id="jane-doe-123",
        linkedin_url="https://www.linkedin.com/in/jane-doe-123",
    )
    jane.user_edited_fields = ["title"]
    jane.save(update_fields=["user_edited_fields"])
    contact_create(owner=alice, full_name="Zoë Ünal")
    contact_create(owner=alice, full_name="Omar", linkedin_profile_id="omar-1")
    contact_create(owner=bob, full_name="Jane Doe", linkedin_profile_id="jane-doe-123")
    Interaction.objects.create(
        owner=alice,
        contact=jane,
        platform="linkedin",
        direction="inbound",
        raw_reference_id="linkedin:conv-1:h1",
        occurred_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    arguments = _arguments(alice.pk, lists)

    rows = prepare(_build(lists), arguments).rows(arguments)

    expected = list(_lookup_query(alice.pk, *lists, backfill_limit=10))
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert rows, "every shape finds at least the backfill candidates"
    for row in rows:
        if row[-1] is None:
            assert isinstance(row[0], uuid.UUID)
            assert row[-2].tzinfo is not None  # created_at, aware
            assert isinstance(row[-3], list)  # user_edited_fields, decoded


def test_a_stand_in_changed_before_it_is_sent_fails_loudly(alice):
    def build(stand_ins: list):
        return Contact.objects.filter(owner_id=stand_ins[0]).filter(
            full_name__startswith=stand_ins[1]
        )

    with pytest.raises(RuntimeError, match=r"arguments \[1\] are not query parameters"):
        prepare(build, [alice.pk, "Jane"])


def test_times_and_constants_take_their_places(alice):
    since = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)

    def build(stand_ins: list):
        return Interaction.objects.filter(
            owner_id=stand_ins[0], platform="linkedin", occurred_at__gte=stand_ins[1]
        ).values_list("raw_reference_id", flat=True)

    query = prepare(build, [alice.pk, since])

    orm = build([alice.pk, since])
    assert query.params([alice.pk, since]) == list(
        orm.query.get_compiler(connection=connection).as_sql()[1]
    )


def test_one_shape_is_compiled_once(alice):
    lists = SHAPES[1]
    arguments = _arguments(alice.pk, lists)
    compiled = []

    def build(stand_ins: list):
        compiled.append(stand_ins)
        return _build(lists)(stand_ins)

    first = prepared_query(("test shape", 1), build, arguments)
    again = prepared_query(("test shape", 1), build, arguments)

    assert first is again
    assert len(compiled) == 1


def test_shapes_beyond_the_kept_number_push_out_the_oldest(alice, monkeypatch):
    compiled_sql.cache_clear()
    monkeypatch.setattr(compiled_sql, "CACHE_SIZE", 2)
    arguments = _arguments(alice.pk, SHAPES[1])
    build = _build(SHAPES[1])
    for number in range(3):
        prepared_query(("evicted shape", number), build, arguments)

    assert list(compiled_sql._cache()) == [
        ("prepared", "evicted shape", 1),
        ("prepared", "evicted shape", 2),
    ]
    compiled_sql.cache_clear()


def test_the_lookup_finds_the_same_contacts_the_second_time_with_other_values(alice):
    # Same shape, other values: the compiled SQL is reused with new ones.
    # With avatars neither is a backfill candidate: only a key finds them.
    avatar = "https://example.com/a.png"
    ada = contact_create(
        owner=alice, full_name="Ada", linkedin_profile_id="ada-1", avatar_url=avatar
    )
    bea = contact_create(
        owner=alice, full_name="Bea", linkedin_profile_id="bea-1", avatar_url=avatar
    )

    def lookup(profile_id: str) -> list:
        payload = push_payload_from_data({"profiles": [profile(profile_id)]})
        keys = push_keys(profiles=payload.profiles, messages=())
        return [c.pk for c in contacts_for_push(owner=alice, keys=keys).contacts]

    assert lookup("ada-1") == [ada.pk]
    assert lookup("bea-1") == [bea.pk]


def test_stored_keys_come_back_through_the_prepared_lookup(alice):
    jane = contact_create(owner=alice, full_name="Jane", linkedin_profile_id="jane-1")
    Interaction.objects.create(
        owner=alice,
        contact=jane,
        platform="linkedin",
        direction="inbound",
        raw_reference_id="linkedin:conv-001:h1",
        occurred_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    payload = push_payload_from_data(
        {
            "messages": [
                message("jane-1", content_hash="h1"),
                message("jane-1", content_hash="h2"),
            ]
        }
    )
    keys = push_keys(profiles=(), messages=payload.messages)

    found = contacts_for_push(owner=alice, keys=keys)

    assert found.stored_keys == frozenset({"linkedin:conv-001:h1"})
    assert [c.pk for c in found.contacts] == [jane.pk]
