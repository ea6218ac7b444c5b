"""Create, read, update, delete a contact; its activity; rescoring on demand."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from contacts.models import Contact, ContactEmail, ContactTag
from tests.contacts.factories import API, UTC, client_for, contact, interaction

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def detail(made: Contact) -> str:
    return f"{API}/{made.pk}"


# --- create, read, delete ---------------------------------------------------------


def test_a_created_contact_comes_back_normalised_with_its_lookup_rows(alice):
    response = client_for(alice).post(
        API,
        {
            "full_name": "Ada Lovelace",
            "emails": ["Ada@Example.com"],
            "tags": ["VIP", "vip", "Friend"],
            "company": "  ",
            "telegram_username": " @Ada_L ",
            "birthday": "12-10",
            "priority_level": "high",
        },
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["full_name"] == "Ada Lovelace"
    assert data["tags"] == ["vip", "friend"]
    assert data["company"] is None
    assert data["telegram_username"] == "ada_l"
    assert data["birthday"] == "12-10"
    assert data["priority_level"] == "high"
    assert data["user_id"] == str(alice.pk)
    assert data["user_edited_fields"] == []
    made = Contact.objects.get(pk=data["id"])
    assert (made.birthday, made.birthday_year_known) == (dt.date(1604, 12, 10), False)
    assert list(
        ContactEmail.objects.filter(contact=made).values_list("address", flat=True)
    ) == ["ada@example.com"]
    assert sorted(
        ContactTag.objects.filter(contact=made).values_list("name", flat=True)
    ) == [
        "friend",
        "vip",
    ]


def test_a_contact_is_read_by_its_id(alice):
    made = contact(alice, "Ada", bday="1815-12-10")

    response = client_for(alice).get(detail(made))

    assert response.status_code == 200
    assert response.json()["data"]["birthday"] == "1815-12-10"
    assert response.json()["meta"] is None


def test_an_unknown_id_is_an_enveloped_404(alice):
    response = client_for(alice).get(f"{API}/0d2a61f5-8c89-4c2e-9f4e-b1d4f1b0c001")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_deleted_contact_is_gone(alice):
    made = contact(alice, "Ada", emails=["ada@example.com"])
    client = client_for(alice)

    response = client.delete(detail(made))

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(detail(made)).status_code == 404
    assert not ContactEmail.objects.filter(address="ada@example.com").exists()


# --- updates ------------------------------------------------------------------------


def test_a_users_update_records_the_fields_a_sync_must_leave_alone(alice):
    made = contact(alice, "Ada", company="Old", tags=["old"])
    client = client_for(alice)

    first = client.put(
        detail(made),
        {"company": "Old", "notes": "met at a ball", "priority_level": "high"},
        format="json",
    )
    second = client.patch(detail(made), {"tags": ["Math", "math"]}, format="json")

    assert first.status_code == 200
    # The unchanged company counts too; priority is not a synced field.
    assert first.json()["data"]["user_edited_fields"] == ["company", "notes"]
    assert second.json()["data"]["user_edited_fields"] == ["company", "notes", "tags"]
    assert second.json()["data"]["tags"] == ["math"]
    assert second.json()["data"]["notes"] == "met at a ball"
    assert list(
        ContactTag.objects.filter(contact=made).values_list("name", flat=True)
    ) == ["math"]


def test_b09d_a_birthday_reads_back_as_written_whatever_the_time_zone(alice):
    made = contact(alice, "Ada")
    alice.time_zone = "America/Los_Angeles"
    alice.save()
    client = client_for(alice)

    with time_machine.travel(dt.datetime(2026, 10, 29, 7, 30, tzinfo=UTC), tick=False):
        put = client.put(detail(made), {"birthday": "1990-10-29"}, format="json")
    alice.time_zone = "Asia/Tokyo"
    alice.save()
    with time_machine.travel(dt.datetime(2026, 10, 29, 20, 30, tzinfo=UTC), tick=False):
        got = client.get(detail(made))

    assert put.json()["data"]["birthday"] == "1990-10-29"
    assert got.json()["data"]["birthday"] == "1990-10-29"
    assert put.json()["data"]["user_edited_fields"] == ["birthday"]


@pytest.mark.parametrize(
    ("sent", "stored", "year_known"),
    [
        ("1990-10-29", dt.date(1990, 10, 29), True),
        ("02-29", dt.date(1604, 2, 29), False),
        ("2000-02-29", dt.date(2000, 2, 29), True),
        (None, None, True),
        ("", None, True),
    ],
)
def test_a_birthday_is_written_as_a_date_with_or_without_a_year(
    alice, sent, stored, year_known
):
    made = contact(alice, "Ada", bday="03-03")

    response = client_for(alice).patch(detail(made), {"birthday": sent}, format="json")

    assert response.status_code == 200
    made.refresh_from_db()
    assert (made.birthday, made.birthday_year_known) == (stored, year_known)
    assert response.json()["data"]["birthday"] == (sent or None)


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("1990-02-30", "birthday: '1990-02-30': day 30 does not exist in month 2"),
        ("2023-02-29", "birthday: '2023-02-29': 2023 is not a leap year"),
        ("13-01", "birthday: '13-01': month 13 is not between 1 and 12"),
        (
            "1990/10/29",
            "birthday: '1990/10/29': use YYYY-MM-DD, or MM-DD when the year is unknown",
        ),
        (19901029, "birthday: use YYYY-MM-DD, or MM-DD without a year"),
    ],
)
def test_an_impossible_birthday_is_a_400_naming_the_field(alice, sent, message):
    made = contact(alice, "Ada", bday="03-03")

    response = client_for(alice).put(detail(made), {"birthday": sent}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    made.refresh_from_db()
    assert made.birthday == dt.date(1604, 3, 3)


def test_a_bad_email_or_priority_is_a_400(alice):
    made = contact(alice, "Ada")
    client = client_for(alice)

    bad_email = client.patch(
        detail(made), {"emails": ["not an address"]}, format="json"
    )
    bad_priority = client.patch(
        detail(made), {"priority_level": "urgent"}, format="json"
    )

    assert bad_email.status_code == 400
    assert (
        bad_email.json()["error"]["message"]
        == "emails: 0: Enter a valid email address."
    )
    assert bad_priority.status_code == 400
    assert bad_priority.json()["error"]["message"] == (
        'priority_level: "urgent" is not a valid choice.'
    )


def test_an_anonymous_write_is_401(alice):
    from rest_framework.test import APIClient

    made = contact(alice, "Ada")

    assert APIClient().post(API, {"full_name": "X"}, format="json").status_code == 401
    assert APIClient().delete(detail(made)).status_code == 401


# --- activity, rescoring --------------------------------------------------------------


@pytest.fixture
def talked(alice):
    made = contact(alice, "Ada")
    interaction(made, NOW - dt.timedelta(days=5))
    interaction(
        made, NOW - dt.timedelta(days=10), direction="outbound", platform="telegram"
    )
    interaction(made, dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    interaction(made, dt.datetime(2024, 6, 15, 12, 0, tzinfo=UTC), direction="outbound")
    interaction(made, NOW - dt.timedelta(days=3), direction="event", platform="twitter")
    interaction(
        made, NOW + dt.timedelta(days=2), direction="mutual", platform="meeting"
    )
    return made


def test_activity_gives_the_score_breakdown_stats_and_six_months(alice, talked):
    with time_machine.travel(NOW, tick=False):
        response = client_for(alice).get(f"{detail(talked)}/activity")

    assert response.status_code == 200
    assert response.json()["data"] == {
        # reciprocity 2 (2 in / 1.02 out), recency 3, frequency 0, breadth 1
        "score": 6,
        "dimensions": {
            "reciprocity": {"value": 2, "max": 4},
            "recency": {"value": 3, "max": 3},
            "frequency": {"value": 0, "max": 2},
            "breadth": {"value": 1, "max": 1},
            "tenure": {"value": 0, "max": 2},
        },
        "stats": {
            "inbound_365d": 2,
            "outbound_365d": 1,
            "count_30d": 2,
            "count_90d": 2,
            "platforms": ["email", "telegram"],
            "interaction_count": 4,
            "first_interaction_at": "2024-06-15T12:00:00Z",
        },
        "monthly_trend": [
            {"month": "2026-01", "count": 1},
            {"month": "2026-02", "count": 0},
            {"month": "2026-03", "count": 0},
            {"month": "2026-04", "count": 0},
            {"month": "2026-05", "count": 0},
            {"month": "2026-06", "count": 2},
        ],
    }


def test_activity_without_interactions_has_no_first_interaction(alice):
    made = contact(alice, "Ada")

    with time_machine.travel(NOW, tick=False):
        data = client_for(alice).get(f"{detail(made)}/activity").json()["data"]

    assert data["score"] == 0
    assert data["stats"]["first_interaction_at"] is None
    assert data["stats"]["platforms"] == []
    assert [m["count"] for m in data["monthly_trend"]] == [0] * 6


def test_the_monthly_trend_uses_the_users_months(alice):
    made = contact(alice, "Ada")
    # 2026-06-01 08:00 in Auckland, still May in UTC.
    interaction(made, dt.datetime(2026, 5, 31, 20, 0, tzinfo=UTC))

    def trend():
        with time_machine.travel(NOW, tick=False):
            data = client_for(alice).get(f"{detail(made)}/activity").json()["data"]
        return {m["month"]: m["count"] for m in data["monthly_trend"] if m["count"]}

    assert trend() == {"2026-05": 1}
    alice.time_zone = "Pacific/Auckland"
    alice.save()
    assert trend() == {"2026-06": 1}


def test_recalculate_rescores_every_contact_of_the_user(alice, talked):
    contact(alice, "Stale", relationship_score=7, interaction_count=3)
    contact(alice, "Quiet")

    with time_machine.travel(NOW, tick=False):
        response = client_for(alice).post(f"{API}/scores/recalculate")

    assert response.status_code == 200
    assert response.json()["data"] == {"updated": 3, "changed": 2}
    scores = dict(alice.contacts.values_list("full_name", "relationship_score"))
    assert scores == {"Ada": 6, "Stale": 0, "Quiet": 0}
    talked.refresh_from_db()
    assert talked.last_interaction_at == NOW - dt.timedelta(days=5)


@pytest.mark.parametrize("count", [1, 50])
def test_activity_costs_four_queries_however_many_interactions(
    alice, count, django_assert_num_queries
):
    made = contact(alice, "Ada")
    for i in range(count):
        interaction(made, NOW - dt.timedelta(days=i * 7))
    client = client_for(alice)

    with time_machine.travel(NOW, tick=False), django_assert_num_queries(4):
        response = client.get(f"{detail(made)}/activity")

    assert response.json()["data"]["stats"]["interaction_count"] == count
