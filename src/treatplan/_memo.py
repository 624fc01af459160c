"""The library's one style of cache: small, bounded, and never changing a result.

Every remembered result in treatplan is held by one of the two caches here, with
the same interface (``get``, ``put``, ``clear``) and the same eviction (the oldest
entry goes first):

- :class:`IdentityCache` for results computed from immutable values whose hashing
  would cost more than the result saves (an instrument definition, a tuple of
  item responses). The library's values are immutable, so a result computed from
  some objects stays valid for as long as those very objects exist. An entry is
  keyed by the ids of its key objects and holds strong references to them, so no
  other object can take one of those ids while the entry lives: a hit is always for
  the same objects.
- :class:`ValueCache` for results of small hashable keys that many plans share by
  value but never by identity (the text of a schedule's rule, read afresh from
  every document).

Entries are never mutated and each operation is one dict call, so threads may
share a cache: at worst a thread recomputes a value that another thread dropped.
A cache only ever saves work; it never changes a result.

(The derived state of a plan, :mod:`treatplan._state`, is not a cache of this
kind: it belongs to one plan version and lives and dies with it.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from ._errors import ArgumentError

__all__ = ["IdentityCache", "ValueCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _bounded(size: int) -> int:
    if size < 1:
        raise ArgumentError("size", "a cache size of at least 1")
    return size


def _make_room(entries: OrderedDict[K, V], size: int) -> None:
    # A loop, not an if: threads putting at once may overshoot the size for a moment.
    # try/except rather than contextlib.suppress: a full cache evicts on every put, and
    # a context manager object per eviction costs more than the eviction.
    while len(entries) >= size:
        try:
            entries.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile: measure again
            continue


def _ids(key: tuple[object, ...]) -> int | tuple[int, ...]:
    """The ids of ``key``'s objects: spelled out for the one- and two-object keys every
    cache here uses (a generator or ``map`` costs more than the look-up itself). A key
    of one object is its id itself, not a 1-tuple: most look-ups are of one object,
    and an int is made, hashed and compared for less than a tuple holding it (an int
    never equals a tuple, so the two kinds of key never meet)."""
    n = len(key)
    if n == 1:
        return id(key[0])
    if n == 2:
        return (id(key[0]), id(key[1]))
    return tuple(map(id, key))


class IdentityCache(Generic[V]):
    """At most ``size`` values, each keyed by the identity of one or more objects."""

    def __init__(self, size: int) -> None:
        self.size = _bounded(size)
        # An OrderedDict drops its oldest entry in O(1); a plain dict slows down as
        # deleted slots pile up at its front.
        self._entries: OrderedDict[int | tuple[int, ...], tuple[tuple[object, ...], V]] = (
            OrderedDict()
        )

    def get(self, *key: object) -> V | None:
        """The value stored for exactly these objects, or ``None``."""
        n = len(key)  # _ids(key), inlined: a look-up is the hot path of every cache
        entry = self._entries.get(
            id(key[0]) if n == 1 else (id(key[0]), id(key[1])) if n == 2 else _ids(key)
        )
        return entry[1] if entry is not None else None

    def get_one(self, key: object) -> V | None:
        """``get(key)`` for a key of one object, without packing the arguments: the
        look-up of the library's hottest caches (per rule, per instrument definition)."""
        entry = self._entries.get(id(key))
        return entry[1] if entry is not None else None

    def get_two(self, first: object, second: object) -> V | None:
        """``get(first, second)``, without packing the arguments (see :meth:`get_one`)."""
        entry = self._entries.get((id(first), id(second)))
        return entry[1] if entry is not None else None

    def put(self, value: V, *key: object) -> V:
        """Store ``value`` for these objects (dropping the oldest entry when full); return it."""
        entries = self._entries
        if len(entries) >= self.size:
            _make_room(entries, self.size)
        entries[_ids(key)] = (key, value)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ValueCache(Generic[K, V]):
    """At most ``size`` values, each keyed by an equal (hashable, immutable) key."""

    def __init__(self, size: int) -> None:
        self.size = _bounded(size)
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value stored for a key equal to ``key``, or ``None``."""
        return self._entries.get(key)

    def put(self, value: V, key: K) -> V:
        """Store ``value`` for ``key`` (dropping the oldest entry when full); return it."""
        entries = self._entries
        if len(entries) >= self.size:
            _make_room(entries, self.size)
        entries[key] = value
        return value

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
