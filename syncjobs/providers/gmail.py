"""Read the user's mail from the Gmail API as per-contact e-mail interactions.

A full sync lists a year of messages; later runs read only what the mailbox
history says was added since the stored history id. Messages are fetched
with headers only, in batches, and turned into the same records an mbox
import of the same mail gives (``email:<Message-ID>`` keys), so the two
dedup against each other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable

import google.auth.exceptions
import httplib2
from googleapiclient.errors import BatchError, HttpError

from syncjobs.emailaddr import (
    counterparts,
    decode_header_text,
    message_reference,
    parse_address_header,
    parse_date_header,
)
from syncjobs.providers.base import (
    AccountCredentials,
    Provider,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.providers.google_client import google_service
from syncjobs.records import InteractionRecord, ParseResult, Participant, RecordProblem

logger = logging.getLogger(__name__)

PLATFORM = "email"
FULL_SYNC_QUERY = "newer_than:1y"
PAGE_SIZE = 500
# Google advises batches of at most 50 Gmail calls; larger ones are
# rate-limited part by part.
BATCH_SIZE = 50
# Retries the client library makes inside one call, with its own
# exponential backoff, on 5xx, 429 and rate-limit 403s.
NUM_RETRIES = 3
PREVIEW_LENGTH = 500
# Bcc is only present on the user's own sent mail, where it names people
# the user wrote to.
METADATA_HEADERS = ["From", "To", "Cc", "Bcc", "Date", "Subject", "Message-ID"]
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class GmailProvider(Provider):
    """Gmail: full sync over a year of mail, then incremental by history id."""

    platform = "gmail"

    def fetch(
        self,
        *,
        credentials: AccountCredentials,
        cursor: dict[str, str],
        now: dt.datetime,
        http: httplib2.Http | None = None,
    ) -> ParseResult:
        """Return the messages added since ``cursor``, with the next cursor set.

        1. With no ``history_id`` in the cursor, list a year of messages.
        2. Otherwise list what the history added since it; an expired
           history id (404) falls back to step 1 and flags ``full_resync``.
        3. Fetch the messages' headers in batches and turn each into a record.

        ``now`` is not needed: the full-sync window is Gmail's own
        ``newer_than:1y``, evaluated on Google's clock.
        """
        service = google_service("gmail", "v1", credentials, http=http)
        own = credentials.own_identities

        start = cursor.get("history_id", "")
        if start:
            try:
                ids, history_id = history_message_ids(service, start_history_id=start)
            except _HistoryExpired:
                logger.warning(
                    "gmail history id expired, running a full sync",
                    extra={"account_id": credentials.account_id},
                )
                result = _full_sync(service, own_addresses=own)
                result.cursor["full_resync"] = "1"
                return result
            result = _read_messages(service, ids, own_addresses=own)
            result.cursor = {"history_id": history_id}
            return result

        return _full_sync(service, own_addresses=own)


def parse_message(message: dict, *, own_addresses: frozenset[str]) -> ParseResult:
    """Return the record of one Gmail message resource (metadata or full).

    A message with no sender or no usable date is an error, a draft is
    skipped silently (it is not an interaction yet), and one with no one
    but the user on it is skipped with a warning.
    """
    message_id = str(message.get("id", ""))
    position = f"message {message_id}"
    result = ParseResult(items_read=1)
    if "DRAFT" in (message.get("labelIds") or ()):
        return result

    headers = _headers(message)
    senders = _addresses(headers, "from")
    if not senders:
        raw = _first(headers, "from")
        reason = f"no sender address in From: {raw!r}" if raw else "no From header"
        result.errors.append(RecordProblem(position, reason))
        return result

    occurred_at = _internal_date(message) or parse_date_header(_first(headers, "date"))
    if occurred_at is None:
        reason = f"no internalDate and unreadable Date: {_first(headers, 'date')!r}"
        result.errors.append(RecordProblem(position, reason))
        return result

    recipients = [
        pair for name in ("to", "cc", "bcc") for pair in _addresses(headers, name)
    ]
    direction, others = counterparts(
        senders=senders, recipients=recipients, own_addresses=own_addresses
    )
    if not others:
        result.warnings.append(
            RecordProblem(position, "no counterpart: only the user's own addresses")
        )
        return result

    # The Message-ID key is what an mbox import of the same mail uses; the
    # Gmail id only keys messages that have no Message-ID at all.
    reference = message_reference(_first(headers, "message-id"))
    result.interactions.append(
        InteractionRecord(
            platform=PLATFORM,
            direction=direction,
            occurred_at=occurred_at,
            reference_id=reference or f"gmail:{message_id}",
            position=position,
            participants=tuple(
                Participant(email=address, name=name) for name, address in others
            ),
            content_preview=decode_header_text(_first(headers, "subject"))[
                :PREVIEW_LENGTH
            ],
            per_contact=True,
        )
    )
    return result


# --- one function per endpoint ----------------------------------------------


def profile_history_id(service) -> str:
    """Return the mailbox's current history id.

    https://developers.google.com/gmail/api/reference/rest/v1/users/getProfile
    """
    profile = _execute(service.users().getProfile(userId="me"), what="getProfile")
    return str(profile.get("historyId", ""))


def listed_message_ids(service) -> list[str]:
    """Return the ids of the last year's messages, following every page.

    https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list
    """
    ids: list[str] = []
    page_token = None
    while True:
        page = _execute(
            service.users()
            .messages()
            .list(
                userId="me",
                q=FULL_SYNC_QUERY,
                maxResults=PAGE_SIZE,
                pageToken=page_token,
            ),
            what="messages.list",
        )
        ids.extend(str(item["id"]) for item in page.get("messages", ()))
        page_token = page.get("nextPageToken")
        if not page_token:
            return ids


def history_message_ids(service, *, start_history_id: str) -> tuple[list[str], str]:
    """Return the ids of messages added since ``start_history_id`` and the new id.

    Raises _HistoryExpired when Gmail no longer keeps history that far back.
    https://developers.google.com/gmail/api/reference/rest/v1/users.history/list
    """
    ids: dict[str, None] = {}
    history_id = start_history_id
    page_token = None
    while True:
        request = (
            service.users()
            .history()
            .list(
                userId="me",
                startHistoryId=start_history_id,
                historyTypes=["messageAdded"],
                maxResults=PAGE_SIZE,
                pageToken=page_token,
            )
        )
        try:
            page = _execute(request, what="history.list", missing_ok=True)
        except _NotFound as exc:
            raise _HistoryExpired(start_history_id) from exc
        for entry in page.get("history", ()):
            for added in entry.get("messagesAdded", ()):
                message = added.get("message", {})
                if "DRAFT" not in (message.get("labelIds") or ()):
                    ids[str(message["id"])] = None
        history_id = str(page.get("historyId", history_id))
        page_token = page.get("nextPageToken")
        if not page_token:
            return list(ids), history_id


def fetched_messages(service, ids: list[str]) -> tuple[list[dict], list[str]]:
    """Return the metadata of ``ids`` (in order) and the ids that no longer exist.

    Messages are fetched in batch requests of up to 50. A part the server
    turned away with a retryable status (429, rate-limit 403, 5xx), or a
    batch that failed as a whole that way, is fetched again on its own
    with the client library's backoff.
    https://developers.google.com/gmail/api/reference/rest/v1/users.messages/get
    https://developers.google.com/gmail/api/guides/batch
    """
    found: dict[str, dict] = {}
    missing: list[str] = []
    again: list[str] = []

    for chunk in _chunks(ids, BATCH_SIZE):
        replies: dict[str, tuple[dict | None, HttpError | None]] = {}

        def on_reply(request_id, response, exception, replies=replies):
            replies[request_id] = (response, exception)

        batch = service.new_batch_http_request()
        for message_id in chunk:
            batch.add(
                _get_request(service, message_id),
                callback=on_reply,
                request_id=message_id,
            )
        try:
            batch.execute()
        except HttpError as exc:
            if not _retryable(exc):
                raise _provider_error(exc, what="messages.get batch") from exc
            again.extend(chunk)
            continue
        except (BatchError, KeyError) as exc:
            # KeyError: the reply left out one of the parts that were sent.
            raise ProviderError(f"messages.get batch: unreadable reply: {exc}") from exc
        except google.auth.exceptions.GoogleAuthError as exc:
            raise _auth_error(exc) from exc
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise ProviderError(f"messages.get batch: {exc}") from exc

        for message_id in chunk:
            response, error = replies.get(message_id, (None, None))
            if error is None and response is not None:
                found[message_id] = response
            elif error is not None and error.resp.status == 404:
                missing.append(message_id)
            elif error is None or _retryable(error):
                again.append(message_id)
            else:
                raise _provider_error(error, what=f"message {message_id}")

    for message_id in again:
        try:
            found[message_id] = _execute(
                _get_request(service, message_id),
                what=f"message {message_id}",
                missing_ok=True,
            )
        except _NotFound:
            missing.append(message_id)

    return [found[i] for i in ids if i in found], missing


# --- helpers ----------------------------------------------------------------


class _HistoryExpired(Exception):
    """history.list answered 404: the start history id is too old."""


class _NotFound(Exception):
    """The API answered 404 for a call that treats that as an answer."""


def _full_sync(service, *, own_addresses: frozenset[str]) -> ParseResult:
    # Take the history id before listing, so mail that arrives during the
    # listing is picked up by the next incremental run rather than lost.
    history_id = profile_history_id(service)
    result = _read_messages(
        service, listed_message_ids(service), own_addresses=own_addresses
    )
    result.cursor = {"history_id": history_id}
    return result


def _read_messages(
    service, ids: list[str], *, own_addresses: frozenset[str]
) -> ParseResult:
    result = ParseResult()
    messages, missing = fetched_messages(service, ids)
    for message in messages:
        result.extend(parse_message(message, own_addresses=own_addresses))
    for message_id in missing:
        result.items_read += 1
        result.warnings.append(
            RecordProblem(f"message {message_id}", "deleted before it could be read")
        )
    return result


def _get_request(service, message_id: str):
    return (
        service.users()
        .messages()
        .get(
            userId="me",
            id=message_id,
            format="metadata",
            metadataHeaders=METADATA_HEADERS,
        )
    )


def _execute(request, *, what: str, missing_ok: bool = False) -> dict:
    """Run one API call with the library's retries and map its failures.

    With ``missing_ok`` a 404 raises _NotFound, for callers to whom "not
    found" is an answer rather than a failure.
    """
    try:
        return request.execute(num_retries=NUM_RETRIES)
    except HttpError as exc:
        if exc.resp.status == 404 and missing_ok:
            raise _NotFound(what) from exc
        raise _provider_error(exc, what=what) from exc
    except google.auth.exceptions.GoogleAuthError as exc:
        raise _auth_error(exc) from exc
    except (httplib2.HttpLib2Error, OSError) as exc:
        raise ProviderError(f"{what}: {exc}") from exc


def _provider_error(exc: HttpError, *, what: str) -> ProviderError:
    status = exc.resp.status
    reasons = _error_reasons(exc)
    message = f"{what}: HTTP {status} {', '.join(sorted(reasons)) or exc.reason}"
    if status == 429 or (status == 403 and reasons & RATE_LIMIT_REASONS):
        return RateLimited(message, retry_after=_retry_after(exc))
    if status == 401:
        # google-auth-httplib2 has already refreshed the token and retried.
        return TokenRevoked(message)
    if status == 403 and reasons & SCOPE_REASONS:
        return ProviderError(message, reauth=True)
    if 400 <= status < 500:
        return ProviderError(message, permanent=True)
    return ProviderError(message)


def _auth_error(exc: google.auth.exceptions.GoogleAuthError) -> ProviderError:
    refused = isinstance(exc, google.auth.exceptions.RefreshError) and (
        "invalid_grant" in str(exc)
    )
    if refused:
        return TokenRevoked(f"token refresh refused: {exc}")
    return ProviderError(f"token refresh failed: {exc}")


def _retryable(exc: HttpError) -> bool:
    status = exc.resp.status
    if status >= 500 or status == 429:
        return True
    return status == 403 and bool(_error_reasons(exc) & RATE_LIMIT_REASONS)


def _error_reasons(exc: HttpError) -> set[str]:
    """Return the ``reason`` strings of a Google API error body."""
    try:
        body = json.loads(exc.content.decode("utf-8"))
        error = body["error"]
    except (AttributeError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return set()
    if not isinstance(error, dict):
        return set()
    reasons = {
        str(item.get("reason"))
        for item in [*(error.get("errors") or ()), *(error.get("details") or ())]
        if isinstance(item, dict) and item.get("reason")
    }
    return reasons


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _headers(message: dict) -> dict[str, list[str]]:
    # Header names are case-insensitive (RFC 5322 §1.2.2); Gmail hands them
    # back as the sender wrote them ("fRoM").
    headers: dict[str, list[str]] = {}
    for header in (message.get("payload") or {}).get("headers") or ():
        name = str(header.get("name", "")).lower()
        headers.setdefault(name, []).append(str(header.get("value", "")))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(headers: dict[str, list[str]], name: str) -> list[tuple[str, str]]:
    return [
        pair for value in headers.get(name, ()) for pair in parse_address_header(value)
    ]


def _internal_date(message: dict) -> dt.datetime | None:
    # internalDate is when Gmail received the message, in epoch milliseconds;
    # unlike the Date header it cannot be forged or malformed by the sender.
    value = message.get("internalDate")
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    if millis <= 0:
        return None
    return _EPOCH + dt.timedelta(milliseconds=millis)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
