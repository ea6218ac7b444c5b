"""Fixtures for the accounts tests: a clean cache (throttles, OAuth nonces), clients."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters and OAuth nonces live in the cache; no test may
    # see another's.
    cache.clear()
    yield
    cache.clear()
