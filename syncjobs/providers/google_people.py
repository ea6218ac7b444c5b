"""Read the user's Google Contacts through the People API.

A first run lists every connection and stores the sync token the API hands
back; later runs send that token and get only what changed. Contacts are
never deleted here: a person Google reports as deleted is only a warning.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from contacts.birthdays import Birthday, BirthdayError, parse_birthday
from syncjobs.providers.base import (
    AccountCredentials,
    Provider,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.google_client import google_service
from syncjobs.records import ContactRecord, ParseResult, RecordProblem

logger = logging.getLogger(__name__)

SOURCE = "google"
PAGE_SIZE = 1000
PERSON_FIELDS = (
    "names,emailAddresses,phoneNumbers,organizations,birthdays,photos,"
    "biographies,memberships"
)

# Reasons Google gives for "slow down". The People API reports them as 429
# RESOURCE_EXHAUSTED, older front ends as 403 with usageLimits reasons; a 403
# of this kind is not an authorisation failure (known bug B14).
_RATE_LIMIT_REASONS = frozenset(
    {
        "rateLimitExceeded",
        "userRateLimitExceeded",
        "quotaExceeded",
        "RATE_LIMIT_EXCEEDED",
        "RESOURCE_EXHAUSTED",
    }
)
_SCOPE_REASONS = frozenset(
    {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
)
_EXPIRED_SYNC_TOKEN = "EXPIRED_SYNC_TOKEN"
GROUP_PAGE_SIZE = 1000
# System groups have the same ids in every account, so they need no lookup.
# These four say something about the person; "myContacts" (every saved
# contact), "all", "chatBuddies" and "blocked" give no tag.
SYSTEM_GROUP_TAGS = {
    "contactGroups/starred": "starred",
    "contactGroups/friends": "friends",
    "contactGroups/family": "family",
    "contactGroups/coworkers": "coworkers",
}
UNTAGGED_SYSTEM_GROUPS = frozenset(
    {
        "contactGroups/myContacts",
        "contactGroups/all",
        "contactGroups/chatBuddies",
        "contactGroups/blocked",
    }
)

_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# "Jane Doe | Acme", "Jane Doe @ Acme", "Jane Doe / Acme", "Jane Doe — Acme",
# "Jane Doe - Acme". A hyphen splits only before whitespace ("Mary-Jane"
# stays whole) and "@" only after it, so an address is never split.
_NAME_AND_COMPANY = re.compile(
    r"^(?P<name>.+?)\s*(?:[|/\u2014\u2013]|(?<=\s)@|-(?=\s))\s*(?P<company>.+)$"
)
_NAME_FRAGMENTS = re.compile(r"[._-]")


class _ExpiredSyncToken(Exception):
    """The API no longer accepts the stored sync token."""


class GooglePeopleProvider(Provider):
    platform = "google_contacts"

    def fetch(
        self,
        *,
        credentials: AccountCredentials,
        cursor: dict[str, str],
        now: dt.datetime,
        http: httplib2.Http | None = None,
    ) -> ParseResult:
        """Return the connections changed since ``cursor["sync_token"]``.

        1. List connections with the stored sync token (all of them when
           there is none), following nextPageToken.
        2. When the token has expired (a 400, sometimes a 410), list them
           all again without it and flag the cursor ``full_resync``.
        3. When someone is in one of the user's own contact groups, list
           the groups to name them (one call per run, only then).
        4. Map each person, with their groups as tags; store the new sync
           token in the cursor.
        """
        service = google_service("people", "v1", credentials, http=http)
        account = credentials.account_id
        sync_token = cursor.get("sync_token") or None

        full_resync = False
        try:
            people, next_sync_token = _list_connections(service, sync_token, account)
        except _ExpiredSyncToken:
            logger.warning("People sync token expired for %s; listing all", account)
            full_resync = True
            people, next_sync_token = _list_connections(service, None, account)

        group_tags = {
            **SYSTEM_GROUP_TAGS,
            **_user_group_names(service, _user_groups(people), account),
        }
        result = ParseResult()
        for index, person in enumerate(people, start=1):
            result.items_read += 1
            _read_person(person, index, result, group_tags=group_tags)
        # An empty token clears the stored one, so the next run lists all.
        result.cursor["sync_token"] = next_sync_token
        if full_resync:
            result.cursor["full_resync"] = "1"
        return result


def _list_connections(
    service, sync_token: str | None, account: str
) -> tuple[list[dict], str]:
    """Return every person on every page, and the page's nextSyncToken."""
    # https://developers.google.com/people/api/rest/v1/people.connections/list
    connections = service.people().connections()
    request = connections.list(
        resourceName="people/me",
        pageSize=PAGE_SIZE,
        personFields=PERSON_FIELDS,
        requestSyncToken=True,
        syncToken=sync_token,
    )
    people: list[dict] = []
    next_sync_token = ""
    while request is not None:
        try:
            response = _execute(request, account)
        except HttpError as exc:
            if sync_token and _is_expired_sync_token(exc):
                raise _ExpiredSyncToken from exc
            raise _provider_error(exc, account) from exc
        people.extend(response.get("connections", []))
        next_sync_token = response.get("nextSyncToken", next_sync_token)
        request = connections.list_next(request, response)
    return people, next_sync_token


def _user_groups(people: list[dict]) -> set[str]:
    """Return the resource names of the user's own groups ``people`` are in."""
    return {
        name
        for person in people
        for name in _membership_groups(person)
        if name not in SYSTEM_GROUP_TAGS and name not in UNTAGGED_SYSTEM_GROUPS
    }


def _membership_groups(person: dict) -> list[str]:
    names = []
    for membership in person.get("memberships") or ():
        group = (membership or {}).get("contactGroupMembership") or {}
        name = group.get("contactGroupResourceName") or (
            f"contactGroups/{group['contactGroupId']}"
            if group.get("contactGroupId")
            else ""
        )
        if name:
            names.append(name)
    return names


def _user_group_names(service, wanted: set[str], account: str) -> dict[str, str]:
    """Return {resource name: name} of the user's groups, when ``wanted`` has any."""
    if not wanted:
        return {}
    # https://developers.google.com/people/api/rest/v1/contactGroups/list
    groups = service.contactGroups()
    request = groups.list(pageSize=GROUP_PAGE_SIZE, groupFields="name,groupType")
    names: dict[str, str] = {}
    while request is not None:
        try:
            response = _execute(request, account)
        except HttpError as exc:
            raise _provider_error(exc, account) from exc
        for group in response.get("contactGroups", []):
            name = (group.get("formattedName") or group.get("name") or "").strip()
            if group.get("groupType") == "USER_CONTACT_GROUP" and name:
                names[group["resourceName"]] = name
        request = groups.list_next(request, response)
    return names


def _execute(request, account: str) -> dict:
    """Run one API call; map auth and transport failures (HttpError passes)."""
    try:
        return request.execute()
    except google.auth.exceptions.RefreshError as exc:
        if "invalid_grant" in str(exc):
            raise TokenRevoked(f"{account}: {exc}") from exc
        raise ProviderError(f"{account}: token refresh failed: {exc}") from exc
    except (httplib2.HttpLib2Error, OSError) as exc:
        raise ProviderError(f"{account}: People API unreachable: {exc}") from exc


def _error_reasons(exc: HttpError) -> set[str]:
    """Return the machine-readable reasons in a Google error body."""
    try:
        error = json.loads(exc.content.decode("utf-8")).get("error", {})
    except (ValueError, AttributeError):
        return set()
    if not isinstance(error, dict):
        return set()
    reasons = {str(error["status"])} if error.get("status") else set()
    for item in [*error.get("errors", []), *error.get("details", [])]:
        if isinstance(item, dict) and item.get("reason"):
            reasons.add(str(item["reason"]))
    return reasons


def _is_expired_sync_token(exc: HttpError) -> bool:
    status = exc.resp.status
    if status == 410:
        return True
    if status != 400:
        return False
    return (
        _EXPIRED_SYNC_TOKEN in _error_reasons(exc)
        or "sync token" in (exc.reason or "").lower()
    )


def _provider_error(exc: HttpError, account: str) -> ProviderError:
    status = exc.resp.status
    reasons = _error_reasons(exc)
    message = f"{account}: People API {status}: {exc.reason}"
    if status == 429 or (status == 403 and reasons & _RATE_LIMIT_REASONS):
        return RateLimited(message, retry_after=_retry_after(exc.resp))
    if status == 401:
        # google-auth has already refreshed the token once and retried.
        return TokenRevoked(message)
    if status == 403 and reasons & _SCOPE_REASONS:
        return ProviderError(message, reauth=True)
    if status == 408 or status >= 500:
        return ProviderError(message, retry_after=_retry_after(exc.resp))
    return ProviderError(message, permanent=True)


def _retry_after(response) -> float | None:
    try:
        return float(response.get("retry-after"))
    except (TypeError, ValueError):
        return None


def _read_person(
    person: dict, index: int, result: ParseResult, *, group_tags: dict[str, str]
) -> None:
    resource_name = person.get("resourceName", "")
    position = resource_name or f"person #{index}"
    if (person.get("metadata") or {}).get("deleted"):
        result.warnings.append(RecordProblem(position, "deleted in Google"))
        return

    name = next(iter(person.get("names") or []), {})
    full_name = (name.get("displayName") or "").strip()
    given = (name.get("givenName") or "").strip()
    family = (name.get("familyName") or "").strip()
    emails = _unique(e.get("value") for e in person.get("emailAddresses") or [])
    phones = _unique(p.get("value") for p in person.get("phoneNumbers") or [])
    organization = next(iter(person.get("organizations") or []), {})
    company = (organization.get("name") or "").strip()

    has_person_name = bool(given or family) or (
        full_name and not _EMAIL_LIKE.match(full_name)
    )
    if not has_person_name and emails and (inferred := name_from_email(emails[0])):
        given, family = inferred
        full_name = f"{given} {family}"
    if not full_name:
        full_name = " ".join(part for part in (given, family) if part)
    if not company:
        full_name, company = split_name_and_company(full_name)
        if company:
            family = split_name_and_company(family)[0]

    if not full_name and not emails:
        result.errors.append(
            RecordProblem(position, "the person has no name and no email")
        )
        return

    warnings: list[str] = []
    birthday, birthday_text = _birthday(person.get("birthdays") or [], warnings)
    result.warnings.extend(RecordProblem(position, w) for w in warnings)
    biographies = [
        (b.get("value") or "").strip() for b in person.get("biographies") or []
    ]
    notes = "\n\n".join(value for value in biographies if value)
    photo = next(
        (
            p["url"]
            for p in person.get("photos") or []
            if p.get("url") and not p.get("default")
        ),
        "",
    )
    # A group deleted since (or unknown) names no tag.
    tags = _unique(
        group_tags[group] for group in _membership_groups(person) if group in group_tags
    )
    result.contacts.append(
        ContactRecord(
            source=SOURCE,
            position=position,
            external_id=resource_name,
            full_name=full_name,
            given_name=given,
            family_name=family,
            emails=tuple(emails),
            phones=tuple(phones),
            company=company,
            title=(organization.get("title") or "").strip(),
            notes=notes,
            birthday=birthday,
            birthday_text=birthday_text,
            avatar_url=photo,
            tags=tuple(tags),
        )
    )


def _unique(values) -> list[str]:
    found: list[str] = []
    for value in values:
        value = (value or "").strip()
        if value and value.lower() not in (known.lower() for known in found):
            found.append(value)
    return found


def _birthday(entries: list[dict], warnings: list[str]) -> tuple[Birthday | None, str]:
    """Return the person's birthday, or its free text when it has no date.

    A date without a year is a birthday without a year; a date with a year
    but no month or day says nothing about the birthday (known bug B06).
    """
    primary_first = sorted(
        entries, key=lambda e: not (e.get("metadata") or {}).get("primary")
    )
    text = ""
    for entry in primary_first:
        date = entry.get("date") or {}
        month, day = date.get("month") or 0, date.get("day") or 0
        if month and day:
            try:
                return Birthday(month=month, day=day, year=date.get("year") or None), ""
            except BirthdayError as exc:
                warnings.append(f"the birthday {date} is not a real date: {exc}")
        text = text or (entry.get("text") or "").strip()
    if not text:
        return None, ""
    try:
        birthday = parse_birthday(text)
    except BirthdayError:
        birthday = None
    if birthday is not None:
        return birthday, ""
    warnings.append(f"text-only birthday: {text!r}")
    return None, text


def name_from_email(email: str) -> tuple[str, str] | None:
    """Return (given, family) read from an address like ``jane.doe@…``.

    Take the local part without a ``+tag``, drop trailing digits, split on
    ``.``, ``_`` and ``-`` and drop one-letter fragments; two fragments or
    more name the person, anything less is too little to go on.
    """
    local = email.split("@", 1)[0].split("+", 1)[0].lower().rstrip("0123456789")
    fragments = [part for part in _NAME_FRAGMENTS.split(local) if len(part) > 1]
    if len(fragments) < 2:
        return None
    return fragments[0].capitalize(), fragments[1].capitalize()


def split_name_and_company(full_name: str) -> tuple[str, str]:
    """Return (name, company) for "Jane Doe | Acme"; (full_name, "") otherwise."""
    full_name = full_name.strip()
    if not full_name or _EMAIL_LIKE.match(full_name):
        return full_name, ""
    match = _NAME_AND_COMPANY.match(full_name)
    if match is None:
        return full_name, ""
    return match["name"].strip(), match["company"].strip()
