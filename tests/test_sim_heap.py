"""Handing freed heap memory back during long runs (treatplan.sim._heap)."""

from __future__ import annotations

import ctypes
import sys

import pytest

from treatplan.sim import DEFAULT_SCENARIO, _heap, _run, simulate


def test_trims_on_every_nth_tick() -> None:
    calls: list[int] = []
    heap = _heap.HeapTrimmer(every=3, trim=calls.append)
    for _ in range(7):
        heap.tick()
    assert calls == [0, 0]


def test_without_malloc_trim_nothing_is_called() -> None:
    heap = _heap.HeapTrimmer(every=1, trim=None)
    heap.tick()  # no error, nothing to call


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_finds_glibc_malloc_trim_on_linux() -> None:
    trim = _heap.find_malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)  # 1: memory was released, 0: none could be


def test_other_platforms_have_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _heap.find_malloc_trim() is None


def test_a_linux_without_glibc_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_glibc(name: str) -> object:
        raise OSError(name)

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", no_glibc)
    assert _heap.find_malloc_trim() is None


def test_a_run_trims_the_parent_heap_as_it_collects_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(_run, "MALLOC_TRIM", calls.append)
    simulate(DEFAULT_SCENARIO, 100, seed=3, chunk_size=5)  # 20 chunks collected
    assert calls == [0] * (20 // _heap.TRIM_EVERY)
