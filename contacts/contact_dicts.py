"""Build ContactResponse dicts from ``.values()`` rows, as the serializers would.

The read endpoints (list, birthdays, overdue) render through these instead
of ``ContactSerializer``: DRF's field-by-field ``to_representation`` was
the largest single cost of a list page (about 0.1 ms a contact, plus the
serializer's fields built anew for every response). The output is the
serializers' exactly, key order included, so the JSON is byte for byte the
same; tests/contacts/test_contact_dicts.py compares the two on golden
contacts. The serializers stay the schema and serve every other endpoint.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from rest_framework import serializers

from contacts.birthdays import Birthday
from contacts.serializers import CONTACT_FIELDS

logger = logging.getLogger(__name__)

# The model columns behind each ContactResponse key, where they are not
# the key itself: ``organization_id`` is always null, the birthday needs
# its year-known flag.
_COLUMNS_OF_FIELD = {
    "user_id": ("owner_id",),
    "organization_id": (),
    "birthday": ("birthday", "birthday_year_known"),
}
# The model columns a ContactResponse is made of, for ``.values()``.
CONTACT_COLUMNS = tuple(
    column
    for field in CONTACT_FIELDS
    for column in _COLUMNS_OF_FIELD.get(field, (field,))
)
BIRTHDAY_COLUMNS = (*CONTACT_COLUMNS, "birthday_days_until")
OVERDUE_COLUMNS = (
    *CONTACT_COLUMNS,
    "days_overdue",
    "days_since_interaction",
    "threshold_days",
)
FORECAST_COLUMNS = (
    *CONTACT_COLUMNS,
    "days_until_overdue",
    "days_since_interaction",
    "threshold_days",
)

# Anything unusual (a naive datetime) goes to DRF's own field, so even
# that case renders exactly as before.
_DRF_DATETIME = serializers.DateTimeField()


def _text(value):
    # CharField: str(value); the database already gives str.
    return value if value is None or type(value) is str else str(value)


def _texts(values):
    # ListField(child=CharField()): None stays None, items become str.
    if values is None:
        return None
    return [_text(item) for item in values]


def _integer(value):
    return None if value is None else int(value)


def _uuid(value):
    return None if value is None else str(value)


class _Datetimes:
    """DRF's DateTimeField output: ISO 8601 in the current time zone, "Z" for UTC."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()

    def __call__(self, value: dt.datetime | None) -> str | None:
        if not value:
            return None
        if type(value) is not dt.datetime or value.tzinfo is None:
            return _DRF_DATETIME.to_representation(value)
        text = value.astimezone(self.zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def _birthday(row: dict) -> str | None:
    day = row["birthday"]
    if day is None:
        return None
    return Birthday.from_storage(day, row["birthday_year_known"]).to_api()


def _contact(row: dict, datetimes: _Datetimes) -> dict:
    return {
        "id": _uuid(row["id"]),
        "user_id": _uuid(row["owner_id"]),
        # Organisations are not modelled; always null, as in the serializer.
        "organization_id": None,
        "full_name": _text(row["full_name"]),
        "given_name": _text(row["given_name"]),
        "family_name": _text(row["family_name"]),
        "emails": _texts(row["emails"]),
        "phones": _texts(row["phones"]),
        "company": _text(row["company"]),
        "title": _text(row["title"]),
        "twitter_handle": _text(row["twitter_handle"]),
        "twitter_bio": _text(row["twitter_bio"]),
        "telegram_username": _text(row["telegram_username"]),
        "telegram_bio": _text(row["telegram_bio"]),
        "location": _text(row["location"]),
        "linkedin_url": _text(row["linkedin_url"]),
        "linkedin_profile_id": _text(row["linkedin_profile_id"]),
        "linkedin_headline": _text(row["linkedin_headline"]),
        "linkedin_bio": _text(row["linkedin_bio"]),
        "avatar_url": _text(row["avatar_url"]),
        "birthday": _birthday(row),
        "birthday_text": _text(row["birthday_text"]),
        "tags": _texts(row["tags"]),
        "notes": _text(row["notes"]),
        # ChoiceField gives the stored value back.
        "priority_level": row["priority_level"],
        "source": _text(row["source"]),
        "relationship_score": _integer(row["relationship_score"]),
        "interaction_count": _integer(row["interaction_count"]),
        "last_interaction_at": datetimes(row["last_interaction_at"]),
        "last_followup_at": datetimes(row["last_followup_at"]),
        "user_edited_fields": list(row["user_edited_fields"] or []),
        "created_at": datetimes(row["created_at"]),
        "updated_at": datetimes(row["updated_at"]),
    }


def contact_dicts(rows: list[dict]) -> list[dict]:
    """Return ContactSerializer's output for each row of CONTACT_COLUMNS."""
    datetimes = _Datetimes()
    return [_contact(row, datetimes) for row in rows]


def birthday_item_dicts(rows: list[dict], *, today: dt.date) -> list[dict]:
    """Return BirthdayItemSerializer's output for rows of BIRTHDAY_COLUMNS.

    ``age`` is left out when the year is unknown, as the serializer does.
    """
    datetimes = _Datetimes()
    items = []
    for row in rows:
        item = _contact(row, datetimes)
        days = row["birthday_days_until"]
        item["days_until_birthday"] = _integer(days)
        next_birthday = today + dt.timedelta(days=days)
        item["next_birthday"] = next_birthday.isoformat()
        if row["birthday_year_known"]:
            item["age"] = next_birthday.year - row["birthday"].year
        items.append(item)
    return items


def overdue_item_dicts(rows: list[dict]) -> list[dict]:
    """Return OverdueItemSerializer's output for rows of OVERDUE_COLUMNS."""
    datetimes = _Datetimes()
    items = []
    for row in rows:
        item = _contact(row, datetimes)
        item["days_overdue"] = _integer(row["days_overdue"])
        item["days_since_interaction"] = _integer(row["days_since_interaction"])
        item["threshold_days"] = _integer(row["threshold_days"])
        items.append(item)
    return items


def overdue_forecast_item_dicts(rows: list[dict], *, today: dt.date) -> list[dict]:
    """Return OverdueForecastItemSerializer's output for rows of FORECAST_COLUMNS."""
    datetimes = _Datetimes()
    items = []
    for row in rows:
        item = _contact(row, datetimes)
        days = row["days_until_overdue"]
        item["overdue_on"] = (today + dt.timedelta(days=days)).isoformat()
        item["days_until_overdue"] = _integer(days)
        item["days_since_interaction"] = _integer(row["days_since_interaction"])
        item["threshold_days"] = _integer(row["threshold_days"])
        items.append(item)
    return items
