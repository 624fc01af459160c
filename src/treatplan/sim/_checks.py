"""Argument checks for the simulator's public functions.

Each raises :class:`treatplan.ArgumentError` naming the parameter and what it
takes, never the value given (a wrong argument may be anything, clinical text
included).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import ArgumentError

#: The most referrals one run simulates: about 30 minutes per million clients on one
#: core, so a larger run is far more likely a mistyped number than a plan.
MAX_CLIENTS = 10_000_000
#: The most replicate seeds one run (or one sweep arm) takes.
MAX_REPLICATES = 1_000
#: The largest seed: seeds are hashed, so any integer would do, but a bound keeps
#: a manifest's seed an ordinary JSON number.
MAX_SEED = 2**63 - 1


#: A name that is also a folder name in a run's output (``runs/<arm>/``,
#: ``<out>/<scenario>/``): no separator, no leading dot, so never ``..``.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
#: What :func:`is_folder_name` accepts, for messages.
FOLDER_NAME = "a name of 1-64 letters, digits and . _ - (not starting with .)"


def is_folder_name(value: Any) -> bool:
    """Whether ``value`` can name a folder inside a run's output, and only there."""
    return isinstance(value, str) and _FOLDER_NAME.match(value) is not None


def is_int(value: Any) -> bool:
    """A real integer: ``True`` and ``1.0`` are not counts or seeds."""
    return isinstance(value, int) and not isinstance(value, bool)


def integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` if it is an integer from ``low`` to ``high``."""
    if not is_int(value) or not low <= value <= high:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(low)
        bounds = f" of at most {high:,}" if kind else f" from {low:,} to {high:,}"
        raise ArgumentError(name, (kind or "an integer") + bounds)
    return int(value)


def clients(value: Any, name: str = "clients") -> int:
    return integer(name, value, 1, MAX_CLIENTS)


def seed(value: Any, name: str = "seed") -> int:
    """A run seed: an integer, so that a run can be repeated from it."""
    return integer(name, value, -MAX_SEED, MAX_SEED)


def instance(name: str, value: Any, kind: type[Any] | tuple[type[Any], ...], what: str) -> None:
    if not isinstance(value, kind):
        raise ArgumentError(name, what)


def folder(name: str, value: Any, what: str = "a folder (a str or os.PathLike)") -> Path:
    """A folder (or file) given as a non-empty string or path that names a file system
    path: text (a path object's ``__fspath__`` too) without a NUL character, which
    encodes to the file system's encoding."""
    if not isinstance(value, str | os.PathLike):
        raise ArgumentError(name, what)
    try:
        text = os.fspath(value)
        usable = isinstance(text, str) and bool(text) and "\0" not in text
        if usable:
            os.fsencode(text)  # a lone surrogate cannot name a file
    except (TypeError, UnicodeError):  # __fspath__ returned something else
        usable = False
    if not usable:
        raise ArgumentError(name, what)
    return Path(value)


def sequence(name: str, value: Any, what: str) -> Sequence[Any]:
    """A list or tuple (not a string, a mapping or a single item)."""
    if not isinstance(value, list | tuple):
        raise ArgumentError(name, what)
    return value
