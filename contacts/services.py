"""Writes to contacts: the user's own edits and the bulk upsert every sync uses.

Every write goes through here so the lookup tables stay in step with the
display copies on the contact row: ``ContactEmail`` with ``emails``,
``ContactTag`` with ``tags``, ``linkedin_url_key`` with ``linkedin_url``.

Sync writes follow the "fill blank" rule: a value from a source is written
only when it is non-empty, the field is empty, and the user never edited
that field. Lists (emails, phones, tags) gain new items instead, unless the
user edited the list.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from contacts.models import (
    PROTECTABLE_FIELDS,
    Contact,
    ContactEmail,
    ContactTag,
    FollowUpSuggestion,
    Interaction,
    User,
)
from crm.bulkupdate import bulk_update_rows
from linkedin.profile_urls import normalise_profile_url
from syncjobs.emailaddr import normalise_email
from syncjobs.records import ContactRecord, InteractionRecord, RecordProblem

logger = logging.getLogger(__name__)

BULK_BATCH_SIZE = 1000
PREVIEW_MAX = 500

# Scalar fields a record can fill, record attribute -> contact field.
_SCALAR_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "company",
    "title",
    "location",
    "notes",
    "avatar_url",
    "twitter_handle",
    "twitter_user_id",
    "twitter_bio",
    "linkedin_profile_id",
    "linkedin_headline",
)
# Which contact column holds a source's own id for a record.
_EXTERNAL_ID_FIELD = {
    "google": "google_resource_name",
    "google_contacts": "google_resource_name",
    "twitter": "twitter_user_id",
    "linkedin": "linkedin_profile_id",
}


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, trim and de-duplicate tags, keeping their order."""
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = " ".join(str(tag).split()).lower()
        if cleaned:
            seen.setdefault(cleaned[:100], None)
    return list(seen)


def clean_emails(emails: Iterable[str]) -> list[str]:
    """Trim and de-duplicate addresses (case-insensitively), keeping their text."""
    seen: dict[str, str] = {}
    for email in emails:
        text = str(email).strip()
        key = normalise_email(text)
        if key and key not in seen:
            seen[key] = text
    return list(seen.values())


def _email_rows(contact: Contact) -> list[ContactEmail]:
    keys = dict.fromkeys(normalise_email(e) for e in contact.emails)
    return [
        ContactEmail(owner_id=contact.owner_id, contact_id=contact.pk, address=key)
        for key in keys
        if key
    ]


def _tag_rows(contact: Contact) -> list[ContactTag]:
    return [
        ContactTag(owner_id=contact.owner_id, contact_id=contact.pk, name=name)
        for name in contact.tags
    ]


def contacts_sync_lookup_rows(*, contacts: Sequence[Contact], replace: bool) -> None:
    """Write the ContactEmail/ContactTag rows of ``contacts`` from their lists.

    With ``replace`` the old rows are deleted first (one DELETE each); new
    contacts have none, so their rows are only inserted.
    """
    if not contacts:
        return
    ids = [c.pk for c in contacts]
    if replace:
        ContactEmail.objects.filter(contact_id__in=ids).delete()
        ContactTag.objects.filter(contact_id__in=ids).delete()
    emails = [row for c in contacts for row in _email_rows(c)]
    tags = [row for c in contacts for row in _tag_rows(c)]
    ContactEmail.objects.bulk_create(
        emails, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True
    )
    ContactTag.objects.bulk_create(
        tags, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True
    )


def _prepare(contact: Contact) -> None:
    contact.emails = clean_emails(contact.emails or [])
    contact.tags = normalise_tags(contact.tags or [])
    contact.phones = list(
        dict.fromkeys(p.strip() for p in contact.phones or [] if p.strip())
    )
    contact.linkedin_url_key = normalise_profile_url(contact.linkedin_url) or None
    if contact.company is not None:
        contact.company = contact.company.strip() or None


@transaction.atomic
def contact_create(*, owner: User, **fields) -> Contact:
    contact = Contact(owner=owner, **fields)
    _prepare(contact)
    contact.save()
    contacts_sync_lookup_rows(contacts=[contact], replace=False)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict, by_user: bool = True) -> Contact:
    """Apply ``data`` to ``contact``; a user's edit protects those fields.

    Every protectable field present in ``data`` is added to
    ``user_edited_fields`` (even when unchanged, as the original did), so a
    later sync never overwrites it.
    """
    for name, value in data.items():
        setattr(contact, name, value)
    if by_user:
        edited = set(contact.user_edited_fields or []) | (
            PROTECTABLE_FIELDS & data.keys()
        )
        contact.user_edited_fields = sorted(edited)
    _prepare(contact)
    contact.save()
    if {"emails", "tags"} & data.keys():
        contacts_sync_lookup_rows(contacts=[contact], replace=True)
    return contact


# --- the owner's write lock --------------------------------------------------

# First key of pg_advisory_xact_lock(int, int): the owner's write lock ("CRM").
OWNER_WRITE_LOCK_SPACE = 0x43524D
_OWNER_WRITE_LOCK_SQL = "pg_advisory_xact_lock(%s, %s)"


def _owner_lock_key(owner_id) -> int:
    # Any 32 bits of the owner's uuid: two owners sharing a key only wait
    # for each other now and then.
    return int.from_bytes(uuid.UUID(str(owner_id)).bytes[:4], "big", signed=True)


def owner_write_lock(*, owner_id) -> None:
    """Wait for the owner's write lock and hold it until the transaction ends.

    Syncs, imports and the LinkedIn push take it before their first read.
    Without it two READ COMMITTED transactions both read "no such contact"
    and both create one, each writes back fields as it read them, and each
    rescore misses the other's uncommitted interactions. The per-provider
    SyncLock does not help: imports and pushes have none, and two providers
    of one user hold two different ones. Take it inside the transaction:
    in autocommit it is let go again at once.

    On SQLite the transaction's ``BEGIN IMMEDIATE`` already makes writers
    take turns, so there is nothing to do.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_OWNER_WRITE_LOCK_SQL}",
            [OWNER_WRITE_LOCK_SPACE, _owner_lock_key(owner_id)],
        )


def owner_write_lock_condition(*, owner_id) -> Q:
    """Return a filter that takes ``owner_write_lock`` when its query runs.

    For writers with a statement budget (the push): the lock rides in their
    first SELECT instead of costing a statement of its own. The lock call
    sits in an uncorrelated sub-select, which PostgreSQL runs once, before
    reading any row, even when no row matches. That query's own rows are
    read as of its start, which may be before the wait; the statements
    after it see everything committed meanwhile. Empty on SQLite.
    """
    if connection.vendor != "postgresql":
        return Q()
    taken = RawSQL(
        f"(SELECT 1 FROM (SELECT {_OWNER_WRITE_LOCK_SQL}) AS owner_lock) = 1",
        (OWNER_WRITE_LOCK_SPACE, _owner_lock_key(owner_id)),
        output_field=BooleanField(),
    )
    return Q(taken)


# --- bulk upsert from records ------------------------------------------------


@dataclass
class ContactUpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Contact id per record position, for callers that link records later.
    contact_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    created_ids: list[uuid.UUID] = field(default_factory=list)
    updated_ids: list[uuid.UUID] = field(default_factory=list)


class _ContactIndex:
    """In-memory maps from every match key to a contact, for one upsert."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Contact] = {}

    def add(self, contact: Contact) -> None:
        for key in self.keys_of_contact(contact):
            self.by_key.setdefault(key, contact)

    @staticmethod
    def keys_of_contact(contact: Contact) -> list[tuple[str, str]]:
        keys = [
            (name, getattr(contact, name))
            for name in set(_EXTERNAL_ID_FIELD.values())
            if getattr(contact, name)
        ]
        if contact.linkedin_url_key:
            keys.append(("linkedin_url_key", contact.linkedin_url_key))
        keys += [
            ("email", normalise_email(e)) for e in contact.emails if normalise_email(e)
        ]
        return keys

    def find(self, keys: Iterable[tuple[str, str]]) -> Contact | None:
        for key in keys:
            if key in self.by_key:
                return self.by_key[key]
        return None


def _record_keys(record: ContactRecord) -> list[tuple[str, str]]:
    """Return a record's match keys, most specific first."""
    keys = []
    id_field = _EXTERNAL_ID_FIELD.get(record.source)
    if id_field and record.external_id:
        keys.append((id_field, record.external_id))
    if record.twitter_user_id:
        keys.append(("twitter_user_id", record.twitter_user_id))
    if record.linkedin_profile_id:
        keys.append(("linkedin_profile_id", record.linkedin_profile_id))
    url_key = normalise_profile_url(record.linkedin_url)
    if url_key:
        keys.append(("linkedin_url_key", url_key))
    keys += [("email", normalise_email(e)) for e in record.emails if normalise_email(e)]
    return keys


def _load_matches(owner: User, records: Sequence[ContactRecord]) -> _ContactIndex:
    """Fetch only the contacts whose keys appear in ``records``.

    One id lookup per kind of key (each an indexed IN query), then one
    query for the matched rows. Never loads the owner's other contacts.
    """
    wanted: dict[str, set[str]] = {}
    for record in records:
        for kind, value in _record_keys(record):
            wanted.setdefault(kind, set()).add(value)

    ids: set = set()
    for kind, values in wanted.items():
        values = list(values)
        for start in range(0, len(values), BULK_BATCH_SIZE):
            chunk = values[start : start + BULK_BATCH_SIZE]
            if kind == "email":
                ids.update(
                    ContactEmail.objects.filter(
                        owner=owner, address__in=chunk
                    ).values_list("contact_id", flat=True)
                )
            else:
                ids.update(
                    Contact.objects.filter(
                        owner=owner, **{f"{kind}__in": chunk}
                    ).values_list("pk", flat=True)
                )

    index = _ContactIndex()
    id_list = list(ids)
    for start in range(0, len(id_list), BULK_BATCH_SIZE):
        for contact in Contact.objects.filter(
            pk__in=id_list[start : start + BULK_BATCH_SIZE]
        ):
            index.add(contact)
    return index


def _merge_record(contact: Contact, record: ContactRecord) -> set[str]:
    """Fill ``contact`` from ``record``; return the names of changed fields."""
    edited = set(contact.user_edited_fields or [])
    changed: set[str] = set()

    def fill(name: str, value) -> None:
        if not value or name in edited or getattr(contact, name):
            return
        setattr(contact, name, value)
        changed.add(name)

    for name in _SCALAR_FIELDS:
        fill(name, getattr(record, name))
    id_field = _EXTERNAL_ID_FIELD.get(record.source)
    if id_field and record.external_id:
        fill(id_field, record.external_id)
    if (
        record.linkedin_url
        and not contact.linkedin_url
        and "linkedin_url" not in edited
    ):
        contact.linkedin_url = (
            normalise_profile_url(record.linkedin_url) or record.linkedin_url
        )
        contact.linkedin_url_key = normalise_profile_url(contact.linkedin_url) or None
        changed |= {"linkedin_url", "linkedin_url_key"}
    if record.birthday and contact.birthday is None and "birthday" not in edited:
        contact.birthday = record.birthday.to_date()
        contact.birthday_year_known = record.birthday.year is not None
        changed |= {"birthday", "birthday_year_known"}
    if record.birthday_text and not contact.birthday_text and "birthday" not in edited:
        contact.birthday_text = record.birthday_text[:200]
        changed.add("birthday_text")

    for name, incoming in (
        ("emails", clean_emails(record.emails)),
        ("phones", [p.strip() for p in record.phones if p.strip()]),
        ("tags", normalise_tags(record.tags)),
    ):
        if name in edited or not incoming:
            continue
        current = list(getattr(contact, name) or [])
        known = {normalise_email(v) if name == "emails" else v for v in current}
        added = [
            v
            for v in incoming
            if (normalise_email(v) if name == "emails" else v) not in known
        ]
        if added:
            setattr(contact, name, current + added)
            changed.add(name)
    return changed


def _new_contact(owner: User, record: ContactRecord, now: dt.datetime) -> Contact:
    contact = Contact(
        id=uuid.uuid4(),
        owner=owner,
        source=record.source,
        created_at=now,
        updated_at=now,
        emails=[],
        phones=[],
        tags=[],
        user_edited_fields=[],
    )
    _merge_record(contact, record)
    _prepare(contact)
    return contact


def contacts_upsert(
    *, owner: User, records: Sequence[ContactRecord], now: dt.datetime | None = None
) -> ContactUpsertResult:
    """Create or fill contacts from ``records`` in a handful of bulk queries.

    1. Look up only the contacts whose keys (source id, LinkedIn id or URL,
       normalised email) appear in the records.
    2. Match each record in memory, most specific key first; records of the
       same person within the batch merge into one contact.
    3. ``bulk_create`` new contacts and ``bulk_update`` changed ones, then
       write their email and tag rows.
    """
    now = now or timezone.now()
    result = ContactUpsertResult()
    if not records:
        return result

    index = _load_matches(owner, records)
    created: dict[uuid.UUID, Contact] = {}
    updated: dict[uuid.UUID, Contact] = {}
    changed_fields: set[str] = set()
    matched_existing: set[uuid.UUID] = set()

    for record in records:
        keys = _record_keys(record)
        contact = index.find(keys)
        if contact is None:
            if not (record.full_name or record.emails or keys):
                continue
            contact = _new_contact(owner, record, now)
            created[contact.pk] = contact
        elif contact.pk in created:
            _merge_record(contact, record)
            _prepare(contact)
        else:
            matched_existing.add(contact.pk)
            fields = _merge_record(contact, record)
            if fields:
                _prepare(contact)
                changed_fields |= fields
                updated[contact.pk] = contact
        index.add(contact)
        result.contact_ids[record.position] = contact.pk

    Contact.objects.bulk_create(created.values(), batch_size=BULK_BATCH_SIZE)
    if updated:
        for contact in updated.values():
            contact.updated_at = now
        fields = sorted(changed_fields | {"updated_at", "linkedin_url_key"})
        bulk_update_rows(
            model=Contact,
            fields=fields,
            rows=[(c.pk, *(getattr(c, f) for f in fields)) for c in updated.values()],
            batch_size=BULK_BATCH_SIZE,
        )
    contacts_sync_lookup_rows(contacts=list(created.values()), replace=False)
    if changed_fields & {"emails", "tags"}:
        contacts_sync_lookup_rows(contacts=list(updated.values()), replace=True)

    result.created = len(created)
    result.updated = len(updated)
    result.unchanged = len(matched_existing - updated.keys())
    result.created_ids = list(created)
    result.updated_ids = list(updated)
    return result


@dataclass
class InteractionUpsertResult:
    created: int = 0
    skipped_existing: int = 0
    unmatched: list[RecordProblem] = field(default_factory=list)
    # Contacts that received at least one new interaction.
    touched_contact_ids: set = field(default_factory=set)


def _participant_contacts(
    owner: User, records: Sequence[InteractionRecord]
) -> dict[tuple[str, str], uuid.UUID]:
    """Map every participant key in ``records`` to a contact id (3 queries at most)."""
    emails, twitter_ids, linkedin_ids = set(), set(), set()
    for record in records:
        for p in record.participants:
            if normalise_email(p.email):
                emails.add(normalise_email(p.email))
            if p.twitter_user_id:
                twitter_ids.add(p.twitter_user_id)
            if p.linkedin_profile_id:
                linkedin_ids.add(p.linkedin_profile_id)

    found: dict[tuple[str, str], uuid.UUID] = {}

    def chunks(values: set[str]):
        values = sorted(values)
        for start in range(0, len(values), BULK_BATCH_SIZE):
            yield values[start : start + BULK_BATCH_SIZE]

    for chunk in chunks(emails):
        rows = ContactEmail.objects.filter(owner=owner, address__in=chunk).order_by(
            "id"
        )
        for address, contact_id in rows.values_list("address", "contact_id"):
            # Two contacts sharing an address: the oldest row wins, and the
            # run goes on (the original aborted the whole job here).
            found.setdefault(("email", address), contact_id)
    for kind, values in (
        ("twitter_user_id", twitter_ids),
        ("linkedin_profile_id", linkedin_ids),
    ):
        for chunk in chunks(values):
            rows = Contact.objects.filter(
                owner=owner, **{f"{kind}__in": chunk}
            ).order_by("created_at")
            for value, contact_id in rows.values_list(kind, "pk"):
                found.setdefault((kind, value), contact_id)
    return found


def interactions_upsert(
    *, owner: User, records: Sequence[InteractionRecord], now: dt.datetime | None = None
) -> InteractionUpsertResult:
    """Insert the interactions of ``records`` that are not stored yet.

    Participants are resolved to existing contacts (a participant without
    a contact is reported, not invented: callers upsert contacts first).
    Keys already stored, or repeated within the batch, are skipped. The
    unique constraint on (owner, platform, key) makes a concurrent run
    that inserts the same key harmless (``ignore_conflicts``).
    """
    now = now or timezone.now()
    result = InteractionUpsertResult()
    if not records:
        return result
    contacts = _participant_contacts(owner, records)

    candidates: dict[tuple[str, str], Interaction] = {}
    for record in records:
        matched: list[uuid.UUID] = []
        for p in record.participants:
            contact_id = (
                contacts.get(("email", normalise_email(p.email)))
                or contacts.get(("twitter_user_id", p.twitter_user_id))
                or contacts.get(("linkedin_profile_id", p.linkedin_profile_id))
            )
            if contact_id is None:
                who = p.email or p.twitter_user_id or p.linkedin_profile_id or p.name
                result.unmatched.append(
                    RecordProblem(
                        record.position, f"no contact for participant {who!r}"
                    )
                )
            elif contact_id not in matched:
                matched.append(contact_id)
        if not record.per_contact:
            matched = matched[:1]
        for contact_id in matched:
            key = (
                f"{record.reference_id}:{contact_id}"
                if record.per_contact
                else record.reference_id
            )
            key = key[:500]
            if (record.platform, key) in candidates:
                result.skipped_existing += 1
                continue
            candidates[(record.platform, key)] = Interaction(
                id=uuid.uuid4(),
                owner=owner,
                contact_id=contact_id,
                platform=record.platform,
                direction=record.direction,
                content_preview=(record.content_preview or "")[:PREVIEW_MAX] or None,
                raw_reference_id=key,
                occurred_at=record.occurred_at,
                created_at=now,
            )

    existing = _existing_keys(owner, candidates.keys())
    new_rows = [row for key, row in candidates.items() if key not in existing]
    result.skipped_existing += len(candidates) - len(new_rows)
    Interaction.objects.bulk_create(
        new_rows, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True
    )
    result.created = len(new_rows)
    result.touched_contact_ids = {row.contact_id for row in new_rows}
    return result


def _existing_keys(
    owner: User, keys: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    by_platform: dict[str, list[str]] = {}
    for platform, key in keys:
        by_platform.setdefault(platform, []).append(key)
    existing: set[tuple[str, str]] = set()
    for platform, refs in by_platform.items():
        for start in range(0, len(refs), BULK_BATCH_SIZE):
            rows = Interaction.objects.filter(
                owner=owner,
                platform=platform,
                raw_reference_id__in=refs[start : start + BULK_BATCH_SIZE],
            ).values_list("raw_reference_id", flat=True)
            existing.update((platform, ref) for ref in rows)
    return existing


def suggestions_dismiss_for_new_activity(
    *, owner: User, contact_ids: Iterable, since: dt.datetime
) -> int:
    """Dismiss pending follow-ups of contacts heard from after the suggestion.

    Only an interaction inserted since ``since`` (this run) and dated after
    the suggestion was made dismisses it: a backfill that imports a
    six-month-old message leaves today's suggestion alone.
    """
    ids = list(contact_ids)
    if not ids:
        return 0
    newer_contact = Interaction.objects.filter(
        contact_id=OuterRef("contact_id"),
        created_at__gte=since,
        occurred_at__gt=OuterRef("created_at"),
    ).exclude(direction="event")
    return (
        FollowUpSuggestion.objects.filter(
            owner=owner, status="pending", contact_id__in=ids
        )
        .filter(Exists(newer_contact))
        .update(status="dismissed", updated_at=timezone.now())
    )


# --- interaction edits outside a sync ----------------------------------------


def interaction_contacts(interactions) -> set[tuple]:
    """Return the (owner id, contact id) pairs of an Interaction queryset, one query.

    The owner is the contact's: the score reads a contact's interactions
    whoever the interaction row names as its owner.
    """
    pairs = interactions.order_by().values_list("contact__owner_id", "contact_id")
    return set(pairs.distinct())


def interaction_edits_rescore(
    *, contacts: Iterable[tuple], now: dt.datetime | None = None
) -> int:
    """Rescore the contacts whose interactions were edited, moved or deleted.

    For every writer of interactions other than a sync, import or push
    (those rescore what they touched themselves): the admin's add, edit,
    delete and bulk delete. ``contacts`` are (owner id, contact id) pairs:
    both the old and the new contact of a moved interaction. The nightly
    rescore only looks at contacts whose interactions' ages crossed a
    boundary, so a contact skipped here would keep a wrong score for ever.

    Call it inside the transaction that wrote, after the write. Per owner
    it takes the owner's write lock, then rescores through the batch path
    (one aggregate, batched UPDATEs), so a nightly run either committed
    before (this rescore then sees its values and overwrites them) or waits
    for this transaction. Return the number of contacts whose stored values
    changed.
    """
    from contacts.scoring import contacts_rescore_ids

    now = now or timezone.now()
    by_owner: dict = {}
    for owner_id, contact_id in contacts:
        by_owner.setdefault(owner_id, set()).add(contact_id)
    changed = 0
    # Sorted: two writers locking the same owners take them in one order.
    for owner_id in sorted(by_owner, key=str):
        owner_write_lock(owner_id=owner_id)
        result = contacts_rescore_ids(
            owner_id=owner_id, contact_ids=by_owner[owner_id], now=now
        )
        changed += result.changed
    logger.info(
        "rescored contacts after an interaction edit",
        extra={"contacts": sum(map(len, by_owner.values())), "changed": changed},
    )
    return changed
