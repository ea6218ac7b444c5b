"""Shared fixtures: personas, the shared real-format files, a frozen clock.

Personas: ``alice`` owns the data under test, ``bob`` is an outsider whose
data must never show up in alice's results.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(
    os.environ.get("SHARED_FIXTURES_DIR", REPO_ROOT.parent / "shared" / "fixtures")
)
# .ci/run sets this so that a missing shared fixture fails instead of skipping.
FIXTURES_REQUIRED = os.environ.get("REQUIRE_SHARED_FIXTURES") == "1"


def shared_fixture(relative: str) -> Path:
    """Return the path of a file in ../shared/fixtures, or skip the test.

    Outside this workplace (a clone without ../shared) the test is skipped
    with the reason shown; in CI (REQUIRE_SHARED_FIXTURES=1) it fails.
    """
    path = SHARED_FIXTURES / relative
    if not path.exists():
        message = f"shared fixture {relative} not found under {SHARED_FIXTURES}"
        if FIXTURES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def fixture_path():
    return shared_fixture


@pytest.fixture
def alice(db):
    from contacts.models import User

    return User.objects.create_user(
        email="alice@example.com", password="alice-pass-1", full_name="Alice Owner"
    )


@pytest.fixture
def bob(db):
    from contacts.models import User

    return User.objects.create_user(
        email="bob@example.com", password="bob-pass-1", full_name="Bob Outsider"
    )
