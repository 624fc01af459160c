"""The generated JSON Schema: shipped as generated, valid, and true to the loader.

Two directions:
- every document treatplan writes validates against the schema (hand-built plans
  covering every part and union member, the examples, the golden files, and the
  public hypothesis strategies when they are available);
- every document generated *from* the schema either loads or raises
  :class:`treatplan.ValidationError`, nothing else (the schema describes shapes;
  the loader also checks references and the lifecycle history).

hypothesis-jsonschema does not run with the hypothesis release in use, so a
small generator for the keywords the schema uses lives below.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _schema, strategies
from treatplan._cli import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "treatplan" / "schema" / f"plan-v{tp.SCHEMA_VERSION}.schema.json"
REGENERATE = (
    "the model changed: regenerate the shipped schema with\n"
    '  python -c "from treatplan._schema import schema_text; import sys; '
    'sys.stdout.write(schema_text())" > ' + str(SHIPPED.relative_to(ROOT))
)

SCHEMA = tp.document.json_schema()
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def errors(doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]


# --------------------------------------------------------------------------- the file
def test_shipped_schema_equals_generated() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == _schema.schema_text(), REGENERATE


def test_shipped_schema_is_read_from_the_installed_package() -> None:
    assert _schema.shipped_schema_text() == SHIPPED.read_text(encoding="utf-8")


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == f"urn:treatplan:schema:plan:v{tp.SCHEMA_VERSION}"


def test_cli_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == SHIPPED.read_text(encoding="utf-8")
    assert json.loads(out)["$defs"]["TreatmentPlan"]["properties"]["schema_version"] == {
        "description": "The document layout version.",
        "const": tp.SCHEMA_VERSION,
    }


def test_cli_schema_refuses_unknown_versions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["schema", "--schema-version", str(tp.SCHEMA_VERSION + 1)])
    assert caught.value.code == 2
    assert "those this release ships" in capsys.readouterr().err


# --------------------------------------------------------------------------- structure
UNIONS = ("Target", "Rule")


def test_every_object_forbids_unknown_keys_and_names_required_keys() -> None:
    objects = {
        n: d
        for n, d in SCHEMA["$defs"].items()
        if d.get("type") == "object" and n not in UNIONS  # a union's members say so
    }
    assert {"TreatmentPlan", "Goal", "Objective", "Session", "Transition"} <= set(objects)
    for name, definition in objects.items():
        assert definition["additionalProperties"] is False, name
        assert set(definition["required"]) <= set(definition["properties"]), name


def test_tagged_unions_dispatch_on_kind() -> None:
    defs = SCHEMA["$defs"]
    for union, members in (
        ("Target", tp.ObjectiveTarget.__args__),
        ("Rule", tp.rules.Rule.__args__),
    ):
        branches = defs[union]["allOf"]
        refs = [b["then"]["$ref"].split("/")[-1] for b in branches]
        assert refs == [m.__name__ for m in members]
        kinds = [tp.to_dict(_tag(name))["kind"] for name in refs]
        assert defs[union]["required"] == ["kind"]
        assert defs[union]["properties"]["kind"] == {"enum": kinds}
        for name, kind, branch in zip(refs, kinds, branches, strict=True):
            # The if requires the kind: a rule without one matches no branch.
            assert branch["if"] == {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"const": kind}},
            }
            assert defs[name]["required"][0] == "kind"
            assert defs[name]["properties"]["kind"] == {"const": kind}
    # The rule union is recursive through any_of / all_of.
    assert defs["AnyOf"]["properties"]["rules"]["items"] == {"$ref": "#/$defs/Rule"}


def _tag(name: str) -> Any:
    samples: dict[str, Any] = {
        "MeasureTarget": tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
        "GasTarget": tp.GasTarget(),
        "BehaviourTarget": tp.BehaviourTarget(
            "walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK
        ),
    }
    if name in samples:
        return samples[name]
    rule = getattr(tp.rules, name)
    for args in ((), (1,), (1, 2), ((tp.rules.ClientRequest(),),)):
        try:
            return rule(*args)
        except (TypeError, tp.ValidationError):
            continue
    raise AssertionError(name)  # pragma: no cover


def test_validator_bounds_reach_the_schema() -> None:
    defs = SCHEMA["$defs"]
    assert defs["GasTarget"]["properties"]["level"] == {
        "type": "integer",
        "minimum": -2,
        "maximum": 2,
    }
    duration = defs["Session"]["properties"]["duration_minutes"]["anyOf"][0]
    assert (duration["minimum"], duration["maximum"]) == (1, 24 * 60)
    assert defs["Diagnosis"]["properties"]["code"]["pattern"] == _schema.REF_PATTERN
    history = defs["TreatmentPlan"]["properties"]["history"]
    assert history["minItems"] == 1
    at = defs["Transition"]["properties"]["at"]
    assert at["format"] == "date-time"
    assert defs["Objective"]["properties"]["target_date"]["format"] == "date"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-01-05T09:00:00+00:00", True),
        ("2026-01-05T09:00:00.250000-05:00", True),
        ("2026-01-05T09:00:00Z", True),
        ("1890-01-05T09:00:00+00:53:28", False),  # RFC 3339: no seconds in the offset
        ("2026-01-05 09:00:00+00:00", False),
        ("2026-01-05T09:00+00:00", False),
        ("2026-01-05T09:00:00", False),  # naive: the loader refuses it
        ("2026-01-05", False),
        ("2026-01-05T09:00:00+05:59", True),
        ("2026-01-05T09:00:00+23:59", True),
        ("2026-01-05T09:00:00+05:60", False),  # fromisoformat would read +06:00
        ("2026-01-05T09:00:00+00:99", False),
        ("2026-01-05T09:00:00+24:00", False),
        ("2026-01-05T23:59:60+00:00", False),  # leap second: Python has none
        ("2026-13-05T09:00:00+00:00", False),
        ("2026-01-32T09:00:00+00:00", False),
        ("2026-01-05T24:00:00+00:00", False),
        ("1899-12-31T23:00:00-05:00", True),  # 1900-01-01T04:00Z: in range
        ("2200-01-01T00:30:00+05:00", True),  # 2199-12-31T19:30Z: in range
        ("1898-12-31T23:00:00+00:00", False),
        ("2201-01-01T00:00:00+00:00", False),
        ("2026-01-05T09:00:00+00:00\n", False),  # Python's $ would allow this
        ("２０２６-01-05T09:00:00+00:00", False),
    ],
)
def test_datetime_pattern_requires_an_offset(text: str, ok: bool) -> None:
    assert bool(re.search(_schema.DATETIME_PATTERN, text)) is ok


# --------------------------------------------------------------------------- writer -> schema
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))


def rich_plan(close: bool = True) -> tp.TreatmentPlan:
    """A plan touching every part of the model and every union member."""
    plan = tp.TreatmentPlan.refer(
        "plan-1",
        "client-1",
        at=T0,
        by="gp-1",
        reason="GP referral",
        client_factors=tp.ClientFactors(
            tp.Readiness.PREPARATION,
            tp.SupportLevel.LIMITED,
            (
                tp.Barrier(tp.BarrierKind.TRANSPORT, "video sessions"),
                tp.Barrier(tp.BarrierKind.COST),
            ),
        ),
        custom_instruments=(
            tp.Instrument(
                code="MY-5",
                name="My five-item scale",
                item_count=5,
                item_min=0,
                item_max=4,
                bands=(tp.instruments.Band("low", 0, 9), tp.instruments.Band("high", 10, 20)),
                caseness_cutoff=10,
                reliable_change=4,
                reverse_items=(2,),
                item_choices=(tp.instruments.ItemChoices(5, (0, 2, 4)),),
                risk_items=(tp.instruments.RiskItem(1, 3, "risk-flag"),),
                max_missing=1,
            ),
        ),
    )
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=T0 + timedelta(days=7), by="clin-1")
    plan = tp.record_assessment(
        plan,
        tp.Assessment("a-1", "PHQ-9", T0 + timedelta(days=7), items=(2, 2, 2, 1, 1, 2, 1, 1, 0)),
    )
    plan = tp.record_assessment(
        plan, tp.Assessment("a-2", "MY-5", T0 + timedelta(days=7), items=(1, 2, None, 0, 4))
    )
    plan = tp.revise(
        plan,
        presenting_problems=[
            tp.PresentingProblem(
                "p-1",
                "Low mood",
                ("Stays in bed",),
                tp.Diagnosis("F32.1", tp.CodeSystem.ICD_10_CM),
            )
        ],
        goals=[
            tp.Goal(
                "g-1",
                "Feel like myself again",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                (
                    tp.Objective(
                        "o-1",
                        "PHQ-9 below 10",
                        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
                        date(2026, 4, 1),
                    ),
                    tp.Objective(
                        "o-2",
                        "Walk three times a week",
                        tp.BehaviourTarget(
                            "walks", tp.Comparator.AT_LEAST, 3, "walks", tp.CountPeriod.WEEK
                        ),
                        date(2026, 3, 1),
                        achievement=tp.AchievementStatus.IMPROVING,
                    ),
                    tp.Objective(
                        "o-3",
                        "See a friend most weeks",
                        tp.GasTarget(level=1, weight=2.5),
                        date(2026, 4, 1),
                    ),
                ),
                addresses=("p-1",),
            )
        ],
        interventions=[
            tp.Intervention(
                "i-1",
                tp.Modality.CBT,
                "Cognitive restructuring",
                serves=("o-1", "o-2", "o-3"),
                schedule=tp.Schedule(T0 + timedelta(days=14), "FREQ=WEEKLY;COUNT=8"),
                delivered_by="clin-1",
            )
        ],
        discharge_criteria=tp.rules.AnyOf(
            (
                tp.rules.GoalsMet(("o-1",)),
                tp.rules.AllOf(
                    (tp.rules.SessionLimit(8, count_missed=True), tp.rules.TimeLimit(120))
                ),
                tp.rules.ConsecutiveMissed(2),
                tp.rules.MissedInWindow(1, 6),
                tp.rules.MissedWithinDays(3, 90),
                tp.rules.Inactivity(42),
                tp.rules.ClientRequest(),
            )
        ),
    )
    plan = tp.fire(plan, tp.Event.AGREE_PLAN, at=T0 + timedelta(days=8), by="clin-1")
    plan = tp.record_session(
        plan,
        tp.Session(
            "s-1",
            T0 + timedelta(days=14),
            tp.Attendance.ATTENDED,
            ("i-1",),
            (tp.Assessment("a-3", "PHQ-9", T0 + timedelta(days=14), total=12.5),),
            duration_minutes=50,
            note="Homework agreed",
        ),
    )
    plan = tp.record_session(
        plan, tp.Session("s-2", T0 + timedelta(days=21), tp.Attendance.DID_NOT_ATTEND)
    )
    plan = tp.record_review(
        plan,
        tp.ProgressReview(
            "r-1",
            T0 + timedelta(days=22),
            tp.ReviewDecision.BEGIN_ENDING,
            (tp.ObjectiveProgress("o-3", tp.AchievementStatus.ACHIEVED, gas_level=1),),
            next_review=date(2026, 3, 1),
            by="clin-1",
            client_requested_ending=True,
        ),
    )
    if close:
        plan = tp.fire(
            plan, tp.Event.BEGIN_ENDING, at=T0 + timedelta(days=23), by="clin-1", reason="asked"
        )
        plan = tp.fire(
            plan, tp.Event.COMPLETE, at=T0 + timedelta(days=30), by="clin-1", reason="done"
        )
    return plan


@pytest.mark.parametrize("close", [False, True])
def test_hand_built_plans_validate(close: bool) -> None:
    doc = tp.to_dict(rich_plan(close))
    assert errors(doc) == []
    assert tp.from_dict(doc) == rich_plan(close)


def test_a_just_referred_plan_validates() -> None:
    plan = tp.TreatmentPlan.refer("p", "c", at=datetime(2026, 1, 1, tzinfo=UTC), by="gp")
    assert errors(tp.to_dict(plan)) == []


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "examples").glob("*.json")) + sorted((ROOT / "tests/golden").glob("v*/*.json")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_example_and_golden_documents_validate(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema_version") == tp.SCHEMA_VERSION:
        assert errors(doc) == []
    else:  # pragma: no cover - older golden files validate once migrated
        assert errors(tp.document.migrate(doc)) == []


@given(strategies.plan_documents())
def test_every_generated_plan_validates(doc: dict[str, Any]) -> None:
    assert errors(doc) == []


def _validates_as(name: str, value: Any) -> list[str]:
    sub = {"$defs": DEFS_ALL, "$ref": f"#/$defs/{name}"}
    validator = jsonschema.Draft202012Validator(sub)
    return [e.message[:200] for e in validator.iter_errors(tp.to_dict(value))]


DEFS_ALL: dict[str, Any] = SCHEMA["$defs"]


@given(strategies.termination_rules())
def test_every_generated_rule_validates(rule: tp.rules.Rule) -> None:
    assert _validates_as("Rule", rule) == []


@given(strategies.targets())
def test_every_generated_target_validates(target: tp.ObjectiveTarget) -> None:
    assert _validates_as("Target", target) == []


@given(strategies.instruments())
def test_every_generated_instrument_validates(instrument: tp.Instrument) -> None:
    assert _validates_as("Instrument", instrument) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(surprise=1), []),
        (lambda d: d.pop("phase"), []),
        (lambda d: d.update(schema_version=tp.SCHEMA_VERSION + 1), ["schema_version"]),
        (lambda d: d["history"][0].update(at="2026-01-05T09:00:00"), ["history", 0, "at"]),
        (lambda d: d["goals"][0]["objectives"][0]["target"].update(kind="gas_level"), None),
        (lambda d: d["goals"][0]["objectives"][2]["target"].update(level=3), None),
        (lambda d: d.update(outcome=None), []),  # closed without its outcome
        (lambda d: d["discharge_criteria"].update(rules=[]), None),
        (lambda d: d["sessions"][0].update(attendance="late"), None),
        (lambda d: d["sessions"][0].update(attendance="did_not_attend"), ["sessions", 0]),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(change: Any, where: list[Any] | None) -> None:
    doc = tp.to_dict(rich_plan())
    change(doc)
    found = list(VALIDATOR.iter_errors(doc))
    assert found
    if where is not None:
        assert any(list(e.absolute_path)[: len(where)] == where for e in found)
    with pytest.raises(tp.ValidationError):
        tp.from_dict(doc)


# --------------------------------------------------------------------------- schema -> loader
DEFS: dict[str, Any] = SCHEMA["$defs"]
MAX_ITEMS = 3
MAX_DEPTH = 3


def _recursive(name: str) -> bool:
    """Whether definition ``name`` can reach itself through $refs."""

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            out = {node["$ref"].split("/")[-1]} if "$ref" in node else set()
            for value in node.values():
                out |= refs(value)
            return out
        if isinstance(node, list):
            return set().union(*(refs(x) for x in node)) if node else set()
        return set()

    seen: set[str] = set()
    todo = list(refs(DEFS[name]))
    while todo:
        current = todo.pop()
        if current == name:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(refs(DEFS[current]))
    return False


RECURSIVE = {name for name in DEFS if _recursive(name)}
_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=_offsets
).map(datetime.isoformat)


def from_schema(node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid against ``node`` (the keywords treatplan's schema uses)."""
    if "$ref" in node:
        name = node["$ref"].split("/")[-1]
        return st.deferred(lambda: from_schema(DEFS[name], depth + (name in RECURSIVE)))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "allOf" in node and all("if" in b for b in node["allOf"]):  # a union on kind
        members = [b["then"] for b in node["allOf"]]
        if depth >= MAX_DEPTH:  # stop recursing: only members that cannot nest
            members = [m for m in members if m["$ref"].split("/")[-1] not in {"AnyOf", "AllOf"}]
        return st.one_of(*(from_schema(m, depth) for m in members))
    if "anyOf" in node and node.get("type") != "object":
        return st.one_of(*(from_schema(b, depth) for b in node["anyOf"]))
    kind = node.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(node["minimum"], node["maximum"])
    if kind == "number":
        if "exclusiveMinimum" in node:  # e.g. a GAS weight: above 0; a fraction below 1
            low, high = node["exclusiveMinimum"], node["maximum"]
            below = "exclusiveMaximum" in node
            floats = st.floats(low, high, allow_nan=False, exclude_min=True, exclude_max=below)
            whole = range(int(low) + 1, int(high) + (0 if below else 1))
            return st.integers(whole.start, whole.stop - 1) | floats if whole else floats
        low, high = node["minimum"], node["maximum"]
        return st.integers(int(low), int(high)) | st.floats(low, high, allow_nan=False)
    if kind == "string":
        return _strings(node)
    if kind == "array":
        size = min(node.get("maxItems", MAX_ITEMS), MAX_ITEMS)
        return st.lists(
            from_schema(node["items"], depth),
            min_size=node.get("minItems", 0),
            max_size=max(size, node.get("minItems", 0)),
            unique_by=(lambda x: json.dumps(x, sort_keys=True))
            if node.get("uniqueItems")
            else None,
        )
    if kind == "object":
        return _objects(node, depth)
    raise AssertionError(f"no generator for {node}")  # pragma: no cover


def _strings(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if node.get("format") == "date-time":
        return _datetimes
    if node.get("format") == "date":
        return st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(date.isoformat)
    pattern = node.get("pattern")
    if pattern is not None and pattern != _schema.TEXT_PATTERN:
        return st.from_regex(pattern, fullmatch=True)
    low, high = node.get("minLength", 0), min(node.get("maxLength", 40), 40)
    text = st.text(min_size=low, max_size=high)
    if pattern is not None:
        text = text.filter(lambda s: re.search(pattern, s) is not None)
    return text


@st.composite
def _objects(draw: st.DrawFn, node: dict[str, Any], depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = dict(node["properties"])
    required = set(node.get("required", ()))
    # An object-level anyOf (Assessment: items or a total) and if/then/else (closed
    # plans and transitions carry an outcome) narrow some properties.
    narrowed: dict[str, Any] = {}
    if "anyOf" in node:
        branch = draw(st.sampled_from(node["anyOf"]))
        required |= set(branch.get("required", ()))
        for key, extra in branch.get("properties", {}).items():
            narrowed[key] = (properties[key], extra)
    chosen = [k for k in properties if k in required or draw(st.booleans())]
    out = {}
    for key in chosen:
        value_strategy = from_schema(properties[key], depth)
        if key in narrowed:
            check = jsonschema.Draft202012Validator(narrowed[key][1]).is_valid
            value_strategy = value_strategy.filter(check)
        out[key] = draw(value_strategy)
    if "if" in node:
        holds = jsonschema.Draft202012Validator(node["if"]).is_valid(out)
        branch = node.get("then" if holds else "else", {})
        for key in branch.get("required", ()):
            out.setdefault(key, None)
        for key, sub in branch.get("properties", {}).items():
            if key in out:
                out[key] = draw(from_schema(_narrow(properties[key], sub), depth))
    return out


def _narrow(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A branch's property schema, completed by the base one when it only adds bounds
    (a "type" the base has too, repeated for ajv's strict mode, adds nothing)."""
    same_type = "type" in extra and extra["type"] == base.get("type")
    if any(k in extra for k in ("const", "enum", "$ref", "anyOf", "oneOf")) or (
        "type" in extra and not same_type
    ):
        return extra
    return {**base, **extra}


@given(from_schema(SCHEMA))
def test_documents_generated_from_the_schema_load_or_raise_validation_error(doc: Any) -> None:
    assert VALIDATOR.is_valid(doc), errors(doc)
    try:
        plan = tp.from_dict(copy.deepcopy(doc))
    except tp.ValidationError as exc:
        problems = exc.problems
    else:
        assert tp.loads(tp.dumps(plan)) == plan
        return
    assert problems
    assert all(p.path.startswith("$") for p in problems)


_PLAN_DOC = tp.to_dict(rich_plan())
_PLAN_PROPERTIES = DEFS["TreatmentPlan"]["properties"]


@given(st.data())
def test_valid_plans_with_one_part_from_the_schema_load_or_raise_validation_error(
    data: st.DataObject,
) -> None:
    # Splicing a schema-generated part into a valid plan reaches the loader's deeper checks.
    key = data.draw(st.sampled_from(sorted(set(_PLAN_PROPERTIES) - {"schema_version", "phase"})))
    doc = copy.deepcopy(_PLAN_DOC)
    doc[key] = data.draw(from_schema(_PLAN_PROPERTIES[key]))
    if key == "history" or key == "outcome":
        doc["phase"], doc["outcome"] = _derived(doc)
    if not VALIDATOR.is_valid(doc):
        return  # the outcome/phase rule may not hold for a spliced history
    try:
        tp.from_dict(doc)
    except tp.ValidationError as exc:
        problems = exc.problems
    else:
        return
    assert problems


def _derived(doc: dict[str, Any]) -> tuple[Any, Any]:
    last = doc["history"][-1]
    return last["target"], last.get("outcome")


# --------------------------------------------------------------------------- generator
def test_the_generator_maps_every_type_form_a_field_may_take() -> None:
    # Forms the model does not use today, mapped so that a field using one gets a
    # schema rather than an error: a literal, null, a union of plain types.
    from typing import Literal

    generator = _schema._Generator()
    key = ("Example", "field")
    assert generator._type(Literal["weekly"], {}, key) == {"const": "weekly"}
    assert generator._type(type(None), {}, key) == {"type": "null"}
    either = generator._type(bool | str, {}, key)
    assert either == {"anyOf": [{"type": "boolean"}, {"type": "string"}]}
    maybe = generator._type(bool | str | None, {}, key)
    assert maybe == {"anyOf": [either, {"type": "null"}]}


def test_validators_combined_with_and_give_the_facts_of_each() -> None:
    import attrs

    from treatplan import _validation as v

    alone = _schema._validator_facts(v.integer(low=1, high=5))
    combined = _schema._validator_facts(attrs.validators.and_(v.integer(low=1, high=5)))
    assert combined == alone
    assert combined["leaf"] == {"minimum": 1, "maximum": 5}


def test_a_definition_renamed_within_version_1_keeps_its_old_name_as_an_alias() -> None:
    # Another schema's "$ref" to .../$defs/GoalStatus still resolves under the same $id.
    alias = SCHEMA["$defs"]["GoalStatus"]
    assert alias == {"$ref": "#/$defs/ObjectiveStatus", "deprecated": True}
    assert "active" in SCHEMA["$defs"]["ObjectiveStatus"]["enum"]
