"""Fake providers that hand the sync engine canned records of numbered people.

They are Provider subclasses, as the engine sees a real provider after its
HTTP calls: Google Contacts people with a resource name and an email, and
Google Calendar meetings with the same people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from syncjobs.providers.base import Provider
from syncjobs.records import ContactRecord, InteractionRecord, ParseResult, Participant
from tests.reliability.exports import person_email, person_name

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def people_result(numbers: range, *, cursor: str = "people-1") -> ParseResult:
    """Return a Google Contacts page of the numbered people."""
    return ParseResult(
        contacts=[
            ContactRecord(
                source="google",
                position=f"people/c{n}",
                external_id=f"people/c{n}",
                full_name=person_name(n),
                emails=(person_email(n),),
                company=f"Company {n % 7}",
            )
            for n in numbers
        ],
        items_read=len(numbers),
        cursor={"sync_token": cursor},
    )


def calendar_result(
    numbers: range, *, meetings_each: int = 2, cursor: str = "cal-1"
) -> ParseResult:
    """Return past meetings, ``meetings_each`` per numbered person, and the people.

    Meeting k of person n was k * 20 + n % 5 days before NOW.
    """
    contacts = [
        ContactRecord(
            source="google_calendar",
            position=f"event e{n}",
            full_name=person_name(n),
            emails=(person_email(n),),
        )
        for n in numbers
    ]
    interactions = [
        InteractionRecord(
            platform="meeting",
            direction="mutual",
            occurred_at=NOW - dt.timedelta(days=k * 20 + n % 5, hours=1),
            reference_id=f"gcal:e{n}-{k}",
            position=f"event e{n}-{k}",
            participants=(Participant(email=person_email(n), name=person_name(n)),),
            content_preview=f"meeting {k} with {person_name(n)}",
        )
        for n in numbers
        for k in range(meetings_each)
    ]
    return ParseResult(
        contacts=contacts,
        interactions=interactions,
        items_read=len(interactions),
        cursor={"sync_token": cursor},
    )


class CannedProvider(Provider):
    """Answer every fetch with ``result``, after calling ``before_fetch``."""

    def __init__(
        self, result: ParseResult, *, before_fetch: Callable[[], None] | None = None
    ) -> None:
        self.result = result
        self.before_fetch = before_fetch
        self.fetches = 0

    def fetch(self, *, credentials, cursor, now):
        self.fetches += 1
        if self.before_fetch is not None:
            self.before_fetch()
        return self.result


class TenPeople(Provider):
    """Google Contacts with people 0-9, built with no arguments as the engine does."""

    platform = "google_contacts"

    def fetch(self, *, credentials, cursor, now):
        return people_result(range(10))
