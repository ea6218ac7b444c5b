"""crm.compiled_sql by key: what the contact reads' keys rely on, nothing kept stale.

The cache holds SQL, never rows: new data shows at once. Its keys hold the
owner's whole row and local date; the selectors that take ``now`` must
compile to the same SQL all through one local day, which is checked here
for every sort, overdue and the forecast.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from contacts import selectors
from contacts.contact_dicts import CONTACT_COLUMNS
from contacts.models import Contact
from crm import compiled_sql
from tests.contacts.factories import API, UTC, client_for, contact, contacts_bulk

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# The first and last instants of one local day in Berlin.
DAY_START = dt.datetime(2026, 6, 30, 0, 0, 0, tzinfo=BERLIN)
DAY_END = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _empty_cache():
    compiled_sql.cache_clear()
    yield
    compiled_sql.cache_clear()


def _sql(queryset) -> tuple:
    return queryset.query.get_compiler(queryset.db).as_sql()


@pytest.fixture
def berliner(alice):
    alice.time_zone = "Europe/Berlin"
    alice.save()
    return alice


@pytest.mark.parametrize("sort", selectors.SORTS)
def test_a_plain_list_compiles_the_same_all_local_day(berliner, sort):
    def compiled(now):
        queryset = selectors.contacts_list(owner=berliner, sort=sort, now=now)
        return _sql(queryset[20:40]), _sql(queryset.order_by())

    assert compiled(DAY_START) == compiled(DAY_END)


def test_overdue_and_the_forecast_compile_the_same_all_local_day(berliner):
    def compiled(now):
        return (
            _sql(selectors.contacts_overdue(owner=berliner, now=now, limit=10)),
            _sql(
                selectors.contacts_overdue_forecast(
                    owner=berliner, now=now, days=30, limit=10
                )
            ),
        )

    assert compiled(DAY_START) == compiled(DAY_END)
    # The next local day is different SQL, so the date must be in the key.
    assert compiled(DAY_END) != compiled(DAY_END + dt.timedelta(microseconds=1))


def test_the_owner_key_changes_with_any_setting(alice):
    before = compiled_sql.owner_key(alice)
    alice.priority_high_days = 45
    assert compiled_sql.owner_key(alice) != before
    alice.priority_high_days = 30
    alice.sync_settings = {"gmail": {"auto_sync": False}}
    assert compiled_sql.owner_key(alice) != before


def _names(user, url: str, **params) -> list[str]:
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(url, params)
    assert response.status_code == 200, response.json()
    return [item["full_name"] for item in response.json()["data"]]


def test_new_and_changed_contacts_show_on_the_next_request(alice):
    with time_machine.travel(NOW, tick=False):
        first = contact(alice, "First", relationship_score=5)
    assert _names(alice, API) == ["First"]

    with time_machine.travel(NOW, tick=False):
        contact(alice, "Second", relationship_score=7)
    Contact.objects.filter(pk=first.pk).update(full_name="First Renamed")

    with time_machine.travel(NOW, tick=False):
        response = client_for(alice).get(API)
    assert [item["full_name"] for item in response.json()["data"]] == [
        "Second",
        "First Renamed",
    ]
    assert response.json()["meta"]["total"] == 2


def test_a_changed_threshold_changes_overdue_at_once(alice):
    with time_machine.travel(NOW, tick=False):
        contact(
            alice,
            "Hana",
            priority_level="high",
            last_interaction_at=NOW - dt.timedelta(days=40),
        )
    assert _names(alice, f"{API}/overdue") == ["Hana"]

    alice.priority_high_days = 60
    alice.save()
    assert _names(alice, f"{API}/overdue") == []
    assert _names(alice, f"{API}/overdue", forecast_days=30) == ["Hana"]


def test_a_changed_leap_day_setting_changes_birthdays_at_once(alice):
    # 2026 has no Feb 29: the birthday falls on Feb 28 or, with "mar1", Mar 1.
    with time_machine.travel(NOW, tick=False):
        contact(alice, "Leap", bday="02-29")
    feb_28 = dt.datetime(2026, 2, 28, 12, tzinfo=UTC)
    with time_machine.travel(feb_28, tick=False):
        response = client_for(alice).get(f"{API}/birthdays", {"days": 1})
    assert [item["full_name"] for item in response.json()["data"]] == ["Leap"]

    alice.leap_day_birthdays_on = "mar1"
    alice.save()
    with time_machine.travel(feb_28, tick=False):
        response = client_for(alice).get(f"{API}/birthdays", {"days": 1})
    assert response.json()["data"] == []


def test_filters_that_use_the_exact_time_are_not_kept_by_date(alice):
    # Last seen 29 days 23 hours before NOW: inside interaction_days=30
    # at NOW, outside it two hours later, on the same day.
    with time_machine.travel(NOW, tick=False):
        contact(
            alice,
            "Edge",
            last_interaction_at=NOW - dt.timedelta(days=29, hours=23),
        )
    later = NOW + dt.timedelta(hours=2)
    assert _names(alice, API, interaction_days=30) == ["Edge"]
    with time_machine.travel(later, tick=False):
        response = client_for(alice).get(API, {"interaction_days": 30})
    assert response.json()["data"] == []


def test_warm_and_cold_requests_send_the_same_statements(
    alice, django_assert_num_queries
):
    contacts_bulk(alice, 60, now=NOW)
    client = client_for(alice)
    cases = [
        (API, {}, 2),
        (API, {"page": 2, "page_size": 10, "sort": "birthday"}, 2),
        # Past the end: the count tells there is nothing to fetch.
        (API, {"page": 99}, 1),
        (f"{API}/birthdays", {"days": 366}, 1),
        (f"{API}/overdue", {}, 1),
        (f"{API}/overdue", {"forecast_days": 30}, 1),
    ]
    for url, params, queries in cases:
        bodies = []
        for _ in range(2):
            with (
                time_machine.travel(NOW, tick=False),
                django_assert_num_queries(queries),
            ):
                response = client.get(url, params)
            assert response.status_code == 200
            bodies.append(response.content)
        assert bodies[0] == bodies[1], (url, params)


def test_an_empty_result_set_sends_no_statement(alice, django_assert_num_queries):
    with django_assert_num_queries(0):
        rows = compiled_sql.compile_rows(
            Contact.objects.filter(pk__in=[]), CONTACT_COLUMNS
        ).dicts()
        compiled, total = compiled_sql.compile_count(Contact.objects.filter(pk__in=[]))
    assert (rows, total, compiled.fetch()) == ([], 0, 0)


def test_the_cache_keeps_the_newest_keys_only(alice, monkeypatch):
    monkeypatch.setattr(compiled_sql, "CACHE_SIZE", 2)
    builds = []

    def build(name):
        def queryset():
            builds.append(name)
            return Contact.objects.filter(owner=alice, full_name=name)

        return queryset

    for name in ("a", "b", "a", "c", "a", "b"):
        compiled_sql.cached_rows((name,), build(name), ("full_name",))

    # "a" stays (used again before "c" came); "b" was pushed out by "c".
    assert builds == ["a", "b", "c", "b"]
