"""The per-priority bounds of /overdue, its forecast and sort=overdue change no row.

Oracle: the plain statements without bounds (filter by the cut-offs only,
same ORDER BY and slice), compared row for row on random contacts around
local-midnight and DST edges in Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.db import connection
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import selectors
from contacts.models import Contact
from contacts.selectors import (
    _last_interaction_ranges,
    _name_then_id,
    contacts_list,
    contacts_list_page,
    contacts_overdue,
    contacts_overdue_forecast,
    local_today,
    overdue_annotations,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Mornings after the spring and autumn changes and an ordinary day.
NOWS = [
    dt.datetime(2026, 3, 30, 8, 0, tzinfo=BERLIN),
    dt.datetime(2026, 10, 26, 0, 30, tzinfo=BERLIN),
    dt.datetime(2026, 7, 1, 23, 59, tzinfo=BERLIN),
]
# Instants relative to a local midnight: just before, at, just after, late.
EDGES = [
    -dt.timedelta(microseconds=1),
    dt.timedelta(0),
    dt.timedelta(microseconds=1),
    dt.timedelta(hours=1),
    dt.timedelta(hours=23, minutes=30),
]
PRIORITIES = ["high", "medium", "low", "archived"]
NAMES = ["Ann", "ann", "Bob", "", None]

contact_rows = st.lists(
    st.tuples(
        st.sampled_from(PRIORITIES),
        st.one_of(st.none(), st.integers(0, 20)),
        st.sampled_from(EDGES),
        st.sampled_from(NAMES),
    ),
    max_size=40,
)


def _plain_overdue(owner, now, limit):
    today = local_today(owner=owner, now=now)
    return (
        Contact.objects.filter(
            _last_interaction_ranges(owner=owner, today=today, offsets=(None, 0))
        )
        .annotate(**overdue_annotations(owner=owner, today=today))
        .order_by("-days_overdue", "priority_rank", *_name_then_id())[:limit]
    )


def _plain_forecast(owner, now, days, limit):
    today = local_today(owner=owner, now=now)
    return (
        Contact.objects.filter(
            _last_interaction_ranges(owner=owner, today=today, offsets=(0, days))
        )
        .annotate(**overdue_annotations(owner=owner, today=today))
        .annotate(
            days_until_overdue=F("threshold_days") - F("days_since_interaction") + 1
        )
        .order_by("days_until_overdue", "priority_rank", *_name_then_id())[:limit]
    )


def _rows(queryset, *names):
    return list(queryset.values_list("id", *names))


def _make(owner, now, rows, thresholds):
    owner.priority_high_days, owner.priority_medium_days, owner.priority_low_days = (
        thresholds
    )
    owner.time_zone = "Europe/Berlin"
    owner.save()
    Contact.objects.filter(owner=owner).delete()
    today = now.astimezone(BERLIN).date()
    Contact.objects.bulk_create(
        [
            Contact(
                id=uuid.uuid4(),
                owner=owner,
                full_name=name,
                priority_level=priority,
                last_interaction_at=(
                    None
                    if days_ago is None
                    else dt.datetime.combine(
                        today - dt.timedelta(days=days_ago), dt.time.min, BERLIN
                    )
                    + edge
                ),
            )
            for priority, days_ago, edge, name in rows
        ]
    )


COMMON = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
thresholds = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6))


@COMMON
@given(
    rows=contact_rows,
    now=st.sampled_from(NOWS),
    limits=thresholds,
    limit=st.integers(1, 12),
    days=st.integers(1, 8),
)
def test_overdue_and_forecast_equal_the_plain_statements(
    alice, bob, rows, now, limits, limit, days
):
    # Bob has the same contacts: none of his may show among Alice's.
    _make(bob, now, rows, limits)
    _make(alice, now, rows, limits)
    names = ("days_overdue", "priority_rank", "full_name")

    assert _rows(contacts_overdue(owner=alice, now=now, limit=limit), *names) == (
        _rows(_plain_overdue(alice, now, limit), *names)
    )
    assert _rows(
        contacts_overdue_forecast(owner=alice, now=now, days=days, limit=limit),
        "days_until_overdue",
        *names,
    ) == _rows(_plain_forecast(alice, now, days, limit), "days_until_overdue", *names)


@COMMON
@given(
    rows=contact_rows,
    now=st.sampled_from(NOWS),
    limits=thresholds,
    offset=st.integers(0, 45),
    size=st.integers(1, 12),
    archived_only=st.booleans(),
)
def test_the_overdue_list_page_equals_the_plain_slice(
    alice, bob, rows, now, limits, offset, size, archived_only
):
    _make(bob, now, rows, limits)
    _make(alice, now, rows, limits)
    filters = {"archived_only": "true"} if archived_only else {}
    names = ("days_overdue", "priority_rank", "full_name")

    page = contacts_list_page(
        owner=alice, filters=filters, sort="overdue", now=now, offset=offset, size=size
    )
    plain = contacts_list(owner=alice, filters=filters, sort="overdue", now=now)[
        offset : offset + size
    ]

    assert _rows(page, *names) == _rows(plain, *names)


@pytest.mark.parametrize("sort", selectors.SORTS)
def test_every_other_sort_pages_as_the_plain_slice(alice, sort):
    now = NOWS[0]
    _make(
        alice,
        now,
        [("high", i % 7, EDGES[i % 5], NAMES[i % 5]) for i in range(9)],
        (1, 2, 3),
    )

    page = contacts_list_page(
        owner=alice, filters={}, sort=sort, now=now, offset=2, size=4
    )

    assert _rows(page) == _rows(
        contacts_list(owner=alice, filters={}, sort=sort, now=now)[2:6]
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite query plan")
def test_the_overdue_list_page_is_index_ranges_on_sqlite(alice):
    page = contacts_list_page(
        owner=alice, filters={}, sort="overdue", now=NOWS[0], offset=20, size=20
    )
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [str(row[-1]) for row in cursor.fetchall()]

    assert "MULTI-INDEX OR" in plan
    assert not [line for line in plan if line.startswith("SCAN")]
    assert not [line for line in plan if "CORRELATED" in line]
    outer = [line for line in plan if line.startswith("SEARCH contacts_contact ")]
    # Three bounded ranges and four tail ranges (three NULL, one archived).
    assert len(outer) == 7
    assert all("contact_owner_priority_last" in line for line in outer)
