"""GET /api/v1/contacts/stats, /tags and /ids."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.contacts.factories import (
    API,
    UTC,
    client_for,
    contact,
    contacts_bulk,
    interaction,
)

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def get(user, path: str, **params):
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(f"{API}{path}", params)
    assert response.status_code == 200, response.json()
    return response.json()


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def test_stats_count_tiers_of_active_contacts_and_two_weeks_of_interactions(alice):
    a = contact(alice, "A", relationship_score=9)
    b = contact(alice, "B", relationship_score=8)
    c = contact(alice, "C", relationship_score=5)
    d = contact(alice, "D", relationship_score=4)
    contact(alice, "E", relationship_score=3)
    contact(alice, "F", relationship_score=0)
    archived = contact(alice, "Arch", relationship_score=10, priority_level="archived")
    interaction(a, days_ago(1))
    interaction(a, days_ago(6), direction="outbound")
    interaction(a, days_ago(2), direction="event", platform="twitter")
    interaction(a, days_ago(-3), direction="mutual", platform="meeting")
    interaction(b, days_ago(7))
    interaction(c, days_ago(8))
    interaction(c, days_ago(10))
    interaction(archived, days_ago(13))
    interaction(d, days_ago(14))
    interaction(d, days_ago(15))

    body = get(alice, "/stats")

    assert body == {
        "data": {
            "total": 6,
            "strong": 2,
            "active": 2,
            "dormant": 2,
            # 1 and 6 days ago, and exactly 7 days ago; not the bio change,
            # not next week's meeting.
            "interactions_this_week": 3,
            # 8, 10, 13 (an archived contact's) and exactly 14 days ago.
            "interactions_last_week": 4,
            "active_last_week": 3,
        },
        "error": None,
        "meta": None,
    }


def test_stats_of_a_user_without_contacts_are_zeros(alice):
    assert get(alice, "/stats")["data"] == {
        "total": 0,
        "strong": 0,
        "active": 0,
        "dormant": 0,
        "interactions_this_week": 0,
        "interactions_last_week": 0,
        "active_last_week": 0,
    }


def test_tags_are_distinct_lower_case_by_code_point_archived_included(alice):
    contact(alice, "One", tags=["VIP", "zebra", "ab"])
    contact(alice, "Two", tags=["vip", "émigré"])
    contact(alice, "Archived", tags=["a-b"], priority_level="archived")
    contact(alice, "Untagged")

    assert get(alice, "/tags") == {
        "data": ["a-b", "ab", "vip", "zebra", "émigré"],
        "error": None,
        "meta": None,
    }


def test_tags_follow_an_edit_of_the_list(alice):
    made = contact(alice, "One", tags=["old"])

    client_for(alice).patch(f"{API}/{made.pk}", {"tags": ["New"]}, format="json")

    assert get(alice, "/tags")["data"] == ["new"]


def test_ids_are_every_match_of_the_list_filters_without_pages(alice):
    made = [contact(alice, f"Vip {i}", tags=["vip"]) for i in range(130)]
    contact(alice, "Plain")
    contact(alice, "Archived vip", tags=["vip"], priority_level="archived")

    body = get(alice, "/ids", tag="vip")

    assert body["meta"] is None
    assert sorted(body["data"]) == sorted(str(c.pk) for c in made)


def test_ids_take_archived_only_like_the_list(alice):
    archived = contact(alice, "Archived", priority_level="archived")
    contact(alice, "Active")

    assert get(alice, "/ids", archived_only="true")["data"] == [str(archived.pk)]


def test_ids_refuse_a_bad_filter_with_a_400_naming_it(alice):
    response = client_for(alice).get(f"{API}/ids", {"date_to": "yesterday"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "date_to: use the form YYYY-MM-DD"


@pytest.mark.parametrize("size", [20, 2000])
@pytest.mark.parametrize(
    ("path", "params", "queries"),
    [
        ("/stats", {}, 2),
        ("/tags", {}, 1),
        ("/ids", {}, 1),
        ("/ids", {"search": "person", "score": "strong"}, 1),
    ],
)
def test_each_endpoint_costs_the_same_queries_at_any_size(
    alice, size, path, params, queries, django_assert_num_queries
):
    contacts_bulk(alice, size, now=NOW)
    client = client_for(alice)

    with time_machine.travel(NOW, tick=False), django_assert_num_queries(queries):
        response = client.get(f"{API}{path}", params)

    assert response.status_code == 200
    assert response["X-Query-Count"] == str(queries)
    assert response.json()["data"]
