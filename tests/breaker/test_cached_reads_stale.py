"""Try to get a stale answer from the cached list, birthdays and overdue reads.

Each step changes something (settings through the API, data, the clock
across the owner's midnight) and then every cached read is compared with
the uncached selector rendered by the serializers. Requests carry a real
Bearer token, so the owner row is loaded fresh each time, as in production.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from contacts import selectors
from contacts.authentication import web_token_for
from contacts.models import Contact, User
from contacts.serializers import (
    BirthdayItemSerializer,
    ContactSerializer,
    OverdueForecastItemSerializer,
    OverdueItemSerializer,
)
from tests.contacts.factories import contact

UTC = dt.UTC
# 23:30 in Kiritimati (UTC+14) on 2028-02-28; UTC is still 2028-02-28 09:30.
START = dt.datetime(2028, 2, 28, 9, 30, tzinfo=UTC)


def _api(client, url: str, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def _expected(owner_pk, url: str, params: dict):
    owner = User.objects.get(pk=owner_pk)
    now = timezone.now()
    today = selectors.local_today(owner=owner, now=now)
    if url.endswith("/birthdays"):
        rows = selectors.contacts_upcoming_birthdays(
            owner=owner, today=today, days=params["days"], limit=params["limit"]
        )
        return BirthdayItemSerializer(rows, many=True, context={"today": today}).data
    if url.endswith("/overdue"):
        if "forecast_days" in params:
            rows = selectors.contacts_overdue_forecast(
                owner=owner, now=now, days=params["forecast_days"], limit=10
            )
            return OverdueForecastItemSerializer(
                rows, many=True, context={"today": today}
            ).data
        return OverdueItemSerializer(
            selectors.contacts_overdue(owner=owner, now=now, limit=10), many=True
        ).data
    queryset = selectors.contacts_list(owner=owner, sort=params["sort"], now=now)
    size = params["page_size"]
    offset = (params["page"] - 1) * size
    return ContactSerializer(queryset[offset : offset + size], many=True).data


READS = [
    *(
        ("/api/v1/contacts", {"sort": sort, "page": page, "page_size": 2})
        for sort in selectors.SORTS
        for page in (1, 2, 3)
    ),
    ("/api/v1/contacts/birthdays", {"days": 1, "limit": 10}),
    ("/api/v1/contacts/birthdays", {"days": 3, "limit": 2}),
    ("/api/v1/contacts/overdue", {}),
    ("/api/v1/contacts/overdue", {"forecast_days": 3}),
]


def _all_fresh(client, owner_pk, step: str) -> None:
    for url, params in READS:
        answer = _api(client, url, **params)
        expected = json.loads(json.dumps(_expected(owner_pk, url, params)))
        assert answer["data"] == expected, (step, url, params)
        if url == "/api/v1/contacts":
            owner = User.objects.get(pk=owner_pk)
            total = selectors.contacts_list(
                owner=owner, sort=params["sort"], now=timezone.now()
            ).count()
            assert answer["meta"]["total"] == total, (step, params)


@pytest.mark.django_db
def test_no_step_gives_a_stale_answer(alice, bob):
    with time_machine.travel(START, tick=False) as clock:
        alice.time_zone = "Pacific/Kiritimati"
        alice.save()
        people = {
            "leap": contact(alice, "Leap Day", bday="2000-02-29"),
            "first": contact(alice, "March First", bday="03-01"),
            "today": contact(alice, "Today", bday="02-28"),
            "hi": contact(alice, "High", priority_level="high"),
            "lo": contact(alice, "Low", priority_level="low"),
        }
        contact(bob, "Bob's", bday="02-28", priority_level="high")
        for name, days in (("hi", 29), ("lo", 200), ("first", 58), ("today", 88)):
            Contact.objects.filter(pk=people[name].pk).update(
                last_interaction_at=START - dt.timedelta(days=days, hours=3)
            )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}")
        bobs = APIClient()
        bobs.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(bob)}")

        _all_fresh(client, alice.pk, "first")
        _all_fresh(bobs, bob.pk, "bob on the same thread")

        def put(url, body):
            response = client.put(url, body, format="json")
            assert response.status_code == 200, response.content

        put("/api/v1/auth/me", {"time_zone": "UTC"})
        _all_fresh(client, alice.pk, "time zone to UTC")
        put("/api/v1/auth/me", {"time_zone": "Pacific/Kiritimati"})
        _all_fresh(client, alice.pk, "time zone back")
        put("/api/v1/auth/me", {"leap_day_birthdays_on": "mar1"})
        _all_fresh(client, alice.pk, "leap policy mar1")
        put("/api/v1/auth/me", {"birthday_reminder_hour": 3})
        _all_fresh(client, alice.pk, "reminder hour")
        put("/api/v1/settings/priority", {"high": 10, "medium": 20, "low": 30})
        _all_fresh(client, alice.pk, "thresholds")

        clock.move_to(START + dt.timedelta(minutes=45))  # past Kiritimati midnight
        _all_fresh(client, alice.pk, "after local midnight")

        added = contact(alice, "Added Later", bday="03-01", priority_level="high")
        Contact.objects.filter(pk=added.pk).update(
            last_interaction_at=START - dt.timedelta(days=11)
        )
        _all_fresh(client, alice.pk, "contact created")
        Contact.objects.filter(pk=people["hi"].pk).update(priority_level="archived")
        _all_fresh(client, alice.pk, "contact archived")
        people["first"].delete()
        _all_fresh(client, alice.pk, "contact deleted")

        clock.move_to(START + dt.timedelta(days=1))
        # Web tokens last 24 h.
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}")
        bobs.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(bob)}")
        _all_fresh(client, alice.pk, "next day")
        _all_fresh(bobs, bob.pk, "bob again")
