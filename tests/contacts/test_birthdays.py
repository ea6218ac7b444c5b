"""GET /api/v1/contacts/birthdays and contacts_upcoming_birthdays: golden cases."""

from __future__ import annotations

import calendar
import datetime as dt
import random

import pytest
import time_machine
from django.db import connection

from contacts.models import LEAP_DAY_MAR1, Contact
from contacts.selectors import contacts_upcoming_birthdays
from tests.contacts.factories import API, UTC, client_for, contact, contacts_bulk

URL = f"{API}/birthdays"


def upcoming(user, now: dt.datetime, **params) -> list[tuple]:
    """Return (name, days_until, next_birthday, age or None) per item."""
    with time_machine.travel(now, tick=False):
        response = client_for(user).get(URL, params)
    assert response.status_code == 200, response.json()
    return [
        (
            item["full_name"],
            item["days_until_birthday"],
            item["next_birthday"],
            item.get("age"),
        )
        for item in response.json()["data"]
    ]


def noon(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, 0, tzinfo=UTC)


@pytest.fixture
def b08(alice):
    """The contacts of known bug B08."""
    contact(alice, "X", bday="2000-02-29")
    contact(alice, "Y", bday="12-30")
    contact(alice, "Z", bday="1985-01-02")
    contact(alice, "W", bday="1990-12-28")
    return alice


def test_a_birthday_today_is_zero_days_away(alice):
    contact(alice, "Today", bday="1990-05-10")
    contact(alice, "Tomorrow", bday="05-11")

    assert upcoming(alice, noon(2026, 5, 10)) == [
        ("Today", 0, "2026-05-10", 36),
        ("Tomorrow", 1, "2026-05-11", None),
    ]


def test_the_window_wraps_from_december_into_january(alice):
    contact(alice, "Dec 31", bday="1980-12-31")
    contact(alice, "Jan 1", bday="01-01")
    contact(alice, "Jan 6", bday="1999-01-06")

    # Dec 30 + 7 days is Dec 30..Jan 5: Jan 6 is the 8th day.
    assert upcoming(alice, noon(2026, 12, 30)) == [
        ("Dec 31", 1, "2026-12-31", 46),
        ("Jan 1", 2, "2027-01-01", None),
    ]


def test_b08a_a_leap_day_birthday_falls_on_feb_28_in_a_non_leap_year(b08):
    assert upcoming(b08, noon(2027, 2, 26)) == [("X", 2, "2027-02-28", 27)]


def test_b08a_a_leap_day_birthday_falls_on_mar_1_when_the_user_chose_it(b08):
    b08.leap_day_birthdays_on = LEAP_DAY_MAR1
    b08.save()

    assert upcoming(b08, noon(2027, 2, 26)) == [("X", 3, "2027-03-01", 27)]


def test_b08b_a_leap_day_birthday_is_on_feb_29_in_a_leap_year(b08):
    assert upcoming(b08, noon(2028, 2, 26)) == [("X", 3, "2028-02-29", 28)]


def test_b08c_late_december_shows_early_january_and_not_what_has_passed(b08):
    # W (Dec 28) has passed; its next date, 2027-12-28, is out of the window.
    assert upcoming(b08, noon(2026, 12, 29)) == [
        ("Y", 1, "2026-12-30", None),
        ("Z", 4, "2027-01-02", 42),
    ]


def test_a_leap_day_birthday_is_today_on_feb_28_of_a_non_leap_year(alice):
    contact(alice, "Leap", bday="02-29")

    assert upcoming(alice, noon(2027, 2, 28)) == [("Leap", 0, "2027-02-28", None)]


def test_a_leap_day_birthday_moved_to_mar_1_is_tomorrow_on_feb_28(alice):
    alice.leap_day_birthdays_on = LEAP_DAY_MAR1
    alice.save()
    contact(alice, "Leap", bday="02-29")

    assert upcoming(alice, noon(2027, 2, 28)) == [("Leap", 1, "2027-03-01", None)]


def test_a_leap_day_birthday_passed_on_feb_28_comes_next_in_the_leap_year(alice):
    contact(alice, "Leap", bday="1996-02-29")

    # 2027-03-01: Feb 28 has passed; the next one is 2028-02-29, 365 days on.
    assert upcoming(alice, noon(2027, 3, 1), days=366) == [
        ("Leap", 365, "2028-02-29", 32)
    ]


def test_b09a_today_is_the_users_date_in_auckland_already_tomorrow_in_utc(alice):
    alice.time_zone = "Pacific/Auckland"
    alice.save()
    contact(alice, "Jan 15", bday="01-15")

    now = dt.datetime(2027, 1, 14, 12, 30, tzinfo=UTC)  # 01-15 01:30 in Auckland
    assert upcoming(alice, now) == [("Jan 15", 0, "2027-01-15", None)]


def test_b09b_today_is_the_users_date_in_los_angeles_still_yesterday_in_utc(alice):
    alice.time_zone = "America/Los_Angeles"
    alice.save()
    contact(alice, "Jan 15", bday="01-15")

    now = dt.datetime(2027, 1, 15, 5, 0, tzinfo=UTC)  # 01-14 21:00 in LA
    assert upcoming(alice, now) == [("Jan 15", 1, "2027-01-15", None)]


def test_birthdays_without_a_year_count_and_show_no_age(alice):
    contact(alice, "No year", bday="06-02")
    contact(alice, "With year", bday="2001-06-03")

    with time_machine.travel(noon(2026, 6, 1), tick=False):
        data = client_for(alice).get(URL).json()["data"]

    assert [(item["full_name"], item["birthday"]) for item in data] == [
        ("No year", "06-02"),
        ("With year", "2001-06-03"),
    ]
    assert "age" not in data[0]
    assert data[1]["age"] == 25


def test_archived_contacts_and_text_only_birthdays_never_appear(alice):
    contact(alice, "Archived", bday="1990-06-02", priority_level="archived")
    contact(alice, "Text only", birthday_text="early June")
    contact(alice, "Kept", bday="06-03")

    assert upcoming(alice, noon(2026, 6, 1)) == [("Kept", 2, "2026-06-03", None)]


def test_ties_are_ordered_by_name_then_id(alice):
    cats = [contact(alice, "Cat", bday="07-04") for _ in range(3)]
    contact(alice, "Bea", bday="07-04")
    contact(alice, "Ann", bday="07-04")
    contact(alice, None, bday="07-04", emails=["nameless@example.com"])

    with time_machine.travel(noon(2026, 7, 1), tick=False):
        data = client_for(alice).get(URL).json()["data"]

    cat_ids = sorted(str(c.pk) for c in cats)
    assert [(item["full_name"], item["days_until_birthday"]) for item in data] == [
        ("Ann", 3),
        ("Bea", 3),
        ("Cat", 3),
        ("Cat", 3),
        ("Cat", 3),
        (None, 3),
    ]
    assert [item["id"] for item in data[2:5]] == cat_ids


def test_days_widens_the_window_up_to_a_whole_year(alice):
    contact(alice, "Yesterday", bday="03-14")
    contact(alice, "In a week", bday="03-22")

    now = noon(2027, 3, 15)
    assert upcoming(alice, now, days=366) == [
        ("In a week", 7, "2027-03-22", None),
        ("Yesterday", 365, "2028-03-14", None),
    ]
    assert upcoming(alice, now, days=365) == [("In a week", 7, "2027-03-22", None)]
    assert upcoming(alice, now, days=7) == []
    assert upcoming(alice, now, days=8) == [("In a week", 7, "2027-03-22", None)]


def test_limit_keeps_the_soonest(alice):
    for day in range(1, 8):
        contact(alice, f"Day {day}", bday=f"08-{day:02d}")

    got = upcoming(alice, noon(2026, 8, 1), limit=3)
    assert [name for name, *_ in got] == ["Day 1", "Day 2", "Day 3"]
    assert len(upcoming(alice, noon(2026, 8, 1))) == 7


def test_at_most_ten_birthdays_are_listed_by_default(alice):
    for i in range(12):
        contact(alice, f"P{i:02d}", bday="09-01")

    assert len(upcoming(alice, noon(2026, 9, 1))) == 10


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days": 0}, "days: Ensure this value is greater than or equal to 1."),
        ({"days": 367}, "days: Ensure this value is less than or equal to 366."),
        ({"days": "soon"}, "days: A valid integer is required."),
        ({"limit": 51}, "limit: Ensure this value is less than or equal to 50."),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(alice, params, message):
    response = client_for(alice).get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["error"]["message"] == message


def test_the_selector_refuses_a_window_outside_1_to_366(alice):
    with pytest.raises(ValueError, match=r"days must be 1\.\.366"):
        contacts_upcoming_birthdays(owner=alice, today=dt.date(2026, 1, 1), days=0)


@pytest.mark.parametrize("size", [20, 2000])
def test_the_endpoint_costs_one_query_at_any_size(
    alice, size, django_assert_num_queries
):
    now = noon(2026, 1, 1)
    contacts_bulk(alice, size, now=now)
    client = client_for(alice)

    with time_machine.travel(now, tick=False), django_assert_num_queries(1):
        response = client.get(URL, {"days": 366, "limit": 50})

    assert response.status_code == 200
    assert response["X-Query-Count"] == "1"
    # A quarter of the bulk contacts have a birthday and are not archived.
    assert len(response.json()["data"]) == (5 if size == 20 else 50)


def _oracle_next(birthday: dt.date, today: dt.date, policy: str) -> dt.date:
    """Return the next birthday on or after today, the slow obvious way."""
    for year in range(today.year, today.year + 3):
        if (birthday.month, birthday.day) == (2, 29) and not calendar.isleap(year):
            day = (
                dt.date(year, 3, 1) if policy == LEAP_DAY_MAR1 else dt.date(year, 2, 28)
            )
        else:
            day = dt.date(year, birthday.month, birthday.day)
        if day >= today:
            return day
    raise AssertionError("unreachable")


@pytest.mark.parametrize("policy", ["feb28", LEAP_DAY_MAR1])
def test_the_sql_agrees_with_a_plain_python_count_on_every_kind_of_day(alice, policy):
    alice.leap_day_birthdays_on = policy
    alice.save()
    rng = random.Random(7)
    births = [dt.date(1992, 2, 29), dt.date(1604, 2, 28), dt.date(1604, 3, 1)]
    births += [dt.date(1604, 12, 31), dt.date(1990, 1, 1)]
    births += [
        dt.date(1604, 1, 1) + dt.timedelta(days=rng.randrange(366)) for _ in range(150)
    ]
    for i, born in enumerate(births):
        contact(
            alice,
            f"P{i:03d}",
            birthday=born,
            birthday_year_known=born.year != 1604,
        )
    todays = [
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 27),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 1),
        dt.date(2028, 2, 28),
        dt.date(2028, 2, 29),
        dt.date(2028, 3, 1),
        dt.date(2026, 12, 31),
        dt.date(2027, 6, 15),
    ]

    for today in todays:
        for days in (1, 7, 31, 365, 366):
            expected = sorted(
                ((_oracle_next(b, today, policy) - today).days, f"P{i:03d}")
                for i, b in enumerate(births)
                if (_oracle_next(b, today, policy) - today).days < days
            )
            got = [
                (c.birthday_days_until, c.full_name)
                for c in contacts_upcoming_birthdays(
                    owner=alice, today=today, days=days, limit=1000
                )
            ]
            assert got == expected, (today, days)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite query plan")
def test_the_window_is_an_index_range_scan_on_sqlite(alice):
    query = contacts_upcoming_birthdays(
        owner=alice, today=dt.date(2026, 12, 29), days=7
    ).query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())

    assert "contact_owner_bday" in plan
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", "")
    assert Contact.objects.count() == 0
