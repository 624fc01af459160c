"""Adversarial checks of the fast paths (treatplan._fast, the JSON fast path, the lean
plan-wide check), each held to the validated path it stands in for."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import treatplan as tp
from treatplan import _fast


@attrs.frozen(cache_hash=True)
class _CachedHash:
    value: int


@attrs.frozen(init=False)
class _OwnInit:
    value: int

    def __init__(self, value: int) -> None:
        self.__attrs_init__(value * 2)


@attrs.define(frozen=True, slots=False)
class _Unslotted:
    value: int


class _NotAttrs:
    value: int = 0


@pytest.mark.parametrize("cls", [_CachedHash, _OwnInit, _NotAttrs, _Unslotted, int, "Score"])
def test_frozen_makers_refuse_a_class_their_stores_cannot_stand_in_for(cls: type[Any]) -> None:
    """A cached hash is a slot the constructor fills and the maker would not (hash()
    then fails); a hand-written ``__init__`` is not attrs' plain stores; a class
    that is not an attrs class (or not a class) has no fields to store; the stores are
    written for slots. Each is refused with the
    library's own error, not left to fail later or with an attrs exception."""
    with pytest.raises(tp.ArgumentError, match="only stores its arguments"):
        _fast.frozen_maker(cls)


def _type_error(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TypeError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("x",), {}), (("x",), {"nope": 1}), (("x",), {"instrument": "y"})],
)
def test_a_frozen_maker_misused_says_what_the_constructor_says(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """The maker stands in for ``Score(...)``: a call with missing, unknown or repeated
    arguments fails with the constructor's own message, which names ``Score.__init__``
    (not an anonymous generated function). Only a count of surplus positional
    arguments differs (the constructor counts ``self``)."""
    from treatplan._scoring import Score, new_score

    assert _type_error(new_score, *args, **kwargs) == _type_error(Score, *args, **kwargs)
