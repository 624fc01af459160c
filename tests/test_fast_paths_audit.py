"""Adversarial checks of the fast paths (treatplan._fast, the JSON fast path, the lean
plan-wide check), each held to the validated path it stands in for."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _fast, _json
from treatplan import strategies as tps


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


_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mbc-walkthrough.json"


def _posing_as(text: str) -> str:
    """A ``str`` subclass whose content is no time at all but which hashes and compares
    equal to ``text``: from_dict takes Python objects, not only what json gives."""

    class Posing(str):
        def __eq__(self, other: object) -> bool:
            return other == text or str.__eq__(self, other)

        def __hash__(self) -> int:
            return hash(text)

    return Posing("not a time")


def _time_places(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    return [
        *((s, "at") for s in doc["sessions"]),
        *((a, "administered_at") for s in doc["sessions"] for a in s["assessments"]),
        *((a, "administered_at") for a in doc["assessments"]),
        *((t, "at") for t in doc["history"]),
        *((r, "at") for r in doc["reviews"]),
        *((i["schedule"], "start") for i in doc["interventions"] if i.get("schedule")),
    ]


def test_a_time_is_read_from_its_text_not_found_by_equality() -> None:
    """The fast path reads each date-time text once per document and finds a repeat by
    equality; a value that only poses as a text read before (equal, with its hash) is
    not that text. Every such place is refused, as the detailed path refuses it."""
    base = json.loads(_EXAMPLE.read_text(encoding="utf-8"))
    every = {text for node, key in _time_places(base) for text in [node[key]]}
    count = len(_time_places(base))
    assert count > len(every)  # repeats exist: the look-up is what is under test
    for index in range(count):
        doc = copy.deepcopy(base)
        node, key = _time_places(doc)[index]
        node[key] = _posing_as(node[key])
        with pytest.raises(tp.ValidationError):
            tp.from_dict(doc)


def _public_classes() -> list[type[Any]]:
    from treatplan._evaluation import Verdict
    from treatplan._scoring import Score, ScoredPoint

    named = [getattr(tp, name) for name in tp.__all__]
    return [c for c in [*named, Score, ScoredPoint, Verdict] if attrs.has(c)]


def test_the_fast_paths_add_no_subclass_to_a_public_class() -> None:
    """The makers fill an instance of a class of their own before giving it its real
    class; that class must not show among a public class's subclasses, where cattrs'
    ``include_subclasses`` strategy (and anything else walking ``__subclasses__()``)
    would find a second class with the same fields."""
    for cls in _public_classes():
        assert [c for c in cls.__subclasses__() if c.__module__ == _fast.__name__] == [], cls


def test_cattrs_include_subclasses_works_on_a_loaded_record() -> None:
    from cattrs import Converter
    from cattrs.strategies import include_subclasses

    converter = Converter()
    include_subclasses(tp.Diagnosis, converter)
    diagnosis = tp.loads(_EXAMPLE.read_text(encoding="utf-8")).presenting_problems[0].diagnosis
    assert diagnosis is not None
    assert converter.structure(converter.unstructure(diagnosis), tp.Diagnosis) == diagnosis


#: Values a hostile or careless document puts where another belongs.
_ODD = (
    *("", " ", "a b", "\x00", "\x7f", "\u2028", "\ud800", "x" * 129, "\n", "-a", "0"),
    *(True, False, 0, -1, 1.0, -0.0, 1001, 10**20, 1e10, None, [], [None], ["a", "a"], {}),
    *("2026-01-19T10:00:00Z", "2026-01-19T10:00:00+23:59", "1900-01-01T00:30:00+01:00"),
    *("2199-12-31T23:00:00-05:00", "2026-01-19", "2200-01-01", "1899-12-31", "attended"),
)


def _places(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of ``doc``."""
    found: list[tuple[Any, Any]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        found.append((doc, key))
        if isinstance(value, dict | list):
            found += _places(value)
    return found


def _read(doc: dict[str, Any]) -> tuple[str, Any]:
    """What the fast path answers: ``fast`` and the plan, or ``declined``."""
    try:
        fast: tuple[str, Any] = ("fast", _json._fast_plan(copy.deepcopy(doc)))
    except Exception:
        fast = ("declined", None)
    return fast


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(tps.treatment_plans(max_records=6), st.randoms(use_true_random=False))
def test_generated_plans_broken_anywhere_are_read_as_the_detailed_path_reads_them(
    plan: tp.TreatmentPlan, random: Any
) -> None:
    """The fast path's readers against the detailed converter on generated plans (all
    record kinds, schedules, targets, rules, factors), each broken at a random place:
    never accepted alone, and when accepted, the same plan written the same way."""
    base = tp.to_dict(plan)
    assert _read(base)[0] == "fast"  # unbroken, it takes the fast path
    for _ in range(12):
        doc = copy.deepcopy(base)
        node, key = random.choice(_places(doc))
        if random.random() < 0.8 or isinstance(node, list):
            node[key] = copy.deepcopy(random.choice(_ODD))
        else:
            del node[key]
        kind, fast = _read(doc)
        if kind == "declined":
            continue
        detailed = _json.converter().structure(copy.deepcopy(doc), tp.TreatmentPlan)
        assert fast == detailed
        assert tp.dumps(fast) == tp.dumps(detailed)
