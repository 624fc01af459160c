"""The library's exceptions.

Every message here names *where* and *what was expected*, never the offending
value: plan documents carry free-text clinical content (goal statements, notes)
that must not leak into logs through an error message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ._records import record_repr

__all__ = [
    "ArgumentError",
    "LimitError",
    "TransitionError",
    "TreatplanError",
    "UnknownReferenceError",
    "ValidationError",
    "ValidationIssue",
]


class TreatplanError(Exception):
    """Base class of every error treatplan raises on purpose.

    Every one pickles and copies to an equal error (same class, message and
    attributes), so one raised in a simulator worker process or on a Dask worker
    reaches the caller as itself.
    """

    def _init_args(self) -> tuple[Any, ...]:
        # The arguments __init__ takes to rebuild this error. An Exception pickles as
        # ``type(self)(*self.args)``, which is wrong for every subclass whose
        # __init__ builds its message from its own arguments.
        return self.args

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._init_args(), self.__dict__ or None)


@attrs.frozen
class ValidationIssue:
    """One thing wrong with an input: where it is and what was expected.

    ``path`` is a JSONPath-like location such as
    ``$.goals[1].objectives[0].target.threshold``.
    """

    __repr__ = record_repr

    path: str
    expected: str

    def __str__(self) -> str:
        return f"{self.path}: {self.expected}"


class ValidationError(TreatplanError, ValueError):
    """Input (a document, a value, or a constructor call) is not a valid plan part.

    ``problems`` lists every problem found, each with its path.
    """

    problems: tuple[ValidationIssue, ...]

    def __init__(self, problems: Iterable[ValidationIssue], what: str = "invalid input") -> None:
        self._what = what
        self.problems = tuple(problems)
        if not self.problems:
            self.problems = (ValidationIssue("$", what),)
        lines = "\n".join(f"  {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{what}: {n} problem{'s' if n != 1 else ''}\n{lines}")

    def _init_args(self) -> tuple[Any, ...]:
        return (self.problems, self._what)

    @classmethod
    def at(cls, path: str, expected: str) -> ValidationError:
        """A single-problem error."""
        return cls([ValidationIssue(path, expected)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same problems, located under ``prefix`` (a JSON path such as ``$.goals[0]``)."""
        return ValidationError(
            [ValidationIssue(_join(prefix, p.path), p.expected) for p in self.problems]
        )


class ArgumentError(TreatplanError, TypeError, ValueError):
    """A public function was called with an argument of the wrong kind or outside its domain.

    ``parameter`` names the argument and ``expected`` says what it takes; the
    message is ``"<parameter>: expected <expected>"``, without the value. It is
    also a :class:`TypeError` and a :class:`ValueError`, so code written for the
    built-in errors keeps catching it.

    A value that the plan model itself checks (a time given to ``fire`` or
    ``evaluate``, a rule, a record's field) raises :class:`ValidationError` with its
    path instead, as the constructors do: catch :class:`TreatplanError` for both.
    """

    parameter: str
    expected: str

    def __init__(self, parameter: str, expected: str) -> None:
        self.parameter = parameter
        self.expected = expected
        super().__init__(f"{parameter}: expected {expected}")

    def _init_args(self) -> tuple[Any, ...]:
        return (self.parameter, self.expected)


class UnknownReferenceError(ArgumentError, KeyError, IndexError):
    """A code, id or index (an instrument code, an objective id, a history index)
    that names nothing known.

    Also a :class:`KeyError` and an :class:`IndexError`, as a failed look-up was
    before it existed.
    """

    # KeyError's str() is the repr of its argument; keep the plain message.
    __str__ = ArgumentError.__str__


class LimitError(ValidationError):
    """A document is larger than treatplan reads (see
    :data:`treatplan.document.MAX_DOCUMENT_SIZE`)."""


class TransitionError(TreatplanError):
    """A lifecycle event or plan operation is not allowed in the plan's current state.

    ``phase`` and ``event`` name what was attempted; ``reasons`` lists every
    failed guard. The plan that was passed in is untouched.
    """

    phase: str
    event: str
    reasons: tuple[str, ...]

    def __init__(self, phase: str, event: str, reasons: Sequence[str]) -> None:
        self.phase = phase
        self.event = event
        self.reasons = tuple(reasons)
        because = "; ".join(self.reasons) if self.reasons else "not allowed"
        super().__init__(f"{event!s} is not allowed in phase {phase!s}: {because}")

    def _init_args(self) -> tuple[Any, ...]:
        return (self.phase, self.event, self.reasons)


def _join(prefix: str, path: str) -> str:
    """Join a JSON path prefix (``$.a``) and a relative path (``$.b[0]`` or ``$``)."""
    if path == "$":
        return prefix
    if path.startswith("$"):
        path = path[1:]
    return prefix + path
