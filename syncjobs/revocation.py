"""Revoke a connected account's grant at Google or X when the user disconnects it.

One function per provider endpoint. None of them raises: a provider that is
down, slow or refuses is reported in the ``Revocation``, and the caller
disconnects the account here anyway (``syncjobs.oauth``). A token the
provider says is already invalid counts as revoked: there is no grant left.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import google.auth.exceptions
import google.auth.transport.requests
import requests
import tweepy
from django.conf import settings

from syncjobs.models import ProviderAccount

logger = logging.getLogger(__name__)

# https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
# https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token
TWITTER_REVOKE_URL = "https://api.twitter.com/2/oauth2/revoke"
# Short: the user waits on it, and a disconnect must not hang on a provider.
REVOKE_TIMEOUT = 5  # seconds
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Revocation:
    """Whether the provider confirmed the grant is gone, and what it said."""

    revoked: bool
    detail: str


def _json_object(body: bytes | str) -> dict:
    """Return a reply body's JSON object, or {} for anything else."""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        # RecursionError: a hostile or broken upstream's deeply nested body.
        return {}
    return payload if isinstance(payload, dict) else {}


def _error_code(body: bytes | str) -> tuple[str, str]:
    """Return the OAuth ``error`` and ``error_description`` of a reply body."""
    payload = _json_object(body)
    error, description = payload.get("error"), payload.get("error_description")
    # Only OAuth's flat shape: an API error object ({"error": {...}}) has
    # no code to act on.
    return (
        error if isinstance(error, str) else "",
        description if isinstance(description, str) else "",
    )


def google_grant_revoke(*, token: str) -> Revocation:
    """Revoke the Google grant ``token`` (refresh or access token) belongs to.

    Revoking either token ends the whole grant: every scope, and every
    other token issued with it.
    """
    request = google.auth.transport.requests.Request()
    try:
        response = request(
            url=GOOGLE_REVOKE_URI,
            method="POST",
            body=urlencode({"token": token}),
            headers=FORM,
            timeout=REVOKE_TIMEOUT,
        )
    except google.auth.exceptions.TransportError as exc:
        return Revocation(False, f"Google's revoke endpoint is unreachable: {exc}")
    if response.status == 200:
        return Revocation(True, "revoked")
    error, description = _error_code(response.data)
    if response.status == 400 and error == "invalid_token":
        return Revocation(True, f"already invalid: {description or error}")
    return Revocation(False, f"Google answered HTTP {response.status} {error}".strip())


def _twitter_revoke_one(
    handler: tweepy.OAuth2UserHandler, *, token: str, hint: str
) -> Revocation:
    url, headers, body = handler._client.prepare_token_revocation_request(
        TWITTER_REVOKE_URL,
        token,
        token_type_hint=hint,
        # Public clients only send client_id; confidential ones also
        # authenticate with Basic auth (handler.auth), as for the refresh.
        client_id=settings.TWITTER_CLIENT_ID,
    )
    try:
        response = handler.post(
            url,
            data=body,
            headers=headers,
            auth=handler.auth,
            withhold_token=True,
            timeout=REVOKE_TIMEOUT,
        )
    except requests.RequestException as exc:
        return Revocation(False, f"X's revoke endpoint is unreachable: {exc}")
    if response.status_code == 200:
        # X answers {"revoked": true}; a 200 that says false revoked nothing.
        if _json_object(response.content).get("revoked") is False:
            return Revocation(False, "X answered HTTP 200 but did not revoke")
        return Revocation(True, "revoked")
    error, description = _error_code(response.content)
    # What X answers for a token it no longer knows (the refresh path
    # reads it the same way).
    already_invalid = error == "invalid_request" and "token" in description.lower()
    if response.status_code == 400 and already_invalid:
        return Revocation(True, f"already invalid: {description}")
    return Revocation(False, f"X answered HTTP {response.status_code} {error}".strip())


def twitter_grant_revoke(*, access_token: str, refresh_token: str) -> Revocation:
    """Revoke both X tokens: X ends each token it is sent, not the whole grant."""
    if not settings.TWITTER_CLIENT_ID:
        return Revocation(False, "X OAuth is not configured (TWITTER_CLIENT_ID)")
    handler = tweepy.OAuth2UserHandler(
        client_id=settings.TWITTER_CLIENT_ID,
        redirect_uri=None,
        scope=None,
        client_secret=settings.TWITTER_CLIENT_SECRET or None,
    )
    outcomes = [
        _twitter_revoke_one(handler, token=token, hint=hint)
        for token, hint in (
            (refresh_token, "refresh_token"),
            (access_token, "access_token"),
        )
        if token
    ]
    failed = [outcome.detail for outcome in outcomes if not outcome.revoked]
    if failed:
        return Revocation(False, "; ".join(failed))
    return Revocation(True, "; ".join(outcome.detail for outcome in outcomes))


def account_grant_revoke(account: ProviderAccount) -> Revocation:
    """Revoke ``account``'s grant at its provider; a token-less account has none."""
    access, refresh = account.access_token or "", account.refresh_token or ""
    if not (access or refresh):
        return Revocation(True, "no token stored")
    if account.kind == ProviderAccount.KIND_TWITTER:
        outcome = twitter_grant_revoke(access_token=access, refresh_token=refresh)
    else:
        outcome = google_grant_revoke(token=refresh or access)
    log = logger.info if outcome.revoked else logger.warning
    log(
        "revoked provider grant" if outcome.revoked else "could not revoke grant",
        extra={
            "account_pk": str(account.pk),
            "kind": account.kind,
            "detail": outcome.detail,
        },
    )
    return outcome


def owner_grants_revoke(owner) -> bool:
    """Revoke the grant of every account ``owner`` connected; True if all ended.

    For deleting the user: their accounts go with them, and no one is left
    to tell when a revoke fails (it is logged).
    """
    accounts = ProviderAccount.objects.filter(owner=owner).order_by("created_at")
    # Every account is asked, also after one failed.
    outcomes = [account_grant_revoke(account) for account in accounts]
    return all(outcome.revoked for outcome in outcomes)
