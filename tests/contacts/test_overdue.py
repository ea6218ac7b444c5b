"""GET /api/v1/contacts/overdue and contacts_overdue: golden cases."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest
import time_machine
from django.db import connection

from contacts.models import FollowUpSuggestion
from contacts.scoring import contacts_rescore
from contacts.selectors import contacts_overdue
from contacts.serializers import CONTACT_FIELDS
from contacts.services import suggestions_dismiss_for_new_activity
from tests.contacts.factories import (
    API,
    UTC,
    client_for,
    contact,
    contacts_bulk,
    interaction,
)

URL = f"{API}/overdue"
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def ago(days: int, *, now: dt.datetime = NOW) -> dt.datetime:
    return now - dt.timedelta(days=days)


def overdue(user, now: dt.datetime = NOW, **params) -> list[tuple]:
    """Return (name, days_overdue, days_since_interaction, threshold) per item."""
    with time_machine.travel(now, tick=False):
        response = client_for(user).get(URL, params)
    assert response.status_code == 200, response.json()
    return [
        (
            item["full_name"],
            item["days_overdue"],
            item["days_since_interaction"],
            item["threshold_days"],
        )
        for item in response.json()["data"]
    ]


def test_b15_overdue_uses_the_newest_real_interaction_of_every_priority(alice):
    with time_machine.travel(NOW, tick=False):
        people = {}
        for name, priority in [
            ("A", "high"),
            ("B", "high"),
            ("C", "medium"),
            ("D", "low"),
            ("E", "high"),
            ("F", "archived"),
            ("G", "high"),
            ("H", "medium"),
        ]:
            people[name] = contact(alice, name, priority_level=priority)
        interaction(people["A"], ago(31))
        interaction(people["B"], ago(30))
        interaction(people["C"], ago(59))
        interaction(people["D"], ago(181))
        interaction(people["F"], ago(400))
        interaction(people["G"], ago(45))
        interaction(people["G"], ago(2), platform="call", direction="outbound")
        interaction(people["H"], dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        suggestion = FollowUpSuggestion.objects.create(owner=alice, contact=people["H"])
        backfill_started = NOW - dt.timedelta(minutes=1)
        # Today's Gmail backfill imports a message from last December.
        interaction(people["H"], dt.datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
        contacts_rescore(contacts=alice.contacts.all(), now=NOW)
        dismissed = suggestions_dismiss_for_new_activity(
            owner=alice, contact_ids=[people["H"].pk], since=backfill_started
        )

    assert overdue(alice) == [
        ("H", 61, 121, 60),
        ("A", 1, 31, 30),
        ("D", 1, 181, 180),
    ]
    people["H"].refresh_from_db()
    assert people["H"].last_interaction_at == dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert dismissed == 0
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"


@pytest.mark.parametrize(
    ("thresholds", "priority", "threshold"),
    [
        ({}, "high", 30),
        ({}, "medium", 60),
        ({}, "low", 180),
        ({"priority_high_days": 7}, "high", 7),
        ({"priority_medium_days": 14}, "medium", 14),
        ({"priority_low_days": 365}, "low", 365),
    ],
)
def test_a_contact_is_overdue_one_day_past_its_threshold_not_at_it(
    alice, thresholds, priority, threshold
):
    for name, value in thresholds.items():
        setattr(alice, name, value)
    alice.save()
    contact(alice, "At", priority_level=priority, last_interaction_at=ago(threshold))
    contact(
        alice, "Past", priority_level=priority, last_interaction_at=ago(threshold + 1)
    )
    contact(
        alice,
        "Day before",
        priority_level=priority,
        last_interaction_at=ago(threshold - 1),
    )

    assert overdue(alice) == [("Past", 1, threshold + 1, threshold)]


def test_the_day_count_is_between_calendar_days_not_24_hour_spans(alice):
    # 30 days and 11 hours ago, but 31 calendar days: 2026-05-30 23:00 UTC.
    contact(
        alice,
        "Late evening",
        priority_level="high",
        last_interaction_at=dt.datetime(2026, 5, 30, 23, 0, tzinfo=UTC),
    )

    assert overdue(alice) == [("Late evening", 1, 31, 30)]


@pytest.fixture
def late_may(alice):
    """P and Q: last heard from 30 UTC days before NOW_TZ, at different hours."""
    contact(
        alice,
        "P",
        priority_level="high",
        last_interaction_at=dt.datetime(2026, 5, 31, 11, 0, tzinfo=UTC),
    )
    contact(
        alice,
        "Q",
        priority_level="high",
        last_interaction_at=dt.datetime(2026, 5, 31, 5, 0, tzinfo=UTC),
    )
    return alice


NOW_TZ = dt.datetime(2026, 6, 30, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        # Today 06-30; P and Q both on 05-31: 30 days.
        ("UTC", []),
        # Today is already 07-01 (UTC+12); P 05-31 23:00, Q 05-31 17:00.
        ("Pacific/Auckland", [("P", 1, 31, 30), ("Q", 1, 31, 30)]),
        # Today 06-30 (UTC-7); P 05-31 04:00 local, Q 05-30 22:00 local.
        ("America/Los_Angeles", [("Q", 1, 31, 30)]),
    ],
)
def test_days_are_counted_in_the_users_time_zone(late_may, time_zone, expected):
    late_may.time_zone = time_zone
    late_may.save()

    assert overdue(late_may, NOW_TZ) == expected


def test_archived_and_never_contacted_contacts_are_never_overdue(alice):
    contact(alice, "Archived", priority_level="archived", last_interaction_at=ago(900))
    contact(alice, "Never", priority_level="high")
    contact(alice, "Future", priority_level="high", last_interaction_at=ago(-5))

    assert overdue(alice) == []


def test_ties_go_high_before_medium_before_low_then_name_then_id(alice):
    contact(alice, "Low", priority_level="low", last_interaction_at=ago(185))
    contact(alice, "Medium", priority_level="medium", last_interaction_at=ago(65))
    zed = [
        contact(alice, "Zed", priority_level="high", last_interaction_at=ago(35))
        for _ in range(2)
    ]
    contact(alice, "Amy", priority_level="high", last_interaction_at=ago(35))
    contact(alice, "Most", priority_level="low", last_interaction_at=ago(200))

    with time_machine.travel(NOW, tick=False):
        data = client_for(alice).get(URL).json()["data"]

    assert [(i["full_name"], i["days_overdue"]) for i in data] == [
        ("Most", 20),
        ("Amy", 5),
        ("Zed", 5),
        ("Zed", 5),
        ("Medium", 5),
        ("Low", 5),
    ]
    assert [i["id"] for i in data[2:4]] == sorted(str(c.pk) for c in zed)


def test_an_item_is_a_contact_response_with_the_overdue_figures(alice):
    contact(alice, "A", priority_level="high", last_interaction_at=ago(31))

    with time_machine.travel(NOW, tick=False):
        (item,) = client_for(alice).get(URL).json()["data"]

    assert list(item) == [
        *CONTACT_FIELDS,
        "days_overdue",
        "days_since_interaction",
        "threshold_days",
    ]
    assert item["last_interaction_at"] == "2026-05-30T12:00:00Z"


def test_limit_defaults_to_ten_and_keeps_the_most_overdue(alice):
    for days in range(31, 43):
        contact(alice, f"D{days}", priority_level="high", last_interaction_at=ago(days))

    assert len(overdue(alice)) == 10
    assert [name for name, *_ in overdue(alice, limit=2)] == ["D42", "D41"]


@pytest.fixture
def forecast_people(alice):
    contact(alice, "Overdue", priority_level="high", last_interaction_at=ago(31))
    contact(alice, "Tomorrow", priority_level="high", last_interaction_at=ago(30))
    contact(alice, "High 25", priority_level="high", last_interaction_at=ago(25))
    contact(alice, "Medium 55", priority_level="medium", last_interaction_at=ago(55))
    contact(alice, "Low 100", priority_level="low", last_interaction_at=ago(100))
    contact(alice, "Never", priority_level="high")
    contact(alice, "Archived", priority_level="archived", last_interaction_at=ago(1))
    return alice


def forecast(user, days: int) -> list[tuple]:
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(URL, {"forecast_days": days})
    assert response.status_code == 200, response.json()
    return [
        (
            item["full_name"],
            item["overdue_on"],
            item["days_until_overdue"],
            item["threshold_days"],
            item["last_interaction_at"][:10],
        )
        for item in response.json()["data"]
    ]


def test_the_forecast_lists_who_becomes_overdue_soon_and_when(forecast_people):
    assert forecast(forecast_people, 7) == [
        ("Tomorrow", "2026-07-01", 1, 30, "2026-05-31"),
        ("High 25", "2026-07-06", 6, 30, "2026-06-05"),
        ("Medium 55", "2026-07-06", 6, 60, "2026-05-06"),
    ]


def test_the_forecast_window_ends_on_its_last_day(forecast_people):
    assert [name for name, *_ in forecast(forecast_people, 5)] == ["Tomorrow"]
    assert [name for name, *_ in forecast(forecast_people, 6)] == [
        "Tomorrow",
        "High 25",
        "Medium 55",
    ]
    # Low 100 is overdue after 180 days: on day 81.
    assert forecast(forecast_people, 90)[-1] == (
        "Low 100",
        "2026-09-19",
        81,
        180,
        "2026-03-22",
    )
    assert len(forecast(forecast_people, 80)) == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 51}, "limit: Ensure this value is less than or equal to 50."),
        ({"limit": 0}, "limit: Ensure this value is greater than or equal to 1."),
        (
            {"forecast_days": 91},
            "forecast_days: Ensure this value is less than or equal to 90.",
        ),
        (
            {"forecast_days": 0},
            "forecast_days: Ensure this value is greater than or equal to 1.",
        ),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(alice, params, message):
    response = client_for(alice).get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize(
    "time_zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata"]
)
def test_the_sql_agrees_with_a_plain_python_count(alice, time_zone):
    # Mid-March: the window crosses the US and NZ daylight-saving changes.
    now = dt.datetime(2026, 3, 20, 6, 30, tzinfo=UTC)
    alice.time_zone = time_zone
    alice.priority_high_days, alice.priority_medium_days = 10, 45
    alice.save()
    rng = random.Random(11)
    rows = []
    for i in range(200):
        priority = rng.choice(["high", "medium", "low"])
        last = now - dt.timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        contact(alice, f"P{i:03d}", priority_level=priority, last_interaction_at=last)
        rows.append((f"P{i:03d}", priority, last))

    tz = zoneinfo.ZoneInfo(time_zone)
    today = now.astimezone(tz).date()
    rank = {"high": 0, "medium": 1, "low": 2}
    expected = []
    for name, priority, last in rows:
        threshold = alice.priority_thresholds[priority]
        since = (today - last.astimezone(tz).date()).days
        if since > threshold:
            expected.append((-(since - threshold), rank[priority], name))
    got = [
        (-c.days_overdue, c.priority_rank, c.full_name)
        for c in contacts_overdue(owner=alice, now=now, limit=1000)
    ]

    assert got == sorted(expected)


@pytest.mark.parametrize("size", [20, 2000])
@pytest.mark.parametrize("params", [{}, {"forecast_days": 30}])
def test_the_endpoint_costs_one_query_at_any_size(
    alice, size, params, django_assert_num_queries
):
    contacts_bulk(alice, size, now=NOW)
    client = client_for(alice)

    with time_machine.travel(NOW, tick=False), django_assert_num_queries(1):
        response = client.get(URL, {**params, "limit": 50})

    assert response.status_code == 200
    assert response["X-Query-Count"] == "1"
    assert response.json()["data"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite query plan")
def test_the_cut_offs_are_index_range_scans_on_sqlite(alice):
    sql, params = contacts_overdue(owner=alice, now=NOW).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [str(row[-1]) for row in cursor.fetchall()]

    searches = [line for line in plan if line.startswith("SEARCH")]
    # Per priority: the bound's subquery (covering) and the bounded range.
    assert len(searches) == 6
    assert all("contact_owner_priority_last" in line for line in searches)
    assert len([line for line in searches if "COVERING" in line]) == 3
    assert not [line for line in plan if line.startswith("SCAN")]
    # The bound is computed once, not per row.
    assert not [line for line in plan if "CORRELATED" in line]
