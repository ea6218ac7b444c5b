"""The settings API: the original's priority cases (spec 7.3) and sync settings."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.accounts.clients import error_message, web_client

pytestmark = pytest.mark.django_db

PRIORITY = "/api/v1/settings/priority"
SYNC = "/api/v1/settings/sync"
DEFAULT_SYNC = {
    "gmail": {"auto_sync": True, "schedule": "6h"},
    "google_contacts": {"auto_sync": True, "schedule": "daily"},
    "google_calendar": {"auto_sync": True, "schedule": "daily"},
    "twitter": {"auto_sync": True, "schedule": "daily"},
    "linkedin": {"auto_sync": False, "schedule": "manual"},
}


def put(client, url: str, body: dict):
    return client.put(url, body, format="json")


# --- priority thresholds -------------------------------------------------------------


def test_the_thresholds_default_to_30_60_180(alice):
    response = web_client(alice).get(PRIORITY)

    assert response.status_code == 200
    assert response.json()["data"] == {"high": 30, "medium": 60, "low": 180}


def test_put_14_45_90_then_get_returns_them(alice):
    client = web_client(alice)

    put(client, PRIORITY, {"high": 14, "medium": 45, "low": 90})

    assert client.get(PRIORITY).json()["data"] == {"high": 14, "medium": 45, "low": 90}


def test_a_second_put_returns_and_persists_its_values(alice):
    # The original mutated its stored JSON in place, so a second write for a
    # user with stored settings could be lost.
    client = web_client(alice)
    put(client, PRIORITY, {"high": 14, "medium": 45, "low": 90})

    response = put(client, PRIORITY, {"high": 10, "medium": 30, "low": 120})

    assert response.json()["data"] == {"high": 10, "medium": 30, "low": 120}
    assert client.get(PRIORITY).json()["data"] == {"high": 10, "medium": 30, "low": 120}
    alice.refresh_from_db()
    assert alice.priority_thresholds == {"high": 10, "medium": 30, "low": 120}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"high": 6, "medium": 60, "low": 180},
            "high: Ensure this value is greater than or equal to 7.",
        ),
        (
            {"high": 30, "medium": 60, "low": 366},
            "low: Ensure this value is less than or equal to 365.",
        ),
        ({"high": 30, "medium": 60}, "low: This field is required."),
        (
            {"high": "soon", "medium": 60, "low": 180},
            "high: A valid integer is required.",
        ),
    ],
)
def test_a_threshold_outside_7_to_365_days_is_a_400(alice, body, message):
    client = web_client(alice)

    response = put(client, PRIORITY, body)

    assert response.status_code == 400
    assert error_message(response) == message
    assert client.get(PRIORITY).json()["data"] == {"high": 30, "medium": 60, "low": 180}


def test_the_bounds_7_and_365_are_accepted(alice):
    response = put(web_client(alice), PRIORITY, {"high": 7, "medium": 180, "low": 365})

    assert response.status_code == 200
    assert response.json()["data"] == {"high": 7, "medium": 180, "low": 365}


def test_priority_settings_need_a_web_token():
    client = APIClient()

    assert client.get(PRIORITY).status_code == 401
    assert put(client, PRIORITY, {"high": 7, "medium": 8, "low": 9}).status_code == 401


def test_one_users_thresholds_do_not_change_anothers(alice, bob):
    put(web_client(alice), PRIORITY, {"high": 7, "medium": 8, "low": 9})

    assert web_client(bob).get(PRIORITY).json()["data"] == {
        "high": 30,
        "medium": 60,
        "low": 180,
    }


# --- sync settings -------------------------------------------------------------------


def test_sync_settings_default_per_provider(alice):
    response = web_client(alice).get(SYNC)

    assert response.json()["data"] == DEFAULT_SYNC


def test_a_put_changes_only_the_keys_it_names_and_a_second_put_keeps_the_first(alice):
    client = web_client(alice)

    first = put(client, SYNC, {"gmail": {"auto_sync": False}})
    second = put(client, SYNC, {"twitter": {"schedule": "manual"}})

    expected = {
        **DEFAULT_SYNC,
        "gmail": {"auto_sync": False, "schedule": "6h"},
        "twitter": {"auto_sync": True, "schedule": "manual"},
    }
    assert first.json()["data"]["gmail"] == {"auto_sync": False, "schedule": "6h"}
    assert second.json()["data"] == expected
    assert client.get(SYNC).json()["data"] == expected
    alice.refresh_from_db()
    assert alice.sync_settings == expected


def test_stored_settings_with_missing_providers_are_merged_over_the_defaults(alice):
    alice.sync_settings = {"gmail": {"schedule": "12h"}}
    alice.save(update_fields=["sync_settings"])

    data = web_client(alice).get(SYNC).json()["data"]

    assert data == {**DEFAULT_SYNC, "gmail": {"auto_sync": True, "schedule": "12h"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"telegram": {"auto_sync": False}},
            "unknown provider 'telegram'; expected one of gmail, google_contacts, "
            "google_calendar, twitter, linkedin",
        ),
        (
            {"gmail": {"interval": "1h"}},
            "gmail: unknown setting 'interval'; expected auto_sync or schedule",
        ),
        (
            {"gmail": {"schedule": "hourly"}},
            'gmail: schedule: "hourly" is not a valid choice.',
        ),
        (
            {"gmail": {"auto_sync": "perhaps"}},
            "gmail: auto_sync: Must be a valid boolean.",
        ),
        (
            {"gmail": True},
            "gmail: Invalid data. Expected a dictionary, but got bool.",
        ),
    ],
)
def test_unknown_providers_keys_and_values_are_a_400(alice, body, message):
    client = web_client(alice)

    response = put(client, SYNC, body)

    assert response.status_code == 400
    assert error_message(response) == message
    assert client.get(SYNC).json()["data"] == DEFAULT_SYNC


def test_sync_settings_need_a_web_token():
    assert APIClient().get(SYNC).status_code == 401
