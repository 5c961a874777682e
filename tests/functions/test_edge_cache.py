"""The edge function's in-memory TTL cache, on a clock the test moves."""

from __future__ import annotations

import importlib.util

import pytest

from tap.paths import FUNCTIONS_DIR
from tests.functions.conftest import FakeClock

_spec = importlib.util.spec_from_file_location("edge_cache_under_test", FUNCTIONS_DIR / "license_verify" / "edge_cache.py")
edge_cache = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(edge_cache)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=0.0)


def test_a_value_is_kept_until_its_ttl_has_passed(clock):
    cache = edge_cache.TtlCache(ttl_seconds=60, clock=clock)
    cache.put("k", "v")
    clock.now = 59.9
    assert cache.get("k") == "v"
    clock.now = 60
    assert cache.get("k") is None
    assert len(cache) == 0


def test_putting_again_restarts_the_ttl(clock):
    cache = edge_cache.TtlCache(ttl_seconds=60, clock=clock)
    cache.put("k", "old")
    clock.now = 50
    cache.put("k", "new")
    clock.now = 100
    assert cache.get("k") == "new"


def test_the_oldest_entry_goes_first_when_the_cache_is_full(clock):
    cache = edge_cache.TtlCache(ttl_seconds=60, max_entries=3, clock=clock)
    for key in "abcd":
        cache.put(key, key.upper())
    assert [cache.get(key) for key in "abcd"] == [None, "B", "C", "D"]
    assert len(cache) == 3


def test_a_ttl_of_zero_caches_nothing(clock):
    cache = edge_cache.TtlCache(ttl_seconds=0, clock=clock)
    cache.put("k", "v")
    assert cache.get("k", "absent") == "absent"


def test_clear_empties_the_cache(clock):
    cache = edge_cache.TtlCache(ttl_seconds=60, clock=clock)
    cache.put("k", "v")
    cache.clear()
    assert cache.get("k") is None
