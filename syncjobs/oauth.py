"""Connect Google and X accounts: the OAuth authorization-code flows, both with PKCE.

Google goes through google-auth-oauthlib's ``Flow``, X through tweepy's
``OAuth2UserHandler``. Each flow starts with a ``state`` that is signed,
bound to the user, and names a single-use nonce kept in the cache together
with the PKCE verifier; the callback must bring it back within
``STATE_TTL`` seconds, from the same user, once. A connected account is a
``ProviderAccount`` whose tokens live only in its encrypted fields;
connecting it again (after a revoked grant) sets it back to connected.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import google.auth.jwt
import requests
import tweepy
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from contacts.models import Notification
from syncjobs.models import ProviderAccount
from syncjobs.providers.google_client import TOKEN_URI as GOOGLE_TOKEN_URI

logger = logging.getLogger(__name__)

STATE_TTL = 600  # seconds, as the original's Redis-held Google state
STATE_SALT = "syncjobs.oauth.state"
PROVIDER_GOOGLE = "google"
PROVIDER_TWITTER = "twitter"
NOTIFICATION_BODY_MAX = 500

# https://developers.google.com/identity/protocols/oauth2/web-server
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_SCOPES = (
    "openid",
    # What "email" expands to; asking for the long name keeps oauthlib
    # from reporting a changed scope on every callback.
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/contacts.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
)
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})

# https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
TWITTER_SCOPES = ("tweet.read", "users.read", "dm.read", "offline.access")


class OAuthError(Exception):
    """The flow cannot go on; ``status`` is the HTTP status to answer with."""

    status = 400


class OAuthNotConfigured(OAuthError):
    pass


class OAuthStateInvalid(OAuthError):
    """The state is forged, expired, for another provider, or already used."""


class OAuthStateMismatch(OAuthError):
    """The state was issued to another user."""

    status = 403


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    state: str


# --- the state ---------------------------------------------------------------


def _nonce_key(provider: str, nonce: str) -> str:
    return f"oauth-state:{provider}:{nonce}"


@dataclass(frozen=True)
class PendingState:
    """A state handed out but not yet stored: ``remember`` stores its nonce."""

    value: str
    key: str
    user_id: str

    def remember(self, *, verifier: str) -> None:
        cache.set(
            self.key, {"user_id": self.user_id, "verifier": verifier}, timeout=STATE_TTL
        )


def oauth_state_issue(*, user, provider: str) -> PendingState:
    """Return a new signed state for ``user``, naming a fresh nonce."""
    nonce = secrets.token_urlsafe(24)
    value = signing.dumps(
        {"u": str(user.pk), "p": provider, "n": nonce}, salt=STATE_SALT
    )
    return PendingState(
        value=value, key=_nonce_key(provider, nonce), user_id=str(user.pk)
    )


def oauth_state_consume(*, user, provider: str, state: str) -> str:
    """Check ``state`` and use it up; return the PKCE verifier it was issued with.

    1. The signature and age (``STATE_TTL``) must hold and the provider match.
    2. It must be ``user``'s (403 otherwise; the state is left usable, so a
       stolen state cannot be burnt to block its owner).
    3. Its nonce must still be in the cache; deleting it is the use, and
       only one of two racing callbacks deletes it.
    """
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_TTL)
    except signing.BadSignature as exc:
        raise OAuthStateInvalid("Invalid or expired OAuth state parameter") from exc
    if not isinstance(payload, dict) or payload.get("p") != provider:
        raise OAuthStateInvalid("Invalid or expired OAuth state parameter")
    if payload.get("u") != str(user.pk):
        raise OAuthStateMismatch("Authenticated user does not match the OAuth state")

    key = _nonce_key(provider, str(payload.get("n", "")))
    entry = cache.get(key)
    if not entry or entry.get("user_id") != str(user.pk) or not cache.delete(key):
        raise OAuthStateInvalid("OAuth state already used or expired")
    return entry["verifier"]


# --- storing the connection ----------------------------------------------------


def _expiry(token: dict, now: dt.datetime) -> dt.datetime | None:
    expires_in = token.get("expires_in")
    try:
        return now + dt.timedelta(seconds=int(expires_in)) if expires_in else None
    except (TypeError, ValueError):
        return None


def provider_account_connect(
    *,
    owner,
    kind: str,
    account_id: str,
    account_name: str,
    token: dict,
    scopes: list[str],
    now: dt.datetime,
) -> ProviderAccount:
    """Create or update ``owner``'s account ``account_id`` with a fresh grant.

    A reply without a refresh token (Google sends one only on consent)
    keeps the stored one. The status goes back to connected, and the user
    gets one "connected" notification.
    """
    values = {
        "account_name": account_name,
        "access_token": token.get("access_token") or "",
        "token_expires_at": _expiry(token, now),
        "scopes": list(scopes),
        "status": ProviderAccount.STATUS_CONNECTED,
    }
    if token.get("refresh_token"):
        values["refresh_token"] = token["refresh_token"]
    with transaction.atomic():
        account, created = ProviderAccount.objects.update_or_create(
            owner=owner, kind=kind, account_id=account_id, defaults=values
        )
        if kind == ProviderAccount.KIND_TWITTER:
            label, shown = "X", f"@{account_name}" if account_name else account_id
        else:
            label, shown = "Google", account_id
        Notification.objects.create(
            owner=owner,
            notification_type="sync",
            title=f"{label} account connected",
            body=f"Connected {shown}",
            link="/settings",
        )
    logger.info(
        "connected provider account",
        extra={
            "user_id": str(owner.pk),
            "kind": kind,
            "account_pk": str(account.pk),
            "new_account": created,
        },
    )
    return account


@dataclass(frozen=True)
class Disconnected:
    """How many accounts were disconnected, and whether every grant was revoked."""

    accounts: int
    revoked: bool


# Where the user removes an app's access by hand when the revoke failed.
GRANT_SETTINGS = {
    ProviderAccount.KIND_GOOGLE: (
        "Google",
        "in your Google Account, under Security, Your connections to "
        "third-party apps & services",
    ),
    ProviderAccount.KIND_TWITTER: (
        "X",
        "on X, under Settings, Security and account access, Apps and sessions",
    ),
}


def provider_accounts_disconnect(
    *, owner, kind: str, account_pk: str | None = None
) -> Disconnected:
    """Revoke and delete ``owner``'s accounts of ``kind`` (or the one ``account_pk``).

    1. Revoke each account's grant at the provider, before any write: the
       calls leave no transaction open while the provider answers.
    2. Delete the accounts whatever the provider said; a grant that could
       not be revoked is told to the user in a notification, with where to
       remove the access by hand.

    The synced contacts and interactions stay; past runs keep their rows.
    """
    from syncjobs.revocation import account_grant_revoke

    accounts = ProviderAccount.objects.filter(owner=owner, kind=kind)
    if account_pk is not None:
        accounts = accounts.filter(pk=account_pk)
    outcomes = [(account, account_grant_revoke(account)) for account in accounts]

    with transaction.atomic():
        deleted, _ = ProviderAccount.objects.filter(
            pk__in=[account.pk for account, _ in outcomes]
        ).delete()
        for account, outcome in outcomes:
            if not outcome.revoked:
                _revoke_failed_notify(account=account, detail=outcome.detail)
    return Disconnected(
        accounts=deleted, revoked=all(outcome.revoked for _, outcome in outcomes)
    )


def _revoke_failed_notify(*, account: ProviderAccount, detail: str) -> None:
    label, where = GRANT_SETTINGS[account.kind]
    shown = (
        f"@{account.account_name}"
        if account.kind == ProviderAccount.KIND_TWITTER and account.account_name
        else account.account_id
    )
    Notification.objects.create(
        owner_id=account.owner_id,
        notification_type="sync",
        title=f"{label} access not revoked",
        body=(
            f"Disconnected {shown}, but {label} could not be told to end this "
            f"app's access ({detail}). Remove it {where}."
        )[:NOTIFICATION_BODY_MAX],
        link="/settings",
    )


# --- Google --------------------------------------------------------------------


def _google_config() -> dict:
    if not (
        settings.GOOGLE_CLIENT_ID
        and settings.GOOGLE_CLIENT_SECRET
        and settings.GOOGLE_REDIRECT_URI
    ):
        raise OAuthNotConfigured(
            "Google OAuth not configured: set GOOGLE_CLIENT_ID, "
            "GOOGLE_CLIENT_SECRET and GOOGLE_REDIRECT_URI"
        )
    return {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": GOOGLE_AUTH_URI,
            "token_uri": GOOGLE_TOKEN_URI,
            "redirect_uris": [settings.GOOGLE_REDIRECT_URI],
        }
    }


def _google_flow(*, verifier: str) -> Flow:
    return Flow.from_client_config(
        _google_config(),
        scopes=list(GOOGLE_SCOPES),
        redirect_uri=settings.GOOGLE_REDIRECT_URI,
        code_verifier=verifier,
    )


def _pkce_verifier() -> str:
    # 86 characters of [A-Za-z0-9_-]: inside RFC 7636's 43..128 unreserved.
    return secrets.token_urlsafe(64)


def google_authorization_start(*, user) -> AuthorizationStart:
    """Return Google's consent URL for connecting one more account of ``user``."""
    verifier = _pkce_verifier()
    flow = _google_flow(verifier=verifier)
    state = oauth_state_issue(user=user, provider=PROVIDER_GOOGLE)
    # offline + consent: Google sends a refresh token on every connect,
    # also for an account that was connected before.
    url, _ = flow.authorization_url(
        access_type="offline",
        prompt="consent",
        include_granted_scopes="true",
        state=state.value,
    )
    state.remember(verifier=verifier)
    return AuthorizationStart(url=url, state=state.value)


def _fetch_token(fetch, *, provider: str) -> dict:
    """Run an oauthlib token exchange; return the token dict."""
    try:
        return dict(fetch())
    except Warning as changed:
        # oauthlib raises a Warning (with the token attached) when the user
        # granted fewer scopes than asked; keep the grant and record what it
        # covers: a sync that lacks its scope fails on its own, clearly.
        return dict(changed.token)
    except OAuth2Error as exc:
        raise OAuthError(
            f"{provider} refused the authorization code: {exc.error}"
        ) from exc
    except requests.RequestException as exc:
        raise OAuthError(f"{provider}'s token endpoint is unreachable") from exc


def _google_identity(token: dict, *, now: dt.datetime) -> dict:
    """Return the claims of the ID token in Google's token reply.

    The signature is not checked: the token came straight from Google's
    token endpoint over TLS, in reply to our authenticated request, which
    OpenID Connect Core 3.1.3.7 accepts in place of checking it (and saves
    fetching Google's keys). Audience, issuer and expiry are checked.
    """
    raw = token.get("id_token")
    if not raw:
        raise OAuthError("Google sent no ID token; is the openid scope granted?")
    try:
        claims = google.auth.jwt.decode(raw, verify=False)
    except ValueError as exc:
        raise OAuthError("Google sent an unreadable ID token") from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.GOOGLE_CLIENT_ID not in audiences:
        raise OAuthError("Google's ID token is for another client")
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise OAuthError("Google's ID token has an unknown issuer")
    if int(claims.get("exp", 0)) <= now.timestamp():
        raise OAuthError("Google's ID token has expired")
    if not claims.get("email") or claims.get("email_verified") is False:
        raise OAuthError("Google account does not provide a verified email address")
    return claims


def google_authorization_finish(
    *, user, code: str, state: str, now: dt.datetime | None = None
) -> ProviderAccount:
    """Exchange ``code`` for tokens and connect that Google account to ``user``."""
    _google_config()
    verifier = oauth_state_consume(user=user, provider=PROVIDER_GOOGLE, state=state)
    now = now or timezone.now()
    flow = _google_flow(verifier=verifier)
    token = _fetch_token(lambda: flow.fetch_token(code=code), provider="Google")
    claims = _google_identity(token, now=now)
    scopes = token.get("scope") or list(GOOGLE_SCOPES)
    return provider_account_connect(
        owner=user,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id=claims["email"].strip().lower(),
        account_name=claims.get("name") or "",
        token=token,
        scopes=scopes if isinstance(scopes, list) else str(scopes).split(),
        now=now,
    )


# --- X -------------------------------------------------------------------------


def _twitter_handler() -> tweepy.OAuth2UserHandler:
    if not (settings.TWITTER_CLIENT_ID and settings.TWITTER_REDIRECT_URI):
        raise OAuthNotConfigured(
            "X OAuth not configured: set TWITTER_CLIENT_ID and TWITTER_REDIRECT_URI"
        )
    if not settings.TWITTER_REDIRECT_URI.startswith("https://"):
        # oauthlib refuses to read a callback URL that is not https.
        raise OAuthNotConfigured("TWITTER_REDIRECT_URI must be an https:// URL")
    return tweepy.OAuth2UserHandler(
        client_id=settings.TWITTER_CLIENT_ID,
        redirect_uri=settings.TWITTER_REDIRECT_URI,
        scope=list(TWITTER_SCOPES),
        client_secret=settings.TWITTER_CLIENT_SECRET or None,
    )


def twitter_authorization_start(*, user) -> AuthorizationStart:
    """Return X's consent URL for connecting ``user``'s X account."""
    handler = _twitter_handler()
    state = oauth_state_issue(user=user, provider=PROVIDER_TWITTER)
    # OAuth2Session's public ``state`` takes a value in place of its
    # generator, so the URL carries our signed state.
    handler.state = state.value
    url = handler.get_authorization_url()
    # tweepy makes the PKCE verifier inside get_authorization_url and keeps
    # it on the oauthlib client, with no accessor; the callback is another
    # request, so it is read here and kept with the nonce.
    state.remember(verifier=handler._client.code_verifier)
    return AuthorizationStart(url=url, state=state.value)


def twitter_authorization_finish(
    *, user, code: str, state: str, now: dt.datetime | None = None
) -> ProviderAccount:
    """Exchange ``code`` for tokens and connect that X account to ``user``."""
    handler = _twitter_handler()
    verifier = oauth_state_consume(user=user, provider=PROVIDER_TWITTER, state=state)
    now = now or timezone.now()
    # tweepy's fetch_token sends the verifier kept on its oauthlib client,
    # and reads the code out of the callback URL it is given (the state in
    # it was checked above).
    handler._client.code_verifier = verifier
    separator = "&" if "?" in settings.TWITTER_REDIRECT_URI else "?"
    callback = (
        settings.TWITTER_REDIRECT_URI
        + separator
        + urlencode({"state": state, "code": code})
    )
    token = _fetch_token(lambda: handler.fetch_token(callback), provider="X")

    # https://docs.x.com/x-api/users/user-lookup-me
    client = tweepy.Client(bearer_token=token.get("access_token"), return_type=dict)
    try:
        me = client.get_me(user_auth=False, user_fields=["username", "name"])
    except (tweepy.TweepyException, requests.RequestException) as exc:
        raise OAuthError(f"X did not say which account this is: {exc}") from exc
    data = (me or {}).get("data") or {}
    if not data.get("id"):
        raise OAuthError("X did not say which account this is")
    scopes = token.get("scope") or list(TWITTER_SCOPES)
    return provider_account_connect(
        owner=user,
        kind=ProviderAccount.KIND_TWITTER,
        account_id=str(data["id"]),
        account_name=data.get("username") or "",
        token=token,
        scopes=scopes if isinstance(scopes, list) else str(scopes).split(),
        now=now,
    )
