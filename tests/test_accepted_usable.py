"""Accepted means usable (issue 13): every plan that ``loads`` accepts, or that a
public operation returns, works with every public read function.

Each read function either returns or raises a :class:`treatplan.TreatplanError`;
nothing else escapes. Plans come from :mod:`treatplan.strategies`, from mutants of
the example and golden documents (hostile times, rules, numbers and text put at
random places), and from public operations applied with hostile arguments. Errors
never carry planted text, in their message or anywhere down their exception chain.

Run with ``HYPOTHESIS_PROFILE=thorough`` for 1,000 examples per test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in sorted([*ROOT.glob("examples/*.json"), *ROOT.glob("tests/golden/v*/*.json")])
]
#: Planted in keys and text: no error may ever show it.
SECRET = "Zyx-private-text-1337"

EDGE_TIMES = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "1899-12-31T23:59:59+00:00",
    "1900-01-01T00:00:00+00:00",
    "2199-12-31T23:59:59+00:00",
    "2200-01-01T00:00:00+00:00",
    "2200-01-01T04:00:00+05:00",
    "2026-W02-1T09:00:00+00:00",
    "20260105T090000+0000",
    "2026-01-05 09:00:00+00:00",
    "2026-01-05T09:00:00+00:00:30",
    "2026-01-05T09:00:00Z",
    "2026-01-05T09:00:00.123456+23:59",
    "2026-W02-1",
    "2026-01-05",
    "0001-01-01",
    "9999-12-31",
]
EDGE_RULES = [
    "FREQ=DAILY;INTERVAL=-1",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=MONTHLY;BYDAY=+53MO",
    "FREQ=MONTHLY;BYDAY=5MO",
    "FREQ=YEARLY;BYDAY=53MO;COUNT=3",
    "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=WEEKLY;COUNT=-1",
    "FREQ=WEEKLY;COUNT=0",
    "FREQ=MONTHLY;BYMONTHDAY=0",
    "FREQ=MONTHLY;BYMONTHDAY=-31",
    "FREQ=DAILY;BYHOUR=24",
    "FREQ=DAILY;BYMINUTE=60,1",
    "FREQ=YEARLY;INTERVAL=1000",
    "FREQ=DAILY;UNTIL=99991231T235959Z",
    "FREQ=DAILY;UNTIL=21991231T235959Z",
    "FREQ=WEEKLY;WKST=XX",
    "FREQ=WEEKLY;INTERVAL=١",
]
EDGE_VALUES: list[Any] = [
    *EDGE_TIMES,
    *EDGE_RULES,
    0,
    -1,
    0.0,
    1e-300,
    1e308,
    10**400,
    -(10**9),
    0.5,
    1,
    2,
    53,
    True,
    None,
    "",
    " ",
    [],
    {},
    f"a\x00{SECRET}",
    f"\x07{SECRET}",
    f"tab\tand\nline {SECRET}",
    SECRET,
    {SECRET: SECRET},
    {SECRET: 1},
    [SECRET],
]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    out = [here] if here else []
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*here, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*here, i)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _alike(value: Any) -> list[Any]:
    """Hostile values of the same kind as ``value`` (a time, a rule, a number, text)."""
    if isinstance(value, str) and "FREQ=" in value:
        return EDGE_RULES
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[:4].isdigit():
        return EDGE_TIMES
    if isinstance(value, bool) or value is None:
        return [True, False, None]
    if isinstance(value, int | float):
        return [0, 1, 2, -1, 0.5, 53, 1000, 1e-9, 10**9, value + 1, value - 1]
    if isinstance(value, str):
        return [f"tab\tand\nline {SECRET}", f"a\x00{SECRET}", "\u2028", "", value * 2]
    return [value]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    """An example or golden document with one to three (mostly one) hostile mutations, as
    JSON text."""
    doc = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        action = draw(st.sampled_from(["like", "like", "like", "replace", "delete", "add-key"]))
        if action == "like":  # a hostile value of the same kind: most such documents load
            parent[last] = draw(st.sampled_from(_alike(parent[last])))
        elif action == "replace":
            parent[last] = copy.deepcopy(draw(st.sampled_from(EDGE_VALUES)))
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[SECRET] = draw(st.sampled_from(EDGE_VALUES))
        else:
            parent.append(copy.deepcopy(parent[last]))  # a duplicate record
    return json.dumps(doc, ensure_ascii=False)


def assert_private(error: BaseException) -> None:
    """Neither the error nor anything down its chain shows the planted text."""
    seen: BaseException | None = error
    depth = 0
    while seen is not None and depth < 20:
        assert SECRET not in str(seen)
        assert SECRET not in repr(seen)
        for note in getattr(seen, "__notes__", ()):
            assert SECRET not in str(note)
        seen = seen.__cause__ or seen.__context__
        depth += 1


def attempt(call: Callable[[], Any], *, chain_free: bool = False) -> Any:
    """Run ``call``: its result, or None after a library error (any other error fails).

    With ``chain_free``, the error must have no ``__context__`` or ``__cause__`` at all.
    """
    try:
        return call()
    except tp.TreatplanError as error:
        failure: tp.TreatplanError = error
    assert_private(failure)
    if chain_free:
        assert failure.__context__ is None
        assert failure.__cause__ is None
    return None


def every_read(plan: tp.TreatmentPlan, as_of: datetime) -> None:
    """Every public read function on ``plan``: each returns or raises a library error."""
    attempt(lambda: tp.review(plan, as_of))
    attempt(lambda: tp.alerts(plan, as_of))
    if plan.discharge_criteria is not None:
        rule = plan.discharge_criteria
        attempt(lambda: tp.evaluate(rule, plan, as_of))
    for rule in (tp.rules.SessionLimit(max_sessions=12), tp.rules.Inactivity(days=30)):
        attempt(lambda rule=rule: tp.evaluate(rule, plan, as_of))
    attempt(lambda: tp.describe(plan))
    for assessment in plan.all_assessments():
        attempt(lambda a=assessment: tp.instruments.plan_score(plan, a))
    for code in {a.instrument for a in plan.all_assessments()} | {"PHQ-9", "GAD-7"}:
        attempt(lambda c=code: tp.instruments.plan_scores(plan, c))
    attempt(lambda: tp.instruments.plan_series(plan))
    attempt(lambda: tp.outcomes.plan_gas_t_score(plan))
    attempt(lambda: tp.outcomes.talking_therapies_outcome(plan))
    on = as_of.date()
    attempt(lambda: tp.reviews.due_reviews([plan], on, within_days=30))
    attempt(lambda: tp.reviews.review_status(plan, on))
    for version in ("R4", "R5"):
        bundle = attempt(lambda v=version: tp.fhir.to_fhir(plan, v))
        if bundle is not None:
            attempt(lambda b=bundle: tp.fhir.from_fhir(b))
    text = attempt(lambda: tp.dumps(plan))
    assert text is not None, "a plan that exists can always be written"
    assert tp.loads(text) == plan, "every plan round-trips through its JSON"


def _as_of(plan: tp.TreatmentPlan, days: int) -> datetime:
    return plan.last_event_at + timedelta(days=days)


@given(tps.treatment_plans(), st.integers(0, 400))
def test_generated_plans_are_usable(plan: tp.TreatmentPlan, days: int) -> None:
    every_read(plan, _as_of(plan, days))


#: Mutants are cheap to check: at least 300 of them, even in the quick default profile.
@settings(max_examples=max(300, settings.default.max_examples))
@given(mutants(), st.integers(0, 400))
def test_mutated_documents_either_fail_cleanly_or_are_usable(text: str, days: int) -> None:
    plan = attempt(lambda: tp.loads(text), chain_free=True)
    if plan is not None:
        every_read(plan, _as_of(plan, days))


HOSTILE_TIMES = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1899, 12, 31, 23, tzinfo=UTC),
    datetime(2200, 1, 1, tzinfo=UTC),
    datetime(2030, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
]


@st.composite
def operated_plans(draw: st.DrawFn) -> tuple[tp.TreatmentPlan, datetime]:
    """A generated plan after one public operation with possibly hostile arguments."""
    plan = draw(tps.treatment_plans(max_records=4))
    later = plan.last_event_at + timedelta(days=draw(st.integers(0, 60)))
    at = draw(st.one_of(st.just(later), st.sampled_from(HOSTILE_TIMES)))
    operation = draw(st.sampled_from(["fire", "session", "assessment", "review", "conduct"]))
    event = draw(st.sampled_from(list(tp.Event)))
    attended = draw(st.sampled_from(list(tp.Attendance)))
    decision = draw(st.sampled_from(list(tp.ReviewDecision)))
    note = draw(st.sampled_from([None, "fine", f"nul\x00{SECRET}", f"bell\x07{SECRET}"]))
    calls: dict[str, Callable[[], tp.TreatmentPlan]] = {
        "fire": lambda: tp.fire(plan, event, at=at, by="clin-1", reason=note),
        "session": lambda: tp.record_session(plan, tp.Session("s-new", at, attended, note=note)),
        "assessment": lambda: tp.record_assessment(
            plan, tp.Assessment("a-new", "PHQ-9", at, total=12)
        ),
        "review": lambda: tp.record_review(
            plan,
            tp.ProgressReview("r-new", at, decision, by="clin-1", next_review=date(2199, 12, 31)),
        ),
        "conduct": lambda: tp.record_findings(plan, at, review_id="r-new", note=note),
    }
    result = attempt(calls[operation])
    return (plan if result is None else result), later


@given(operated_plans())
def test_plans_returned_by_operations_are_usable(case: tuple[tp.TreatmentPlan, datetime]) -> None:
    plan, as_of = case
    every_read(plan, as_of)


@pytest.mark.parametrize("text", EDGE_TIMES)
def test_edge_times_never_load_into_an_unusable_plan(text: str) -> None:
    doc = copy.deepcopy(DOCUMENTS[0])
    doc["history"][0]["at"] = text
    try:
        plan = tp.loads(json.dumps(doc))
    except tp.ValidationError:
        return
    every_read(plan, _as_of(plan, 30))
