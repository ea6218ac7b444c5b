"""Plain records that every provider and every file import produces.

Providers (Gmail, People, Calendar, X) and file parsers (mbox, vCard, CSV,
archives) turn what they read into these frozen dataclasses and nothing
else; they never touch the ORM. ``contacts.services`` and
``syncjobs.services`` take the records and do the writes, so every source
goes through one upsert path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from contacts.birthdays import Birthday

INBOUND = "inbound"
OUTBOUND = "outbound"
MUTUAL = "mutual"
EVENT = "event"
DIRECTIONS = (INBOUND, OUTBOUND, MUTUAL, EVENT)


@dataclass(frozen=True)
class Participant:
    """One way of finding the contact on the other side of an interaction.

    Keys are tried in the order of the fields; the first that finds a contact
    wins. ``name`` is used only to name a new contact, never to match one.
    """

    email: str = ""
    twitter_user_id: str = ""
    linkedin_profile_id: str = ""
    name: str = ""
    twitter_handle: str = ""


@dataclass(frozen=True)
class ContactRecord:
    """A person as one source describes them.

    ``position`` says where in the source the record came from ("line 12",
    "card #3", "people/c123") so errors and dry runs can name it.
    ``external_id`` is the source's own stable id (People ``resourceName``,
    X user id, LinkedIn profile id) and is matched before any email.
    """

    source: str
    position: str
    external_id: str = ""
    full_name: str = ""
    given_name: str = ""
    family_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    company: str = ""
    title: str = ""
    location: str = ""
    notes: str = ""
    tags: tuple[str, ...] = ()
    birthday: Birthday | None = None
    birthday_text: str = ""
    avatar_url: str = ""
    twitter_handle: str = ""
    twitter_user_id: str = ""
    twitter_bio: str = ""
    linkedin_url: str = ""
    linkedin_profile_id: str = ""
    linkedin_headline: str = ""


@dataclass(frozen=True)
class InteractionRecord:
    """One message, meeting or event between the user and other people.

    ``reference_id`` is the source's dedup key (for example
    ``gmail:<Message-ID>``). When ``per_contact`` is true the stored key is
    ``<reference_id>:<contact id>`` so one email to three people becomes
    three interactions that each dedup on their own; when false the key is
    stored as given and the record must have exactly one participant.
    """

    platform: str
    direction: str
    occurred_at: dt.datetime
    reference_id: str
    position: str
    participants: tuple[Participant, ...]
    content_preview: str = ""
    per_contact: bool = True


@dataclass(frozen=True)
class RecordProblem:
    """A record that was skipped (an error) or kept with a caveat (a warning)."""

    position: str
    reason: str


@dataclass
class ParseResult:
    """Everything one file or one provider page yielded."""

    contacts: list[ContactRecord] = field(default_factory=list)
    interactions: list[InteractionRecord] = field(default_factory=list)
    errors: list[RecordProblem] = field(default_factory=list)
    warnings: list[RecordProblem] = field(default_factory=list)
    # How many source items were read (cards, rows, messages, API items),
    # whether or not they produced a record.
    items_read: int = 0
    # Provider cursors to store when the run succeeds (history id, sync
    # token, newest DM id). Empty for file imports.
    cursor: dict[str, str] = field(default_factory=dict)

    def extend(self, other: ParseResult) -> None:
        self.contacts.extend(other.contacts)
        self.interactions.extend(other.interactions)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.items_read += other.items_read
        self.cursor.update(other.cursor)
