"""Build Google API clients (Gmail, People, Calendar) for one account.

Uses google-auth's user credentials, refreshed through its requests
transport, and google-api-python-client's bundled discovery documents, so
building a client never calls the network. Tests pass ``http`` (one of the
client library's own HTTP mocks) to replay recorded responses, and mock
the token endpoint with ``responses``.

Every refresh is reported to the account's ``on_refresh``, also the ones
the client libraries make by themselves mid-run: google-auth-httplib2
refreshes and retries on a 401, and so does the batch client for each 401
part of a batch.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import google.auth.exceptions
import google.auth.transport.requests
import google_auth_httplib2
import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from syncjobs.providers.base import AccountCredentials, ProviderError, TokenRevoked

TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_TIMEOUT = 30  # seconds; google-auth's own default is 120


class ReportingCredentials(Credentials):
    """User credentials that report each new access token to ``on_refresh``.

    Every refresh goes through google-auth's requests transport, whatever
    the caller hands in: the batch client refreshes through a bare
    ``httplib2.Http()`` of its own, with no timeout. One transport gives
    every refresh the same timeout and the same errors.
    """

    on_refresh: Callable[[str, dt.datetime | None], None] | None = None

    def refresh(self, request) -> None:
        super().refresh(_token_request())
        if self.on_refresh is not None:
            expiry = self.expiry
            if expiry is not None:
                # google-auth keeps expiry as a naive UTC datetime.
                expiry = expiry.replace(tzinfo=dt.UTC)
            self.on_refresh(self.token, expiry)


def _token_request():
    return functools.partial(
        google.auth.transport.requests.Request(), timeout=TOKEN_TIMEOUT
    )


def google_credentials(account: AccountCredentials) -> Credentials:
    """Return fresh credentials for ``account``, refreshing them if expired."""
    expiry = account.expires_at
    if expiry is not None and expiry.tzinfo is not None:
        # google-auth compares expiry with a naive UTC datetime.
        expiry = expiry.astimezone(dt.UTC).replace(tzinfo=None)
    credentials = ReportingCredentials(
        token=account.access_token or None,
        refresh_token=account.refresh_token or None,
        token_uri=TOKEN_URI,
        client_id=settings.GOOGLE_CLIENT_ID or "unset-client-id",
        client_secret=settings.GOOGLE_CLIENT_SECRET or "unset-client-secret",
        expiry=expiry,
    )
    credentials.on_refresh = account.on_refresh
    if credentials.valid:
        return credentials
    if not credentials.refresh_token:
        raise TokenRevoked(f"{account.account_id}: no refresh token stored")
    try:
        # The transport is the one ReportingCredentials always uses.
        credentials.refresh(None)
    except google.auth.exceptions.RefreshError as exc:
        if "invalid_grant" in str(exc):
            raise TokenRevoked(f"{account.account_id}: {exc}") from exc
        raise ProviderError(
            f"{account.account_id}: token refresh failed: {exc}"
        ) from exc
    except google.auth.exceptions.TransportError as exc:
        raise ProviderError(
            f"{account.account_id}: token endpoint unreachable"
        ) from exc
    return credentials


def google_service(
    name: str,
    version: str,
    account: AccountCredentials,
    *,
    http: httplib2.Http | None = None,
):
    """Return a discovery client for ``name``/``version`` acting as ``account``."""
    credentials = google_credentials(account)
    authorized = google_auth_httplib2.AuthorizedHttp(
        credentials, http=http if http is not None else httplib2.Http(timeout=30)
    )
    return build(
        name, version, http=authorized, static_discovery=True, cache_discovery=False
    )
