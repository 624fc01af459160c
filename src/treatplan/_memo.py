"""Small bounded caches keyed by object identity, for the hot paths of reviews and rules.

The library's values are immutable, so a result computed from some objects stays
valid for as long as those very objects exist. An :class:`IdentityCache` entry is
keyed by the ids of its key objects and holds strong references to them, so no
other object can take one of those ids while the entry lives: a hit is always for
the same objects. The cache is bounded (the oldest entry goes first), so it keeps
at most ``size`` entries' objects alive.

Entries are never mutated and each operation is one dict call, so threads may
share a cache: at worst a thread recomputes a value that another thread dropped.
A cache only ever saves work; it never changes a result.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Generic, TypeVar

from ._errors import ArgumentError

__all__ = ["IdentityCache"]

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """At most ``size`` values, each keyed by the identity of one or more objects."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ArgumentError("size", "a cache size of at least 1")
        self.size = size
        # An OrderedDict drops its oldest entry in O(1); a plain dict slows down as
        # deleted slots pile up at its front.
        self._entries: OrderedDict[tuple[int, ...], tuple[tuple[object, ...], V]] = OrderedDict()

    def get(self, *key: object) -> V | None:
        """The value stored for exactly these objects, or ``None``."""
        entry = self._entries.get(tuple(map(id, key)))
        return entry[1] if entry is not None else None

    def put(self, value: V, *key: object) -> V:
        """Store ``value`` for these objects (dropping the oldest entry when full); return it."""
        entries = self._entries
        # A loop, not an if: threads putting at once may overshoot the size for a moment.
        while len(entries) >= self.size:
            with contextlib.suppress(KeyError):  # emptied by another thread meanwhile
                entries.popitem(last=False)
        entries[tuple(map(id, key))] = (key, value)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
