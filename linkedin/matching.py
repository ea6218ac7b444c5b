"""Find the contacts a push names with one query, then match in memory.

The original loaded every contact of the user on each push and matched in
dictionaries. Here the request's own keys (profile ids, canonical profile
URLs, sender names) go into ONE indexed ``values_list`` query, and matching
happens in dictionaries built from just those rows:

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

from django.db.models import Q
from django.db.models.functions import Lower

from contacts.models import Contact, Interaction, User
from contacts.services import owner_write_lock_condition
from linkedin.profile_urls import normalise_profile_url, profile_id_from_url
from linkedin.serializers import PushMessage, PushProfile

logger = logging.getLogger(__name__)

PLATFORM = "linkedin"
PROFILE_URL_PREFIX = "https://www.linkedin.com/in/"

# Contacts the backfill list may name when the push itself touched fewer
# than this many incomplete ones (spec §6.10).
BACKFILL_MAX = 10

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


def profile_url_key_of_id(profile_id: str) -> str:
    """Return the canonical URL of ``/in/<profile_id>``, or "" if it is not one."""
    return normalise_profile_url(PROFILE_URL_PREFIX + profile_id) if profile_id else ""


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
    # name_key() of message senders, and the same names as sent (single-spaced).
    names: frozenset[str]
    spelled_names: frozenset[str]


def push_keys(
    *, profiles: Sequence[PushProfile], messages: Sequence[PushMessage]
) -> PushKeys:
    """Collect every key a push can match a contact by."""
    ids: set[str] = set()
    urls: set[str] = set()
    names: set[str] = set()
    spelled: set[str] = set()
    for profile in profiles:
        if profile.profile_id:
            ids.add(profile.profile_id)
            urls.add(profile_url_key_of_id(profile.profile_id))
        urls.add(profile.url_key)
    for message in messages:
        if message.profile_id:
            ids.add(message.profile_id)
            urls.add(profile_url_key_of_id(message.profile_id))
        if name_key(message.profile_name):
            names.add(name_key(message.profile_name))
            spelled.add(" ".join(message.profile_name.split()))
    urls.discard("")
    return PushKeys(
        profile_ids=frozenset(ids),
        url_keys=frozenset(urls),
        names=frozenset(names),
        spelled_names=frozenset(spelled),
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


def interaction_keys_existing(
    *, owner: User, keys: Iterable[str], write_lock: bool = False
) -> set[str]:
    """Return which of ``keys`` are already stored for ``owner`` (one query).

    With ``write_lock`` the same query first takes the owner's write lock
    (``contacts.services.owner_write_lock``). Its rows are then read as of
    the moment the query started, which may be before the wait: a writer
    that committed meanwhile is missing from them, though not from the
    queries that follow.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return set()
    stored = Interaction.objects.filter(
        owner=owner, platform=PLATFORM, raw_reference_id__in=keys
    )
    if write_lock:
        stored = stored.filter(owner_write_lock_condition(owner_id=owner.pk))
    return set(stored.values_list("raw_reference_id", flat=True))


def contacts_for_push(
    *, owner: User, keys: PushKeys, backfill_limit: int
) -> list[Contact]:
    """Return the owner's contacts a push may touch, in ONE query.

    Rows come back whose profile id or canonical URL is among the keys, or
    whose name is one of the message senders' (lower-cased in SQL, and as
    spelled, because SQLite's LOWER() folds ASCII letters only), plus up to
    ``backfill_limit`` contacts that could fill the backfill list. Only
    LOOKUP_COLUMNS are read, oldest contact first, so when two contacts
    share a key the older one wins, as it does in every sync.
    """
    # One SELECT per kind of key, joined with UNION into ONE statement:
    # each part is an index range scan on (owner, key), where an OR of the
    # keys made SQLite scan every contact of the owner.
    owned = Contact.objects.filter(owner=owner)
    backfill = owned.filter(backfill_candidate_filter()).values("pk")[:backfill_limit]
    # Looked up by primary key: the subquery is already the owner's.
    parts = [Contact.objects.filter(pk__in=backfill)]
    if keys.profile_ids:
        parts.append(owned.filter(linkedin_profile_id__in=sorted(keys.profile_ids)))
    if keys.url_keys:
        parts.append(owned.filter(linkedin_url_key__in=sorted(keys.url_keys)))
    if keys.names:
        parts.append(
            owned.alias(name_lower=Lower("full_name")).filter(
                name_lower__in=sorted(keys.names)
            )
        )
        parts.append(owned.filter(full_name__in=sorted(keys.spelled_names)))
    selects = [part.values_list(*LOOKUP_COLUMNS) for part in parts]
    rows = selects[0].union(*selects[1:]) if len(selects) > 1 else selects[0]
    created_at, pk = LOOKUP_COLUMNS.index("created_at"), LOOKUP_COLUMNS.index("id")
    rows = sorted(rows, key=lambda row: (row[created_at], str(row[pk])))
    return [
        Contact(owner_id=owner.pk, **dict(zip(LOOKUP_COLUMNS, row, strict=True)))
        for row in rows
    ]


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
        for url_key in (profile.url_key, profile_url_key_of_id(profile.profile_id)):
            if url_key and url_key in self.by_url:
                return self.by_url[url_key]
        return None

    def match_message(self, message: PushMessage) -> tuple[Contact | None, bool]:
        """Return (contact of a message's sender, whether the name was ambiguous)."""
        if message.profile_id:
            if message.profile_id in self.by_id:
                return self.by_id[message.profile_id], False
            url_key = profile_url_key_of_id(message.profile_id)
            if url_key and url_key in self.by_url:
                return self.by_url[url_key], False

        named = list(self.by_name.get(name_key(message.profile_name), {}).values())
        if len(named) == 1 and not _is_other_member(named[0], message.profile_id):
            return named[0], False
        return None, len(named) > 1
