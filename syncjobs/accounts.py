"""Turn a ProviderAccount into provider credentials, and write back what changes.

Providers never touch the ORM: they get an ``AccountCredentials`` whose
``on_refresh`` stores a refreshed access token (encrypted, through the
model field), and a revoked grant is written here as "reauth required"
with one notification to the user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.utils import timezone

from contacts.models import Notification
from syncjobs.emailaddr import normalise_email
from syncjobs.models import PLATFORM_CHOICES, ProviderAccount
from syncjobs.providers.base import AccountCredentials
from syncjobs.providers.twitter import refresh_twitter_token

logger = logging.getLogger(__name__)

PLATFORM_LABELS = dict(PLATFORM_CHOICES)
NOTIFICATION_BODY_MAX = 500


def account_own_identities(account: ProviderAccount) -> frozenset[str]:
    """Return the user's own addresses and ids on this account, lower-cased."""
    identities = {normalise_email(account.owner.email), account.account_id.strip()}
    email_like = normalise_email(account.account_id)
    if email_like:
        identities.add(email_like)
    return frozenset(value for value in identities if value)


def account_store_token(
    *, account: ProviderAccount, access_token: str, expires_at: dt.datetime | None
) -> None:
    """Store a refreshed access token on ``account`` (one UPDATE, committed now).

    Written outside the run's work transaction on purpose: the new token is
    valid whether or not the rest of the run succeeds, and the old one may
    already be spent.
    """
    account.access_token = access_token
    account.token_expires_at = expires_at
    # QuerySet.update runs the field's get_prep_value, so it is encrypted.
    ProviderAccount.objects.filter(pk=account.pk).update(
        access_token=access_token, token_expires_at=expires_at
    )
    logger.info(
        "stored refreshed token",
        extra={"account_id": str(account.pk), "kind": account.kind},
    )


# Refresh an X token this long before it expires (X tokens last 2 hours).
TWITTER_REFRESH_MARGIN = dt.timedelta(minutes=5)


def account_refresh_twitter_if_due(
    *, account: ProviderAccount, now: dt.datetime | None = None
) -> bool:
    """Refresh the X access token when it is about to expire; True if it did.

    X rotates refresh tokens on every refresh, so both new tokens are
    stored at once (committed now, outside any run transaction: the old
    refresh token is already spent). A refused refresh raises TokenRevoked.
    """
    now = now or timezone.now()
    expires_at = account.token_expires_at
    if account.kind != ProviderAccount.KIND_TWITTER or expires_at is None:
        return False
    if expires_at - now > TWITTER_REFRESH_MARGIN:
        return False
    access, refresh, new_expiry = refresh_twitter_token(
        client_id=settings.TWITTER_CLIENT_ID,
        client_secret=settings.TWITTER_CLIENT_SECRET,
        refresh_token=account.refresh_token or "",
        now=now,
    )
    account.access_token, account.refresh_token = access, refresh
    account.token_expires_at = new_expiry
    ProviderAccount.objects.filter(pk=account.pk).update(
        access_token=access, refresh_token=refresh, token_expires_at=new_expiry
    )
    logger.info(
        "stored refreshed token",
        extra={"account_id": str(account.pk), "kind": account.kind},
    )
    return True


def account_credentials(account: ProviderAccount) -> AccountCredentials:
    """Return the credentials a provider uses to act as ``account``.

    An X token about to expire is refreshed first; Google's client library
    refreshes its own and reports the new token through ``on_refresh``.
    """
    account_refresh_twitter_if_due(account=account)

    def on_refresh(token: str, expires_at: dt.datetime | None) -> None:
        account_store_token(account=account, access_token=token, expires_at=expires_at)

    return AccountCredentials(
        account_id=account.account_id,
        access_token=account.access_token or "",
        refresh_token=account.refresh_token or "",
        expires_at=account.token_expires_at,
        own_identities=account_own_identities(account),
        on_refresh=on_refresh,
    )


def _grant_key(account: ProviderAccount) -> str:
    # A reconnect stores a new refresh token, so a later revocation of the
    # new grant notifies again; the same broken grant never does twice.
    grant = hashlib.sha256((account.refresh_token or "").encode()).hexdigest()[:16]
    return f"reauth:{account.pk}:{grant}"


def account_mark_reauth_required(
    *, account: ProviderAccount, platform: str, reason: str
) -> bool:
    """Mark ``account`` as needing a reconnect and tell the user once.

    Return whether a notification was created (False when this grant's
    failure was already notified). Nothing the account synced is deleted.
    """
    account.status = ProviderAccount.STATUS_REAUTH
    ProviderAccount.objects.filter(pk=account.pk).update(
        status=ProviderAccount.STATUS_REAUTH
    )
    label = PLATFORM_LABELS.get(platform, platform)
    _, created = Notification.objects.get_or_create(
        owner_id=account.owner_id,
        dedup_key=_grant_key(account),
        defaults={
            "notification_type": "sync",
            "title": f"{label} sync failed",
            "body": (f"Reconnect {account.account_id} in Settings: {reason}")[
                :NOTIFICATION_BODY_MAX
            ],
            "link": "/settings",
        },
    )
    return created
