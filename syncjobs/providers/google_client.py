"""Build Google API clients (Gmail, People, Calendar) for one account.

Uses google-auth's user credentials, refreshed through its requests
transport, and google-api-python-client's bundled discovery documents, so
building a client never calls the network. Tests pass ``http`` (one of the
client library's own HTTP mocks) to replay recorded responses.
"""

from __future__ import annotations

import datetime as dt

import google.auth.exceptions
import google.auth.transport.requests
import google_auth_httplib2
import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from syncjobs.providers.base import AccountCredentials, ProviderError, TokenRevoked

TOKEN_URI = "https://oauth2.googleapis.com/token"


def google_credentials(account: AccountCredentials) -> Credentials:
    """Return fresh credentials for ``account``, refreshing them if expired."""
    expiry = account.expires_at
    if expiry is not None and expiry.tzinfo is not None:
        # google-auth compares expiry with a naive UTC datetime.
        expiry = expiry.astimezone(dt.UTC).replace(tzinfo=None)
    credentials = Credentials(
        token=account.access_token or None,
        refresh_token=account.refresh_token or None,
        token_uri=TOKEN_URI,
        client_id=settings.GOOGLE_CLIENT_ID or "unset-client-id",
        client_secret=settings.GOOGLE_CLIENT_SECRET or "unset-client-secret",
        expiry=expiry,
    )
    if credentials.valid:
        return credentials
    if not credentials.refresh_token:
        raise TokenRevoked(f"{account.account_id}: no refresh token stored")
    try:
        credentials.refresh(google.auth.transport.requests.Request())
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
    if account.on_refresh is not None:
        new_expiry = credentials.expiry
        if new_expiry is not None:
            new_expiry = new_expiry.replace(tzinfo=dt.UTC)
        account.on_refresh(credentials.token, new_expiry)
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
