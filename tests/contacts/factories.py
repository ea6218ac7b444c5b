"""Build contacts and interactions for the contact API tests, one or thousands."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from rest_framework.test import APIClient

from contacts.birthdays import Birthday
from contacts.models import Contact, Interaction, User
from contacts.services import contact_create, contacts_sync_lookup_rows

API = "/api/v1/contacts"
UTC = dt.UTC
_refs = itertools.count()


def client_for(user: User) -> APIClient:
    """Return an API client signed in as ``user`` (no auth queries)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def birthday(text: str) -> dict:
    """Return the model fields of an API birthday string ("MM-DD" or full)."""
    value = Birthday.from_api(text)
    return {"birthday": value.to_date(), "birthday_year_known": value.year is not None}


def contact(owner: User, name: str, *, bday: str | None = None, **fields) -> Contact:
    """Create one contact through the service, so lookup rows exist."""
    if bday is not None:
        fields |= birthday(bday)
    return contact_create(owner=owner, full_name=name, **fields)


def interaction(
    contact_: Contact,
    occurred_at: dt.datetime,
    *,
    direction: str = "inbound",
    platform: str = "email",
    preview: str | None = None,
) -> Interaction:
    return Interaction.objects.create(
        owner_id=contact_.owner_id,
        contact=contact_,
        platform=platform,
        direction=direction,
        content_preview=preview,
        raw_reference_id=f"ref-{next(_refs)}",
        occurred_at=occurred_at,
    )


def contacts_bulk(owner: User, count: int, *, now: dt.datetime) -> list[Contact]:
    """Bulk-create ``count`` varied contacts (tags, birthdays, priorities, last
    interactions, one interaction each) in a few queries."""
    priorities = ("high", "medium", "low", "archived")
    rows = []
    for i in range(count):
        day = dt.date(1980 + i % 30, 1 + i % 12, 1 + i % 28)
        rows.append(
            Contact(
                id=uuid.uuid4(),
                owner=owner,
                full_name=f"Person {i:05d}",
                emails=[f"person{i}@example.com"],
                tags=[f"tag{i % 7}"],
                company=f"Company {i % 13}" if i % 3 else None,
                birthday=day if i % 2 else None,
                birthday_year_known=bool(i % 4),
                priority_level=priorities[i % 4],
                relationship_score=i % 11,
                interaction_count=i % 5,
                last_interaction_at=(
                    now - dt.timedelta(days=i * 37 % 400) if i % 5 else None
                ),
            )
        )
    Contact.objects.bulk_create(rows, batch_size=500)
    contacts_sync_lookup_rows(contacts=rows, replace=False)
    Interaction.objects.bulk_create(
        [
            Interaction(
                owner=owner,
                contact=row,
                platform="email",
                direction="inbound",
                raw_reference_id=f"bulk-{row.pk}",
                occurred_at=now - dt.timedelta(days=i % 20),
            )
            for i, row in enumerate(rows)
        ],
        batch_size=500,
    )
    return rows
