"""Write generated export files and read back an owner's data for comparison.

The files are small real-format exports (vCard 3.0, mbox, LinkedIn
Connections.csv) of a few hundred numbered people, written to a tmp_path.
``owner_state`` returns an owner's contacts and interactions without ids or
timestamps, so that what a crash and a re-run leave compares equal to what
one clean run leaves.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email.utils import format_datetime
from pathlib import Path

from contacts.models import Contact, ContactEmail, Interaction, User
from contacts.scoring import contacts_rescore

OWNER_EMAIL = "alice@example.com"


def person_email(number: int) -> str:
    return f"person{number:03}@example.com"


def person_name(number: int) -> str:
    return f"Person {number:03}"


def person_slug(number: int) -> str:
    return f"person-{number:03}"


def write_vcards(path: Path, *, people: int) -> Path:
    """Write ``people`` vCards, each with a name, an email and a company."""
    cards = [
        "\r\n".join(
            [
                "BEGIN:VCARD",
                "VERSION:3.0",
                f"FN:{person_name(n)}",
                f"N:{n:03};Person;;;",
                f"EMAIL;TYPE=INTERNET:{person_email(n)}",
                f"ORG:Company {n % 7}",
                "END:VCARD",
            ]
        )
        for n in range(people)
    ]
    path.write_text("\r\n".join(cards) + "\r\n", encoding="utf-8")
    return path


def write_mbox(
    path: Path, *, people: int, per_person: int, newest: dt.datetime
) -> Path:
    """Write ``per_person`` mails from each of ``people`` senders to the owner.

    Mail k of person n is dated ``newest`` minus (k * 10 + n % 10) days, so
    the people end with different scores.
    """
    chunks = []
    for n in range(people):
        for k in range(per_person):
            when = newest - dt.timedelta(days=k * 10 + n % 10, minutes=n)
            inbound = (k + n) % 3 != 0
            sender, recipient = (
                (f"{person_name(n)} <{person_email(n)}>", f"Alice <{OWNER_EMAIL}>")
                if inbound
                else (f"Alice <{OWNER_EMAIL}>", f"{person_name(n)} <{person_email(n)}>")
            )
            chunks.append(
                "\n".join(
                    [
                        f"From {person_email(n)} {when:%a %b %d %H:%M:%S %Y}",
                        f"From: {sender}",
                        f"To: {recipient}",
                        f"Date: {format_datetime(when)}",
                        f"Subject: Note {k} for {person_name(n)}",
                        f"Message-ID: <m{n:03}-{k}@mail.example>",
                        "",
                        "Hello.",
                        "",
                    ]
                )
            )
    path.write_text("\n".join(chunks), encoding="utf-8")
    return path


def write_connections_csv(path: Path, *, numbers: range) -> Path:
    """Write a 2024-style LinkedIn Connections.csv of the numbered people."""
    lines = [
        "Notes:",
        '"Generated for the reliability tests."',
        "",
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On",
    ]
    lines += [
        f"Person,{n:03},https://www.linkedin.com/in/{person_slug(n)},,"
        f"Company {n % 7},Engineer,09 Oct 2024"
        for n in numbers
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- reading an owner's data back ------------------------------------------


def owner_state(owner: User) -> dict:
    """Return the owner's contacts and interactions, free of ids and times."""
    contacts = Contact.objects.filter(owner=owner)
    names = dict(contacts.values_list("pk", "full_name"))
    return {
        "contacts": sorted(
            contacts.values_list(
                "full_name",
                "emails",
                "company",
                "title",
                "linkedin_profile_id",
                "linkedin_url",
                "linkedin_url_key",
                "linkedin_headline",
                "google_resource_name",
                "relationship_score",
                "interaction_count",
                "last_interaction_at",
            ),
            key=repr,
        ),
        "interactions": sorted(
            (names[contact_id], platform, direction, occurred_at)
            for contact_id, platform, direction, occurred_at in Interaction.objects.filter(
                owner=owner
            ).values_list("contact_id", "platform", "direction", "occurred_at")
        ),
        "email_rows": sorted(
            ContactEmail.objects.filter(owner=owner).values_list("address", flat=True)
        ),
    }


def duplicated(values) -> dict:
    """Return the values that occur more than once, with their counts."""
    return {value: count for value, count in Counter(values).items() if count > 1}


def duplicate_people(owner: User) -> dict:
    """Return every email, LinkedIn id, LinkedIn URL and name held by 2+ contacts."""
    contacts = Contact.objects.filter(owner=owner)
    found = {
        "email": duplicated(
            ContactEmail.objects.filter(owner=owner).values_list("address", flat=True)
        ),
        "linkedin_profile_id": duplicated(
            contacts.exclude(linkedin_profile_id=None).values_list(
                "linkedin_profile_id", flat=True
            )
        ),
        "linkedin_url_key": duplicated(
            contacts.exclude(linkedin_url_key=None).values_list(
                "linkedin_url_key", flat=True
            )
        ),
        "full_name": duplicated(contacts.values_list("full_name", flat=True)),
    }
    return {kind: values for kind, values in found.items() if values}


def stale_scores(owner: User, *, now: dt.datetime) -> list[tuple]:
    """Rescore every contact of ``owner``; return the stored values that were wrong.

    Each item is (name, stored (score, count, last), recomputed ones).
    """
    fields = ("relationship_score", "interaction_count", "last_interaction_at")
    contacts = Contact.objects.filter(owner=owner)
    before = {pk: row for pk, *row in contacts.values_list("pk", *fields)}
    contacts_rescore(contacts=contacts, now=now)
    after = {pk: row for pk, *row in contacts.values_list("pk", *fields)}
    names = dict(contacts.values_list("pk", "full_name"))
    return sorted(
        (names[pk], tuple(before[pk]), tuple(after[pk]))
        for pk in before
        if before[pk] != after[pk]
    )
