"""The JSON fast path (treatplan._json._fast_plan and friends), held to the detailed path.

The fast path reads a valid document without error detail and builds the records a
plan holds many of through treatplan._fast; on any doubt it declines and the
detailed converter reads the document. It must never accept a document the detailed
path refuses, and what it accepts must equal what the detailed path builds.
"""

from __future__ import annotations

import copy
import json
import pickle
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from cattrs.gen import make_dict_unstructure_fn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _fast as fast_module
from treatplan import _json
from treatplan import _validation as v
from treatplan import strategies as tps
from treatplan._rules import RULE_TYPES

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mbc-walkthrough.json"
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _base() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return doc


def _detailed(doc: Any) -> tp.TreatmentPlan:
    """The detailed path alone: every hook with error detail, validated constructors."""
    return _json.converter().structure(doc, tp.TreatmentPlan)  # type: ignore[no-any-return]


def _fast(doc: Any) -> tp.TreatmentPlan | None:
    try:
        return _json._fast_plan(doc)
    except Exception:
        return None


def _agrees(doc: Any) -> tp.TreatmentPlan | None:
    """The fast path's answer, checked against the detailed path's."""
    fast = _fast(copy.deepcopy(doc))
    try:
        slow: tp.TreatmentPlan | None = _detailed(copy.deepcopy(doc))
    except Exception:
        slow = None
    if fast is not None:
        assert slow is not None, "the fast path accepted a document the detailed path refuses"
        assert fast == slow
        assert tp.dumps(fast) == tp.dumps(slow)
    return fast


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_generated_plans_take_the_fast_path_and_equal_the_detailed_one(
    plan: tp.TreatmentPlan,
) -> None:
    doc = tp.to_dict(plan)
    fast = _agrees(doc)
    assert fast == plan
    assert tp.from_dict(doc) == plan


def test_the_examples_take_the_fast_path() -> None:
    for path in sorted(EXAMPLE.parent.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert _agrees(doc) is not None, path.name


# Values a broken document may hold where a record's value belongs.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1001,
    1001,
    1.5,
    float("inf"),
    1e10,
    "",
    " ",
    "x",
    "a b",
    "\x00",
    "\ud800",
    "attended",
    "did_not_attend",
    "closed",
    "completed",
    "2026-01-19T10:00:00+00:00",
    "2026-02-30T10:00:00+00:00",
    "1899-12-31T23:59:59+00:00",
    "2026-01-19T10:00:00",
    "2026-01-19",
    [],
    [1, None],
    [True],
    [-1000, 1000],
    [None, 2.0],
    ["a", "a"],
    ["int-gsh"],
    {},
    {"a": 1},
]


def _locations(doc: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Every (container, key) holding a value inside the hot records of ``doc``."""
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            places.append((node, key))
            if isinstance(value, dict | list):
                walk(value)

    for name in _READ_INLINE:
        places.append((doc, name))
        walk(doc[name])
    return places


#: The plan's parts the fast path reads itself (the rest go to the quick converter).
_READ_INLINE = (
    "history",
    "sessions",
    "assessments",
    "reviews",
    "interventions",
    "goals",
    "presenting_problems",
    "client_factors",
    "discharge_criteria",
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_broken_record_is_never_accepted_by_the_fast_path_alone(data: Any) -> None:
    doc = _base()
    places = _locations(doc)
    for _ in range(data.draw(st.integers(1, 2))):
        node, key = data.draw(st.sampled_from(places))
        action = data.draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "replace":
            node[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
        elif action == "delete" and isinstance(node, dict):
            node.pop(key, None)
        elif isinstance(node, dict):
            node["unknown"] = 1
    _agrees(doc)


def _session(doc: dict[str, Any]) -> dict[str, Any]:
    session: dict[str, Any] = doc["sessions"][0]
    return session


def _assessment(doc: dict[str, Any]) -> dict[str, Any]:
    assessment: dict[str, Any] = doc["assessments"][0]
    return assessment


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        path(doc)[key] = value

    return change


def _drop(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Any:
    def change(doc: dict[str, Any]) -> None:
        del path(doc)[key]

    return change


def _history(doc: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = doc["history"][-1]
    return record


def _review(doc: dict[str, Any]) -> dict[str, Any]:
    review: dict[str, Any] = doc["reviews"][0]
    return review


def _progress(doc: dict[str, Any]) -> dict[str, Any]:
    progress: dict[str, Any] = _review(doc)["progress"][0]
    return progress


def _intervention(doc: dict[str, Any]) -> dict[str, Any]:
    intervention: dict[str, Any] = doc["interventions"][0]
    return intervention


def _schedule(doc: dict[str, Any]) -> dict[str, Any]:
    schedule: dict[str, Any] = _intervention(doc)["schedule"]
    return schedule


def _goal(doc: dict[str, Any]) -> dict[str, Any]:
    goal: dict[str, Any] = doc["goals"][0]
    return goal


def _objective(doc: dict[str, Any]) -> dict[str, Any]:
    objective: dict[str, Any] = _goal(doc)["objectives"][0]
    return objective


def _problem(doc: dict[str, Any]) -> dict[str, Any]:
    problem: dict[str, Any] = doc["presenting_problems"][0]
    return problem


def _factors(doc: dict[str, Any]) -> dict[str, Any]:
    factors: dict[str, Any] = doc["client_factors"]
    return factors


def _with_barrier(barrier: Any) -> Any:
    return _set(_factors, "barriers", [barrier])


def _nested_rule(doc: dict[str, Any], levels: int) -> dict[str, Any]:
    """The document's discharge criteria wrapped in ``levels`` any_of rules (two JSON
    levels each: the rule object and its list)."""
    rule: dict[str, Any] = doc["discharge_criteria"]
    for _ in range(levels):
        rule = {"kind": "any_of", "rules": [rule]}
    return rule


DECLINED: dict[str, Any] = {
    "not an object": lambda doc: doc.clear(),
    "an unknown plan key": _set(lambda d: d, "extra", 1),
    "phase not the last target": _set(lambda d: d, "phase", "active"),
    "outcome not the last outcome": _set(lambda d: d, "outcome", None),
    "a deep value outside the records": _set(
        lambda d: d, "client_factors", json.loads("[" * 70 + "]" * 70)
    ),
    "records not a list": _set(lambda d: d, "sessions", {}),
    "a deep value inside a rule": _set(
        lambda d: d,
        "discharge_criteria",
        {"kind": "inactivity", "days": json.loads("[" * 70 + "]" * 70)},
    ),
    "rules nested too deep": lambda doc: doc.update(discharge_criteria=_nested_rule(doc, 40)),
    "assessment not an object": lambda doc: doc["assessments"].__setitem__(0, []),
    "assessment unknown key": _set(_assessment, "score", 3),
    "assessment items not a list": _set(_assessment, "items", "2,2"),
    "assessment too many items": _set(_assessment, "items", [1] * 1001),
    "assessment item not an integer": _set(_assessment, "items", [1, True, None]),
    "assessment item too small": _set(_assessment, "items", [-1001, None]),
    "assessment item too large": _set(_assessment, "items", [1001]),
    "assessment with neither items nor total": _set(_assessment, "items", None),
    "assessment total not a number": _set(_assessment, "total", "12"),
    "assessment total too large": _set(_assessment, "total", 1e10),
    "assessment id not a reference": _set(_assessment, "id", "a b"),
    "assessment instrument not a reference": _set(_assessment, "instrument", "PHQ 9"),
    "assessment time not a string": _set(_assessment, "administered_at", 1),
    "assessment time without offset": _set(_assessment, "administered_at", "2026-01-12T10:00:00"),
    "assessment time not a day": _set(_assessment, "administered_at", "2026-02-30T10:00:00Z"),
    "assessment time before 1900": _set(_assessment, "administered_at", "1899-12-31T10:00:00Z"),
    "session unknown key": _set(_session, "room", 3),
    "session attendance unknown": _set(_session, "attendance", "late"),
    "session interventions repeated": _set(_session, "interventions", ["int-gsh", "int-gsh"]),
    "session interventions not strings": _set(_session, "interventions", [1]),
    "session interventions too many": _set(
        _session, "interventions", [f"i{n}" for n in range(101)]
    ),
    "session interventions not a list": _set(_session, "interventions", "int-gsh"),
    "session interventions falsy, not a list": _set(_session, "interventions", 0),
    "session assessments too many": lambda doc: _session(doc).__setitem__(
        "assessments", _session(doc)["assessments"] * 34
    ),
    "session assessments not a list": _set(_session, "assessments", {"a": 1}),
    "session assessments falsy, not a list": _set(_session, "assessments", ""),
    "session not attended with records": _set(_session, "attendance", "did_not_attend"),
    "session duration not an integer": _set(_session, "duration_minutes", 30.0),
    "session duration too long": _set(_session, "duration_minutes", 24 * 60 + 1),
    "session note blank": _set(_session, "note", " "),
    "session without id": _drop(_session, "id"),
    "session id not a reference": _set(_session, "id", "session one"),
    "transition unknown source": _set(_history, "source", "nowhere"),
    "transition unknown outcome": _set(_history, "outcome", "won"),
    "transition closed without outcome": _set(_history, "outcome", None),
    "transition reason with a control character": _set(_history, "reason", "a\x00b"),
    "transition without source": _drop(_history, "source"),
    "transition by not a reference": _set(_history, "by", "Dr Jones"),
    "a cross reference broken": _set(_assessment, "instrument", "NOPE-1"),
    "review not an object": lambda doc: doc["reviews"].__setitem__(0, "review"),
    "review unknown key": _set(_review, "score", 1),
    "review decision unknown": _set(_review, "decision", "wait"),
    "review time malformed": _set(_review, "at", "2026-02-09 11:00"),
    "review progress not a list": _set(_review, "progress", {}),
    "review progress null": _set(_review, "progress", None),
    "progress not an object": lambda doc: _review(doc)["progress"].__setitem__(0, 1),
    "progress unknown key": _set(_progress, "score", 1),
    "progress achievement null": _set(_progress, "achievement", None),
    "progress gas level true": _set(_progress, "gas_level", True),
    "review next date malformed": _set(_review, "next_review", "2026-3-23"),
    "review next date not a day": _set(_review, "next_review", "2026-02-30"),
    "review next date a number": _set(_review, "next_review", 20260323),
    "review by not a reference": _set(_review, "by", "Dr Jones"),
    "review client request null": _set(_review, "client_requested_ending", None),
    "review client request a number": _set(_review, "client_requested_ending", 0),
    "intervention not an object": lambda doc: doc["interventions"].__setitem__(0, None),
    "intervention unknown key": _set(_intervention, "room", 1),
    "intervention modality unknown": _set(_intervention, "modality", "magic"),
    "intervention format null": _set(_intervention, "format", None),
    "intervention serves not a list": _set(_intervention, "serves", "obj-phq9"),
    "intervention serves null": _set(_intervention, "serves", None),
    "intervention serves not strings": _set(_intervention, "serves", [1]),
    "schedule not an object": _set(_intervention, "schedule", "weekly"),
    "schedule unknown key": _set(_schedule, "until", 1),
    "schedule start malformed": _set(_schedule, "start", "soon"),
    "schedule rule not a string": _set(_schedule, "rrule", 7),
    "schedule rule malformed": _set(_schedule, "rrule", "FREQ=SOMETIMES"),
    "schedule rule too long": _set(_schedule, "rrule", "FREQ=WEEKLY;COUNT=4" + " " * 500),
    "schedule rule with a control character": _set(_schedule, "rrule", "FREQ=WEEKLY\x00"),
    "schedule zone unknown": _set(_schedule, "timezone", "Mars/Olympus"),
    "schedule zone too long": _set(_schedule, "timezone", "E" * 65),
    "schedule zone blank": _set(_schedule, "timezone", " "),
    "goal not an object": lambda doc: doc["goals"].__setitem__(0, []),
    "goal unknown key": _set(_goal, "why", "x"),
    "goal domain unknown": _set(_goal, "domain", "luck"),
    "goal objectives not a list": _set(_goal, "objectives", {}),
    "goal addresses repeated": _set(_goal, "addresses", ["prob-mood", "prob-mood"]),
    "objective not an object": lambda doc: _goal(doc)["objectives"].__setitem__(0, "o"),
    "objective unknown key": _set(_objective, "why", "x"),
    "objective date null": _set(_objective, "target_date", None),
    "objective date with a time": _set(_objective, "target_date", "2026-05-31T00:00:00Z"),
    "objective status unknown": _set(_objective, "status", "done"),
    "objective achievement unknown": _set(_objective, "achievement", "sort-of"),
    "objective target not an object": _set(_objective, "target", "PHQ-9 below 10"),
    "objective target without kind": lambda doc: _objective(doc)["target"].pop("kind"),
    "objective target of an unknown kind": lambda doc: _objective(doc)["target"].update(
        kind="luck"
    ),
    "measure target unknown key": lambda doc: _objective(doc)["target"].update(extra=1),
    "measure target comparator unknown": lambda doc: _objective(doc)["target"].update(
        comparator="near"
    ),
    "measure target threshold a string": lambda doc: _objective(doc)["target"].update(
        threshold="10"
    ),
    "measure target threshold true": lambda doc: _objective(doc)["target"].update(threshold=True),
    "gas target level out of range": _set(_objective, "target", {"kind": "gas", "level": 3}),
    "problem not an object": lambda doc: doc["presenting_problems"].__setitem__(0, 0),
    "problem unknown key": _set(_problem, "onset", "2020"),
    "problem description blank": _set(_problem, "description", " "),
    "problem definitions empty strings": _set(_problem, "behavioural_definitions", [""]),
    "problem diagnosis not an object": _set(_problem, "diagnosis", "F41.2"),
    "problem diagnosis unknown key": _set(_problem, "diagnosis", {"code": "F1", "note": "x"}),
    "problem diagnosis system unknown": _set(
        _problem, "diagnosis", {"code": "F1", "system": "ICD-9"}
    ),
    "client factors not an object": _set(lambda d: d, "client_factors", []),
    "client factors unknown key": _set(_factors, "mood", "low"),
    "client factors readiness unknown": _set(_factors, "readiness", "eager"),
    "client factors barriers not a list": _set(_factors, "barriers", "cost"),
    "barrier not an object": _with_barrier("cost"),
    "barrier unknown key": _with_barrier({"kind": "cost", "amount": 3}),
    "barrier kind unknown": _with_barrier({"kind": "weather"}),
    "barrier mitigation blank": _with_barrier({"kind": "cost", "mitigation": ""}),
    "rule not an object": _set(lambda d: d, "discharge_criteria", "any_of"),
    "rule kind unknown": _set(lambda d: d, "discharge_criteria", {"kind": "luck"}),
    "rule without kind": _set(lambda d: d, "discharge_criteria", {"days": 3}),
    "rule unknown key": _set(lambda d: d, "discharge_criteria", {"kind": "inactivity", "x": 1}),
    "rule days true": _set(
        lambda d: d, "discharge_criteria", {"kind": "inactivity", "days": True}
    ),
    "rule days a float": _set(
        lambda d: d, "discharge_criteria", {"kind": "inactivity", "days": 9.0}
    ),
    "rule action unknown": _set(
        lambda d: d, "discharge_criteria", {"kind": "plateau", "action": "panic"}
    ),
    "rule action null": _set(
        lambda d: d, "discharge_criteria", {"kind": "plateau", "action": None}
    ),
    "rule fractions with true": _set(
        lambda d: d,
        "discharge_criteria",
        {"kind": "authorisation_used", "authorised_sessions": 8, "warn_at": [0.5, True]},
    ),
    "rule codes a string": _set(
        lambda d: d,
        "discharge_criteria",
        {"kind": "reliable_deterioration", "instruments": "PHQ-9"},
    ),
    "rules not a list": _set(lambda d: d, "discharge_criteria", {"kind": "any_of", "rules": {}}),
    "rules empty": _set(lambda d: d, "discharge_criteria", {"kind": "all_of", "rules": []}),
    "a nested rule broken": _set(
        lambda d: d, "discharge_criteria", {"kind": "any_of", "rules": [{"kind": "inactivity"}]}
    ),
    "assessment five keys, one unknown": lambda doc: [
        _assessment(doc).pop("total"),
        _assessment(doc).update(score=3),
    ],
    "assessment total alone not a number": lambda doc: _assessment(doc).update(
        items=None, total="12"
    ),
    "session not an object": lambda doc: doc["sessions"].__setitem__(0, "session"),
    "session seven keys, one unknown": lambda doc: [
        _session(doc).pop("note"),
        _session(doc).update(room=3),
    ],
    "session note too long": _set(_session, "note", "x" * 10_001),
    "session note not Unicode": _set(_session, "note", "a\ud800"),
    "transition seven keys, one unknown": lambda doc: [
        _history(doc).pop("reason"),
        _history(doc).update(room=3),
    ],
    "transition reason blank": _set(_history, "reason", " "),
    "transition unknown key beside defaults": lambda doc: [
        _history(doc).pop("reason"),
        _history(doc).pop("outcome"),
        _history(doc).update(room=3),
    ],
    "progress objective not a reference": _set(_progress, "objective", "obj one"),
    "progress gas level out of range": _set(_progress, "gas_level", 3),
    "progress note with a control character": _set(_progress, "note", "a\x07"),
    "review id not a reference": _set(_review, "id", "review one"),
    "review decision null": _set(_review, "decision", None),
    "review note blank": _set(_review, "note", ""),
    "review due before it": _set(_review, "next_review", "2026-01-01"),
    "review next date after 2199": _set(_review, "next_review", "2200-01-01"),
    "review progress repeats an objective": lambda doc: _review(doc)["progress"].append(
        dict(_progress(doc))
    ),
    "review progress too many": lambda doc: _review(doc).update(
        progress=[dict(_progress(doc), objective=f"o{n}") for n in range(1001)]
    ),
    "intervention id not a reference": _set(_intervention, "id", "int one"),
    "intervention modality null": _set(_intervention, "modality", None),
    "intervention technique too long": _set(_intervention, "technique", "x" * 501),
    "intervention technique not a string": _set(_intervention, "technique", 7),
    "intervention delivered by not a reference": _set(_intervention, "delivered_by", "Dr J"),
    "intervention delivered by a number": _set(_intervention, "delivered_by", 7),
    "intervention serves repeated": _set(_intervention, "serves", ["obj-phq9", "obj-phq9"]),
    "intervention serves too many": _set(_intervention, "serves", [f"o{n}" for n in range(101)]),
    "measure target instrument not a reference": lambda doc: _objective(doc)["target"].update(
        instrument="PHQ 9"
    ),
    "measure target comparator null": lambda doc: _objective(doc)["target"].update(
        comparator=None
    ),
    "measure target threshold too large": lambda doc: _objective(doc)["target"].update(
        threshold=1e10
    ),
    "objective id not a reference": _set(_objective, "id", "obj one"),
    "objective description not Unicode": _set(_objective, "description", "\ud800"),
    "objective status null": _set(_objective, "status", None),
    "objective date before 1900": _set(_objective, "target_date", "1899-12-31"),
    "goal id not a reference": _set(_goal, "id", "goal one"),
    "goal statement blank": _set(_goal, "statement", "  "),
    "goal domain null": _set(_goal, "domain", None),
    "goal objectives too many": lambda doc: _goal(doc).update(
        objectives=[dict(_objective(doc), id=f"o{n}") for n in range(101)]
    ),
    "goal addresses not strings": _set(_goal, "addresses", [1]),
    "problem id not a reference": _set(_problem, "id", "prob one"),
    "problem definitions not strings": _set(_problem, "behavioural_definitions", [1]),
    "problem definitions not Unicode": _set(_problem, "behavioural_definitions", ["\ud800"]),
    "problem definitions too many": _set(_problem, "behavioural_definitions", ["x"] * 101),
    "problem diagnosis code not a reference": _set(
        _problem, "diagnosis", {"code": "F 1", "system": "ICD-10-CM"}
    ),
    "problem diagnosis system null": _set(_problem, "diagnosis", {"code": "F1", "system": None}),
    "plan id not a reference": _set(lambda d: d, "plan_id", "plan one"),
    "client reference not a string": _set(lambda d: d, "client_ref", 7),
    "schema version true": _set(lambda d: d, "schema_version", True),
    "no history": _set(lambda d: d, "history", []),
    "too many goals": lambda doc: doc.update(goals=doc["goals"] * 101),
}


def _at_session(doc: dict[str, Any]) -> dict[str, Any]:
    """The first assessment taken at the first session."""
    assessment: dict[str, Any] = _session(doc)["assessments"][0]
    return assessment


# The assessments taken at sessions are read inline in the sessions' loop: the same
# breakages there.
DECLINED.update(
    {
        "assessment at a session not an object": lambda doc: _session(doc)[
            "assessments"
        ].__setitem__(0, []),
        "assessment at a session, unknown key": _set(_at_session, "score", 3),
        "assessment at a session, five keys, one unknown": lambda doc: [
            _at_session(doc).pop("total"),
            _at_session(doc).update(score=3),
        ],
        "assessment at a session, items not a list": _set(_at_session, "items", "2,2"),
        "assessment at a session, item true": _set(_at_session, "items", [True] * 9),
        "assessment at a session, total not a number": _set(_at_session, "total", "12"),
        "assessment at a session, total too large": _set(_at_session, "total", 1e10),
        "assessment at a session, neither items nor total": _set(_at_session, "items", None),
        "assessment at a session, total alone not a number": lambda doc: _at_session(doc).update(
            items=None, total="12"
        ),
        "assessment at a session, id not a reference": _set(_at_session, "id", "a b"),
        "assessment at a session, time not a string": _set(_at_session, "administered_at", 1),
        "session time not a string": _set(_session, "at", 20260119),
        "session not attended with interventions only": lambda doc: _session(doc).update(
            attendance="did_not_attend", assessments=[]
        ),
    }
)
ACCEPTED_AT_SESSIONS: dict[str, Any] = {
    "a standalone assessment with its total left out": lambda doc: _assessment(doc).pop("total"),
    "assessment at a session with defaults left out": lambda doc: _at_session(doc).pop("total"),
    "assessment at a session with a total": lambda doc: _at_session(doc).update(
        items=None, total=14
    ),
    "assessment at a session with items and a total": lambda doc: _at_session(doc).update(
        total=sum(_at_session(doc)["items"])
    ),
}


@pytest.mark.parametrize("change", DECLINED.values(), ids=list(DECLINED))
def test_the_fast_path_declines_and_the_detailed_path_reports(change: Any) -> None:
    doc = _base()
    change(doc)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any exception declines
        _json._fast_plan(copy.deepcopy(doc))
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert all(p.path.startswith("$") for p in caught.value.problems)


ACCEPTED: dict[str, Any] = {
    "items with nulls": _set(_assessment, "items", [2, None, 2, 2, 2, 2, 1, 1, 0]),
    "a total instead of items": lambda doc: _assessment(doc).update(items=None, total=14),
    "a float total": lambda doc: _assessment(doc).update(items=None, total=14.5),
    "no interventions or assessments": lambda doc: _session(doc).update(
        interventions=[], assessments=[]
    ),
    "defaults left out": lambda doc: [
        _session(doc).pop(key) for key in ("interventions", "duration_minutes", "note")
    ],
    "a session note": _set(_session, "note", "Homework reviewed."),
    "a missed session with its lists left out": lambda doc: [
        _session(doc).update(attendance="did_not_attend"),
        _session(doc).pop("interventions"),
        _session(doc).pop("assessments"),
    ],
    "a missed session": lambda doc: _session(doc).update(
        attendance="did_not_attend", interventions=[], assessments=[], duration_minutes=None
    ),
    "a note in another script": _set(_session, "note", "Müde; schläft schlecht."),
    "a note of the greatest length": _set(_session, "note", "x" * 10_000),
    "problem definitions in another script": _set(
        _problem, "behavioural_definitions", ["Schläft 4 Stunden."]
    ),
    "a transition without reason or outcome keys": lambda doc: [
        doc["history"][0].pop(key) for key in ("reason", "outcome")
    ],
    "a review due on its own day": _set(_review, "next_review", "2026-02-09"),
    "a review by a clinician named elsewhere": _set(_review, "by", "gp-2290"),
    "times in Z": _set(_assessment, "administered_at", "2026-01-12T10:00:00Z"),
    "rules nested within the bound": lambda doc: doc.update(
        discharge_criteria=_nested_rule(doc, 20)
    ),
    "review defaults left out": lambda doc: [
        _review(doc).pop(key)
        for key in ("progress", "next_review", "by", "client_requested_ending", "note")
    ],
    "progress defaults left out": lambda doc: [
        _progress(doc).pop(k) for k in ("gas_level", "note")
    ],
    "progress with a GAS level and note": lambda doc: _progress(doc).update(
        gas_level=-1, note="Some change."
    ),
    "intervention defaults left out": lambda doc: [
        _intervention(doc).pop(key) for key in ("format", "serves", "schedule", "delivered_by")
    ],
    "a schedule in a zone": _set(_schedule, "timezone", "Europe/London"),
    "a schedule without its zone key": lambda doc: _schedule(doc).pop("timezone"),
    "goal addresses left out": lambda doc: _goal(doc).pop("addresses"),
    "objective defaults left out": lambda doc: [
        _objective(doc).pop(k) for k in ("status", "achievement")
    ],
    "objective met": _set(_objective, "achievement", "achieved"),
    "a GAS target": _set(_objective, "target", {"kind": "gas", "level": 1, "weight": 2}),
    "a behaviour target": _set(
        _objective,
        "target",
        {
            "kind": "behaviour",
            "behaviour": "walks",
            "comparator": "at_least",
            "count": 3,
            "unit": "walks",
            "period": "week",
        },
    ),
    "a float threshold": lambda doc: _objective(doc)["target"].update(threshold=9.5),
    "problem defaults left out": lambda doc: [
        _problem(doc).pop(k) for k in ("behavioural_definitions", "diagnosis")
    ],
    "problem definitions": _set(_problem, "behavioural_definitions", ["Sleeps 4 hours."]),
    "client factors set": lambda doc: _factors(doc).update(
        readiness="action",
        support="strong",
        barriers=[{"kind": "cost"}, {"kind": "time", "mitigation": "Evening sessions."}],
    ),
    "client factors defaults left out": _set(lambda d: d, "client_factors", {}),
    "client factors left out": lambda doc: doc.pop("client_factors"),
    "no discharge criteria": _set(lambda d: d, "discharge_criteria", None),
    "discharge criteria left out": lambda doc: doc.pop("discharge_criteria"),
    "rules of every kind": _set(
        lambda d: d,
        "discharge_criteria",
        {
            "kind": "any_of",
            "rules": [
                {"kind": "goals_met", "objectives": ["obj-phq9"]},
                {"kind": "goals_met"},
                {"kind": "session_limit", "max_sessions": 20, "count_missed": True},
                {"kind": "consecutive_missed", "count": 2},
                {"kind": "missed_in_window", "max_missed": 2, "window": 4},
                {"kind": "missed_within_days", "count": 2, "days": 30},
                {"kind": "inactivity", "days": 60},
                {"kind": "time_limit", "days": 365, "from_referral": True},
                {"kind": "client_request"},
                {"kind": "sustained_recovery", "consecutive": 3, "instruments": ["PHQ-9"]},
                {"kind": "plateau", "window": 3, "action": "discharge"},
                {"kind": "plateau"},
                {"kind": "reliable_deterioration"},
                {"kind": "authorisation_used", "authorised_sessions": 8, "warn_at": [1e-1, 0.5]},
                {"kind": "authorisation_used", "authorised_sessions": 8, "warn_at": []},
                {"kind": "all_of", "rules": [{"kind": "client_request"}]},
            ],
        },
    ),
}


ACCEPTED.update(ACCEPTED_AT_SESSIONS)


@pytest.mark.parametrize("change", ACCEPTED.values(), ids=list(ACCEPTED))
def test_the_fast_path_accepts_what_the_detailed_path_accepts(change: Any) -> None:
    doc = _base()
    change(doc)
    assert _agrees(doc) is not None


def test_an_older_document_is_left_to_the_detailed_path(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _base()
    doc["schema_version"] = 0
    with pytest.raises(Exception):  # noqa: B017, PT011 - declined
        _json._fast_plan(doc)
    with pytest.raises(tp.ValidationError):
        tp.from_dict(doc)


def test_too_many_records_are_refused_before_any_are_built() -> None:
    doc = _base()
    doc["assessments"] = doc["assessments"] * (tp.document.MAX_RECORDS // 2)
    with pytest.raises(tp.LimitError):
        _json._fast_plan(doc)
    with pytest.raises(tp.LimitError):
        tp.from_dict(doc)


def _schema_depth(kind: Any, seen: frozenset[Any] = frozenset()) -> int:
    """How deep JSON of type ``kind`` nests (containers only); a type met again on its
    own path (a recursive type) counts as infinitely deep."""
    if kind in seen:
        return 10**6
    if attrs.has(kind):
        hints = typing.get_type_hints(kind)
        return 1 + max(
            (_schema_depth(hints[a.name], seen | {kind}) for a in attrs.fields(kind) if a.init),
            default=0,
        )
    args = typing.get_args(kind)
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return max(_schema_depth(a, seen) for a in args)
    if origin in (tuple, list, dict):
        return 1 + max(_schema_depth(a, seen) for a in args if a is not Ellipsis)
    return 0


def test_only_rules_nest_without_bound() -> None:
    # Why the fast path checks the depth of the discharge criteria alone.
    for name, kind in _json._plan_types().items():
        depth = _schema_depth(kind)
        if name == "discharge_criteria":
            assert depth >= 10**6
        else:
            assert depth < _json.MAX_DEPTH - 1, name


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("1900-01-01T00:00:00Z", True),
        ("1900-01-01T00:30:00+01:00", False),
        ("1901-01-01T00:30:00+14:00", True),
        ("2199-12-31T23:59:59+00:00", True),
        ("2199-12-31T23:59:59-01:00", False),
        ("2198-12-31T23:59:59-23:59", True),
    ],
)
def test_times_at_the_ends_of_the_range_are_checked_as_instants(text: str, inside: bool) -> None:
    times = _json._Times()
    if inside:
        assert times[text] == datetime.fromisoformat(text)
        assert tp.document.MIN_INSTANT <= times[text] < tp.document.MAX_INSTANT
    else:
        with pytest.raises(_json._Slow):
            times[text]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789-T:+Z.\n٣ 1"), min_size=18, max_size=34))
def test_the_fast_paths_time_pattern_is_the_hooks_for_ascii_digits(text: str) -> None:
    if _json._RFC3339_ASCII.match(text):
        assert _json._RFC3339.match(text)
    elif text.isascii():
        assert not _json._RFC3339.match(text)


def test_a_time_in_digits_of_another_script_is_declined() -> None:
    text = "٢026-01-19T10:00:00+00:00"
    assert _json._RFC3339.match(text)  # \d takes any decimal digit
    with pytest.raises(_json._Slow):
        _json._Times()[text]
    doc = _base()
    doc["sessions"][0]["at"] = text
    assert _agrees(doc) is None
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert [p.path for p in caught.value.problems] == ["$.sessions[0].at"]


# --------------------------------------------------------------------------- fast dump
def _generated_document(plan: tp.TreatmentPlan) -> dict[str, Any]:
    """The plan document as the converter's generated functions alone write it."""
    conv = _json.converter()
    doc = make_dict_unstructure_fn(tp.TreatmentPlan, conv)(plan)
    out = {"schema_version": doc.pop("schema_version"), "phase": plan.phase.value}
    out["outcome"] = plan.outcome.value if plan.outcome is not None else None
    out.update(doc)
    return out


def _same(a: Any, b: Any) -> None:
    """Equal, with the same types and (for objects) the same key order, all the way down."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b or (a != a and b != b)


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_the_fast_dump_writes_what_the_generated_functions_write(plan: tp.TreatmentPlan) -> None:
    _same(tp.to_dict(plan), _generated_document(plan))


def test_the_examples_dump_as_the_generated_functions_write_them() -> None:
    for path in sorted(EXAMPLE.parent.glob("*.json")):
        plan = tp.loads(path.read_text(encoding="utf-8"))
        _same(tp.to_dict(plan), _generated_document(plan))


def test_a_time_shared_by_records_is_written_once_per_dump() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    session = plan.sessions[-1]
    assert session.assessments
    assert all(a.administered_at is session.at for a in session.assessments)
    doc = tp.to_dict(plan)
    written = doc["sessions"][-1]
    assert all(a["administered_at"] is written["at"] for a in written["assessments"])


# --------------------------------------------------------------------------- loaded_plan
def _fields(plan: tp.TreatmentPlan) -> dict[str, Any]:
    return {a.name: getattr(plan, a.name) for a in attrs.fields(tp.TreatmentPlan) if a.init}


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_loaded_plan_equals_the_validated_constructor(plan: tp.TreatmentPlan) -> None:
    fields = _fields(plan)
    assert fast_module.loaded_plan(fields) == tp.TreatmentPlan(**fields) == plan
    # Fields left out take their defaults, as in the validated constructor.
    few = {k: fields[k] for k in ("plan_id", "client_ref", "history")}
    assert fast_module.loaded_plan(few) == tp.TreatmentPlan(**few)


@pytest.mark.parametrize(
    "changes",
    [
        {"plan_id": "plan one"},
        {"client_ref": None},
        {"schema_version": True},
        {"schema_version": 2},
        {"history": ()},
        {"custom_instruments": (None,) * 101},
        {"client_factors": {}},
        {"plan_id": 7},
    ],
    ids=repr,
)
def test_loaded_plan_refuses_what_the_validated_constructor_refuses(
    changes: dict[str, Any],
) -> None:
    fields = {**_fields(tp.loads(EXAMPLE.read_text(encoding="utf-8"))), **changes}
    with pytest.raises(tp.ValidationError):
        fast_module.loaded_plan(fields)
    with pytest.raises(tp.ValidationError):
        tp.TreatmentPlan(**fields)


def test_loaded_plan_runs_the_checks_that_span_the_plan() -> None:
    fields = _fields(tp.loads(EXAMPLE.read_text(encoding="utf-8")))
    fields["sessions"] = fields["sessions"][::-1]  # out of time order
    with pytest.raises(tp.ValidationError) as fast:
        fast_module.loaded_plan(fields)
    with pytest.raises(tp.ValidationError) as validated:
        tp.TreatmentPlan(**fields)
    assert fast.value.problems == validated.value.problems


def test_a_rule_field_of_another_type_is_left_to_the_quick_converter() -> None:
    @attrs.frozen
    class Odd:
        name: str
        kind: str = attrs.field(default="odd", init=False)

    assert _json._rule_reader(Odd) is None
    assert _json._rule_reader(tp.rules.Plateau) is not None


# --------------------------------------------------------------------------- rules
def _rule_fast(doc: Any) -> Any:
    """_fast_rule's rule for a rule document, its references checked (None: declined)."""
    times = _json._Times()
    try:
        rule = _json._fast_rule(copy.deepcopy(doc), times)
        times.check()
    except Exception:
        return None
    return rule


def _rule_slow(doc: Any) -> Any:
    """The detailed converter's rule for a rule document (None: refused)."""
    try:
        return _json.converter().structure(copy.deepcopy(doc), tp.rules.Rule)
    except Exception:
        return None


def _rule_agrees(doc: Any) -> Any:
    """The rule both paths read, or None when both refuse it: the fast path declines
    exactly what the detailed one refuses."""
    fast, slow = _rule_fast(doc), _rule_slow(doc)
    assert fast == slow
    assert type(fast) is type(slow)
    if fast is not None:
        assert tp.to_dict(fast) == tp.to_dict(slow)
    return fast


#: Each rule class's required fields, valid.
_RULE_BASES: dict[type[Any], dict[str, Any]] = {
    tp.rules.SessionLimit: {"max_sessions": 5},
    tp.rules.ConsecutiveMissed: {"count": 2},
    tp.rules.MissedInWindow: {"max_missed": 0, "window": 1000},
    tp.rules.MissedWithinDays: {"count": 2, "days": 30},
    tp.rules.Inactivity: {"days": 10},
    tp.rules.TimeLimit: {"days": 10},
    tp.rules.AuthorisationUsed: {"authorised_sessions": 8},
    tp.rules.AnyOf: {"rules": [{"kind": "client_request"}]},
    tp.rules.AllOf: {"rules": [{"kind": "client_request"}]},
}


def _rule_doc(cls: type[Any], **values: Any) -> dict[str, Any]:
    return {"kind": _json._tag(cls), **_RULE_BASES.get(cls, {}), **values}


def test_every_rule_class_is_read_inline() -> None:
    for cls in RULE_TYPES:
        assert _json._rule_reader(cls) is not None, cls
        assert _rule_agrees(_rule_doc(cls)) is not None, cls


@pytest.mark.parametrize(
    ("cls", "name"), list(_json._RULE_INTS), ids=[f"{c.__name__}.{n}" for c, n in _json._RULE_INTS]
)
def test_the_integer_ranges_are_the_validators(cls: type[Any], name: str) -> None:
    low, high = _json._RULE_INTS[cls, name]
    field = attrs.fields_dict(cls)[name]
    for value in (low - 1, low, high, high + 1, True, float(low)):
        inside = type(value) is int and low <= value <= high
        try:
            field.validator(None, field, value)  # type: ignore[misc]
        except tp.ValidationError:
            assert not inside, value
        else:
            assert inside, value
        _rule_agrees(_rule_doc(cls, **{name: value}))


#: Rule documents at every check of the fast rule reader, valid and not.
RULE_DOCS: dict[str, dict[str, Any]] = {
    "a required key left out": {"kind": "inactivity"},
    "an int field a string": {"kind": "inactivity", "days": "10"},
    "a bool field an int": {"kind": "time_limit", "days": 3, "from_referral": 1},
    "a bool field set": {"kind": "time_limit", "days": 3, "from_referral": True},
    "an enum member": {"kind": "plateau", "action": "discharge"},
    "an enum value unknown": {"kind": "plateau", "action": "panic"},
    "an enum value a list": {"kind": "plateau", "action": []},
    "rules not a list": {"kind": "any_of", "rules": {"kind": "client_request"}},
    "rules empty": {"kind": "any_of", "rules": []},
    "rules too many": {"kind": "all_of", "rules": [{"kind": "client_request"}] * 101},
    "rules at most": {"kind": "all_of", "rules": [{"kind": "client_request"}] * 100},
    "a rule not an object": {"kind": "any_of", "rules": ["client_request"]},
    "fractions": {"kind": "authorisation_used", "authorised_sessions": 8, "warn_at": [0.5]},
    "fractions empty": {"kind": "authorisation_used", "authorised_sessions": 8, "warn_at": []},
    "fractions not a list": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": 0.5,
    },
    "fractions with an int": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [0, 0.5],
    },
    "fractions reaching 1": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [0.5, 1.0],
    },
    "fractions repeated": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [0.5, 0.5],
    },
    "fractions decreasing": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [0.9, 0.8],
    },
    "fractions too many": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [n / 100 for n in range(1, 22)],
    },
    "fractions at most": {
        "kind": "authorisation_used",
        "authorised_sessions": 8,
        "warn_at": [n / 100 for n in range(1, 21)],
    },
    "codes": {"kind": "reliable_deterioration", "instruments": ["PHQ-9"]},
    "codes empty": {"kind": "reliable_deterioration", "instruments": []},
    "codes not a list": {"kind": "reliable_deterioration", "instruments": "PHQ-9"},
    "codes repeated": {"kind": "reliable_deterioration", "instruments": ["PHQ-9", "PHQ-9"]},
    "codes not strings": {"kind": "reliable_deterioration", "instruments": [9]},
    "codes not references": {"kind": "plateau", "instruments": ["PHQ 9"]},
    "codes too many": {"kind": "plateau", "instruments": [f"c{n}" for n in range(101)]},
    "codes at most": {"kind": "plateau", "instruments": [f"c{n}" for n in range(100)]},
    "objective ids": {"kind": "goals_met", "objectives": ["obj-1", ""]},
    "objective ids repeated": {"kind": "goals_met", "objectives": ["obj-1", "obj-1"]},
    "objective ids not strings": {"kind": "goals_met", "objectives": [None]},
    "objective ids not a list": {"kind": "goals_met", "objectives": None},
    "the post-init check refuses": {"kind": "missed_in_window", "max_missed": 4, "window": 4},
    "the post-init check accepts": {"kind": "missed_in_window", "max_missed": 3, "window": 4},
    "an unknown key": {"kind": "client_request", "days": 3},
    "an unknown kind": {"kind": "luck"},
    "a kind not a string": {"kind": ["any_of"]},
}


@pytest.mark.parametrize("doc", RULE_DOCS.values(), ids=list(RULE_DOCS))
def test_the_fast_rule_reader_agrees_with_the_detailed_path(doc: dict[str, Any]) -> None:
    _rule_agrees(doc)
    plan = _base()
    plan["discharge_criteria"] = doc
    _agrees(plan)


def _nested(levels: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"kind": "client_request"}
    for _ in range(levels):
        rule = {"kind": "all_of", "rules": [{"kind": "inactivity", "days": 3}, rule]}
    return rule


def test_rules_nest_as_deep_as_the_constructors_allow() -> None:
    assert _rule_agrees(_nested(tp.rules.MAX_RULE_DEPTH)) is not None
    assert _rule_agrees(_nested(tp.rules.MAX_RULE_DEPTH + 1)) is None


#: Values a rule document may hold: each field's edges, other types, lists of each kind.
_RULE_VALUES: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    1,
    2,
    3,
    1000,
    1001,
    10_000,
    10_001,
    36_500,
    36_501,
    1.0,
    0.5,
    "",
    "x",
    "review",
    "discharge",
    "PHQ-9",
    "a b",
    [],
    [1],
    [0.5],
    [0.2, 0.7],
    [0.7, 0.2],
    [0.5, 1.0],
    ["PHQ-9"],
    ["PHQ-9", "GAD-7"],
    ["PHQ-9", "PHQ-9"],
    ["a b"],
    ["obj-1", ""],
    {},
    [{"kind": "client_request"}],
    [{"kind": "inactivity"}],
    [{"kind": "inactivity", "days": 5}, {"kind": "plateau", "window": 3}],
    [{"kind": "luck"}],
]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_generated_rule_documents_are_read_as_the_detailed_path_reads_them(data: Any) -> None:
    cls = data.draw(st.sampled_from(RULE_TYPES))
    doc: dict[str, Any] = {"kind": _json._tag(cls)}
    for a in attrs.fields(cls):
        if a.init and data.draw(st.booleans()):
            doc[a.name] = copy.deepcopy(data.draw(st.sampled_from(_RULE_VALUES)))
    if data.draw(st.integers(0, 9)) == 0:
        doc["extra"] = 1
    _rule_agrees(doc)


@pytest.mark.parametrize("doc", RULE_DOCS.values(), ids=list(RULE_DOCS))
def test_rules_are_written_as_the_converter_writes_them(doc: dict[str, Any]) -> None:
    rule = _rule_slow(doc)
    if rule is not None:
        _same(_json._write_rule(rule), _json.converter().unstructure(rule, tp.rules.Rule))


def test_every_rule_class_is_written_as_the_converter_writes_it() -> None:
    for cls in RULE_TYPES:
        rule = _rule_slow(_rule_doc(cls))
        _same(_json._write_rule(rule), _json.converter().unstructure(rule, tp.rules.Rule))
    nested = _rule_slow(_nested(3))
    _same(_json._write_rule(nested), _json.converter().unstructure(nested, tp.rules.Rule))


# --------------------------------------------------------------------------- loaded records
#: Each record class the fast path builds through treatplan._fast, and its builder.
_LOADED = {
    tp.Assessment: fast_module.loaded_assessment,
    tp.Session: fast_module.loaded_session,
    tp.ObjectiveProgress: fast_module.loaded_progress,
    tp.ProgressReview: fast_module.loaded_review,
    tp.Intervention: fast_module.loaded_intervention,
    tp.MeasureTarget: fast_module.loaded_measure_target,
    tp.Objective: fast_module.loaded_objective,
    tp.Goal: fast_module.loaded_goal,
    tp.Diagnosis: fast_module.loaded_diagnosis,
    tp.PresentingProblem: fast_module.loaded_problem,
    tp.Schedule: fast_module.loaded_schedule,
}


def _records(plan: tp.TreatmentPlan) -> list[Any]:
    """Every record of ``plan`` of a class in :data:`_LOADED`."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if type(value) in _LOADED:
            found.append(value)
        if attrs.has(type(value)):
            for a in attrs.fields(type(value)):
                walk(getattr(value, a.name))
        elif isinstance(value, tuple):
            for member in value:
                walk(member)

    walk(plan)
    return found


def _rebuilt(record: Any) -> tuple[Any, Any]:
    """``record`` built again by its loaded_* function and by its validated constructor."""
    cls = type(record)
    values = [getattr(record, a.name) for a in attrs.fields(cls) if a.init]
    return _LOADED[cls](*values), cls(*values)


@SLOW
@given(tps.treatment_plans(max_records=8))
def test_loaded_records_equal_the_validated_constructors(plan: tp.TreatmentPlan) -> None:
    for record in _records(plan):
        loaded, validated = _rebuilt(record)
        assert type(loaded) is type(validated)
        assert loaded == validated
        assert hash(loaded) == hash(validated)
        assert repr(loaded) == repr(validated)


def test_loaded_records_are_plain_frozen_instances() -> None:
    plan = tp.loads(EXAMPLE.read_text(encoding="utf-8"))
    records = _records(plan)
    assert {type(r) for r in records} == set(_LOADED)  # the example has one of each
    for record in records:
        loaded, validated = _rebuilt(record)
        assert attrs.asdict(loaded) == attrs.asdict(validated)
        assert pickle.loads(pickle.dumps(loaded)) == validated
        name = attrs.fields(type(loaded))[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(loaded, name, "other")
        if isinstance(loaded, tp.Schedule):  # its parsed rule, outside equality, too
            assert loaded.occurrences(limit=20) == validated.occurrences(limit=20)
    # A non-init field takes its constant default.
    target = fast_module.loaded_measure_target("PHQ-9", tp.Comparator.BELOW, 10)
    assert target.kind == "measure"


def test_a_document_without_client_factors_shares_the_empty_ones() -> None:
    doc = _base()
    doc["client_factors"] = {"readiness": None, "support": None, "barriers": []}
    assert _json._fast_plan(doc).client_factors == tp.ClientFactors()
    assert _json._fast_client_factors({}) is _json._fast_client_factors({"barriers": []})


# --------------------------------------------------------------------------- batched checks
def _checked(refs: list[Any], texts: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether _Times.check accepts these references and texts."""
    state = _json._Times()
    state.refs += refs
    state.texts += texts
    try:
        state.check()
    except Exception:
        return False
    return True


#: Characters around the ends of the reference alphabet, and others.
_CHARACTERS = [chr(c) for c in range(0x250)] + ["\u2028", "\ud800", "\U0001f600"]


def test_the_reference_alphabet_is_the_validators() -> None:
    for c in _CHARACTERS:
        assert _checked(["a" + c]) == v.is_ref("a" + c), repr(c)
        assert _checked([c]) == v.is_ref(c), repr(c)
        assert _checked(["ok", c + "a", "ok"]) == v.is_ref(c + "a"), repr(c)


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "a" * 128,
        "a" * 129,
        "a\nb",
        "a\n",
        "\na",
        "\n",
        "a b",
        "-a",
        "a-",
        "é",
        "9",
        "a" * 1000,
    ],
    ids=repr,
)
def test_batched_references_are_checked_as_the_validator_checks_each(ref: str) -> None:
    assert _checked([ref]) == v.is_ref(ref)
    assert _checked(["x", ref]) == v.is_ref(ref)
    assert _checked([ref, "y"]) == v.is_ref(ref)
    assert _checked(["x", ref, "y"]) == v.is_ref(ref)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("aZ9._:/#-\n é"), max_size=6), max_size=5))
def test_generated_references_are_checked_as_the_validator_checks_each(refs: list[str]) -> None:
    assert _checked(refs) == all(v.is_ref(r) for r in refs)


def test_a_reference_that_is_not_a_string_is_declined() -> None:
    assert not _checked(["a", 7])
    assert _checked([])


@pytest.mark.parametrize(
    "texts",
    [
        ["plain"],
        ["Müde"],
        ["a\tb\r\n"],
        ["ok", "a\x00"],
        ["\x1f"],
        ["a\ud800"],
        ["\ud83d", "\ude00"],
    ],
    ids=repr,
)
def test_batched_texts_are_checked_as_the_validator_checks_each(texts: list[str]) -> None:
    valid = all(v.is_unicode(t) and v.find_control(t) is None for t in texts)
    assert _checked(["a"], texts) == valid


@pytest.mark.parametrize(
    ("responses", "valid"),
    [
        ([(1, 2), (None, 0)], True),
        ([(), (-1000, 1000)], True),
        ([(1,) * 1000], True),
        ([(1, 2), (1,) * 1001], False),
        ([(1, 2), (True,)], False),
        ([(1.0,), (1, 2)], False),
        ([(1,), (1001,)], False),
        ([(-1001,)], False),
        ([("1",)], False),
    ],
    ids=repr,
)
def test_batched_item_responses_are_checked_as_the_validator_checks_each(
    responses: list[tuple[Any, ...]], valid: bool
) -> None:
    state = _json._Times()
    state.responses += responses
    field = attrs.fields(tp.Assessment).items
    for items in responses:
        try:
            field.validator(None, field, items)  # type: ignore[misc]
        except tp.ValidationError:
            assert not valid
    try:
        state.check()
    except _json._Slow:
        assert not valid
    else:
        assert valid


def test_the_references_pattern_is_the_validators() -> None:
    assert _json._REFS.pattern == "(?:\\n" + v._REF.pattern.removesuffix("\\Z") + ")*+"


def test_a_line_feed_inside_a_reference_is_declined() -> None:
    assert v.is_ref("a")
    assert not _checked(["a\nb"])
    assert not _checked(["a\nb", "c"])
    assert _checked(["a", "b"])


@pytest.mark.parametrize("text", ["plain", "tab\there", "line\nbreak", "cr\r", "\x0b", "\x7f"])
def test_texts_not_printable_are_searched_for_control_characters(text: str) -> None:
    assert _checked(["a"], [text]) == (v.find_control(text) is None)


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(0)), UTC])
    )
    | st.datetimes()
)
def test_times_are_written_as_isoformat_writes_them(at: datetime) -> None:
    assert _json._time_text(at) == at.isoformat()


def test_a_whole_second_utc_time_is_written_from_pieces() -> None:
    for text in (
        "2026-01-19T10:00:00+00:00",
        "1900-01-01T00:00:00+00:00",
        "0999-12-31T23:59:59+00:00",
    ):
        at = datetime.fromisoformat(text)
        assert at.tzinfo is UTC
        assert _json._time_text(at) == text == at.isoformat()
    assert _json._time_text(datetime(2026, 1, 19, 10, 0, 0, 5, tzinfo=UTC)) == (
        "2026-01-19T10:00:00.000005+00:00"
    )

    class Later(datetime):
        def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
            return "later"

    odd = Later(2026, 1, 19, tzinfo=UTC)
    assert _json._time_text(odd) == datetime.isoformat(odd)


@settings(max_examples=300, deadline=None)
@given(st.dates())
def test_dates_are_written_as_isoformat_writes_them(day: date) -> None:
    assert _json._date_text(day) == day.isoformat()


def test_a_date_subclass_is_written_by_isoformat() -> None:
    class Later(date):
        def isoformat(self) -> str:
            return "later"

    odd = Later(2026, 1, 19)
    assert _json._date_text(odd) == date.isoformat(odd) == "2026-01-19"
