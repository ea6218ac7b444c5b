"""X tokens are refreshed before they expire, and both new tokens are stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
from django.db import connection

from syncjobs.accounts import account_credentials, account_refresh_twitter_if_due
from syncjobs.models import ProviderAccount
from syncjobs.providers.base import TokenRevoked
from syncjobs.providers.twitter import TOKEN_URL
from tests.conftest import REPO_ROOT

RECORDED = REPO_ROOT / "tests" / "syncjobs" / "recorded" / "twitter"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _account(owner, *, expires_in: dt.timedelta) -> ProviderAccount:
    return ProviderAccount.objects.create(
        owner=owner,
        kind=ProviderAccount.KIND_TWITTER,
        account_id="1400000000000000001",
        access_token="old-access",
        refresh_token="old-refresh",
        token_expires_at=NOW + expires_in,
    )


@pytest.mark.django_db
@responses.activate
def test_a_token_about_to_expire_is_refreshed_and_both_tokens_are_stored(alice):
    body = json.loads((RECORDED / "token-refreshed.json").read_text())
    responses.post(TOKEN_URL, json=body)
    account = _account(alice, expires_in=dt.timedelta(minutes=2))

    assert account_refresh_twitter_if_due(account=account, now=NOW) is True

    stored = ProviderAccount.objects.get(pk=account.pk)
    assert stored.access_token == body["access_token"]
    assert stored.refresh_token == body["refresh_token"]
    assert stored.token_expires_at == NOW + dt.timedelta(seconds=7200)
    # Encrypted at rest: the column holds no clear text.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT refresh_token FROM {ProviderAccount._meta.db_table} WHERE id = %s",
            [account.pk.hex if connection.vendor == "sqlite" else account.pk],
        )
        (raw,) = cursor.fetchone()
    assert raw and body["refresh_token"] not in raw


@pytest.mark.django_db
@responses.activate
def test_a_fresh_token_is_left_alone(alice):
    account = _account(alice, expires_in=dt.timedelta(hours=1))
    assert account_refresh_twitter_if_due(account=account, now=NOW) is False
    assert len(responses.calls) == 0


@pytest.mark.django_db
@responses.activate
def test_a_refused_refresh_is_a_revoked_grant(alice):
    responses.post(
        TOKEN_URL,
        status=400,
        body=(RECORDED / "token-invalid-grant.json").read_text(),
        content_type="application/json",
    )
    account = _account(alice, expires_in=dt.timedelta(minutes=-5))
    with pytest.raises(TokenRevoked):
        account_credentials(account)
    assert ProviderAccount.objects.get(pk=account.pk).refresh_token == "old-refresh"
