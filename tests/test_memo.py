"""The identity caches and the hot paths that use them: a cache never changes a result."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import attrs
import pytest

import treatplan as tp
from treatplan import _instruments, _scoring
from treatplan._memo import IdentityCache, ValueCache

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- IdentityCache
def test_hit_only_for_the_same_objects() -> None:
    cache: IdentityCache[str] = IdentityCache(4)
    key = [("a", 1)]
    equal_copy = [("a", 1)]
    assert cache.get(key) is None
    assert cache.put("value", key) == "value"
    assert cache.get(key) == "value"
    assert equal_copy == key
    assert equal_copy is not key
    assert cache.get(equal_copy) is None


def test_several_key_objects() -> None:
    cache: IdentityCache[int] = IdentityCache(4)
    a, b = object(), object()
    cache.put(1, a, b)
    assert cache.get(a, b) == 1
    assert cache.get(b, a) is None
    assert cache.get(a) is None
    c = object()
    cache.put(3, a, b, c)  # any number of objects, none included
    cache.put(0)
    assert cache.get(a, b, c) == 3
    assert cache.get(a, b) == 1
    assert cache.get() == 0
    assert cache.get(c, b, a) is None


def test_bounded_dropping_the_oldest() -> None:
    cache: IdentityCache[int] = IdentityCache(3)
    keys = [object() for _ in range(10)]
    for n, key in enumerate(keys):
        cache.put(n, key)
        assert len(cache) <= 3
    assert len(cache) == 3
    assert [cache.get(k) for k in keys[-3:]] == [7, 8, 9]
    assert all(cache.get(k) is None for k in keys[:-3])
    cache.clear()
    assert len(cache) == 0


# --------------------------------------------------------------------------- ValueCache
def test_value_cache_hits_for_equal_keys() -> None:
    cache: ValueCache[tuple[str, int], str] = ValueCache(4)
    assert cache.get(("rule", 1)) is None
    assert cache.put("parsed", ("rule", 1)) == "parsed"
    assert cache.get(("rule", 1)) == "parsed"  # an equal key, not the same object
    assert cache.get(("rule", 2)) is None


def test_value_cache_is_bounded_dropping_the_oldest() -> None:
    cache: ValueCache[int, int] = ValueCache(3)
    for n in range(10):
        cache.put(n * n, n)
        assert len(cache) <= 3
    assert [cache.get(n) for n in (7, 8, 9)] == [49, 64, 81]
    assert all(cache.get(n) is None for n in range(7))
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("cache", [IdentityCache, ValueCache])
def test_size_must_be_positive(cache: type[IdentityCache[int] | ValueCache[int, int]]) -> None:
    with pytest.raises(ValueError, match="size"):
        cache(0)


def test_threads_share_a_cache() -> None:
    cache: IdentityCache[int] = IdentityCache(8)
    keys = [object() for _ in range(64)]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(50):
            for n, key in enumerate(keys):
                got = cache.get(key)
                if got is None:
                    cache.put(n, key)
                elif got != n:
                    wrong.append(n)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(cache) <= 8 + len(threads)


# --------------------------------------------------------------------------- instruments
def test_instrument_responses_cached_per_definition() -> None:
    custom = tp.Instrument(
        code="X-3",
        name="Three items",
        item_count=3,
        item_min=0,
        item_max=4,
        item_choices=(tp.instruments.ItemChoices(2, (0, 2, 4)),),
    )
    twin = attrs.evolve(custom)
    for definition in (custom, twin, custom):
        assert definition.allowed(1) == (0, 1, 2, 3, 4)
        assert definition.allowed(2) == (0, 2, 4)
        assert definition.allowed(4) == (0, 1, 2, 3, 4)  # beyond the items: the full range
        assert (definition.total_min, definition.total_max) == (0, 12)
    assert _instruments._RESPONSES.get(custom) is not None
    assert _instruments._RESPONSES.get(twin) is not None
    assert len(_instruments._RESPONSES) <= _instruments._RESPONSES.size


# --------------------------------------------------------------------------- scoring
def test_score_in_remembers_per_assessment_and_definition() -> None:
    plan = tp.TreatmentPlan.refer("p", "c", at=T0, by="x")
    a = tp.Assessment("a1", "PHQ-9", T0, items=(1,) * 9)
    first = _scoring.plan_score(plan, a)
    assert first == tp.score(tp.instruments.PHQ9, a)
    assert _scoring.plan_score(plan, a) is first
    twin = tp.Assessment("a1", "PHQ-9", T0, items=(1,) * 9)
    assert _scoring.plan_score(plan, twin) == first
    # Another definition of the same code is another key: its own score.
    strict = attrs.evolve(tp.instruments.PHQ9, caseness_cutoff=5)
    custom_plan = tp.TreatmentPlan.refer("p", "c", at=T0, by="x", custom_instruments=(strict,))
    assert _scoring.plan_score(custom_plan, a).case is True
    assert first.case is False


def test_making_room_survives_another_thread_emptying_the_cache() -> None:
    from collections import OrderedDict

    from treatplan._memo import _make_room

    class EmptiedMeanwhile(OrderedDict[int, int]):
        """Full when measured, but another thread takes the oldest entry first."""

        def popitem(self, last: bool = True) -> tuple[int, int]:
            self.clear()
            raise KeyError("popitem(): dictionary is empty")

    entries = EmptiedMeanwhile({1: 1, 2: 2})
    _make_room(entries, 2)
    assert len(entries) == 0


def test_the_one_and_two_object_look_ups_find_what_get_finds() -> None:
    from treatplan._memo import IdentityCache

    cache: IdentityCache[str] = IdentityCache(4)
    a, b = object(), object()
    cache.put("one", a)
    cache.put("two", a, b)
    assert cache.get_one(a) == cache.get(a) == "one"
    assert cache.get_two(a, b) == cache.get(a, b) == "two"
    assert cache.get_one(b) is None
    assert cache.get_two(b, a) is None
