"""bob's contacts never reach alice: 404 on every id, absent from every list."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from contacts.models import Contact
from tests.contacts.factories import API, UTC, client_for, contact, interaction

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def bobs(bob):
    """bob's contact: overdue, birthday today, tagged, recent activity."""
    with time_machine.travel(NOW, tick=False):
        theirs = contact(
            bob,
            "Shared Name",
            emails=["shared@example.com"],
            tags=["secret"],
            bday="06-30",
            priority_level="high",
            relationship_score=9,
            last_interaction_at=NOW - dt.timedelta(days=90),
        )
        interaction(theirs, NOW - dt.timedelta(days=1))
    return theirs


@pytest.fixture
def alices(alice):
    with time_machine.travel(NOW, tick=False):
        return contact(alice, "Alice's Own")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"full_name": "Taken"}),
        ("patch", "", {"full_name": "Taken"}),
        ("delete", "", None),
        ("get", "/activity", None),
    ],
)
def test_bobs_contact_is_a_404_for_alice_on_every_endpoint(
    alice, bobs, method, suffix, body
):
    client = client_for(alice)

    response = getattr(client, method)(f"{API}/{bobs.pk}{suffix}", body, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    bobs.refresh_from_db()
    assert bobs.full_name == "Shared Name"


def get(user, path: str, **params) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(f"{API}{path}", params)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    ("params", "alice_matches"),
    [
        ({}, True),
        ({"sort": "birthday"}, True),
        ({"sort": "overdue"}, True),
        ({"search": "Shared"}, False),
        ({"search": "shared@example.com"}, False),
        ({"tag": "secret"}, False),
        ({"score": "strong"}, False),
    ],
)
def test_bobs_contact_never_appears_in_alices_list_or_ids(
    alice, alices, bobs, params, alice_matches
):
    expected = [str(alices.pk)] if alice_matches else []

    assert [c["id"] for c in get(alice, "", **params)["data"]] == expected
    assert get(alice, "/ids", **params)["data"] == expected


def test_bobs_contact_counts_nowhere_in_alices_stats_tags_birthdays_overdue(
    alice, alices, bobs
):
    assert get(alice, "/stats")["data"] == {
        "total": 1,
        "strong": 0,
        "active": 0,
        "dormant": 1,
        "interactions_this_week": 0,
        "interactions_last_week": 0,
        "active_last_week": 0,
    }
    assert get(alice, "/tags")["data"] == []
    assert get(alice, "/birthdays")["data"] == []
    assert get(alice, "/overdue")["data"] == []
    assert get(alice, "/overdue", forecast_days=90)["data"] == []


def test_bob_still_sees_his_own_contact_everywhere(bob, bobs):
    assert [c["full_name"] for c in get(bob, "/birthdays")["data"]] == ["Shared Name"]
    assert [c["full_name"] for c in get(bob, "/overdue")["data"]] == ["Shared Name"]
    assert get(bob, "/tags")["data"] == ["secret"]
    assert get(bob, "/stats")["data"]["interactions_this_week"] == 1


def test_recalculating_alices_scores_leaves_bobs_alone(alice, alices, bobs):
    with time_machine.travel(NOW, tick=False):
        response = client_for(alice).post(f"{API}/scores/recalculate")

    assert response.json()["data"]["updated"] == 1
    assert Contact.objects.get(pk=bobs.pk).relationship_score == 9
