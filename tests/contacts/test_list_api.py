"""GET /api/v1/contacts: envelope, filters, sorts, pagination, errors, auth."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import resolve
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts import api
from contacts.selectors import SORTS
from tests.contacts.factories import (
    API,
    UTC,
    client_for,
    contact,
    contacts_bulk,
    interaction,
)

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)

CONTACT_RESPONSE_KEYS = [
    "id",
    "user_id",
    "organization_id",
    "full_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "company",
    "title",
    "twitter_handle",
    "twitter_bio",
    "telegram_username",
    "telegram_bio",
    "location",
    "linkedin_url",
    "linkedin_profile_id",
    "linkedin_headline",
    "linkedin_bio",
    "avatar_url",
    "birthday",
    "birthday_text",
    "tags",
    "notes",
    "priority_level",
    "source",
    "relationship_score",
    "interaction_count",
    "last_interaction_at",
    "last_followup_at",
    "user_edited_fields",
    "created_at",
    "updated_at",
]


def listing(user, **params) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(API, params)
    assert response.status_code == 200, response.json()
    return response.json()


def names(user, **params) -> list[str]:
    return [item["full_name"] for item in listing(user, **params)["data"]]


def error(user, **params) -> tuple[int, str]:
    response = client_for(user).get(API, params)
    body = response.json()
    assert body["data"] is None
    return response.status_code, body["error"]["message"]


# --- envelope and pagination ---------------------------------------------------


def test_the_list_is_enveloped_with_page_meta(alice):
    for i in range(5):
        contact(alice, f"C{i}")

    first = listing(alice, page_size=3)
    second = listing(alice, page_size=3, page=2)
    past_end = listing(alice, page_size=3, page=3)

    assert first["error"] is None
    assert first["meta"] == {"total": 5, "page": 1, "page_size": 3, "total_pages": 2}
    assert len(first["data"]) == 3
    assert len(second["data"]) == 2
    assert past_end["data"] == []
    assert past_end["meta"]["total_pages"] == 2


def test_an_empty_list_has_one_page(alice):
    assert listing(alice)["meta"] == {
        "total": 0,
        "page": 1,
        "page_size": 20,
        "total_pages": 1,
    }


def test_an_item_has_exactly_the_contact_response_keys(alice):
    made = contact(
        alice,
        "Ada Lovelace",
        emails=["Ada@Example.com"],
        tags=["VIP", " vip ", "Friend"],
        company="  Analytical  ",
        telegram_username="ada",
        bday="1815-12-10",
    )

    (item,) = listing(alice)["data"]

    assert list(item) == CONTACT_RESPONSE_KEYS
    assert item["id"] == str(made.pk)
    assert item["user_id"] == str(alice.pk)
    assert item["organization_id"] is None
    assert item["emails"] == ["Ada@Example.com"]
    assert item["tags"] == ["vip", "friend"]
    assert item["company"] == "Analytical"
    assert item["birthday"] == "1815-12-10"
    assert item["birthday_text"] == ""
    assert item["user_edited_fields"] == []


# --- filters --------------------------------------------------------------------


@pytest.fixture
def searchable(alice):
    with time_machine.travel(NOW, tick=False):
        contact(alice, "Alice Wonderland")
        contact(alice, "Bob Builder", family_name="Smith")
        contact(alice, "Carol", family_name="Jones", emails=["unique@corp.io"])
        contact(alice, "Dave", company="Acme Corp")
        eve = contact(alice, "Eve")
        interaction(eve, NOW, preview="About the quarterly budget")
        contact(alice, "John Doe")
        contact(alice, "Fifty % off")
        contact(alice, "snake_case")
        contact(alice, "Mononym", given_name="Mary", family_name="Major")
        contact(alice, "Tweeter", twitter_handle="birdie", notes="met at PyCon")
        contact(alice, "Bio", telegram_bio="Loves sailing", source="csv")
        contact(alice, "Caller", phones=["+1 555 0100"])
    return alice


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("alice", ["Alice Wonderland"]),
        ("Smith", ["Bob Builder"]),
        ("UNIQUE@corp.io", ["Carol"]),
        ("Acme", ["Dave"]),
        ("quarterly budget", ["Eve"]),
        ("John", ["John Doe"]),
        ("NonExistent", []),
        ("%", ["Fifty % off"]),
        ("_", ["snake_case"]),
        ("Mary Major", ["Mononym"]),
        ("birdie", ["Tweeter"]),
        ("pycon", ["Tweeter"]),
        ("sailing", ["Bio"]),
        ("csv", ["Bio"]),
        ("555 01", ["Caller"]),
        ("", None),
    ],
)
def test_search_matches_any_text_of_a_contact_case_insensitively(
    searchable, term, expected
):
    got = names(searchable, search=term, page_size=100)
    if expected is None:
        assert len(got) == 12
    else:
        assert got == expected


def test_the_tag_filter_matches_a_whole_tag_case_insensitively(alice):
    contact(alice, "Investor", tags=["vip", "investor"])
    contact(alice, "Friend", tags=["friend"])
    contact(alice, "Untagged")

    assert names(alice, tag="VIP") == ["Investor"]
    assert names(alice, tag="vi") == []


def test_source_is_an_exact_match(alice):
    contact(alice, "Mail", source="gmail")
    contact(alice, "Card", source="vcard")

    assert names(alice, source="gmail") == ["Mail"]
    assert names(alice, source="twitter") == []


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("strong", ["S10", "S8"]), ("active", ["S7", "S4"]), ("dormant", ["S3", "S0"])],
)
def test_score_tiers_are_8_to_10_4_to_7_and_0_to_3(alice, tier, expected):
    for score in (0, 3, 4, 7, 8, 10):
        contact(alice, f"S{score}", relationship_score=score)

    assert names(alice, score=tier) == expected


def test_priority_keeps_one_level(alice):
    for level in ("high", "medium", "low"):
        contact(alice, level, priority_level=level)

    assert names(alice, priority="high") == ["high"]


def test_created_dates_are_whole_days_in_the_users_time_zone(alice):
    with time_machine.travel(NOW - dt.timedelta(days=30), tick=False):
        contact(alice, "Old")
    with time_machine.travel(NOW, tick=False):
        contact(alice, "Recent")

    assert names(alice, date_from="2026-06-29") == ["Recent"]
    assert names(alice, date_to="2026-06-28") == ["Old"]
    assert names(alice, date_from="2026-05-31", date_to="2026-05-31") == ["Old"]
    assert names(alice, date_from="2026-06-01", date_to="2026-06-29") == []


def test_a_created_day_ends_at_the_users_midnight_not_utcs(alice):
    alice.time_zone = "Pacific/Auckland"
    alice.save()
    # 2026-06-30 12:00 UTC is already 07-01 00:00 in Auckland.
    with time_machine.travel(NOW, tick=False):
        contact(alice, "Just after midnight")

    assert names(alice, date_from="2026-07-01") == ["Just after midnight"]
    assert names(alice, date_to="2026-06-30") == []


def test_interactions_filters_use_the_last_interaction(alice):
    contact(alice, "Recent", last_interaction_at=NOW - dt.timedelta(days=3))
    contact(alice, "Old", last_interaction_at=NOW - dt.timedelta(days=90))
    contact(alice, "Never")

    def named(**params):
        return names(alice, sort="interaction", **params)

    assert named(has_interactions="true") == ["Recent", "Old"]
    assert named(has_interactions="false") == ["Never"]
    assert named(interaction_days=30) == ["Recent"]
    assert named(interaction_days=365) == ["Recent", "Old"]


def test_has_birthday_counts_dates_only_not_birthday_text(alice):
    contact(alice, "Dated", bday="05-05")
    contact(alice, "Worded", birthday_text="mid-June")

    assert names(alice, has_birthday="true") == ["Dated"]
    assert names(alice, has_birthday="false") == ["Worded"]


def test_archived_contacts_are_hidden_unless_asked_for_alone(alice):
    contact(alice, "Active")
    contact(alice, "Archived", priority_level="archived")

    assert names(alice) == ["Active"]
    assert names(alice, archived_only="false") == ["Active"]
    assert names(alice, archived_only="true") == ["Archived"]


def test_filters_are_anded(alice):
    contact(alice, "Jane Gmail", source="gmail")
    contact(alice, "Jane Csv", source="csv")
    contact(alice, "Joe Gmail", source="gmail")
    contact(alice, "VIP High", tags=["vip"], priority_level="high")
    contact(alice, "VIP Low", tags=["vip"], priority_level="low")

    assert names(alice, search="Jane", source="gmail") == ["Jane Gmail"]
    assert names(alice, tag="vip", priority="high") == ["VIP High"]


# --- sorts ----------------------------------------------------------------------


@pytest.fixture
def five(alice):
    """Ann..Eve, created a minute apart, with values every sort looks at."""
    people = [
        ("Ann", 9, 3, "beta", "07-02", 40, "high"),
        ("Ben", 5, 10, "Alpha", "1990-06-29", 2, "high"),
        ("Cat", 9, 3, None, None, None, "medium"),
        ("Dan", 1, 0, "acme", "06-30", 70, "medium"),
        ("Eve", 5, 10, "Gamma", "12-31", 10, "low"),
    ]
    for i, (name, score, count, company, bday, last, priority) in enumerate(people):
        with time_machine.travel(NOW - dt.timedelta(minutes=10 - i), tick=False):
            contact(
                alice,
                name,
                relationship_score=score,
                interaction_count=count,
                company=company,
                bday=bday,
                priority_level=priority,
                last_interaction_at=None
                if last is None
                else NOW - dt.timedelta(days=last),
            )
    return alice


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # relationship_score desc, then newest first
        ("score", ["Cat", "Ann", "Eve", "Ben", "Dan"]),
        ("created", ["Eve", "Dan", "Cat", "Ben", "Ann"]),
        # last interaction, newest first, never contacted last
        ("interaction", ["Ben", "Eve", "Ann", "Dan", "Cat"]),
        # interaction_count desc, then newest first
        ("activity", ["Eve", "Ben", "Cat", "Ann", "Dan"]),
        # company, case-insensitively, none last
        ("company", ["Dan", "Ben", "Ann", "Eve", "Cat"]),
        # next birthday: today, in 2 days, Dec 31, yesterday's (next year), none
        ("birthday", ["Dan", "Ann", "Eve", "Ben", "Cat"]),
        # days overdue as /overdue: Ann and Dan 10 (high first), Ben -28,
        # Eve -170, never contacted last
        ("overdue", ["Ann", "Dan", "Ben", "Eve", "Cat"]),
    ],
)
def test_each_sort_orders_as_documented(five, sort, expected):
    assert names(five, sort=sort) == expected


def test_the_default_sort_is_score(five):
    assert names(five) == names(five, sort="score")


def test_the_birthday_sort_agrees_with_the_birthdays_endpoint(five):
    with time_machine.travel(NOW, tick=False):
        upcoming = client_for(five).get(f"{API}/birthdays").json()["data"]

    assert [item["full_name"] for item in upcoming] == ["Dan", "Ann"]
    assert names(five, sort="birthday")[:2] == ["Dan", "Ann"]


def test_the_overdue_sort_agrees_with_the_overdue_endpoint(five):
    with time_machine.travel(NOW, tick=False):
        overdue = client_for(five).get(f"{API}/overdue").json()["data"]

    assert [item["full_name"] for item in overdue] == ["Ann", "Dan"]
    assert names(five, sort="overdue")[:2] == ["Ann", "Dan"]


@pytest.mark.parametrize("sort", SORTS)
def test_walking_every_page_over_ties_never_repeats_or_skips(alice, sort):
    with time_machine.travel(NOW, tick=False):
        made = [
            contact(
                alice,
                "Same" if i % 3 else None,
                relationship_score=3,
                company="Same" if i % 2 else None,
                bday="08-08" if i % 2 else None,
                last_interaction_at=NOW - dt.timedelta(days=50) if i % 2 else None,
            )
            for i in range(23)
        ]

    walked = []
    for page in range(1, 7):
        walked += [
            c["id"] for c in listing(alice, sort=sort, page=page, page_size=4)["data"]
        ]
    one_page = [c["id"] for c in listing(alice, sort=sort, page_size=100)["data"]]

    assert len(walked) == 23
    assert walked == one_page
    assert sorted(walked) == sorted(str(c.pk) for c in made)


def test_equal_values_are_ordered_by_id(alice):
    with time_machine.travel(NOW, tick=False):
        made = [contact(alice, "Twin") for _ in range(6)]

    got = [c["id"] for c in listing(alice, sort="created")["data"]]
    assert got == sorted(str(c.pk) for c in made)


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "bogus"}, 'sort: "bogus" is not a valid choice.'),
        ({"page": 0}, "page: must be at least 1, got 0"),
        ({"page": "x"}, "page: must be a whole number, got 'x'"),
        ({"page_size": 1000}, "page_size: must be between 1 and 100, got 1000"),
        ({"date_from": "not-a-date"}, "date_from: use the form YYYY-MM-DD"),
        ({"date_to": "2026-02-30"}, "date_to: use the form YYYY-MM-DD"),
        (
            {"score": "great"},
            "score: must be one of strong, active, dormant, got 'great'",
        ),
        (
            {"priority": "archived"},
            "priority: must be one of high, medium, low, got 'archived'",
        ),
        (
            {"interaction_days": 0},
            "interaction_days: Ensure this value is greater than or equal to 1.",
        ),
        (
            {"interaction_days": 366},
            "interaction_days: Ensure this value is less than or equal to 365.",
        ),
        ({"has_birthday": "maybe"}, "has_birthday: must be true or false, got 'maybe'"),
        (
            {"archived_only": "yes please"},
            "archived_only: must be true or false, got 'yes please'",
        ),
    ],
)
def test_a_bad_parameter_is_a_400_whose_message_names_it(alice, params, message):
    assert error(alice, **params) == (400, message)


def test_unreadable_filters_are_errors_not_ignored_as_the_original_did(alice):
    # The original silently ignored date_from=not-a-date and score=great,
    # returning the whole list; here the client learns of its mistake.
    contact(alice, "Someone")

    assert error(alice, date_from="not-a-date")[0] == 400
    assert error(alice, score="great")[0] == 400


def test_validation_errors_are_400_where_the_original_used_422(alice):
    response = client_for(alice).get(API, {"sort": "bogus"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["status"] == 400
    assert body["error"]["fields"] == {"sort": ['"bogus" is not a valid choice.']}
    assert body["detail"] == 'sort: "bogus" is not a valid choice.'


# --- auth and routes ------------------------------------------------------------


def test_an_anonymous_request_is_401(db):
    response = APIClient().get(API)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_token_or_a_session_signs_in(alice):
    contact(alice, "Mine")
    token = Token.objects.create(user=alice)
    by_token = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    by_session = APIClient()
    by_session.force_login(alice)

    for client in (by_token, by_session):
        response = client.get(API)
        assert response.status_code == 200
        assert [c["full_name"] for c in response.json()["data"]] == ["Mine"]


def test_a_bad_token_is_401(alice):
    response = APIClient(HTTP_AUTHORIZATION="Token nope").get(API)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "view"),
    [
        ("", api.ContactListCreateApi),
        ("/ids", api.ContactIdsApi),
        ("/stats", api.ContactStatsApi),
        ("/birthdays", api.ContactBirthdaysApi),
        ("/overdue", api.ContactOverdueApi),
        ("/tags", api.ContactTagsApi),
        ("/scores/recalculate", api.ScoresRecalculateApi),
        ("/0d2a61f5-8c89-4c2e-9f4e-b1d4f1b0c001", api.ContactDetailApi),
        ("/0d2a61f5-8c89-4c2e-9f4e-b1d4f1b0c001/activity", api.ContactActivityApi),
    ],
)
def test_each_path_has_no_trailing_slash_and_its_own_view(path, view):
    assert resolve(f"{API}{path}").func.view_class is view


def test_a_trailing_slash_is_not_found(alice):
    assert client_for(alice).get(f"{API}/").status_code == 404


# --- query counts ----------------------------------------------------------------


@pytest.mark.parametrize("size", [20, 2000])
def test_every_sort_and_filter_costs_two_queries_at_any_size(
    alice, size, django_assert_num_queries
):
    contacts_bulk(alice, size, now=NOW)
    client = client_for(alice)
    cases = [{"sort": sort, "page_size": 50} for sort in SORTS]
    cases.append({"search": "person1", "tag": "tag1", "score": "dormant"})
    cases.append({"has_birthday": "true", "interaction_days": 100})
    cases.append({"page": 2, "page_size": 5})

    for params in cases:
        with time_machine.travel(NOW, tick=False), django_assert_num_queries(2):
            response = client.get(API, params)
        assert response.status_code == 200, params
        assert response["X-Query-Count"] == "2"
        assert response.json()["data"], params
