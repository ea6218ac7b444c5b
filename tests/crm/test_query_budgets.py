"""Every API view declares a query budget, and stays within it at any size.

Requests go through the full middleware stack with token authentication,
so the counts are what a client sees in ``X-Query-Count``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from tests.contacts.factories import contacts_bulk

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
BUDGETED_GETS = [
    "/api/v1/contacts",
    "/api/v1/contacts?sort=overdue&page_size=50",
    "/api/v1/contacts?sort=birthday&search=a&tag=vip",
    "/api/v1/contacts/ids",
    "/api/v1/contacts/stats",
    "/api/v1/contacts/tags",
    "/api/v1/contacts/birthdays?days=30",
    "/api/v1/contacts/overdue?limit=50",
    "/api/v1/contacts/overdue?forecast_days=30",
    "/api/v1/sync-history",
    "/api/v1/sync-history/stats",
]
PUSH = {
    "profiles": [
        {
            "profile_id": f"budget-person-{n}",
            "profile_url": f"https://www.linkedin.com/in/budget-person-{n}",
            "full_name": f"Budget Person {n}",
            "headline": "Engineer at Budget",
        }
        for n in range(5)
    ],
    "messages": [
        {
            "profile_id": f"budget-person-{n % 5}",
            "profile_name": f"Budget Person {n % 5}",
            "direction": "inbound",
            "content_preview": "hello",
            "timestamp": f"2026-06-01T10:{n:02d}:00Z",
            "conversation_id": f"conv-{n % 5}",
        }
        for n in range(40)
    ],
}


def _api_views(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_views(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
            view_class = getattr(entry.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield route, view_class


def _token_client(client, user):
    token = Token.objects.create(user=user)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def _counts(client, user) -> dict[str, tuple[int, int]]:
    counts = {}
    for url in BUDGETED_GETS:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        counts[url] = (int(response["X-Query-Count"]), int(response["X-Query-Budget"]))
    return counts


def test_every_contacts_sync_history_and_push_view_declares_a_budget():
    modules = ("contacts.api", "syncjobs.api", "linkedin.api")
    missing = [
        route
        for route, view in _api_views()
        if view.__module__ in modules
        and getattr(view, "query_budget", None) is None
        and view.__name__ != "ScoresRecalculateApi"
    ]
    assert missing == []


@pytest.mark.django_db
def test_read_endpoints_stay_within_budget_and_flat_as_data_grows(client, alice, bob):
    _token_client(client, alice)
    contacts_bulk(bob, 50, now=NOW)
    contacts_bulk(alice, 20, now=NOW)
    small = _counts(client, alice)
    contacts_bulk(alice, 1500, now=NOW)
    large = _counts(client, alice)

    for url, (queries, budget) in large.items():
        assert queries <= budget, url
    assert small == large


@pytest.mark.django_db
def test_the_push_stays_within_budget_as_data_grows(client, alice):
    _token_client(client, alice)
    contacts_bulk(alice, 10, now=NOW)

    def push():
        response = client.post(
            "/api/v1/linkedin/push", json.dumps(PUSH), content_type="application/json"
        )
        assert response.status_code == 200, response.content[:300]
        return int(response["X-Query-Count"]), int(response["X-Query-Budget"])

    first = push()
    contacts_bulk(alice, 1500, now=NOW)
    again = push()  # the same payload: everything is known now
    assert first[0] <= first[1] == 12
    assert again[0] <= again[1]
