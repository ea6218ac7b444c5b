"""Find the contacts a push names with one query, then match in memory.

The original loaded every contact of the user on each push and matched in
dictionaries. Here the request's own keys (profile ids, canonical profile
URLs, sender names, and the messages' dedup keys, to tell which are stored)
go into ONE indexed ``values_list`` query, and matching happens in
dictionaries built from just those rows:

1. profile id, exact;
2. canonical profile URL (``linkedin_url_key``), which also catches a
   message whose id is the slug of a stored URL;
3. for messages only, the sender's name, and only when exactly one contact
   has it and that contact is not tied to a different LinkedIn member.
   Profiles are never matched by name: two people can share one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import CharField, F, Q, QuerySet, Value, Window
from django.db.models.base import DEFERRED
from django.db.models.functions import Lower, RowNumber

from contacts.models import Contact, Interaction, User
from crm.compiled_sql import prepared_rows
from linkedin.profile_urls import profile_id_from_url

# Moved to profile_urls (the serializer needs it); still importable from here.
from linkedin.profile_urls import profile_url_key_of_id as profile_url_key_of_id
from linkedin.serializers import PushMessage, PushProfile

logger = logging.getLogger(__name__)

PLATFORM = "linkedin"
PROFILE_URL_PREFIX = "https://www.linkedin.com/in/"

# Contacts the backfill list may name when the push itself touched fewer
# than this many incomplete ones (spec §6.10).
BACKFILL_MAX = 10
# Contacts loaded per sender name: a name is matched only when exactly one
# contact has it, so a second one is all it takes to know it is shared.
NAME_ROWS_MAX = 2

# The columns a push reads and may write; nothing else is loaded.
LOOKUP_COLUMNS = (
    "id",
    "full_name",
    "given_name",
    "family_name",
    "title",
    "company",
    "location",
    "avatar_url",
    "linkedin_url",
    "linkedin_url_key",
    "linkedin_profile_id",
    "linkedin_headline",
    "linkedin_bio",
    "user_edited_fields",
    "created_at",
)

_MEMBER_URN_PREFIXES = ("acoaa", "acwaa")


def message_dedup_key(message: PushMessage) -> str:
    """Return the original's interaction key for a pushed message (spec §6.6)."""
    tail = message.content_hash or message.timestamp
    return f"linkedin:{message.conversation_id}:{tail}"


def name_key(name: str | None) -> str:
    """Return a name as the push compares it: single-spaced, lower-case."""
    return " ".join((name or "").split()).lower()


def _member(value: str) -> tuple[str, str]:
    """Return (kind, canonical id) of a profile id or URL slug.

    Public slugs and member URN ids ("ACoAA...") are two kinds of name for
    one member, so only two of the same kind can be said to differ.
    """
    canonical = profile_id_from_url(PROFILE_URL_PREFIX + value) or value
    kind = "urn" if canonical[:5].lower() in _MEMBER_URN_PREFIXES else "slug"
    return kind, canonical


def _is_other_member(contact: Contact, profile_id: str) -> bool:
    """Tell whether ``contact`` is known as another member than ``profile_id``."""
    if not profile_id:
        return False
    kind, canonical = _member(profile_id)
    known = []
    if contact.linkedin_profile_id:
        known.append(_member(contact.linkedin_profile_id))
    if contact.linkedin_url_key:
        known.append(_member(contact.linkedin_url_key.removeprefix(PROFILE_URL_PREFIX)))
    return any(k == kind and c != canonical for k, c in known)


@dataclass(frozen=True)
class PushKeys:
    profile_ids: frozenset[str]
    url_keys: frozenset[str]
    # name_key() of message senders, and those names as sent (single-spaced)
    # that are not ASCII: SQLite's LOWER() folds ASCII letters only, so an
    # ASCII name is found by its name_key() already.
    names: frozenset[str]
    spelled_names: frozenset[str]
    # message_dedup_key() of every message.
    message_keys: frozenset[str] = frozenset()


def push_keys(
    *, profiles: Sequence[PushProfile], messages: Sequence[PushMessage]
) -> PushKeys:
    """Collect every key a push can match a contact by."""
    ids: set[str] = set()
    urls: set[str] = set()
    names: set[str] = set()
    spelled: set[str] = set()
    message_keys: set[str] = set()
    for profile in profiles:
        if profile.profile_id:
            ids.add(profile.profile_id)
            urls.add(profile.id_url_key)
        urls.add(profile.url_key)
    for message in messages:
        message_keys.add(message_dedup_key(message))
        if message.profile_id:
            ids.add(message.profile_id)
            urls.add(message.id_url_key)
        if name_key(message.profile_name):
            names.add(name_key(message.profile_name))
            if not message.profile_name.isascii():
                spelled.add(" ".join(message.profile_name.split()))
    urls.discard("")
    return PushKeys(
        profile_ids=frozenset(ids),
        url_keys=frozenset(urls),
        names=frozenset(names),
        spelled_names=frozenset(spelled),
        message_keys=frozenset(message_keys),
    )


def backfill_candidate_filter() -> Q:
    """Return the condition of spec §6.10 part 2: a LinkedIn id and no avatar."""
    return (
        Q(linkedin_profile_id__gt="")
        & (Q(avatar_url__isnull=True) | Q(avatar_url=""))
        & (~Q(linkedin_profile_id__startswith="ACo") | Q(linkedin_url__gt=""))
    )


def is_backfill_candidate(contact: Contact) -> bool:
    """Evaluate ``backfill_candidate_filter`` on a loaded row."""
    return bool(
        contact.linkedin_profile_id
        and not contact.avatar_url
        and (not contact.linkedin_profile_id.startswith("ACo") or contact.linkedin_url)
    )


def _stored_keys(*, owner: User, keys: Iterable[str]) -> QuerySet[Interaction]:
    return Interaction.objects.filter(
        owner=owner, platform=PLATFORM, raw_reference_id__in=sorted(keys)
    )


def interaction_keys_existing(*, owner: User, keys: Iterable[str]) -> set[str]:
    """Return which of ``keys`` are already stored for ``owner`` (one query)."""
    keys = set(keys)
    if not keys:
        return set()
    return set(
        _stored_keys(owner=owner, keys=keys).values_list("raw_reference_id", flat=True)
    )


@dataclass(frozen=True)
class PushLookup:
    """What the push's one lookup found."""

    contacts: list[Contact]
    # The messages' dedup keys that are stored already.
    stored_keys: frozenset[str]


def contacts_for_push(
    *, owner: User, keys: PushKeys, backfill_limit: int = BACKFILL_MAX
) -> PushLookup:
    """Return the owner's contacts a push may touch and its stored keys, in ONE query.

    Rows come back whose profile id or canonical URL is among the keys, and
    for each message sender's name (lower-cased in SQL; a name that is not
    ASCII also as spelled, because SQLite's LOWER() folds ASCII letters
    only) the oldest NAME_ROWS_MAX contacts that have it: enough to tell
    one from several, and a shared name is never matched. Then up to ``backfill_limit``
    backfill candidates that no key names, so none of them is touched by
    the push. Only LOOKUP_COLUMNS are read, oldest contact first, so when
    two contacts share a key the older one wins, as it does in every sync.

    Which of the messages' dedup keys are stored comes back in the same
    statement, as rows of their own that fill only a last column. So what
    the push skips is read at the same moment as the contacts, after the
    owner's write lock: a SELECT that took the lock itself read as of
    before its wait, and one more statement would exceed the push's budget.
    """
    # The SQL is compiled once per shape (how many keys of each kind):
    # building it through the ORM cost ten times what running it does.
    lists = (
        sorted(keys.profile_ids),
        sorted(keys.url_keys),
        sorted(keys.names),
        sorted(keys.spelled_names),
        sorted(keys.message_keys),
    )
    shape = ("push lookup", *(len(values) for values in lists), backfill_limit)

    arguments = [owner.pk, *(value for values in lists for value in values)]

    def build(stand_ins: list) -> QuerySet:
        split, start = [], 1
        for values in lists:
            split.append(stand_ins[start : start + len(values)])
            start += len(values)
        return _lookup_query(stand_ins[0], *split, backfill_limit=backfill_limit)

    rows = prepared_rows(shape, build, arguments)
    contact_rows, stored_keys = [], set()
    for row in rows:
        if row[-1] is None:
            contact_rows.append(row[:-1])
        else:
            stored_keys.add(row[-1])
    created_at, pk = LOOKUP_COLUMNS.index("created_at"), LOOKUP_COLUMNS.index("id")
    contact_rows.sort(key=lambda row: (row[created_at], str(row[pk])))
    return PushLookup(
        contacts=[_contact_of_row(owner_id=owner.pk, row=row) for row in contact_rows],
        stored_keys=frozenset(stored_keys),
    )


def _lookup_query(
    owner_id,
    profile_ids: list[str],
    url_keys: list[str],
    names: list[str],
    spelled_names: list[str],
    message_keys: list[str],
    *,
    backfill_limit: int,
) -> QuerySet:
    """Return the UNION of ``contacts_for_push``, each argument a whole parameter."""
    # One SELECT per kind of key, joined with UNION into ONE statement:
    # each part is an index range scan on (owner, key), where an OR of the
    # keys made SQLite scan every contact of the owner.
    owned = Contact.objects.filter(owner_id=owner_id).alias(
        name_lower=Lower("full_name")
    )
    parts = []
    named = Q()
    if profile_ids:
        named |= Q(linkedin_profile_id__in=profile_ids)
        parts.append(owned.filter(linkedin_profile_id__in=profile_ids))
    if url_keys:
        named |= Q(linkedin_url_key__in=url_keys)
        parts.append(owned.filter(linkedin_url_key__in=url_keys))
    if names:
        # Common names grow with the address book (eight contacts of one
        # name at 100,000): loading them all cost more than the lookup.
        named |= Q(name_lower__in=names)
        parts.append(_oldest_of_each_name(owned, "name_lower", names))
    if spelled_names:
        named |= Q(full_name__in=spelled_names)
        parts.append(_oldest_of_each_name(owned, "full_name", spelled_names))
    # The contacts the keys name are loaded anyway, so leaving them out here
    # keeps every candidate of this part untouched and its LIMIT small. In
    # the order of the (owner, profile id) index, so both databases walk it
    # (with LIMIT 10 alone PostgreSQL chose to read the table from the top).
    candidates = (
        owned.filter(backfill_candidate_filter())
        .exclude(named)
        .order_by("linkedin_profile_id")
    )
    # Looked up by primary key: the subquery is already the owner's.
    parts.append(
        Contact.objects.filter(pk__in=candidates.values("pk")[:backfill_limit])
    )
    no_key = Value(None, output_field=CharField())
    selects = [part.values_list(*LOOKUP_COLUMNS, no_key) for part in parts]
    if message_keys:
        nothing = [
            Value(None, output_field=Contact._meta.get_field(column))
            for column in LOOKUP_COLUMNS
        ]
        stored = Interaction.objects.filter(
            owner_id=owner_id, platform=PLATFORM, raw_reference_id__in=message_keys
        )
        selects.append(stored.values_list(*nothing, "raw_reference_id"))
    return selects[0].union(*selects[1:]) if len(selects) > 1 else selects[0]


def _oldest_of_each_name(owned: QuerySet, name: str, values: list[str]) -> QuerySet:
    """Return the oldest NAME_ROWS_MAX contacts per value of ``name`` in ``values``.

    ``name`` is a column or alias of ``owned``; rows are picked by primary
    key from a subquery that numbers them within each name.
    """
    ranked = (
        owned.filter(**{f"{name}__in": values})
        .annotate(
            name_rank=Window(
                RowNumber(),
                partition_by=[F(name)],
                order_by=[F("created_at").asc(), F("id").asc()],
            )
        )
        .filter(name_rank__lte=NAME_ROWS_MAX)
    )
    return Contact.objects.filter(pk__in=ranked.values("pk"))


def _contact_defaults() -> tuple[list, list[tuple[int, object]], dict[str, int]]:
    """Return a Contact's field values in constructor order, each its default.

    Also the (position, default factory) of each field whose default is
    made fresh per row (a list must not be shared), and each attname's
    position. Generated columns stay unset, as in ``Contact()``.
    """
    fields = Contact._meta.concrete_fields
    values: list = []
    factories: list[tuple[int, object]] = []
    for position, model_field in enumerate(fields):
        if model_field.generated:
            values.append(DEFERRED)
        elif model_field.has_default() and callable(model_field.default):
            values.append(None)
            factories.append((position, model_field.default))
        else:
            values.append(model_field.get_default())
    positions = {model_field.attname: i for i, model_field in enumerate(fields)}
    return values, factories, positions


_DEFAULTS, _DEFAULT_FACTORIES, _POSITIONS = _contact_defaults()
_ROW_POSITIONS = tuple(_POSITIONS[column] for column in LOOKUP_COLUMNS)
_OWNER_POSITION = _POSITIONS["owner_id"]


def _contact_of_row(*, owner_id, row: tuple) -> Contact:
    """Return a Contact with a LOOKUP_COLUMNS row and defaults elsewhere.

    The same as ``Contact(owner_id=..., **dict(zip(LOOKUP_COLUMNS, row)))``,
    through Django's positional constructor, which is twice as fast (a
    push builds hundreds). Every column holds a value, none is deferred: a
    changed contact is written back through an upsert that sends them all.
    """
    values = _DEFAULTS.copy()
    for position, factory in _DEFAULT_FACTORIES:
        values[position] = factory()
    for position, value in zip(_ROW_POSITIONS, row, strict=True):
        values[position] = value
    values[_OWNER_POSITION] = owner_id
    return Contact(*values)


class PushContactIndex:
    """In-memory maps from a push's keys to contacts, loaded or new.

    ``add`` registers a contact under every key it has now, so a contact
    created for the first profile or message is found by the next one.
    """

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self.loaded: list[Contact] = []
        self.by_id: dict[str, Contact] = {}
        self.by_url: dict[str, Contact] = {}
        self.by_name: dict[str, dict[uuid.UUID, Contact]] = {}
        for contact in contacts:
            self.loaded.append(contact)
            self.add(contact)

    def add(self, contact: Contact) -> None:
        if contact.linkedin_profile_id:
            self.by_id.setdefault(contact.linkedin_profile_id, contact)
        if contact.linkedin_url_key:
            self.by_url.setdefault(contact.linkedin_url_key, contact)
        key = name_key(contact.full_name)
        if key:
            self.by_name.setdefault(key, {})[contact.pk] = contact

    def forget_name(self, contact: Contact, old_name: str | None) -> None:
        """Drop ``contact`` from the name map under a name it no longer has."""
        self.by_name.get(name_key(old_name), {}).pop(contact.pk, None)

    def match_profile(self, profile: PushProfile) -> Contact | None:
        """Return the contact of a pushed profile: by id, then by URL, never by name."""
        if profile.profile_id and profile.profile_id in self.by_id:
            return self.by_id[profile.profile_id]
        for url_key in (profile.url_key, profile.id_url_key):
            if url_key and url_key in self.by_url:
                return self.by_url[url_key]
        return None

    def match_message(self, message: PushMessage) -> tuple[Contact | None, bool]:
        """Return (contact of a message's sender, whether the name was ambiguous)."""
        if message.profile_id:
            if message.profile_id in self.by_id:
                return self.by_id[message.profile_id], False
            if message.id_url_key in self.by_url:
                return self.by_url[message.id_url_key], False

        named = list(self.by_name.get(name_key(message.profile_name), {}).values())
        if len(named) == 1 and not _is_other_member(named[0], message.profile_id):
            return named[0], False
        return None, len(named) > 1
