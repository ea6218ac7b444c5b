"""B02: a push costs a fixed, small number of statements and loads only what it names.

Counts are of everything the request sends, token authentication and the
SyncRun included. These tests run outside a test transaction
(``transaction=True``) so the push's own atomic block is the outermost one,
as in production: what is counted is what a real request sends (on SQLite
that includes the BEGIN; inside a test transaction it would be a SAVEPOINT
and a RELEASE instead).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, Interaction, User
from syncjobs.models import SyncRun
from tests.linkedin.push_helpers import message, profile, push, token_client

MAX_PUSH_QUERIES = 12
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True)


def seed_contacts(owner: User, total: int) -> None:
    """Bulk-create ``total`` contacts; up to 20 have LinkedIn ids, one only a URL.

    The first four are the ones B02 pushes: li-00 .. li-02 by profile id,
    "Url Only" by its URL. Then li-03 .. li-19, with avatars or not, so the
    backfill list has candidates to find; the rest are plain contacts.
    """
    rows = []
    for i in range(total):
        fields = {"full_name": f"Filler Person {i}"}
        if i == 3:
            url = "https://www.linkedin.com/in/url-only"
            fields |= {
                "full_name": "Url Only",
                "linkedin_url": url + "/",
                "linkedin_url_key": url,
            }
        elif i < 21:
            number = i if i < 3 else i - 1
            url = f"https://www.linkedin.com/in/li-{number:02}"
            fields |= {
                "full_name": f"Linked Person {number}",
                "linkedin_profile_id": f"li-{number:02}",
                "linkedin_url": url,
                "linkedin_url_key": url,
                "avatar_url": None if i % 2 else f"/media/avatars/{i}.png",
            }
        rows.append(
            Contact(
                id=uuid.uuid4(),
                owner=owner,
                emails=[],
                phones=[],
                tags=[],
                user_edited_fields=[],
                created_at=NOW - dt.timedelta(minutes=total - i),
                **fields,
            )
        )
    Contact.objects.bulk_create(rows, batch_size=500)


PUSHED = ["li-00", "li-01", "li-02", "url-only", "brand-new"]


def b02_body(message_count: int = 50) -> dict:
    """Return B02's push: 5 profiles, ``message_count`` messages in 5 conversations."""
    profiles = [
        profile(
            "li-00", "Linked Person 0", headline="Engineer at Alpha", company="Alpha"
        ),
        profile(
            "li-01", "Linked Person 1", headline="Designer at Beta", company="Beta"
        ),
        profile(
            "li-02", "Linked Person 2", headline="Founder @ Gamma", company="Gamma"
        ),
        profile("url-only", "Url Only", headline="Analyst at Delta"),
        profile("brand-new", "Brand New", headline="Student at Epsilon"),
    ]
    messages = []
    for i in range(message_count):
        slug = PUSHED[i % 5]
        at = NOW - dt.timedelta(days=1, minutes=i)
        messages.append(
            message(
                slug,
                f"Sender {slug}",
                conversation_id=f"conv-{slug}",
                timestamp=at.isoformat(),
                direction="outbound" if i % 3 else "inbound",
                # Two conversations carry no hash, as the real extension sends.
                content_hash=f"hash-{i}" if i % 5 < 3 else None,
                content_preview=f"message {i}",
            )
        )
    return {"profiles": profiles, "messages": messages}


def import_first(owner: User, body: dict, count: int) -> None:
    """Store the first ``count`` messages of ``body`` as already imported."""
    by_id = dict(
        Contact.objects.filter(owner=owner).values_list("linkedin_profile_id", "pk")
    )
    rows = []
    for m in body["messages"][:count]:
        tail = m.get("content_hash") or m["timestamp"]
        rows.append(
            Interaction(
                owner=owner,
                contact_id=by_id[m["profile_id"]],
                platform="linkedin",
                direction=m["direction"],
                raw_reference_id=f"linkedin:{m['conversation_id']}:{tail}",
                occurred_at=dt.datetime.fromisoformat(m["timestamp"]),
            )
        )
    Interaction.objects.bulk_create(rows)


def counts(response) -> tuple[int, int, int, int]:
    assert response.status_code == 200, response.json()
    body = response.json()["data"]
    return (
        body["contacts_created"],
        body["contacts_updated"],
        body["interactions_created"],
        body["interactions_skipped"],
    )


# PostgreSQL reads an .iterator() queryset through a server-side cursor.
_SERVER_SIDE_CURSOR = re.compile(
    r'^DECLARE "\w+" .*? CURSOR (?:WITH(?:OUT)? HOLD )?FOR ', re.S
)


def measured_push(client, body) -> tuple:
    """Return the response and the SQL of every statement the request sent."""
    with CaptureQueriesContext(connection) as captured:
        response = push(client, body)
    return response, [
        _SERVER_SIDE_CURSOR.sub("", q["sql"]) for q in captured.captured_queries
    ]


def contact_selects(statements: list[str]) -> list[str]:
    return [
        sql
        for sql in statements
        if sql.lstrip("( ").upper().startswith("SELECT")
        and 'FROM "contacts_contact"' in sql
    ]


_KEYED = re.compile(
    r'(?:"contacts_contact"\."(?:linkedin_profile_id|linkedin_url_key|id|full_name)"'
    r'|"contacts_interaction"\."raw_reference_id"'
    r'|LOWER\("contacts_contact"\."full_name"\)) IN \('
)


def test_b02_first_push_then_the_same_push_again(alice, django_assert_max_num_queries):
    seed_contacts(alice, 2000)
    body = b02_body()
    # Ten messages of known contacts (li-00 .. li-02) were imported before.
    known = {"li-00", "li-01", "li-02"}
    import_first(
        alice,
        {"messages": [m for m in body["messages"] if m["profile_id"] in known]},
        10,
    )
    client = token_client(alice)

    with django_assert_max_num_queries(MAX_PUSH_QUERIES):
        first = push(client, body)
    with django_assert_max_num_queries(MAX_PUSH_QUERIES):
        second = push(client, body)

    assert counts(first) == (1, 4, 40, 10)
    assert counts(second) == (0, 0, 0, 50)
    assert Contact.objects.filter(owner=alice).count() == 2001
    assert Interaction.objects.filter(owner=alice, platform="linkedin").count() == 50
    url_only = Contact.objects.get(owner=alice, full_name="Url Only")
    assert url_only.linkedin_profile_id == "url-only"
    assert url_only.linkedin_url == "https://www.linkedin.com/in/url-only"
    assert url_only.interaction_count == 10
    new = Contact.objects.get(owner=alice, linkedin_profile_id="brand-new")
    assert (new.title, new.source, new.interaction_count) == ("Student", "linkedin", 10)


def statement_kinds(statements: list[str]) -> list[str]:
    """Return "VERB table" for each statement ("BEGIN" and "COMMIT" bare)."""
    kinds = []
    for sql in statements:
        # PostgreSQL wraps each part of a UNION in parentheses.
        verb = sql.lstrip("( ").split()[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', sql)
        kinds.append(
            f"{verb} {table[1]}" if table and verb not in ("BEGIN", "COMMIT") else verb
        )
    return kinds


def test_b02_the_push_sends_exactly_these_statements(alice):
    seed_contacts(alice, 2000)

    _, statements = measured_push(token_client(alice), b02_body())

    # SQLite's BEGIN IMMEDIATE makes writers take turns; PostgreSQL takes
    # the owner's write lock instead, before the lookup reads anything.
    lock = ["SELECT"] if connection.vendor == "postgresql" else []
    assert statement_kinds(statements) == [
        "SELECT authtoken_token",
        "INSERT syncjobs_syncrun",
        "BEGIN",
        *lock,
        "SELECT contacts_contact",  # the one lookup, stored dedup keys included
        "INSERT contacts_contact",  # new contacts, and changed ones as an upsert
        "INSERT contacts_interaction",
        "SELECT contacts_contact",  # rescoring aggregate
        "UPDATE contacts_contact",  # rescoring result
        "UPDATE contacts_followupsuggestion",
        "COMMIT",
        "UPDATE syncjobs_syncrun",
    ]


def test_b02_the_sync_run_stores_the_query_count(alice):
    seed_contacts(alice, 2000)

    response, statements = measured_push(token_client(alice), b02_body())

    run = SyncRun.objects.get(owner=alice)
    assert counts(response) == (1, 4, 50, 0)
    assert (run.records_created, run.records_updated, run.records_skipped) == (51, 4, 0)
    # The run counts the statements sent through the connection's cursor
    # from its first INSERT on: not token authentication, not its closing
    # UPDATE (which cannot count itself) and not COMMIT; BEGIN only where
    # it is a statement (SQLite's "BEGIN IMMEDIATE").
    cursor_statements = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert run.query_count == len(cursor_statements) - 2


def test_the_query_count_is_the_same_for_one_message_and_fifty(alice, bob):
    seed_contacts(alice, 100)
    seed_contacts(bob, 100)

    _, one = measured_push(token_client(alice), b02_body(message_count=1))
    _, fifty = measured_push(token_client(bob), b02_body(message_count=50))

    assert len(one) == len(fifty)
    assert len(fifty) <= MAX_PUSH_QUERIES


def test_the_query_count_is_the_same_for_ten_contacts_and_five_thousand(
    alice, bob, capsys
):
    seed_contacts(alice, 10)
    seed_contacts(bob, 5000)

    small_response, small = measured_push(token_client(alice), b02_body())
    large_response, large = measured_push(token_client(bob), b02_body())

    assert counts(small_response) == counts(large_response) == (1, 4, 50, 0)
    assert len(small) == len(large)
    assert len(large) <= MAX_PUSH_QUERIES
    with capsys.disabled():
        print(f"\npush statements at 10 contacts: {len(small)}, at 5,000: {len(large)}")


_OWNER_EXISTS = re.compile(
    r'EXISTS\(SELECT .* FROM "contacts_user" U0 WHERE \(U0\."id" = '
    r'\("contacts_contact"\."owner_id"\) AND U0\."id" = '
)


def test_the_push_never_selects_contacts_without_a_key_in_the_where_clause(alice):
    seed_contacts(alice, 5000)

    _, statements = measured_push(token_client(alice), b02_body())

    lookup, aggregate = contact_selects(statements)
    # The lookup is a UNION of one SELECT per kind of key, the stored
    # message keys' included: each part is owner-scoped (directly, or
    # through its owner-scoped subquery) and keyed on an indexed column.
    for part in lookup.split(" UNION "):
        where = part.split(" WHERE ", 1)[1]
        assert re.search(r'"owner_id" = ', where), part
        assert _KEYED.search(where), part
    # The rescoring aggregate goes in by primary key only; the owner is
    # checked in a correlated EXISTS, which no index can serve.
    where = aggregate.split(" WHERE ", 1)[1]
    assert where.startswith('("contacts_contact"."id" IN ('), where
    assert _OWNER_EXISTS.search(where), where


def test_the_lookup_loads_only_the_rows_the_push_names_plus_backfill_candidates(
    alice, monkeypatch
):
    from linkedin import services

    seed_contacts(alice, 5000)
    loaded = []

    def spy(**kwargs):
        rows = services_lookup(**kwargs)
        loaded.append(rows)
        return rows

    services_lookup = services.contacts_for_push
    monkeypatch.setattr(services, "contacts_for_push", spy)

    push(token_client(alice), b02_body())

    ((rows, stored_keys),) = [(found.contacts, found.stored_keys) for found in loaded]
    # 4 named contacts, plus at most 10 candidates that no key names.
    assert len(rows) <= 4 + 10
    assert stored_keys == set()
    assert {"li-00", "li-01", "li-02"} <= {r.linkedin_profile_id for r in rows}
    assert "Url Only" in {r.full_name for r in rows}
