"""The contract every provider implements, and the one error type they raise.

A provider reads from an external API through its official client library
and returns plain records (``syncjobs.records``); it never writes to the
database. ``syncjobs.services`` runs it, upserts what it returns, stores the
new cursor and records the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from syncjobs.records import ParseResult


class ProviderError(Exception):
    """A provider call failed.

    ``permanent`` errors end the run as failed without a retry (a revoked
    grant, a missing scope); the others are retried with backoff (a 429, a
    5xx, a timeout). ``reauth`` marks the account as needing the user to
    connect it again.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        reauth: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent or reauth
        self.reauth = reauth
        self.retry_after = retry_after


class TokenRevoked(ProviderError):
    """The refresh token no longer works (``invalid_grant``, a 401 after refresh)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True, reauth=True)


class RateLimited(ProviderError):
    """The provider asked us to slow down (HTTP 429, or 403 rateLimitExceeded)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after)


@dataclass
class AccountCredentials:
    """What a provider needs to call the API on behalf of one account.

    ``on_refresh`` is called with the new access token and its expiry when
    the client library refreshes it, so the caller can store it (encrypted).
    """

    account_id: str
    access_token: str = ""
    refresh_token: str = ""
    expires_at: dt.datetime | None = None
    # The user's own addresses or ids on this provider, to tell inbound
    # from outbound and to leave the user out of the participants.
    own_identities: frozenset[str] = field(default_factory=frozenset)
    on_refresh: Callable[[str, dt.datetime | None], None] | None = None


class Provider:
    """Base class: subclasses set ``platform`` and implement ``fetch``."""

    platform: str = ""

    def fetch(
        self,
        *,
        credentials: AccountCredentials,
        cursor: dict[str, str],
        now: dt.datetime,
    ) -> ParseResult:
        """Return what changed since ``cursor``, with the next cursor set.

        An empty ``cursor`` means a full sync. A cursor the provider no
        longer accepts (an expired history id or sync token) must not fail
        the run: fall back to a full sync and put ``"full_resync": "1"`` in
        the result's cursor. Bad items are skipped and listed in
        ``errors``; only a failure of the whole call raises ProviderError.
        """
        raise NotImplementedError
