"""Pushes share one set of validation fields and still validate independently."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.exceptions import ValidationError

from linkedin.serializers import PushSerializer, push_payload_from_data
from tests.linkedin.push_helpers import message, profile

GOOD = {"profiles": [profile("jane-1", "Jane Doe")], "messages": [message("jane-1")]}
BAD = {"profiles": [{"full_name": "No Id"}], "messages": [message("jane-1")]}
BAD_ERRORS = {"profiles[0].profile_id": ["a profile needs profile_id or profile_url"]}


def _errors(body) -> dict:
    try:
        push_payload_from_data(body)
    except ValidationError as exc:
        return exc.detail
    return {}


def test_every_push_serializer_shares_one_set_of_fields():
    assert PushSerializer(data=GOOD).fields is PushSerializer(data=BAD).fields


def test_a_rejected_push_leaves_nothing_for_the_next():
    assert _errors(BAD) == BAD_ERRORS

    payload = push_payload_from_data(GOOD)

    assert [p.profile_id for p in payload.profiles] == ["jane-1"]
    assert [m.profile_id for m in payload.messages] == ["jane-1"]
    assert _errors(BAD) == BAD_ERRORS


@pytest.mark.parametrize("rounds", [200])
def test_pushes_validated_at_once_in_threads_get_their_own_results(rounds):
    bodies = [GOOD if n % 2 else BAD for n in range(rounds)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(_errors, bodies))

    assert results == [{} if n % 2 else BAD_ERRORS for n in range(rounds)]
