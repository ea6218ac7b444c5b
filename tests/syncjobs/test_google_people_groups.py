"""Google contact groups become contact tags (People ``memberships``).

Replayed through googleapiclient's ``HttpMockSequence`` from recorded
replies: ``connections-memberships.json`` (people in system and user
groups, one group since deleted) and ``contact-groups-page{1,2}.json``
(``contactGroups.list`` over two pages).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.http import HttpMockSequence

from contacts.models import Contact
from syncjobs.models import ProviderAccount
from syncjobs.providers.base import AccountCredentials, ProviderError
from syncjobs.providers.google_people import GooglePeopleProvider
from syncjobs.services import sync_provider

RECORDED = Path(__file__).parent / "recorded" / "people"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
JSON = {"status": "200", "content-type": "application/json"}


def ok(name: str) -> tuple[dict, str]:
    return JSON, (RECORDED / name).read_text(encoding="utf-8")


def with_groups() -> HttpMockSequence:
    return HttpMockSequence(
        [
            ok("connections-memberships.json"),
            ok("contact-groups-page1.json"),
            ok("contact-groups-page2.json"),
        ]
    )


def fetch(http: HttpMockSequence):
    credentials = AccountCredentials(
        account_id="alice@example.com", access_token="ya29.test"
    )
    return GooglePeopleProvider().fetch(
        credentials=credentials, cursor={}, now=NOW, http=http
    )


def test_system_and_user_groups_become_tags_in_membership_order():
    http = with_groups()

    result = fetch(http)

    assert [(c.external_id, c.tags) for c in result.contacts] == [
        # 1b8e2f7c3a6d4e90 is no longer among the groups: no tag.
        ("people/c801", ("starred", "Climbing club")),
        ("people/c802", ("family", "Berlin 2024")),
        ("people/c803", ()),
    ]
    assert result.cursor == {"sync_token": "tok-groups"}
    groups_page1, groups_page2 = http.request_sequence[1], http.request_sequence[2]
    assert urlsplit(groups_page1[0]).path == "/v1/contactGroups"
    assert parse_qs(urlsplit(groups_page1[0]).query) == {
        "pageSize": ["1000"],
        "groupFields": ["name,groupType"],
        "alt": ["json"],
    }
    assert parse_qs(urlsplit(groups_page2[0]).query)["pageToken"] == ["groups-page-2"]


def test_people_only_in_system_groups_need_no_group_listing():
    http = HttpMockSequence([ok("connections-field-mapping.json")])

    result = fetch(http)

    assert len(http.request_sequence) == 1
    assert {c.tags for c in result.contacts} == {()}


def test_a_failing_group_listing_fails_the_fetch_for_a_retry():
    http = HttpMockSequence(
        [
            ok("connections-memberships.json"),
            ({"status": "503", "content-type": "application/json"}, "{}"),
        ]
    )

    with pytest.raises(ProviderError) as caught:
        fetch(http)

    assert caught.value.permanent is False


@pytest.mark.django_db
def test_a_sync_stores_the_groups_as_lower_case_tags(alice):
    account = ProviderAccount.objects.create(
        owner=alice,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="alice@example.com",
        access_token="ya29.test",
    )

    run = sync_provider(
        account=account,
        platform="google_contacts",
        trigger="manual",
        http=with_groups(),
    )

    assert run.status == "success"
    stored = dict(Contact.objects.filter(owner=alice).values_list("full_name", "tags"))
    assert stored == {
        "Mina Okafor": ["starred", "climbing club"],
        "Tomas Berg": ["family", "berlin 2024"],
        "Ren Ito": [],
    }
