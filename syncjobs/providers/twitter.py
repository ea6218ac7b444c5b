"""Read X direct messages and mentions through tweepy's v2 client.

The provider turns DM events and mentions into interactions, looks up the
profiles of people it has not seen described, and refreshes OAuth 2 user
tokens. It never touches the ORM.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import tweepy
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from syncjobs.providers.base import (
    AccountCredentials,
    Provider,
    ProviderError,
    RateLimited,
    TokenRevoked,
)
from syncjobs.records import (
    INBOUND,
    OUTBOUND,
    ContactRecord,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)

logger = logging.getLogger(__name__)

# https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token
TOKEN_URL = "https://api.twitter.com/2/oauth2/token"

MAX_PAGES = 15
PAGE_SIZE = 100
LOOKUP_BATCH = 100
PREVIEW_LENGTH = 500

DM_EVENT_FIELDS = [
    "created_at",
    "sender_id",
    "text",
    "dm_conversation_id",
    "participant_ids",
]
MENTION_TWEET_FIELDS = ["created_at", "author_id", "text"]
MENTION_USER_FIELDS = ["username", "name", "description"]
LOOKUP_USER_FIELDS = [
    "username",
    "name",
    "description",
    "profile_image_url",
    "location",
]


@dataclass(frozen=True)
class _Message:
    """A DM or mention read from the API, waiting for its counterpart's profile."""

    reference_id: str
    position: str
    direction: str
    counterpart: str
    occurred_at: dt.datetime
    text: str


class TwitterProvider(Provider):
    """DMs (both directions) and mentions of the connected X account."""

    platform = "twitter"

    def __init__(self, *, session: requests.Session | None = None):
        # A requests session to send the calls through: the main job's demo
        # passes one that replays recorded responses.
        self.session = session

    def fetch(
        self,
        *,
        credentials: AccountCredentials,
        cursor: dict[str, str],
        now: dt.datetime,
    ) -> ParseResult:
        """Return DMs and mentions newer than ``cursor``, with the next cursor.

        1. Find the account's own id (``account_id``, else ``GET /2/users/me``).
        2. Read DM events newest first until the stored newest id is reached.
        3. Read mentions since the stored newest mention id.
        4. Look up, in batches, the profiles of counterparts not described yet.
        5. Build one interaction per message and one contact per profile.
        """
        # The OAuth 2 user-context token goes in as the bearer token; every
        # call below passes user_auth=False so tweepy does not try OAuth 1.
        # return_type=dict: tweepy's Response builds every item of a page in
        # one go, so a single malformed item would fail the whole run. We
        # build tweepy's models item by item instead and skip the bad ones.
        client = tweepy.Client(
            bearer_token=credentials.access_token,
            return_type=dict,
            wait_on_rate_limit=False,
        )
        if self.session is not None:
            client.session = self.session
        result = ParseResult()
        me = credentials.account_id if credentials.account_id.isdigit() else ""
        if not me:
            body = _call(now, client.get_me, user_auth=False)
            me = str((body.get("data") or {}).get("id", ""))
            if not me:
                raise ProviderError("X returned no id for the authenticated user")

        old_dm = _as_int(cursor.get("dm_newest_id"))
        old_mention = _as_int(cursor.get("mention_newest_id"))
        messages: list[_Message] = []
        profiles: dict[str, tweepy.User] = {}

        newest_dm = _read_dms(
            client, me=me, stop_at=old_dm, now=now, messages=messages, result=result
        )
        newest_mention = _read_mentions(
            client,
            me=me,
            since_id=old_mention,
            now=now,
            messages=messages,
            profiles=profiles,
            result=result,
        )

        unknown = {m.counterpart for m in messages} - profiles.keys()
        profiles.update(_lookup_users(client, unknown, now=now, result=result))
        _build_records(messages, profiles, result=result)

        for key, old, new in (
            ("dm_newest_id", old_dm, newest_dm),
            ("mention_newest_id", old_mention, newest_mention),
        ):
            best = max((v for v in (old, new) if v is not None), default=None)
            if best is not None:
                result.cursor[key] = str(best)
        return result


def _read_dms(
    client: tweepy.Client,
    *,
    me: str,
    stop_at: int | None,
    now: dt.datetime,
    messages: list[_Message],
    result: ParseResult,
) -> int | None:
    """Collect DM events newer than ``stop_at``; return the newest id seen.

    https://docs.x.com/x-api/direct-messages/get-dm-events
    """
    newest: int | None = None

    def page(token: str | None) -> dict:
        return _call(
            now,
            client.get_direct_message_events,
            dm_event_fields=DM_EVENT_FIELDS,
            event_types="MessageCreate",
            max_results=PAGE_SIZE,
            pagination_token=token,
            user_auth=False,
        )

    for body in _pages(page, what="dm events", result=result):
        for raw in body.get("data") or []:
            event_id = _as_int(raw.get("id"))
            # Ids are compared as numbers: X ids grow in length over time,
            # and as strings "9" sorts after "10".
            if event_id is not None and stop_at is not None and event_id <= stop_at:
                return newest
            result.items_read += 1
            position = f"dm event {raw.get('id', '?')}"
            if event_id is None:
                result.errors.append(RecordProblem(position, "event has no numeric id"))
                continue
            newest = event_id if newest is None else max(newest, event_id)
            message = _dm_message(raw, me=me, position=position, result=result)
            if message is not None:
                messages.append(message)
    return newest


def _dm_message(
    raw: dict, *, me: str, position: str, result: ParseResult
) -> _Message | None:
    """Return the message one DM event describes, or report why it has none."""
    try:
        event = tweepy.DirectMessageEvent(raw)
    except (KeyError, TypeError, ValueError) as exc:
        result.errors.append(RecordProblem(position, f"unreadable event: {exc!r}"))
        return None
    if event.event_type != "MessageCreate":
        result.warnings.append(
            RecordProblem(position, f"{event.event_type} event is not a message")
        )
        return None
    missing = [
        name for name in ("sender_id", "created_at") if getattr(event, name) is None
    ]
    if missing:
        result.errors.append(
            RecordProblem(position, f"event has no {' or '.join(missing)}")
        )
        return None

    sender = str(event.sender_id)
    direction = OUTBOUND if sender == me else INBOUND
    counterpart = sender if direction == INBOUND else _counterpart(event, me=me)
    if not counterpart:
        result.errors.append(
            RecordProblem(position, "message sent by the user names no other person")
        )
        return None
    return _Message(
        reference_id=f"twitter_dm:{event.id}",
        position=position,
        direction=direction,
        counterpart=counterpart,
        occurred_at=event.created_at,
        text=event.text or "",
    )


def _counterpart(event: tweepy.DirectMessageEvent, *, me: str) -> str:
    """Return the other person of an outbound DM, or "" when none is named."""
    for participant in event.participant_ids or []:
        if str(participant) != me:
            return str(participant)
    # One-to-one conversations are named "<id>-<id>"; group ones are a
    # single number and name nobody.
    halves = (event.dm_conversation_id or "").split("-")
    if len(halves) == 2 and me in halves:
        other = halves[1] if halves[0] == me else halves[0]
        if other.isdigit() and other != me:
            return other
    return ""


def _read_mentions(
    client: tweepy.Client,
    *,
    me: str,
    since_id: int | None,
    now: dt.datetime,
    messages: list[_Message],
    profiles: dict[str, tweepy.User],
    result: ParseResult,
) -> int | None:
    """Collect mentions newer than ``since_id``; return the newest id seen.

    https://docs.x.com/x-api/users/get-mentions
    """
    newest: int | None = None

    def page(token: str | None) -> dict:
        return _call(
            now,
            client.get_users_mentions,
            me,
            since_id=since_id,
            tweet_fields=MENTION_TWEET_FIELDS,
            expansions=["author_id"],
            user_fields=MENTION_USER_FIELDS,
            max_results=PAGE_SIZE,
            pagination_token=token,
            user_auth=False,
        )

    for body in _pages(page, what="mentions", result=result):
        for raw_user in (body.get("includes") or {}).get("users") or []:
            user = _user(raw_user, result=result)
            if user is not None:
                profiles[str(user.id)] = user
        for raw in body.get("data") or []:
            result.items_read += 1
            position = f"mention {raw.get('id', '?')}"
            tweet_id = _as_int(raw.get("id"))
            if tweet_id is not None:
                newest = tweet_id if newest is None else max(newest, tweet_id)
            message = _mention_message(raw, me=me, position=position, result=result)
            if message is not None:
                messages.append(message)
    return newest


def _mention_message(
    raw: dict, *, me: str, position: str, result: ParseResult
) -> _Message | None:
    """Return the inbound message one mention is, or report why it is none."""
    try:
        tweet = tweepy.Tweet(raw)
    except (KeyError, TypeError, ValueError) as exc:
        result.errors.append(RecordProblem(position, f"unreadable tweet: {exc!r}"))
        return None
    missing = [
        name for name in ("author_id", "created_at") if getattr(tweet, name) is None
    ]
    if missing:
        result.errors.append(
            RecordProblem(position, f"tweet has no {' or '.join(missing)}")
        )
        return None
    if str(tweet.author_id) == me:
        return None
    return _Message(
        reference_id=f"twitter_mention:{tweet.id}",
        position=position,
        direction=INBOUND,
        counterpart=str(tweet.author_id),
        occurred_at=tweet.created_at,
        text=tweet.text,
    )


def _lookup_users(
    client: tweepy.Client, ids: set[str], *, now: dt.datetime, result: ParseResult
) -> dict[str, tweepy.User]:
    """Return the profiles of ``ids``, asked for 100 at a time.

    A failed lookup is a warning, not a failed run: the messages already
    read still carry the X user id that finds or creates the contact.

    https://docs.x.com/x-api/users/get-users-by-ids
    """
    found: dict[str, tweepy.User] = {}
    ordered = sorted(ids, key=int)
    for start in range(0, len(ordered), LOOKUP_BATCH):
        batch = ordered[start : start + LOOKUP_BATCH]
        try:
            body = _call(
                now,
                client.get_users,
                ids=batch,
                user_fields=LOOKUP_USER_FIELDS,
                user_auth=False,
            )
        except ProviderError as exc:
            if exc.reauth:
                raise
            logger.warning("X profile lookup failed, keeping ids only: %s", exc)
            result.warnings.append(
                RecordProblem(f"users {batch[0]}…{batch[-1]}", f"lookup failed: {exc}")
            )
            break
        for raw in body.get("data") or []:
            user = _user(raw, result=result)
            if user is not None:
                found[str(user.id)] = user
        for problem in body.get("errors") or []:
            who = problem.get("value") or problem.get("resource_id") or "?"
            reason = problem.get("detail") or problem.get("title") or "not returned"
            result.warnings.append(RecordProblem(f"user {who}", reason))
    return found


def _user(raw: dict, *, result: ParseResult) -> tweepy.User | None:
    try:
        return tweepy.User(raw)
    except (KeyError, TypeError, ValueError) as exc:
        position = f"user {raw.get('id', '?')}"
        result.warnings.append(RecordProblem(position, f"unreadable profile: {exc!r}"))
        return None


def _build_records(
    messages: list[_Message], profiles: dict[str, tweepy.User], *, result: ParseResult
) -> None:
    """Append one interaction per message and one contact per known profile."""
    described: set[str] = set()
    for message in messages:
        user = profiles.get(message.counterpart)
        result.interactions.append(
            InteractionRecord(
                platform="twitter",
                direction=message.direction,
                occurred_at=message.occurred_at,
                reference_id=message.reference_id,
                position=message.position,
                participants=(
                    Participant(
                        twitter_user_id=message.counterpart,
                        twitter_handle=user.username if user else "",
                        name=user.name if user else "",
                    ),
                ),
                content_preview=message.text[:PREVIEW_LENGTH],
                per_contact=False,
            )
        )
        if user is not None and message.counterpart not in described:
            described.add(message.counterpart)
            result.contacts.append(_contact(user))


def _contact(user: tweepy.User) -> ContactRecord:
    user_id = str(user.id)
    return ContactRecord(
        source="twitter",
        position=f"user {user_id}",
        external_id=user_id,
        twitter_user_id=user_id,
        twitter_handle=user.username or "",
        full_name=user.name or "",
        twitter_bio=user.description or "",
        location=user.location or "",
        avatar_url=user.profile_image_url or "",
    )


def _pages(
    call: Callable[[str | None], dict], *, what: str, result: ParseResult
) -> Iterator[dict]:
    """Yield up to MAX_PAGES pages, following ``meta.next_token``."""
    token: str | None = None
    for _ in range(MAX_PAGES):
        body = call(token)
        yield body
        token = (body.get("meta") or {}).get("next_token")
        if not token:
            return
    result.warnings.append(
        RecordProblem(what, f"stopped after {MAX_PAGES} pages; older items not read")
    )


def _call(now: dt.datetime, method: Callable[..., Any], *args, **params) -> dict:
    """Call one tweepy endpoint; turn its failures into ProviderError kinds."""
    try:
        return method(*args, **params)
    except tweepy.TooManyRequests as exc:
        retry_after = None
        if exc.reset_time is not None:
            retry_after = max(0.0, exc.reset_time - now.timestamp())
        raise RateLimited(f"X rate limit: {exc}", retry_after=retry_after) from exc
    except tweepy.Unauthorized as exc:
        raise TokenRevoked(f"X rejected the access token: {exc}") from exc
    except (tweepy.BadRequest, tweepy.Forbidden, tweepy.NotFound) as exc:
        raise ProviderError(f"X refused the request: {exc}", permanent=True) from exc
    except tweepy.TwitterServerError as exc:
        raise ProviderError(f"X server error: {exc}") from exc
    except tweepy.HTTPException as exc:
        raise ProviderError(f"X request failed: {exc}") from exc
    except requests.RequestException as exc:
        # Also covers a 200 whose body is not JSON (requests.JSONDecodeError).
        raise ProviderError(f"X unreachable or unreadable: {exc}") from exc


def _as_int(value: object) -> int | None:
    text = str(value) if value is not None else ""
    # isascii: str.isdigit() also takes "²", which int() refuses.
    return int(text) if text.isascii() and text.isdigit() else None


def refresh_twitter_token(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    now: dt.datetime | None = None,
) -> tuple[str, str, dt.datetime | None]:
    """Return a new (access token, refresh token, expiry) for an X user.

    X rotates refresh tokens: the old one stops working once this returns,
    so the caller must store both. ``now`` (default: the clock) dates the
    expiry.

    https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token
    """
    if not refresh_token:
        raise TokenRevoked("no X refresh token stored")
    handler = tweepy.OAuth2UserHandler(
        client_id=client_id,
        redirect_uri=None,
        scope=None,
        client_secret=client_secret or None,
    )
    handler.register_compliance_hook("refresh_token_response", _reject_server_errors)
    try:
        # Confidential clients authenticate with Basic auth (handler.auth);
        # public clients only send client_id, so send it either way.
        token = handler.refresh_token(
            TOKEN_URL,
            refresh_token=refresh_token,
            auth=handler.auth,
            client_id=client_id,
            timeout=30,
        )
    except oauth2_errors.OAuth2Error as exc:
        # Match on the error code: oauthlib maps "invalid_request" to an
        # unrelated class (InvalidClientIdError). X answers a spent or
        # revoked refresh token with invalid_request ("Value passed for the
        # token was invalid."), not with RFC 6749's invalid_grant.
        description = exc.description or ""
        if exc.error == "invalid_grant" or (
            exc.error == "invalid_request" and "token" in description.lower()
        ):
            raise TokenRevoked(f"X refresh token rejected: {description}") from exc
        raise ProviderError(f"X token refresh refused: {exc}", permanent=True) from exc
    except requests.RequestException as exc:
        raise ProviderError(f"X token endpoint unreachable: {exc}") from exc

    clock = now or dt.datetime.now(dt.UTC)
    expires_in = token.get("expires_in")
    expires_at = clock + dt.timedelta(seconds=int(expires_in)) if expires_in else None
    return (
        token["access_token"],
        token.get("refresh_token") or refresh_token,
        expires_at,
    )


def _reject_server_errors(response: requests.Response) -> requests.Response:
    # oauthlib only reads the body, so a 5xx page would surface as a
    # confusing parse error; make it a retryable failure instead.
    if response.status_code >= 500:
        raise ProviderError(f"X token endpoint returned {response.status_code}")
    return response
