"""contacts.contact_dicts renders exactly what the serializers rendered.

Golden contacts cover every field type: nulls everywhere, a birthday with
and without a year (Feb 29 too), a text-only birthday, tags, e-mails,
unicode (including the line separators the JSON renderer escapes), odd
JSON list items, microsecond times. Each is compared as dicts, in key
order and as the rendered JSON bytes, directly and through the endpoints.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest
import time_machine
from django.utils import timezone

from contacts import selectors
from contacts.contact_dicts import (
    BIRTHDAY_COLUMNS,
    CONTACT_COLUMNS,
    FORECAST_COLUMNS,
    OVERDUE_COLUMNS,
    birthday_item_dicts,
    contact_dicts,
    overdue_forecast_item_dicts,
    overdue_item_dicts,
)
from contacts.models import Contact
from contacts.serializers import (
    CONTACT_FIELDS,
    BirthdayItemSerializer,
    ContactSerializer,
    OverdueForecastItemSerializer,
    OverdueItemSerializer,
)
from crm.envelope import EnvelopeJSONRenderer
from tests.contacts.factories import API, UTC, birthday, client_for

NOW = dt.datetime(2026, 2, 20, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


def render(data, meta=None) -> bytes:
    return EnvelopeJSONRenderer().render({"data": data, "error": None, "meta": meta})


def ago(days: int, **extra) -> dt.datetime:
    return NOW - dt.timedelta(days=days, **extra)


@pytest.fixture
def golden(alice):
    """Create alice's golden contacts; return them oldest first."""
    people = [
        # Every nullable field null, every list empty.
        {"priority_level": "medium"},
        dict(
            full_name="Zoë 李小龍 🚀",
            given_name="Zoë",
            family_name="李",
            emails=["zoe@example.com", "Ünïcode@exämple.de"],
            phones=["+49 30 1234567", "(555) 010-0199"],
            company='Acme "Quotes" \\ Backslash',
            title="Staff Engineer",
            twitter_handle="zoe_li",
            twitter_bio="Line\u2028separator and paragraph\u2029separator",
            telegram_username="zoeli",
            telegram_bio="Ünïcödé bio\nnew line\ttab",
            location="München",
            linkedin_url="https://www.linkedin.com/in/zoe-li",
            linkedin_profile_id="ACoAAB12345",
            linkedin_headline="Builds things",
            linkedin_bio="Long bio " * 20,
            avatar_url="https://example.com/a.png",
            tags=["vip", "München", "🎸"],
            notes="Met at </script> conference; 100% <b>sure</b> & more",
            priority_level="high",
            source="google",
            relationship_score=9,
            interaction_count=42,
            last_interaction_at=ago(40) + dt.timedelta(microseconds=123456),
            last_followup_at=ago(3, seconds=7),
            user_edited_fields=["full_name", "tags"],
            **birthday("1990-03-01"),
        ),
        dict(
            full_name="No Year",
            priority_level="low",
            last_interaction_at=ago(200),
            **birthday("02-29"),
        ),
        {
            "full_name": "Text Birthday",
            "birthday_text": "mid-June",
            "priority_level": "low",
        },
        dict(
            full_name="Archived Person",
            priority_level="archived",
            last_interaction_at=ago(500),
            **birthday("1970-02-21"),
        ),
        # JSON lists as a script might have stored them: numbers and nulls.
        dict(
            full_name="Odd Lists",
            phones=[12345, None, "x"],
            tags=[],
            emails=["a@b.c"],
            priority_level="medium",
            last_interaction_at=ago(61, hours=-10),
            **birthday("2000-02-22"),
        ),
        dict(
            full_name="Forecast Soon",
            priority_level="high",
            last_interaction_at=ago(25),
            **birthday("12-31"),
        ),
    ]
    created = []
    for number, fields in enumerate(people):
        with time_machine.travel(ago(100 - number, microseconds=number), tick=False):
            created.append(
                Contact.objects.create(id=uuid.uuid4(), owner=alice, **fields)
            )
    return created


def _same(fast: list[dict], serialized) -> None:
    assert fast == serialized
    assert [list(item) for item in fast] == [list(item) for item in serialized]
    assert render(fast) == render(serialized)


def test_contact_columns_make_every_contact_response_key(alice, golden):
    rows = Contact.objects.filter(owner=alice).values(*CONTACT_COLUMNS)
    assert [tuple(item) for item in contact_dicts(list(rows))] == [
        CONTACT_FIELDS
    ] * len(golden)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_contacts_render_as_the_contact_serializer_renders_them(alice, golden, zone):
    contacts = Contact.objects.filter(owner=alice).order_by("created_at")
    with timezone.override(zone):
        fast = contact_dicts(list(contacts.values(*CONTACT_COLUMNS)))
        serialized = ContactSerializer(list(contacts), many=True).data
    _same(fast, serialized)
    assert fast[0]["full_name"] is None
    assert fast[0]["emails"] == []
    assert fast[5]["phones"] == ["12345", None, "x"]
    assert fast[2]["birthday"] == "02-29"
    assert fast[1]["birthday"] == "1990-03-01"
    if zone == "UTC":
        assert fast[1]["last_interaction_at"] == "2026-01-11T15:30:00.123456Z"
    if zone == "Asia/Kolkata":
        assert fast[1]["last_interaction_at"] == "2026-01-11T21:00:00.123456+05:30"


@pytest.mark.parametrize("days", [1, 10, 366])
def test_birthday_items_render_as_the_birthday_serializer(alice, golden, days):
    contacts = selectors.contacts_upcoming_birthdays(
        owner=alice, today=TODAY, days=days, limit=50
    )
    fast = birthday_item_dicts(list(contacts.values(*BIRTHDAY_COLUMNS)), today=TODAY)
    serialized = BirthdayItemSerializer(
        list(contacts), many=True, context={"today": TODAY}
    ).data
    _same(fast, serialized)
    if days == 366:
        assert [(i["full_name"], i["next_birthday"], i.get("age")) for i in fast] == [
            ("Odd Lists", "2026-02-22", 26),
            ("No Year", "2026-02-28", None),
            ("Zoë 李小龍 🚀", "2026-03-01", 36),
            ("Forecast Soon", "2026-12-31", None),
        ]
        assert "age" not in fast[1]


def test_overdue_items_render_as_the_overdue_serializer(alice, golden):
    contacts = selectors.contacts_overdue(owner=alice, now=NOW, limit=50)
    fast = overdue_item_dicts(list(contacts.values(*OVERDUE_COLUMNS)))
    serialized = OverdueItemSerializer(list(contacts), many=True).data
    _same(fast, serialized)
    assert [(i["full_name"], i["days_overdue"]) for i in fast] == [
        ("No Year", 20),
        ("Zoë 李小龍 🚀", 10),
    ]


def test_forecast_items_render_as_the_forecast_serializer(alice, golden):
    contacts = selectors.contacts_overdue_forecast(
        owner=alice, now=NOW, days=30, limit=50
    )
    fast = overdue_forecast_item_dicts(
        list(contacts.values(*FORECAST_COLUMNS)), today=TODAY
    )
    serialized = OverdueForecastItemSerializer(
        list(contacts), many=True, context={"today": TODAY}
    ).data
    _same(fast, serialized)
    assert [(i["full_name"], i["overdue_on"]) for i in fast] == [
        ("Odd Lists", "2026-02-21"),
        ("Forecast Soon", "2026-02-26"),
    ]


# --- the endpoints' bytes ---------------------------------------------------------


def _get(user, url: str, params: dict) -> bytes:
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(url, params)
    assert response.status_code == 200, response.json()
    return response.content


def _page_meta(total: int, page: int, size: int) -> dict:
    return {
        "total": total,
        "page": page,
        "page_size": size,
        "total_pages": max(1, math.ceil(total / size)),
    }


@pytest.mark.parametrize("sort", selectors.SORTS)
@pytest.mark.parametrize(
    "filters", [{}, {"search": "ü"}, {"archived_only": "true"}, {"tag": "vip"}]
)
def test_list_pages_are_the_bytes_the_serializer_gave(alice, golden, sort, filters):
    queryset = selectors.contacts_list(owner=alice, filters=filters, sort=sort, now=NOW)
    total = queryset.count()
    for page in (1, 2, 3):
        rows = list(queryset[(page - 1) * 2 : page * 2])
        expected = render(
            ContactSerializer(rows, many=True).data, _page_meta(total, page, 2)
        )
        params = {**filters, "sort": sort, "page": page, "page_size": 2}
        assert _get(alice, API, params) == expected


@pytest.mark.parametrize("days", [1, 7, 366])
def test_birthdays_are_the_bytes_the_serializer_gave(alice, golden, days):
    contacts = selectors.contacts_upcoming_birthdays(
        owner=alice, today=TODAY, days=days, limit=10
    )
    expected = render(
        BirthdayItemSerializer(contacts, many=True, context={"today": TODAY}).data
    )
    assert _get(alice, f"{API}/birthdays", {"days": days}) == expected


def test_overdue_and_forecast_are_the_bytes_the_serializer_gave(alice, golden):
    overdue = selectors.contacts_overdue(owner=alice, now=NOW, limit=10)
    forecast = selectors.contacts_overdue_forecast(
        owner=alice, now=NOW, days=10, limit=10
    )
    assert _get(alice, f"{API}/overdue", {}) == render(
        OverdueItemSerializer(overdue, many=True).data
    )
    assert _get(alice, f"{API}/overdue", {"forecast_days": 10}) == render(
        OverdueForecastItemSerializer(
            forecast, many=True, context={"today": TODAY}
        ).data
    )
