"""How record classes are laid out and show themselves: the base that holds their
weak-reference slot, one ``__repr__`` shared by every attrs class, and the pieces
that keep reprs short.

attrs writes and compiles a ``__repr__`` for each class it builds. Compiling is most
of what a class costs at import, and the library has about a hundred record classes,
so each class names this function in its body instead (attrs' ``auto_detect`` then
leaves it alone). The text is the one attrs would write: ``Name(field=value, ...)``
over the fields declared with ``repr=True``, in order.

Reprs end up in logs and tracebacks, and a plan holds clinical text, which belongs in
deliberate displays (``describe``, ``_repr_html_``), not there. So a field of free
text is declared ``repr=False``, and a field holding a record's parts (a goal's
objectives, a session's assessments) shows how many it holds (:func:`counted`), as the
plan's own repr does.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Any

import attrs

__all__ = ["SlottedRecord", "counted", "record_repr", "short_ref"]


class SlottedRecord:
    """Base of the record classes :mod:`treatplan._fast` builds without their
    ``__init__``: it holds their weak-reference slot, so that each class's own slots
    are its fields alone.

    Why: the fast paths fill a twin class (the same base and the same own slots, with
    plain attribute stores) and then give the instance its real class by
    ``__class__`` assignment. CPython allows that only between classes of the same
    layout, and a ``__weakref__`` slot declared beside the fields (attrs' default)
    makes twin layouts differ. A twin that is not a subclass stays out of the
    record class's ``__subclasses__()``, where cattrs' ``include_subclasses`` (and
    anything else that walks them) would find a second class with the same fields.
    """

    __slots__ = ("__weakref__",)


def record_repr(self: Any) -> str:
    """``Name(field=value, ...)``, as attrs' generated ``__repr__`` writes it."""
    cls: type[attrs.AttrsInstance] = type(self)
    shown = []
    for field in attrs.fields(cls):
        if field.repr:
            value = getattr(self, field.name)
            text = field.repr(value) if callable(field.repr) else repr(value)
            shown.append(f"{field.name}={text}")
    # As attrs names a class defined in a function: "Name", not "f.<locals>.Name".
    name = cls.__qualname__.rsplit(">.", 1)[-1]
    return f"{name}({', '.join(shown)})"


def counted(noun: str) -> Callable[[Sized], str]:
    """A field repr that shows how many items the field holds, not the items:
    ``<3 objectives>`` (``noun`` is the singular; the plural adds an "s")."""

    def show(items: Sized) -> str:
        n = len(items)
        return f"<{n} {noun if n == 1 else noun + 's'}>"

    return show


def short_ref(ref: str) -> str:
    """An opaque reference for a repr: up to 24 characters, then an ellipsis."""
    return repr(ref if len(ref) <= 24 else ref[:23] + "…")
