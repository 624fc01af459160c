"""JSON: lossless round trips for every class, stable output, and bad input.

Bad input is derived from valid generated plans: hypothesis picks a location in the
document and a way to break it (missing key, wrong type, out-of-range value, naive
date-time, unknown enum value, unknown key, huge number, NaN, deep nesting, broken
cross reference, ...). Every broken document must raise :class:`treatplan.ValidationError`
and nothing else, with a problem at (or above) the broken location, and no free text
from the document in the error.
"""

from __future__ import annotations

import copy
import enum
import functools
import json
import math
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import strategies as tps

# --------------------------------------------------------------------------- round trips
PARTS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("diagnosis", tps.diagnoses()),
    ("presenting_problem", tps.presenting_problems()),
    ("measure_target", tps.measure_targets()),
    ("gas_target", tps.gas_targets()),
    ("behaviour_target", tps.behaviour_targets()),
    ("objective", tps.objectives()),
    ("goal", tps.goals(problem_ids=("p1", "p2"))),
    ("schedule", tps.schedules()),
    ("intervention", tps.interventions(objective_ids=("o1", "o2"))),
    ("assessment", tps.assessments()),
    ("session", tps.sessions()),
    ("objective_progress", tps.objective_progress()),
    ("progress_review", tps.progress_reviews()),
    ("barrier", tps.barriers()),
    ("client_factors", tps.client_factors()),
    ("goals_met", tps.goals_met_rules()),
    ("session_limit", tps.session_limits()),
    ("consecutive_missed", tps.consecutive_missed_rules()),
    ("missed_in_window", tps.missed_in_window_rules()),
    ("missed_within_days", tps.missed_within_days_rules()),
    ("inactivity", tps.inactivity_rules()),
    ("time_limit", tps.time_limits()),
    ("client_request", tps.client_requests()),
    ("sustained_recovery", tps.sustained_recovery_rules()),
    ("plateau", tps.plateau_rules()),
    ("reliable_deterioration", tps.reliable_deterioration_rules()),
    ("authorisation_used", tps.authorisation_used_rules()),
    ("any_of", tps.any_of_rules()),
    ("all_of", tps.all_of_rules()),
    ("instrument", tps.instruments()),
    ("transition", tps.transitions()),
]


@pytest.mark.parametrize(("name", "strategy"), PARTS, ids=[n for n, _ in PARTS])
@given(data=st.data())
def test_every_part_round_trips(name: str, strategy: st.SearchStrategy[Any], data: Any) -> None:
    value = data.draw(strategy, label=name)
    kind = type(value)
    assert tp.from_dict(tp.to_dict(value), kind) == value
    text = tp.dumps(value)
    back = tp.loads(text, kind)
    assert back == value
    assert type(back) is kind
    assert tp.dumps(back) == text


@given(tps.treatment_plans(), st.sampled_from([2, None, 0]))
def test_plan_round_trips_and_dumps_is_stable(plan: tp.TreatmentPlan, indent: int | None) -> None:
    text = tp.dumps(plan, indent=indent)
    back = tp.loads(text)
    assert back == plan
    assert back.phase is plan.phase
    assert tp.dumps(back, indent=indent) == text
    assert tp.loads(text.encode("utf-8")) == plan
    assert tp.from_dict(tp.to_dict(plan), tp.TreatmentPlan) == plan
    # Offsets survive, not only instants.
    assert [t.at.utcoffset() for t in back.history] == [t.at.utcoffset() for t in plan.history]
    doc = json.loads(text)
    assert doc["schema_version"] == tp.SCHEMA_VERSION
    assert doc["phase"] == plan.phase.value
    assert doc["outcome"] == (plan.outcome.value if plan.outcome else None)


@given(tps.termination_rules(), tps.targets())
def test_unions_round_trip_through_their_union_type(rule: Any, target: Any) -> None:
    assert tp.from_dict(tp.to_dict(rule), tp.rules.Rule) == rule  # type: ignore[arg-type]
    assert tp.from_dict(tp.to_dict(target), tp.ObjectiveTarget) == target  # type: ignore[arg-type]


def test_datetimes_are_iso_8601_with_offsets() -> None:
    at = datetime.fromisoformat("2026-03-01T09:30:00+05:30")
    doc = tp.to_dict(tp.Transition("refer", None, tp.Phase.REFERRED, at, "gp-1"))
    assert doc["at"] == "2026-03-01T09:30:00+05:30"
    assert doc["source"] is None
    back = tp.from_dict(doc, tp.Transition)
    assert back.at.utcoffset() == timedelta(hours=5, minutes=30)
    objective = tp.Objective(
        "o1", "walk", tp.GasTarget(), date(2026, 4, 1), achievement=tp.AchievementStatus.ACHIEVED
    )
    doc = tp.to_dict(objective)
    assert doc["target_date"] == "2026-04-01"
    assert doc["target"] == {"kind": "gas", "level": 0, "weight": 1.0}
    assert doc["achievement"] == "achieved"


# --------------------------------------------------------------------------- bad input
SENTINEL = "SENTINELzq7 private clinical words"
SENTINEL_TEXTS = st.builds(lambda t: f"{t} {SENTINEL}", tps.clinical_texts(max_length=8))

# Free-text fields (their content must never reach an error) vs reference-like strings.
TEXT_FIELDS = frozenset(
    {
        "description",
        "statement",
        "technique",
        "note",
        "reason",
        "behaviour",
        "unit",
        "mitigation",
        "name",
        "label",
        "source",
        "behavioural_definitions",
    }
)
# String fields whose values point at another part of the plan.
REFERENCE_FIELDS = frozenset({"addresses", "serves", "interventions", "objective", "instrument"})


@attrs.frozen(eq=False)
class Site:
    """One value in a document: where it is and what the schema says it should be."""

    path: str
    parent: Any
    key: Any
    category: str
    name: str
    optional: bool
    required: bool
    item: bool
    owner: type[Any] | None

    def get(self, doc: Any) -> Any:
        container, key = _resolve(doc, self)
        return container[key]


def _resolve(doc: Any, site: Site) -> tuple[Any, Any]:
    """(container, key) of ``site`` inside ``doc`` (a deep copy of the walked document)."""
    steps = _steps(site.path)
    container = doc
    for step in steps[:-1]:
        container = container[step]
    return container, steps[-1]


def _steps(path: str) -> list[Any]:
    out: list[Any] = []
    rest = path[1:]
    while rest:
        if rest.startswith("."):
            end = min([i for i in (rest.find(".", 1), rest.find("[", 1)) if i > 0] or [len(rest)])
            out.append(rest[1:end])
            rest = rest[end:]
        else:
            end = rest.index("]")
            out.append(int(rest[1:end]))
            rest = rest[end + 1 :]
    return out


def _category(kind: Any, name: str) -> str:
    if attrs.has(kind):
        return "object"
    if typing.get_origin(kind) is tuple:
        return "array"
    if typing.get_origin(kind) is typing.Literal:
        return "kind"
    if isinstance(kind, type):
        if issubclass(kind, enum.Enum):
            return "enum"
        if kind is bool:
            return "bool"
        if kind is int:
            return "int"
        if kind is float:
            return "number"
        if kind is datetime:
            return "datetime"
        if kind is date:
            return "date"
        if kind is str:
            if name == "rrule":
                return "rrule"
            return "text" if name in TEXT_FIELDS else "ref"
    raise AssertionError(f"unexpected type {kind!r}")


@functools.cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _tag(cls: type[Any]) -> str:
    return str(attrs.fields_dict(cls)["kind"].default)


def walk(
    value: Any,
    kind: Any,
    path: str = "$",
    *,
    parent: Any = None,
    key: Any = None,
    name: str = "$",
    required: bool = True,
    item: bool = False,
    owner: type[Any] | None = None,
) -> Iterator[Site]:
    """Every value in a document with its declared type, depth first, in document order."""
    optional = False
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(kind) if a is not type(None)]
        optional = len(members) < len(typing.get_args(kind))
        if len(members) == 1:
            kind = members[0]
        elif value is not None:
            kind = next(m for m in members if _tag(m) == value["kind"])
        else:
            kind = members[0]
    category = _category(kind, name)
    yield Site(path, parent, key, category, name, optional, required, item, owner)
    if value is None:
        return
    if category == "object":
        hints = _hints(kind)
        for field in attrs.fields(kind):
            if (not field.init and field.name != "kind") or field.name not in value:
                continue
            yield from walk(
                value[field.name],
                hints[field.name],
                f"{path}.{field.name}",
                parent=value,
                key=field.name,
                name=field.name,
                required=field.init and field.default is attrs.NOTHING,
                owner=kind,
            )
        if kind is tp.TreatmentPlan:
            for derived in ("phase", "outcome"):
                yield Site(
                    f"$.{derived}", value, derived, "derived", derived, True, False, False, kind
                )
    elif category == "array":
        (member, _) = typing.get_args(kind)
        for index, entry in enumerate(value):
            yield from walk(
                entry,
                member,
                f"{path}[{index}]",
                parent=value,
                key=index,
                name=name,
                item=True,
                owner=owner,
            )


def at_or_above(problem_path: str, target: str) -> bool:
    return target == problem_path or target.startswith((problem_path + ".", problem_path + "["))


NAIVE = "2026-01-05T09:00:00"
TOO_BIG = 10**10  # beyond treatplan's bound on any number (1e9)
HUGE_INT = 10**5000  # only reachable at dict level: json refuses 5000-digit integers
DEEP: Any = []
for _ in range(10_000):
    DEEP = [DEEP]


def _wrong_values(site: Site) -> list[Any]:
    """Values of the wrong JSON type (or shape) for ``site``; each must be rejected."""
    base: dict[str, list[Any]] = {
        "text": [42, True, [], {}, 1.5, "lone \ud800 surrogate"],
        "ref": [42, True, [], {}, SENTINEL, "", " leading-space"],
        "rrule": [42, [], SENTINEL, "FREQ=SOMETIMES", "DTSTART:20260101T000000Z"],
        "int": ["1", 1.5, True, [], {}, SENTINEL],
        "number": ["1", True, [], {}, SENTINEL],
        "bool": [1, "true", [], SENTINEL],
        "enum": [5, [], {}, SENTINEL, "zz-not-a-member"],
        "datetime": [5, [], SENTINEL, NAIVE, "2026-01-05", "2026-01-05T25:00:00+00:00"],
        "date": [5, [], SENTINEL, "2026-02-30", "2026-01-05T00:00:00+00:00", "20260105"],
        "object": [SENTINEL, [], 5, True],
        "array": [SENTINEL, {}, 5, True],
        "kind": ["zz-not-a-kind", 5, SENTINEL],
        "derived": [5, SENTINEL],
    }
    values = list(base[site.category])
    if not site.optional and site.category != "derived":
        values.append(None)
    if site.category == "text" and not site.item:
        values += ["   ", "x" * 10_001]  # blank, longer than any text field allows
    return values


def _out_of_range(site: Site) -> list[Any]:
    """Values of the right type but outside what ``site`` allows."""
    # ItemChoices.values are not bounded by the instrument's item range (reported).
    if site.category not in ("int", "number") or (site.owner, site.name) == (
        tp.instruments.ItemChoices,
        "values",
    ):
        return []
    values: list[Any] = [TOO_BIG, -TOO_BIG, HUGE_INT, float("nan"), float("inf"), -float("inf")]
    special: dict[tuple[Any, str], list[Any]] = {
        (tp.GasTarget, "level"): [3, -3],
        (tp.GasTarget, "weight"): [-0.5, 1000.5],
        (tp.ObjectiveProgress, "gas_level"): [3, -3],
        (tp.Session, "duration_minutes"): [0, 24 * 60 + 1],
        (tp.BehaviourTarget, "count"): [-1],
        (tp.rules.SessionLimit, "max_sessions"): [0],
        (tp.rules.ConsecutiveMissed, "count"): [0],
        (tp.rules.MissedWithinDays, "days"): [0],
        (tp.rules.Inactivity, "days"): [0],
        (tp.rules.TimeLimit, "days"): [0],
        (tp.Instrument, "item_count"): [0],
        (tp.Assessment, "items"): [99, -99, 5000],
        (tp.Assessment, "total"): [10**6, -(10**6)],
        (tp.TreatmentPlan, "schema_version"): [0, -1, tp.SCHEMA_VERSION + 1],
    }
    return values + special.get((site.owner, site.name), [])


Mutation = tuple[str, Callable[[Any], None], str, bool]


def mutations(doc: Any, sites: list[Site], site: Site) -> list[Mutation]:
    """Ways to break ``doc`` at ``site``: (label, apply, expected path, all-problems-there)."""
    out: list[Mutation] = []

    def put(value: Any) -> Callable[[Any], None]:
        def apply(d: Any) -> None:
            container, key = _resolve(d, site)
            container[key] = value

        return apply

    if site.path == "$":

        def extra_at_root(d: Any) -> None:
            d["zz_unknown_key"] = 1

        return [("unknown key", extra_at_root, "$.zz_unknown_key", True)]
    for value in _wrong_values(site):
        out.append(("wrong type", put(value), site.path, True))
    for value in _out_of_range(site):
        out.append(("out of range", put(value), site.path, True))
    out.append(("deep nesting", put(DEEP), site.path, True))

    def remove(d: Any) -> None:
        container, key = _resolve(d, site)
        del container[key]

    if site.required and not site.item and site.category != "derived":
        out.append(("missing key", remove, site.path, True))
    if site.category == "kind":
        out.append(("missing kind", remove, site.path, True))
    if site.category == "object" and isinstance(site.get(doc), dict):

        def extra(d: Any) -> None:
            container, key = _resolve(d, site)
            container[key]["zz_unknown_key"] = 1

        def secret_key(d: Any) -> None:
            container, key = _resolve(d, site)
            container[key][SENTINEL] = 1  # a key is document content too: never echoed

        out.append(("unknown key", extra, site.path + ".zz_unknown_key", True))
        out.append(("unknown free-text key", secret_key, site.path, True))
    if site.category == "ref" and site.name in REFERENCE_FIELDS:
        out.append(("broken reference", put("zz-no-such-id"), site.path, True))
    if site.category == "ref" and site.name == "id":
        earlier = []
        for other in sites:
            if other is site:
                break
            if other.name == "id" and _is_plan_id_owner(other.owner):
                earlier.append(other)
        if earlier and _is_plan_id_owner(site.owner):
            # Renaming also orphans references to the old id: those problems are elsewhere.
            out.append(("duplicate id", put(earlier[0].get(doc)), site.path, False))
    previous = _previous_sibling_time(doc, site)
    if previous is not None:
        earlier_at = (previous - timedelta(days=1)).isoformat()
        out.append(("time goes back", put(earlier_at), site.path, True))
    if site.category == "derived":
        current = site.get(doc)
        if site.name == "phase":
            other = "closed" if current != "closed" else "active"
        else:
            other = "completed" if current is None else None
        out.append(("derived mismatch", put(other), site.path, True))
    return out


def _is_plan_id_owner(owner: type[Any] | None) -> bool:
    return owner in (
        tp.PresentingProblem,
        tp.Goal,
        tp.Objective,
        tp.Intervention,
        tp.Assessment,
        tp.Session,
        tp.ProgressReview,
    )


def _previous_sibling_time(doc: Any, site: Site) -> datetime | None:
    """For history, session and review times: the time of the previous record."""
    steps = _steps(site.path)
    if (
        len(steps) != 3
        or steps[0] not in ("history", "sessions", "reviews")
        or steps[1] == 0
        or steps[2] != "at"
    ):
        return None
    previous = doc[steps[0]][steps[1] - 1]["at"]
    return datetime.fromisoformat(previous)


def _assert_clean_rejection(
    exc: tp.ValidationError, expected_path: str, strict: bool, label: str
) -> None:
    assert exc.problems, label
    paths = [p.path for p in exc.problems]
    assert all(p.startswith("$") for p in paths), (label, paths)
    if strict:
        assert all(at_or_above(p, expected_path) for p in paths), (label, expected_path, paths)
    else:
        assert any(at_or_above(p, expected_path) for p in paths), (label, expected_path, paths)
    assert SENTINEL not in str(exc), label
    assert SENTINEL not in repr(exc.args), label
    for problem in exc.problems:
        assert SENTINEL not in problem.path, label
        assert SENTINEL not in problem.expected, label


def mutation_catalogue(doc: Any) -> dict[str, list[tuple[Site, Mutation]]]:
    """Every applicable mutation of ``doc``, grouped by kind so each kind is drawn evenly."""
    sites = list(walk(doc, tp.TreatmentPlan))
    grouped: dict[str, list[tuple[Site, Mutation]]] = {}
    for site in sites:
        for mutation in mutations(doc, sites, site):
            grouped.setdefault(mutation[0], []).append((site, mutation))
    return grouped


@given(doc=tps.plan_documents(texts=SENTINEL_TEXTS), data=st.data())
def test_mutated_documents_raise_only_validation_error(doc: Any, data: Any) -> None:
    assert tp.from_dict(copy.deepcopy(doc)) is not None  # the unmutated document is valid
    assert SENTINEL in json.dumps(doc)  # and does carry free text to leak
    catalogue = mutation_catalogue(doc)
    for label in sorted(catalogue):  # every kind of mutation, each at a drawn location
        site, (_, apply, expected_path, strict) = data.draw(
            st.sampled_from(catalogue[label]), label="where"
        )
        broken = copy.deepcopy(doc)
        apply(broken)
        with pytest.raises(tp.ValidationError) as caught:
            tp.from_dict(broken)
        _assert_clean_rejection(caught.value, expected_path, strict, f"{label} at {site.path}")


T0 = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


def active_plan() -> tp.TreatmentPlan:
    """A small realistic plan in phase active, built by hand."""
    plan = tp.TreatmentPlan.refer("plan-1", "client-0001", at=T0, by="gp-17")
    plan = tp.fire(plan, "begin_assessment", at=T0 + timedelta(days=3), by="clin-1")
    baseline = tp.Assessment("a1", "PHQ-9", T0 + timedelta(days=3), items=(2,) * 9)
    plan = tp.record_assessment(plan, baseline)
    plan = tp.revise(
        plan,
        presenting_problems=[tp.PresentingProblem("p1", f"low mood {SENTINEL}")],
        goals=[
            tp.Goal(
                "g1",
                f"feel like myself {SENTINEL}",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                objectives=[
                    tp.Objective(
                        "o1",
                        "PHQ-9 below 10",
                        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
                        date(2026, 4, 1),
                    )
                ],
                addresses=("p1",),
            )
        ],
        interventions=[tp.Intervention("i1", tp.Modality.CBT, "activation", serves=("o1",))],
    )
    plan = tp.fire(plan, "agree_plan", at=T0 + timedelta(days=4), by="clin-1")
    session = tp.Session(
        "s1", T0 + timedelta(days=11), tp.Attendance.ATTENDED, ("i1",), note=SENTINEL
    )
    return tp.record_session(plan, session)


TEXT_LEVEL = [
    ("1e400", True),  # parses to infinity: must be refused where it lands
    ("-1e400", True),
    ("NaN", False),  # not JSON at all
    ("Infinity", False),
    ("1" + "0" * 5000, True),  # beyond Python's integer-parsing limit: out of range there
    ("[" * 10_000 + "]" * 10_000, False),  # deeper than the parser's recursion limit
    ("{" * 10_000, False),  # and malformed
]


@settings(max_examples=40)
@given(doc=tps.plan_documents(texts=SENTINEL_TEXTS), data=st.data())
def test_text_level_mutations_raise_only_validation_error(doc: Any, data: Any) -> None:
    sites = [s for s in walk(doc, tp.TreatmentPlan) if s.path != "$"]
    site = data.draw(st.sampled_from(sites), label="site")
    raw, located = data.draw(st.sampled_from(TEXT_LEVEL), label="raw")
    broken = copy.deepcopy(doc)
    container, key = _resolve(broken, site)
    container[key] = "__PLACEHOLDER__"
    text = json.dumps(broken).replace('"__PLACEHOLDER__"', raw, 1)
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(text)
    _assert_clean_rejection(caught.value, site.path if located else "$", True, raw[:10])


@pytest.mark.parametrize(
    "root", [[], [1, 2], "plan", 5, 1.5, None, True, False], ids=lambda r: type(r).__name__
)
def test_non_object_roots(root: Any) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(root)
    assert [p.path for p in caught.value.problems] == ["$"]
    with pytest.raises(tp.ValidationError):
        tp.loads(json.dumps(root))


@pytest.mark.parametrize(
    "text", ["", "   ", "{", "{'a': 1}", "\ufeff{}", "nul", b"\xff\xfe\x00", b"{\xc3}"]
)
def test_malformed_text(text: str | bytes) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(text)
    assert [p.path for p in caught.value.problems] == ["$"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (tp.SCHEMA_VERSION + 1, "upgrade treatplan"),
        (99, "upgrade treatplan"),
        (0, "an integer from 1"),
        (-3, "an integer from 1"),
        ("1", "integer schema version"),
        (1.0, "integer schema version"),
        (True, "integer schema version"),
        (None, "integer schema version"),
        (HUGE_INT, "upgrade treatplan"),
    ],
    ids=["next", "99", "0", "negative", "string", "float", "bool", "null", "huge"],
)
def test_bad_schema_versions(version: Any, expected: str) -> None:
    plan = active_plan()
    doc = tp.to_dict(plan)
    doc["schema_version"] = version
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert [p.path for p in caught.value.problems] == ["$.schema_version"]
    assert expected in str(caught.value)


def test_missing_schema_version() -> None:
    doc = tp.to_dict(active_plan())
    del doc["schema_version"]
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert [p.path for p in caught.value.problems] == ["$.schema_version"]


def test_newer_version_error_is_clear() -> None:
    doc = tp.to_dict(active_plan())
    doc["schema_version"] = tp.SCHEMA_VERSION + 1
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(json.dumps(doc))
    message = str(caught.value)
    assert f"version {tp.SCHEMA_VERSION + 1}" in message
    assert "upgrade treatplan" in message


def test_every_problem_is_reported_at_once() -> None:
    plan = active_plan()
    doc = tp.to_dict(plan)
    doc["client_ref"] = 5
    doc["goals"][0]["domain"] = "zz"
    doc["interventions"][0]["format"] = "zz"
    doc["zz_extra"] = True
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    paths = {p.path for p in caught.value.problems}
    assert {
        "$.client_ref",
        "$.goals[0].domain",
        "$.interventions[0].format",
        "$",  # the unknown key, reported at its object without its name
    } <= paths
    assert "zz_extra" not in str(caught.value)


def test_unknown_keys_are_reported_without_their_names() -> None:
    doc = tp.to_dict(active_plan())
    doc["goals"][0]["Client said her husband hits her"] = 1
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    [problem] = caught.value.problems
    assert problem.path == "$.goals[0]"
    assert "1 unknown key found" in problem.expected
    assert "statement" in problem.expected  # the keys a goal does take
    assert "husband" not in str(caught.value)


def test_parts_reject_bad_documents_too() -> None:
    good = tp.to_dict(
        tp.Session(
            "s1", datetime.fromisoformat("2026-01-05T09:00:00+01:00"), tp.Attendance.ATTENDED
        )
    )
    for broken, path in [
        ({**good, "at": NAIVE}, "$.at"),
        ({**good, "attendance": SENTINEL}, "$.attendance"),
        ({k: v for k, v in good.items() if k != "id"}, "$.id"),
        ({**good, "interventions": "i1"}, "$.interventions"),
        ({**good, "duration_minutes": 0}, "$.duration_minutes"),
        ([good], "$"),
    ]:
        with pytest.raises(tp.ValidationError) as caught:
            tp.from_dict(broken, tp.Session)
        _assert_clean_rejection(caught.value, path, True, path)


def test_naive_datetime_in_a_plan_is_named() -> None:
    plan = active_plan()
    doc = tp.to_dict(plan)
    doc["history"][0]["at"] = NAIVE
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert [p.path for p in caught.value.problems] == ["$.history[0].at"]
    assert "offset" in caught.value.problems[0].expected


def test_nesting_limit_is_enforced_without_recursion() -> None:
    deep: Any = 0
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict({"schema_version": 1, "history": deep})
    assert "nested" in str(caught.value)


@pytest.mark.parametrize(
    "extra",
    [{SENTINEL: 1}, {1: 2, "a": 3}, {HUGE_INT: 1}, {None: 1}, {(1, 2): 3}],
    ids=["free-text", "mixed-types", "huge-int", "none", "tuple"],
)
def test_unknown_keys_that_are_not_plain_names_are_not_echoed(extra: dict[Any, Any]) -> None:
    doc = tp.to_dict(active_plan())
    doc["goals"][0].update(extra)
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    _assert_clean_rejection(caught.value, "$.goals[0]", False, "extra key")
    assert "$.goals[0]" in [p.path for p in caught.value.problems]


def test_unknown_keys_are_reported_at_their_object() -> None:
    doc = tp.to_dict(active_plan())
    doc["zz_extra"] = 1
    doc["sessions"][0]["mood-score"] = 3
    with pytest.raises(tp.ValidationError) as caught:
        tp.from_dict(doc)
    assert sorted(p.path for p in caught.value.problems) == ["$", "$.sessions[0]"]
    assert "mood-score" not in str(caught.value)


def test_lone_surrogates_are_refused_so_dumps_output_is_always_utf8() -> None:
    doc = tp.to_dict(active_plan())
    doc["goals"][0]["statement"] = f"{SENTINEL} \ud800"
    text = json.dumps(doc)  # ASCII escapes: well-formed JSON
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(text)
    _assert_clean_rejection(caught.value, "$.goals[0].statement", True, "surrogate")


@pytest.mark.parametrize("value", [5, None, 1.5, ["{}"], {"schema_version": 1}])
def test_loads_refuses_what_is_not_json_text(value: Any) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.loads(value)
    assert [p.path for p in caught.value.problems] == ["$"]


# --------------------------------------------------------------------------- edges
def _problem_list(call: Callable[[], Any]) -> list[tuple[str, str]]:
    with pytest.raises(tp.ValidationError) as caught:
        call()
    return [(p.path, p.expected) for p in caught.value.problems]


def test_dates_and_times_that_match_the_format_but_do_not_exist() -> None:
    doc = tp.to_dict(active_plan())
    doc["history"][0]["at"] = "2026-02-30T09:00:00+00:00"
    doc["goals"][0]["objectives"][0]["target_date"] = "2026-02-30"
    assert _problem_list(lambda: tp.from_dict(doc)) == [
        (
            "$.history[0].at",
            "an RFC 3339 date-time with a UTC offset, e.g. 2026-01-05T09:00:00+00:00",
        ),
        ("$.goals[0].objectives[0].target_date", "an ISO 8601 date, YYYY-MM-DD"),
    ]


def test_rules_that_are_not_objects_or_of_another_kind() -> None:
    doc = tp.to_dict(active_plan())
    doc["discharge_criteria"] = {"kind": "any_of", "rules": [5]}
    assert _problem_list(lambda: tp.from_dict(doc)) == [
        ("$.discharge_criteria.rules[0]", "a JSON object with a kind")
    ]
    assert _problem_list(lambda: tp.from_dict(5, tp.rules.GoalsMet)) == [("$", "a JSON object")]
    assert _problem_list(lambda: tp.from_dict({"kind": "plateau"}, tp.rules.GoalsMet)) == [
        ("$", "kind 'goals_met'")
    ]
    # The plan's own rule (optional) is read as a nested one is: an unknown or missing
    # kind names the kinds, at the rule (not "a required key"); none is none.
    for rule in ({"kind": "no_such_rule"}, {"max_sessions": 3}):
        doc["discharge_criteria"] = rule
        ((path, expected),) = _problem_list(lambda: tp.from_dict(doc))
        assert path == "$.discharge_criteria"
        assert expected.startswith("one of 'goals_met', 'session_limit'")
    doc["discharge_criteria"] = None
    assert tp.from_dict(doc).discharge_criteria is None


def test_the_plan_hook_refuses_a_non_object() -> None:
    # from_dict checks the root before the converter runs; the converter's own plan hook
    # refuses a non-object too, for callers of the converter (tp._json.converter()).
    from treatplan import _json

    with pytest.raises(Exception, match="a JSON object") as caught:
        _json.converter().structure([], tp.TreatmentPlan)
    assert _json._problems(caught.value) == [tp.ValidationIssue("$", "a JSON object")]


def test_error_paths_from_cattrs_notes() -> None:
    # Recursion (a document deeper than the interpreter allows) is reported as nesting,
    # and a note the path builder does not know leaves the path as it was.
    from cattrs.errors import AttributeValidationNote

    from treatplan import _json

    assert _json._problems(RecursionError()) == [
        tp.ValidationIssue("$", f"nesting no deeper than {_json.MAX_DEPTH}")
    ]
    error = ValueError()
    error.__notes__ = [AttributeValidationNote("x", "goal", int), "an unrelated note"]
    assert _json._step(error) == ".goal"


# --------------------------------------------------------------------------- what is written
SECRET = "SECRET-7f3a"
_AT = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
_PLAN = tp.TreatmentPlan.refer("plan-w", "client-w", at=_AT, by="gp-1")


@attrs.frozen
class _UserRecord:
    """An attrs class of the caller's: the converter could write it, but it is no document."""

    name: str = SECRET


@attrs.frozen
class _Unresolvable:
    """A class whose annotation names nothing (as one only a type checker sees would)."""

    field: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821


_Unresolvable.__module__ = "treatplan._nowhere"


def _nested(depth: int) -> Any:
    value: Any = _PLAN
    for _ in range(depth):
        value = [value]
    return value


NOT_DOCUMENTS: list[tuple[str, Any]] = [
    ("nan", float("nan")),
    ("infinity", float("inf")),
    ("set", {1, 2}),
    ("dict", {SECRET: object()}),
    ("huge_int", 10**5000),
    ("text", SECRET),
    ("int", 42),
    ("none", None),
    ("bool", True),
    ("bytes", SECRET.encode()),
    ("enum", tp.Phase.ACTIVE),
    ("object", object()),
    ("list_with_text", [_PLAN, SECRET]),
    ("tuple_of_ints", (1, 2)),
    ("user_attrs_class", _UserRecord()),
    ("unresolvable_annotation", _Unresolvable(SECRET)),
    ("guards", tp.lifecycle.TRANSITIONS["refer"]),
    ("too_deep", _nested(tp._json.MAX_DEPTH + 1)),
    ("mapping_with_a_number_key", {1: _PLAN}),
    ("mapping_to_text", {"plan": SECRET}),
    ("mapping_to_nan", {"x": math.nan}),
]


@pytest.mark.parametrize(
    "value", [v for _, v in NOT_DOCUMENTS], ids=[name for name, _ in NOT_DOCUMENTS]
)
def test_to_dict_and_dumps_take_only_plans_and_their_parts(value: Any) -> None:
    for write in (tp.to_dict, tp.dumps):
        with pytest.raises(tp.ArgumentError) as caught:
            write(value)
        assert caught.value.parameter == "value"
        assert str(caught.value) == (
            "value: expected a treatplan plan or plan part (or a tuple or list of them, "
            "or a mapping from text to them)"
        )
        assert SECRET not in str(caught.value)


def test_to_dict_writes_parts_and_lists_of_them() -> None:
    rule = tp.rules.AnyOf([tp.rules.SessionLimit(3), tp.rules.GoalsMet()])
    assert tp.to_dict(()) == []
    assert tp.to_dict([rule, rule.rules[0]]) == [
        tp.to_dict(rule),
        {"kind": "session_limit", "max_sessions": 3, "count_missed": False},
    ]
    # Nested at run time as from_dict reads them; a type checker takes one level only.
    assert tp.to_dict(((rule,), [])) == [[tp.to_dict(rule)], []]  # type: ignore[arg-type]
    assert tp.to_dict(_nested(tp._json.MAX_DEPTH))  # as deep as a document may be
    assert tp.dumps(()) == "[]"
    assert tp.from_dict(tp.to_dict((rule,)), tuple[tp.rules.Rule, ...]) == (rule,)


def test_to_dict_writes_mappings_from_text_to_parts_as_objects() -> None:
    # What public functions return (plan_series) and hold (BUILTIN_INSTRUMENTS), and a
    # caller's own envelope: each a JSON object of the parts' documents.
    series = tp.instruments.plan_series(_PLAN)
    assert tp.to_dict(series) == {code: tp.to_dict(s) for code, s in series.items()}
    catalogue = tp.to_dict(tp.instruments.BUILTIN_INSTRUMENTS)  # a read-only mapping
    assert catalogue["PHQ-9"] == tp.to_dict(tp.instruments.PHQ9)
    envelope = {"plan": _PLAN, "rules": [tp.rules.GoalsMet()], "nested": {"plan": _PLAN}}
    written = json.loads(tp.dumps(envelope, indent=None))
    assert written["plan"] == written["nested"]["plan"] == tp.to_dict(_PLAN)
    assert written["rules"] == [tp.to_dict(tp.rules.GoalsMet())]
    assert tp.from_dict(written["plan"]) == _PLAN
    assert tp.to_dict([{"plan": _PLAN}]) == [{"plan": tp.to_dict(_PLAN)}]


def test_dumps_refuses_a_number_json_cannot_hold_without_quoting_it() -> None:
    # Results such as cut-offs are computed, not checked as a plan's fields are.
    cutoffs = tp.change.Cutoffs(float("nan"), 1.5, 2.5)
    assert tp.to_dict(cutoffs)["b"] == 1.5
    with pytest.raises(tp.ArgumentError) as caught:
        tp.dumps(cutoffs)
    assert str(caught.value) == (
        "value: expected a treatplan plan or plan part holding only finite numbers"
    )
    assert caught.value.__context__ is None  # json's message, naming the value, is not chained


@pytest.mark.parametrize(
    "kind", [_UserRecord, type(tp.lifecycle.TRANSITIONS["refer"]), tuple[_UserRecord, ...]]
)
def test_from_dict_reads_only_what_to_dict_writes(kind: Any) -> None:
    with pytest.raises(tp.ArgumentError) as caught:
        tp.from_dict({"name": SECRET}, kind)
    assert caught.value.parameter == "kind"
