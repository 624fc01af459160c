"""How record classes show themselves: one ``__repr__`` shared by every attrs class.

attrs writes and compiles a ``__repr__`` for each class it builds. Compiling is most
of what a class costs at import, and the library has about a hundred record classes,
so each class names this function in its body instead (attrs' ``auto_detect`` then
leaves it alone). The text is the one attrs would write: ``Name(field=value, ...)``
over the fields declared with ``repr=True``, in order.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["record_repr"]


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
