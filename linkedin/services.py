"""Apply one extension push (profiles and messages) in one transaction.

A push costs a fixed number of statements however many contacts the user
has and however many items it carries (up to SQLite's batch sizes):

1. the owner's write lock (one SELECT, on PostgreSQL only; SQLite's
   ``BEGIN IMMEDIATE`` does that job);
2. the contacts the push names, and which of the messages' dedup keys
   are stored already (one SELECT, ``linkedin.matching``);
3. new and changed contacts (one INSERT, an upsert for the changed
   ones), new interactions (one INSERT);
4. rescoring of the contacts with new interactions (one SELECT, one
   UPDATE), which also sets their interaction count and last interaction;
5. dismissal of their pending follow-up suggestions (one UPDATE);
6. the SyncRun, through ``syncjobs.instrumentation`` (INSERT, UPDATE).

Writes follow the fill-blank rule of ``contacts.services``: a pushed value
fills an empty field the user never edited. LinkedIn's own fields are
refreshed instead, because LinkedIn is where they live: the headline
(unless the user edited it; the original overwrote edited headlines), the
bio and the profile URL (with ``linkedin_url_key`` kept in step).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Interaction, User
from contacts.scoring import contacts_rescore_ids
from contacts.services import owner_write_lock, suggestions_dismiss_for_new_activity
from linkedin.avatars import (
    AvatarImage,
    avatar_save,
    avatar_url_for,
    is_expiring_linkedin_url,
)
from linkedin.matching import (
    BACKFILL_MAX,
    PLATFORM,
    PushContactIndex,
    contacts_for_push,
    is_backfill_candidate,
    message_dedup_key,
    push_keys,
)
from linkedin.serializers import PushMessage, PushPayload, PushProfile
from syncjobs.instrumentation import instrumented_run
from syncjobs.models import PROVIDER_LINKEDIN, TRIGGER_WEBHOOK

logger = logging.getLogger(__name__)

SOURCE = "linkedin"
PREVIEW_MAX = 500
# A title taken from a headline must be shorter than this (spec §6.4).
TITLE_FROM_HEADLINE_MAX = 100
BULK_BATCH_SIZE = 1000

# Column sizes (contacts.Contact) that pushed free text is cut to.
_NAME_MAX = 255
_HEADLINE_MAX = 500

_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass
class PushResult:
    contacts_created: int = 0
    contacts_updated: int = 0
    interactions_created: int = 0
    interactions_skipped: int = 0
    backfill_needed: list[dict] = field(default_factory=list)
    contacts_rescored: int = 0

    def as_response(self) -> dict:
        return {
            "contacts_created": self.contacts_created,
            "contacts_updated": self.contacts_updated,
            "interactions_created": self.interactions_created,
            "interactions_skipped": self.interactions_skipped,
            "backfill_needed": self.backfill_needed,
        }


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    """Split a name at its first run of whitespace: ("Ada", "Lovelace King").

    One word gives (word, None) and an empty name (None, None), as the
    original did.
    """
    parts = _WHITESPACE_RUN.split((full_name or "").strip(), maxsplit=1)
    given = parts[0] or None
    family = parts[1] if len(parts) > 1 and parts[1] else None
    return given, family


def title_from_headline(headline: str) -> str:
    """Return the job title of a headline, or "" (spec §6.4).

    "Product Manager at Acme" gives "Product Manager", "CEO @ Foo at Bar"
    gives "CEO", "Founder | Investor" the whole headline; a result of 100
    characters or more is not taken as a title.
    """
    title = headline.split(" @ ", 1)[0].split(" at ", 1)[0].strip()
    return title if len(title) < TITLE_FROM_HEADLINE_MAX else ""


class _Changes:
    """The fields one contact's write will change, with the fill-blank rule."""

    def __init__(self, contact: Contact) -> None:
        self.contact = contact
        self.edited = set(contact.user_edited_fields or [])
        self.fields: set[str] = set()

    def fill(self, name: str, value) -> None:
        """Write ``value`` into an empty field the user never edited."""
        if not value or name in self.edited or getattr(self.contact, name):
            return
        self.set(name, value)

    def refresh(self, name: str, value) -> None:
        """Write a non-empty ``value`` unless the user edited the field."""
        if not value or name in self.edited or getattr(self.contact, name) == value:
            return
        self.set(name, value)

    def set(self, name: str, value) -> None:
        if getattr(self.contact, name) != value:
            setattr(self.contact, name, value)
            self.fields.add(name)


@dataclass
class _Push:
    """The state of one push while it is applied."""

    owner: User
    now: dt.datetime
    index: PushContactIndex
    created: dict[uuid.UUID, Contact] = field(default_factory=dict)
    updated: dict[uuid.UUID, Contact] = field(default_factory=dict)
    updated_fields: set[str] = field(default_factory=set)
    # Contacts in processing order, for the backfill list.
    touched: dict[uuid.UUID, Contact] = field(default_factory=dict)
    # Avatar files saved so far, removed again if the push rolls back.
    written: list[Path] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)

    def record(self, contact: Contact, changes: _Changes) -> None:
        self.touched.setdefault(contact.pk, contact)
        if changes.fields and contact.pk not in self.created:
            self.updated[contact.pk] = contact
            self.updated_fields |= changes.fields

    def new_contact(self, **fields) -> Contact:
        contact = Contact(
            id=uuid.uuid4(),
            owner=self.owner,
            source=SOURCE,
            emails=[],
            phones=[],
            tags=[],
            user_edited_fields=[],
            created_at=self.now,
            updated_at=self.now,
            **fields,
        )
        self.created[contact.pk] = contact
        return contact


def _fill_name(changes: _Changes, full_name: str) -> None:
    full_name = full_name[:_NAME_MAX]
    had_name = bool(changes.contact.full_name)
    changes.fill("full_name", full_name)
    if not had_name and "full_name" in changes.fields:
        given, family = split_full_name(full_name)
        changes.fill("given_name", given)
        changes.fill("family_name", family)


def _set_linkedin_url(changes: _Changes, profile: PushProfile) -> None:
    """Store the pushed profile URL, canonical, with its key in step.

    A sent URL replaces the stored one (people change their vanity URL).
    Without one, ``/in/<profile_id>`` only fills an empty URL: for a member
    URN id it is a working but unreadable address.
    """
    if "linkedin_url" in changes.edited:
        return
    if profile.url_key:
        url_key = profile.url_key
    elif not changes.contact.linkedin_url:
        url_key = profile.id_url_key
    else:
        return
    if url_key:
        changes.set("linkedin_url", url_key)
        changes.set("linkedin_url_key", url_key)


def _save_avatar(push: _Push, changes: _Changes, image: AvatarImage) -> None:
    """Save a pushed avatar now; a file that cannot be written is dropped."""
    contact_id = changes.contact.pk
    try:
        push.written.append(avatar_save(contact_id=contact_id, image=image))
    except OSError:
        logger.exception("could not save avatar", extra={"contact_id": str(contact_id)})
        return
    changes.set("avatar_url", avatar_url_for(contact_id=contact_id, image=image))


def _apply_profile(push: _Push, profile: PushProfile) -> None:
    contact = push.index.match_profile(profile)
    if contact is None:
        contact = push.new_contact()
    old_name = contact.full_name
    changes = _Changes(contact)

    _fill_name(changes, profile.full_name)
    headline = profile.headline[:_HEADLINE_MAX]
    changes.refresh("linkedin_headline", headline)
    if headline:
        changes.fill("title", title_from_headline(headline))
    changes.fill("company", profile.company[:_NAME_MAX])
    changes.fill("location", profile.location[:_NAME_MAX])
    changes.refresh("linkedin_bio", profile.about)
    changes.fill("linkedin_profile_id", profile.profile_id)
    _set_linkedin_url(changes, profile)

    if is_expiring_linkedin_url(contact.avatar_url):
        changes.set("avatar_url", None)
    if profile.avatar is not None:
        _save_avatar(push, changes, profile.avatar)

    push.record(contact, changes)
    push.index.forget_name(contact, old_name)
    push.index.add(contact)


def _message_contact(push: _Push, message: PushMessage) -> Contact | None:
    """Return the contact of a message's sender, creating a stub when unknown.

    Return None for a sender with no profile id whose name several contacts
    share: a stub would be a new duplicate on every push.
    """
    contact, ambiguous = push.index.match_message(message)
    if contact is None and ambiguous and not message.profile_id:
        return None
    if contact is None:
        url_key = message.id_url_key
        name = message.profile_name[:_NAME_MAX] or None
        given, family = split_full_name(name)
        contact = push.new_contact(
            full_name=name,
            given_name=given,
            family_name=family,
            linkedin_profile_id=message.profile_id or None,
            linkedin_url=url_key or None,
            linkedin_url_key=url_key or None,
        )
        changes = _Changes(contact)
    else:
        # A contact found by URL or name learns the sender's profile id, so
        # the next message finds it by id (a Voyager "ACoAA..." id included).
        changes = _Changes(contact)
        changes.fill("linkedin_profile_id", message.profile_id)
    push.record(contact, changes)
    push.index.add(contact)
    return contact


def _interaction(
    push: _Push, message: PushMessage, contact: Contact, key: str
) -> Interaction:
    return Interaction(
        id=uuid.uuid4(),
        owner=push.owner,
        contact_id=contact.pk,
        platform=PLATFORM,
        direction=message.direction,
        content_preview=message.content_preview[:PREVIEW_MAX] or None,
        raw_reference_id=key,
        occurred_at=message.occurred_at,
        created_at=push.now,
    )


def _backfill_needed(push: _Push) -> list[dict]:
    """Return the contacts the extension should visit next (spec §6.10).

    First the touched contacts with a profile id that still lack a title,
    company or avatar; then, up to BACKFILL_MAX in all, other contacts with
    a profile id and no avatar. Both parts are capped (the original's first
    part was not).
    """
    chosen: list[Contact] = []
    for contact in push.touched.values():
        if len(chosen) == BACKFILL_MAX:
            break
        if contact.linkedin_profile_id and not (
            contact.title and contact.company and contact.avatar_url
        ):
            chosen.append(contact)
    for contact in push.index.loaded:
        if len(chosen) == BACKFILL_MAX:
            break
        if contact.pk not in push.touched and is_backfill_candidate(contact):
            chosen.append(contact)
    return [
        {
            "contact_id": str(contact.pk),
            "linkedin_profile_id": contact.linkedin_profile_id,
            "linkedin_url": contact.linkedin_url or None,
        }
        for contact in chosen
    ]


def _apply(owner: User, payload: PushPayload, now: dt.datetime) -> PushResult:
    result = PushResult()
    # The owner's write lock comes before the lookup, so that a concurrent
    # sync, import or identical push is seen whole: its stored messages are
    # skipped and counted so, no second contact for a new person, no stale
    # fields written back, no rescore that misses the other's messages.
    owner_write_lock(owner_id=owner.pk)
    # Every message's keys go in, also of those the lookup then tells are
    # stored: the contacts and the stored keys come from one statement.
    found = contacts_for_push(
        owner=owner,
        keys=push_keys(profiles=payload.profiles, messages=payload.messages),
    )

    # Stored keys, and keys repeated within this push, are skipped before
    # any contact is matched: a skipped message creates no stub.
    fresh: list[tuple[PushMessage, str]] = []
    seen: set[str] = set()
    for message in payload.messages:
        key = message_dedup_key(message)
        if key in found.stored_keys or key in seen:
            result.interactions_skipped += 1
            continue
        seen.add(key)
        fresh.append((message, key))

    push = _Push(owner=owner, now=now, index=PushContactIndex(found.contacts))
    try:
        _apply_items(push, payload.profiles, fresh, result)
    except BaseException:
        # The rows roll back; avatar files of contacts that never existed go
        # too (an existing contact keeps its new picture, which is harmless).
        for path in push.written:
            if path.stem in {str(pk) for pk in push.created}:
                path.unlink(missing_ok=True)
        raise
    return result


def _apply_items(
    push: _Push,
    profiles: tuple[PushProfile, ...],
    fresh: list[tuple[PushMessage, str]],
    result: PushResult,
) -> None:
    for profile in profiles:
        _apply_profile(push, profile)
    for message, key in fresh:
        contact = _message_contact(push, message)
        if contact is None:
            logger.warning(
                "push message skipped: sender name is shared by several contacts",
                extra={"position": message.position},
            )
            result.interactions_skipped += 1
            continue
        push.interactions.append(_interaction(push, message, contact, key))

    _write(push)
    result.contacts_created = len(push.created)
    result.contacts_updated = len(push.updated)
    result.interactions_created = len(push.interactions)

    with_news = {row.contact_id for row in push.interactions}
    # By primary key, the owner checked beside it, the SQL compiled once
    # per shape (contacts.scoring.contacts_rescore_ids).
    rescored = contacts_rescore_ids(
        owner_id=push.owner.pk, contact_ids=with_news, now=push.now
    )
    result.contacts_rescored = rescored.changed
    # New contacts have no suggestions to dismiss.
    suggestions_dismiss_for_new_activity(
        owner=push.owner, contact_ids=with_news - push.created.keys(), since=push.now
    )
    result.backfill_needed = _backfill_needed(push)


def _write(push: _Push) -> None:
    """Insert new contacts and write changed ones in one statement, then interactions.

    Changed contacts ride along in the INSERT as an upsert on the primary
    key (``ON CONFLICT (id) DO UPDATE`` of just the changed columns, on
    SQLite and PostgreSQL): one statement instead of an INSERT plus a
    ``bulk_update``, which keeps a push within its statement budget. A
    changed row carries its loaded values for every column in the update
    list, so a column changed on another row is written back unchanged. The
    other columns of its VALUES row are model defaults and are never
    applied, because a conflict updates only the listed columns.
    """
    for contact in push.updated.values():
        contact.updated_at = push.now
    rows = [*push.created.values(), *push.updated.values()]
    if push.updated:
        Contact.objects.bulk_create(
            rows,
            batch_size=BULK_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=sorted(push.updated_fields | {"updated_at"}),
        )
    else:
        Contact.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
    # ignore_conflicts: should a writer that takes no owner write lock have
    # stored one of these messages meanwhile, the unique (owner, platform,
    # key) drops the row instead of failing the push.
    Interaction.objects.bulk_create(
        push.interactions, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True
    )


def linkedin_push_apply(
    *, owner: User, payload: PushPayload, now: dt.datetime | None = None
) -> PushResult:
    """Apply a validated push for ``owner`` and return the response counts.

    Everything is written in one transaction; the SyncRun (platform
    "linkedin", trigger "webhook") is written for every push, also one that
    changed nothing, so the sync history shows each push the extension made.
    """
    now = now or timezone.now()
    with instrumented_run(
        owner=owner, platform=PROVIDER_LINKEDIN, trigger=TRIGGER_WEBHOOK
    ) as run:
        with transaction.atomic():
            result = _apply(owner, payload, now)
        run.fetched = len(payload.profiles) + len(payload.messages)
        run.created = result.contacts_created + result.interactions_created
        run.updated = result.contacts_updated
        run.skipped = result.interactions_skipped
        run.rescored = result.contacts_rescored
        run.details = {
            "profiles": len(payload.profiles),
            "messages": len(payload.messages),
            "contacts_created": result.contacts_created,
            "contacts_updated": result.contacts_updated,
            "interactions_created": result.interactions_created,
            "interactions_skipped": result.interactions_skipped,
        }
    logger.info(
        "linkedin push applied",
        extra={
            "owner_id": str(owner.pk),
            "contacts_created": result.contacts_created,
            "contacts_updated": result.contacts_updated,
            "interactions_created": result.interactions_created,
            "interactions_skipped": result.interactions_skipped,
        },
    )
    return result
