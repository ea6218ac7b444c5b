"""Turn the user's past Google Calendar meetings into interactions.

Each meeting that has already started, with at least one real attendee
besides the user, becomes one "meeting" interaction shared by its
attendees, and each attendee becomes a contact record.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from syncjobs.providers.base import (
    AccountCredentials,
    Provider,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.google_client import google_service
from syncjobs.records import (
    MUTUAL,
    ContactRecord,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)

logger = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(days=1095)
PAGE_SIZE = 250
# A guard against a pager that never ends; 50,000 events is far past any
# real three-year calendar.
MAX_PAGES = 200
PREVIEW_LENGTH = 500

_RATE_LIMIT_REASONS = {
    "ratelimitexceeded",
    "userratelimitexceeded",
    "rate_limit_exceeded",
}
_IGNORED_LOCAL_PARTS = {
    "noreply",
    "no-reply",
    "info",
    "support",
    "admin",
    "hello",
    "team",
    "contact",
}
_TITLE_BETWEEN = re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+)", re.IGNORECASE)
_TITLE_WITH = re.compile(
    r"\b(?:meeting|call|chat|coffee|lunch|dinner|sync|catchup|catch-up)\s+with\s+"
    r"(?P<name>.+)",
    re.IGNORECASE,
)
# What usually follows a name in a title: "Coffee with Ann at Noon Cafe",
# "Call with Bob - intro", "Lunch with Eve (tentative)".
_AFTER_NAME = re.compile(
    r"\s+(?:-|–|—|\||@|at|on|about|re|for|to)\s.*$|\s*[(\[:/].*$", re.IGNORECASE
)

# Rank of where an attendee's name came from, to keep the best one.
_FROM_DISPLAY_NAME, _FROM_TITLE, _FROM_EMAIL, _NO_NAME = 3, 2, 1, 0


class GoogleCalendarProvider(Provider):
    """Meetings from the primary calendar, up to the moment of the run."""

    platform = "google_calendar"

    def fetch(
        self,
        *,
        credentials: AccountCredentials,
        cursor: dict[str, str],
        now: dt.datetime,
        http: httplib2.Http | None = None,
    ) -> ParseResult:
        """Return meetings that started since the last run, and their people.

        1. With a stored sync token, read what changed since the last run
           (edits to past meetings, meetings added after the fact). A 410
           means the token expired: fall back to a full read.
        2. Read the window from the last run's ``now`` (first run: three
           years back) up to ``now``. Meetings booked ahead reach the past
           without changing, so the change feed alone never reports them.
        3. Skip cancelled events, events that start after ``now``, and
           events with nobody but the user and meeting rooms.
        """
        service = google_service("calendar", "v3", credentials, http=http)
        result = ParseResult()
        try:
            items, sync_token = _read_events(
                service.events(), cursor=cursor, now=now, result=result
            )
        except HttpError as exc:
            raise _provider_error(exc) from exc
        except google.auth.exceptions.RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise TokenRevoked(f"{credentials.account_id}: {exc}") from exc
            raise ProviderError(
                f"{credentials.account_id}: refresh failed: {exc}"
            ) from exc
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise ProviderError(f"Calendar API unreachable: {exc}") from exc

        own_emails = {i.lower() for i in credentials.own_identities if "@" in i}
        own_names = {i.lower() for i in credentials.own_identities if "@" not in i}
        contacts: dict[str, tuple[int, ContactRecord]] = {}
        seen: set[str] = set()
        for event in items:
            result.items_read += 1
            event_id = str(event.get("id") or "")
            if event_id and event_id in seen:
                continue
            seen.add(event_id)
            record = _interaction(
                event,
                own_emails=own_emails,
                own_names=own_names,
                now=now,
                contacts=contacts,
                result=result,
            )
            if record is not None:
                result.interactions.append(record)

        result.contacts.extend(record for _, record in contacts.values())
        if sync_token:
            result.cursor["sync_token"] = sync_token
        result.cursor["window_end"] = _rfc3339(now)
        return result


def _read_events(
    events, *, cursor: dict[str, str], now: dt.datetime, result: ParseResult
) -> tuple[list[dict], str]:
    """Return the changed and the newly elapsed events, and the next token."""
    window_start = _stored_time(cursor.get("window_end")) or now - LOOKBACK
    changed: list[dict] = []
    token = ""
    stored_token = cursor.get("sync_token", "")
    if stored_token:
        try:
            # Google refuses timeMin/timeMax (and orderBy) next to a
            # syncToken, so the change feed is unbounded in time; future
            # events in it are dropped one by one in _interaction.
            changed, token = _list(events, result=result, syncToken=stored_token)
        except HttpError as exc:
            if exc.resp.status != 410:
                raise
            logger.warning("calendar sync token expired; reading the full window")
            result.cursor["full_resync"] = "1"
            window_start = now - LOOKBACK
            changed = []

    elapsed, window_token = _list(
        events,
        result=result,
        timeMin=_rfc3339(min(window_start, now)),
        timeMax=_rfc3339(now),
    )
    return changed + elapsed, token or window_token


def _list(events, *, result: ParseResult, **params) -> tuple[list[dict], str]:
    """Return every item of one events.list query and its nextSyncToken.

    https://developers.google.com/workspace/calendar/api/v3/reference/events/list
    """
    request = events.list(
        calendarId="primary", singleEvents=True, maxResults=PAGE_SIZE, **params
    )
    items: list[dict] = []
    token = ""
    pages = 0
    while request is not None:
        response = request.execute()
        items.extend(response.get("items") or [])
        # Only the last page carries the token for the next run.
        token = response.get("nextSyncToken") or token
        pages += 1
        if pages >= MAX_PAGES:
            result.warnings.append(
                RecordProblem("events", f"stopped after {MAX_PAGES} pages")
            )
            break
        request = events.list_next(request, response)
    return items, token


def _interaction(
    event: dict,
    *,
    own_emails: set[str],
    own_names: set[str],
    now: dt.datetime,
    contacts: dict[str, tuple[int, ContactRecord]],
    result: ParseResult,
) -> InteractionRecord | None:
    """Return the meeting ``event`` describes, or None when it is no meeting."""
    event_id = str(event.get("id") or "")
    position = f"event {event_id or '?'}"
    if not event_id:
        result.errors.append(RecordProblem(position, "event has no id"))
        return None
    if event.get("status") == "cancelled":
        return None
    try:
        started = _start(event.get("start"))
    # OverflowError: a start on the calendar's last (or first) day whose
    # offset moves it past the end once in UTC.
    except (ValueError, OverflowError) as exc:
        result.errors.append(RecordProblem(position, f"unreadable start: {exc}"))
        return None
    if started is None:
        result.errors.append(RecordProblem(position, "event has no start time"))
        return None
    if started > now:
        return None

    others = _other_attendees(event.get("attendees") or [], own_emails=own_emails)
    if not others:
        return None

    title = str(event.get("summary") or "")
    names = own_names | _own_display_names(event)
    participants = []
    for email, display_name in others:
        rank, name, given, family = _NO_NAME, "", "", ""
        if display_name:
            rank, name = _FROM_DISPLAY_NAME, display_name
        elif len(others) == 1 and (
            from_title := _name_from_title(title, own_names=names, email=email)
        ):
            rank, name = _FROM_TITLE, from_title
        else:
            given, family = _name_from_email(email)
            if given:
                rank, name = _FROM_EMAIL, " ".join(p for p in (given, family) if p)
        participants.append(Participant(email=email, name=name))
        known = contacts.get(email)
        if known is None or rank > known[0]:
            contacts[email] = (
                rank,
                ContactRecord(
                    source="google_calendar",
                    position=f"{position} attendee {email}",
                    full_name=name,
                    given_name=given,
                    family_name=family,
                    emails=(email,),
                ),
            )

    return InteractionRecord(
        platform="meeting",
        direction=MUTUAL,
        occurred_at=started,
        reference_id=f"gcal:{event_id}",
        position=position,
        participants=tuple(participants),
        content_preview=title[:PREVIEW_LENGTH],
        per_contact=True,
    )


def _other_attendees(
    attendees: list[dict], *, own_emails: set[str]
) -> list[tuple[str, str]]:
    """Return (email, display name) of each attendee but the user and rooms.

    Known shortcoming: attendees who declined still count as having met.
    """
    others: list[tuple[str, str]] = []
    seen: set[str] = set()
    for attendee in attendees:
        email = str(attendee.get("email") or "").strip().lower()
        if not email or email in seen or email in own_emails:
            continue
        # Google marks the calendar's owner with self=true, which also
        # catches an alias missing from own_identities.
        if attendee.get("self") or attendee.get("resource"):
            continue
        seen.add(email)
        others.append((email, str(attendee.get("displayName") or "").strip()))
    return others


def _own_display_names(event: dict) -> set[str]:
    people = [*(event.get("attendees") or []), event.get("organizer") or {}]
    people.append(event.get("creator") or {})
    return {
        str(p.get("displayName")).strip().lower()
        for p in people
        if p.get("self") and p.get("displayName")
    }


def _name_from_title(title: str, *, own_names: set[str], email: str = "") -> str:
    """Return the other person's name from a 1:1 meeting title, or "".

    Reads "… between <A> and <B>" (booking tools name both sides; the one
    that is not the user wins) and "<meeting|call|coffee|…> with <Name>".
    """
    between = _TITLE_BETWEEN.search(title)
    if between:
        a, b = _clean_name(between["a"]), _clean_name(between["b"])
        if a and b:
            if a.lower() in own_names:
                return b
            if b.lower() in own_names:
                return a
            # Without the user's name, take the side the attendee's
            # address points to ("simon.letort@…" → "Simon Letort").
            local = email.split("@", 1)[0].lower()
            matches = [n for n in (a, b) if _name_in_local_part(n, local)]
            return matches[0] if len(matches) == 1 else ""
        return ""
    with_name = _TITLE_WITH.search(title)
    if with_name:
        return _clean_name(with_name["name"])
    return ""


def _clean_name(text: str) -> str:
    name = _AFTER_NAME.sub("", text.strip())
    name = " ".join(name.strip(" .,;!?\"'").split())
    words = name.split()
    if not 1 <= len(words) <= 4 or "@" in name or any(c.isdigit() for c in name):
        return ""
    if not all(any(c.isalpha() for c in word) for word in words):
        return ""
    return name


def _name_in_local_part(name: str, local: str) -> bool:
    return any(len(word) > 1 and word.lower() in local for word in name.split())


def _name_from_email(email: str) -> tuple[str, str]:
    """Return (given, family) guessed from an address's local part.

    "simon@…" gives ("Simon", ""), "john.smith01@…" ("John", "Smith");
    role addresses and initials ("j.doe@…") give nothing. Known
    shortcoming: a joined initial and surname ("jdoe@…") reads as a
    first name, since nothing tells the two apart.
    """
    local = email.split("@", 1)[0].split("+", 1)[0].lower()
    if local in _IGNORED_LOCAL_PARTS:
        return "", ""
    parts = [re.sub(r"\d+", "", part) for part in re.split(r"[._-]+", local)]
    parts = [part for part in parts if part][:2]
    if not parts or any(len(part) < 2 or not part.isalpha() for part in parts):
        return "", ""
    given = parts[0].capitalize()
    family = parts[1].capitalize() if len(parts) > 1 else ""
    return given, family


def _start(start: object) -> dt.datetime | None:
    """Return an event start as an aware UTC datetime; all-day → midnight UTC."""
    if not isinstance(start, dict):
        return None
    if start.get("dateTime"):
        parsed = dt.datetime.fromisoformat(str(start["dateTime"]))
        if parsed.tzinfo is None:
            # Google sends offsets; without one, the event's own zone applies.
            name = start.get("timeZone")
            try:
                zone = zoneinfo.ZoneInfo(name) if name else dt.UTC
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = dt.UTC
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(dt.UTC)
    if start.get("date"):
        day = dt.date.fromisoformat(str(start["date"]))
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return None


def _provider_error(exc: HttpError) -> ProviderError:
    status = exc.resp.status
    reasons = {
        str(detail.get("reason", "")).lower()
        for detail in (exc.error_details if isinstance(exc.error_details, list) else [])
        if isinstance(detail, dict)
    }
    message = f"Calendar API {status}: {exc.reason}"
    if status == 429 or (status == 403 and reasons & _RATE_LIMIT_REASONS):
        retry_after = exc.resp.get("retry-after")
        seconds = float(retry_after) if str(retry_after or "").isdigit() else None
        return RateLimited(message, retry_after=seconds)
    if status == 401:
        return TokenRevoked(message)
    if status in (400, 403, 404):
        return ProviderError(message, permanent=True)
    return ProviderError(message)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _stored_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
