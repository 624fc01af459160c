"""The JSON Schema and the loader agree at their edges, and the schema stays cheap to apply.

- Validating nested termination rules takes work linear in their depth (the rule
  union dispatches on ``kind``; a ``oneOf`` made the work double with each level).
- "Blank" and "control character" mean the same to the loader, to the schema's text
  pattern under Python's ``re`` and under ECMA-262 (JSON Schema's regex dialect, run
  with node when it is installed), and to the public text strategy.
- Times: offsets in range only, no trailing line feed, the years a plan may hold.
- Behavioural definitions are free text like every other clinical text field.
- Errors say what was expected, at the path, for every malformed shape.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given

import treatplan as tp
from treatplan import _json, _schema, strategies
from treatplan import _validation as v
from treatplan.rules import MAX_RULE_DEPTH

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = tp.document.json_schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
BASE = json.loads((ROOT / "examples" / "adult-depression-cbt.json").read_text("utf-8"))
TEXT = re.compile(_schema.TEXT_PATTERN)


def problems(doc: Any) -> list[tuple[str, str]]:
    """What the loader says about ``doc`` (path, expected), both as data and as text."""
    found = []
    for load in (lambda: tp.from_dict(copy.deepcopy(doc)), lambda: tp.loads(json.dumps(doc))):
        try:
            load()
        except tp.ValidationError as exc:
            found.append([(p.path, p.expected) for p in exc.problems])
        else:
            found.append([])
    assert found[0] == found[1]
    return found[0]


def schema_accepts(doc: Any) -> bool:
    return bool(VALIDATOR.is_valid(doc))


def with_value(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    here = doc
    for step in path[:-1]:
        here = here[step]
    here[path[-1]] = value
    return doc


# --------------------------------------------------------------------------- nested rules
def nested(depth: int, bottom: dict[str, Any], *, kinds: bool = True) -> dict[str, Any]:
    rule = bottom
    for level in range(depth):
        kind = "any_of" if level % 2 else "all_of"
        rule = {"kind": kind, "rules": [rule]} if kinds else {"rules": [rule]}
    return with_value(["discharge_criteria"], rule)


def ref_calls(doc: Any) -> int:
    """How many ``$ref`` python-jsonschema follows to report every error in ``doc``:
    a count of the validator's work that no machine's speed changes."""
    calls = 0
    follow = jsonschema.Draft202012Validator.VALIDATORS["$ref"]

    def counting(validator: Any, ref: Any, instance: Any, schema: Any) -> Any:
        nonlocal calls
        calls += 1
        yield from follow(validator, ref, instance, schema)

    counted = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"$ref": counting})
    list(counted(SCHEMA).iter_errors(doc))
    return calls


BOTTOMS = {
    "valid": ({"kind": "client_request"}, True),
    "unknown key at the bottom": ({"kind": "client_request", "extra": 1}, True),
    "unknown kind at the bottom": ({"kind": "sometimes"}, True),
    "no kinds anywhere": ({"rules": []}, False),
}


@pytest.mark.parametrize("case", sorted(BOTTOMS))
def test_validating_rules_nested_to_the_loaders_limit_takes_linear_work(case: str) -> None:
    bottom, kinds = BOTTOMS[case]
    # Each level adds the same small amount of work. A oneOf over the 14 rule kinds
    # doubled it, so shallow depths are measured first: at the loader's limit
    # (MAX_RULE_DEPTH composites above a leaf rule) that schema would take hours.
    for depths in ((2, 3, 4), (MAX_RULE_DEPTH - 2, MAX_RULE_DEPTH - 1, MAX_RULE_DEPTH)):
        work = [ref_calls(nested(d, bottom, kinds=kinds)) for d in depths]
        assert work[2] - work[1] == work[1] - work[0] <= 4
    deepest = nested(MAX_RULE_DEPTH, bottom, kinds=kinds)
    if case == "valid":
        assert schema_accepts(deepest)
        assert problems(deepest) == []
    else:
        assert not schema_accepts(deepest)
        assert problems(deepest)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (5, "5 is not of type 'object'"),
        ({"rules": []}, "'kind' is a required property"),
        ({"kind": "sometimes"}, "'sometimes' is not one of ['goals_met', "),
    ],
)
def test_a_rule_without_a_kind_gets_one_error_not_one_per_kind(rule: Any, message: str) -> None:
    doc = {"kind": "any_of", "rules": [{"kind": "client_request"}, rule]}
    validator = jsonschema.Draft202012Validator({"$defs": DEFS, "$ref": "#/$defs/Rule"})
    [error] = validator.iter_errors(doc)
    assert error.message.startswith(message)
    assert list(error.absolute_path)[:2] == ["rules", 1]


def test_no_recursive_definition_holds_a_union_over_recursive_definitions() -> None:
    # What makes the work exponential: a oneOf/anyOf whose branches recurse. Tagged
    # unions dispatch with if/then on kind instead, and no oneOf is left anywhere.
    assert '"oneOf"' not in json.dumps(SCHEMA)

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            out = {node["$ref"].split("/")[-1]} if "$ref" in node else set()
            return out.union(*(refs(x) for x in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(x) for x in node))
        return set()

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(refs(DEFS[start]))
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(refs(DEFS[name]))
        return seen

    recursive = {name for name in DEFS if name in reaches(name)}
    assert recursive == {"Rule", "AnyOf", "AllOf"}

    def unions(node: Any) -> list[list[Any]]:
        if isinstance(node, dict):
            own = [node[k] for k in ("anyOf", "oneOf") if k in node]
            return own + [u for x in node.values() for u in unions(x)]
        if isinstance(node, list):
            return [u for x in node for u in unions(x)]
        return []

    for name in recursive:
        for branches in unions(DEFS[name]):
            assert not refs(branches) & recursive, name


# --------------------------------------------------------------------------- blank text


def _sample_characters() -> list[str]:
    """Every character of the Basic Multilingual Plane but surrogates, and some astral ones."""
    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    return [*bmp, "\U0001f600", "\U00010000", "\U0010fffd"]


def test_the_text_pattern_is_the_text_validator_under_python_re() -> None:
    for ch in _sample_characters():
        for text in (ch, "a" + ch, ch + "a", " " + ch):
            assert (TEXT.search(text) is not None) == v.is_text(text), (hex(ord(ch)), text)


@pytest.mark.skipif(shutil.which("node") is None, reason="node (ECMA-262 regexes) not installed")
def test_the_text_pattern_is_the_text_validator_under_ecma_262(tmp_path: Path) -> None:
    cases = [
        [text, v.is_text(text)]
        for ch in _sample_characters()
        for text in (ch, "a" + ch, ch + "a", " " + ch)
    ]
    cases += [["a\n", True], ["x" * 50, True], ["", False], ["\ufeff\n\ufeff", False]]
    data = tmp_path / "cases.json"
    data.write_text(json.dumps({"pattern": _schema.TEXT_PATTERN, "cases": cases}), "utf-8")
    script = (
        "const d = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));"
        "for (const flags of ['u', '']) { const re = new RegExp(d.pattern, flags);"
        "  const bad = d.cases.filter(([t, ok]) => re.test(t) !== ok).length;"
        "  console.log(flags + ':' + bad); }"
    )
    out = subprocess.run(
        ["node", "-e", script, str(data)], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["u:0", ":0"]  # no disagreement, with the unicode flag (ajv) or without


@pytest.mark.parametrize("blank", sorted(set(v.BLANK)))
def test_a_blank_text_is_refused_by_the_loader_and_the_schema(blank: str) -> None:
    for text in (blank, blank * 3, " " + blank + "\n"):
        doc = with_value(["goals", 0, "statement"], text)
        assert not schema_accepts(doc)
        assert problems(doc)
        assert problems(doc)[0][0] == "$.goals[0].statement"


def test_python_and_ecma_whitespace_are_both_blank() -> None:
    python = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    # ECMA-262 \s: WhiteSpace (with U+FEFF) and LineTerminator.
    ecma = set("\t\n\x0b\x0c\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff")
    ecma |= {chr(c) for c in range(0x2000, 0x200B)}
    assert set(v.BLANK) == python | ecma
    assert v.is_blank("\ufeff \ufeff")
    assert v.is_blank("")
    assert not v.is_blank("\ufeffa")


def test_a_text_of_a_byte_order_mark_is_no_text() -> None:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(tp.ValidationError) as caught:
        tp.TreatmentPlan.refer("p-1", "c-1", at=at, by="gp-1", reason="\ufeff")
    assert caught.value.problems[0].expected == "a non-empty string"
    # fire reads a blank reason as no reason, U+FEFF included.
    plan = tp.TreatmentPlan.refer("p-1", "c-1", at=at, by="gp-1")
    fired = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=at, by="c-1", reason="\ufeff\n")
    assert fired.history[-1].reason is None


@given(strategies.clinical_texts())
def test_generated_texts_are_text_to_the_loader_and_to_the_schema(text: str) -> None:
    assert v.is_text(text)
    assert TEXT.search(text) is not None


# --------------------------------------------------------------------------- definitions
DEFINITION = ["presenting_problems", 0, "behavioural_definitions", 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stays in bed\x00", v.STORABLE_TEXT),
        ("\x1b[2J", v.STORABLE_TEXT),
        ("   ", "a non-empty string"),
        ("\ufeff", "a non-empty string"),
        ("", "a non-empty string"),
        ("x" * (v.MAX_TEXT + 1), f"a string of at most {v.MAX_TEXT} characters"),
        ("a\ud800b", "valid Unicode text (no lone surrogates)"),
    ],
)
def test_behavioural_definitions_are_free_text(text: str, expected: str) -> None:
    doc = with_value(DEFINITION, text)
    assert problems(doc) == [("$.presenting_problems[0].behavioural_definitions[1]", expected)]
    if "\ud800" not in text:  # python-jsonschema's re cannot tell; ECMA's u-flag can
        assert not schema_accepts(doc)
    with pytest.raises(tp.ValidationError) as caught:
        tp.PresentingProblem("p-1", "Low mood", ("fine", text))
    assert caught.value.problems[0].path == "$.behavioural_definitions[1]"


def test_behavioural_definitions_of_the_longest_length_load() -> None:
    doc = with_value(DEFINITION, "x" * v.MAX_TEXT)
    assert schema_accepts(doc)
    assert problems(doc) == []


def test_behavioural_definitions_must_be_a_list_of_at_most_100_strings() -> None:
    assert problems(with_value(DEFINITION[:-1], ["x"] * 101)) == [
        ("$.presenting_problems[0].behavioural_definitions", "a list of 0 to 100 strings")
    ]
    assert not schema_accepts(with_value(DEFINITION[:-1], ["x"] * 101))
    with pytest.raises(tp.ValidationError) as caught:
        tp.PresentingProblem("p-1", "Low mood", ("fine", 5))  # type: ignore[arg-type]
    assert caught.value.problems[0].path == "$.behavioural_definitions[1]"


# --------------------------------------------------------------------------- times
AT = ["history", 0, "at"]


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-05T09:00:00+05:60",
        "2026-01-05T09:00:00+00:99",
        "2026-01-05T09:00:00-24:00",
        "2026-01-05T09:00:00+00:00\n",
        "2026-01-05T09:00:00Z\n",
    ],
)
def test_offsets_out_of_range_are_refused_not_rewritten(text: str) -> None:
    doc = with_value(AT, text)
    found = problems(doc)
    assert found
    assert found[0][0] == "$.history[0].at"
    assert "RFC 3339" in found[0][1]
    assert not schema_accepts(doc)
    # Both readers refuse it: the quick one declines, the detailed one says why.
    with pytest.raises(_json._Slow):
        _json._Times()[text]
    with pytest.raises(_json._Expected):
        _json._structure_datetime(text, datetime)


def test_the_largest_offsets_load() -> None:
    minimal = json.loads((ROOT / "tests/golden/v1/minimal-referral.json").read_text("utf-8"))
    assert len(minimal["history"]) == 1
    for offset in ("+23:59", "-23:59", "+14:00", "Z"):
        doc = copy.deepcopy(minimal)
        doc["history"][0]["at"] = "2026-01-05T09:00:00" + offset
        assert schema_accepts(doc), offset
        assert problems(doc) == [], offset


@pytest.mark.parametrize("value", ["client-1\n", "client 1", ""])
def test_references_end_where_the_text_ends(value: str) -> None:
    doc = with_value(["client_ref"], value)
    assert not schema_accepts(doc)
    assert problems(doc)[0][0] == "$.client_ref"


@pytest.mark.parametrize("until", ["٢٠٢٦0301T000000Z", "２０２６0301T000000Z"])
def test_rrule_until_takes_ascii_digits_only(until: str) -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with pytest.raises(tp.ValidationError) as caught:
        tp.Schedule(start, f"FREQ=WEEKLY;UNTIL={until}")
    assert "UNTIL" in caught.value.problems[0].expected
    assert tp.Schedule(start, "FREQ=WEEKLY;UNTIL=20260301T000000Z").rrule


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("kind", ["plateau", "sustained_recovery", "reliable_deterioration"])
def test_a_measure_rule_names_at_least_one_instrument(kind: str) -> None:
    rule = {"kind": kind, "instruments": []}
    doc = with_value(["discharge_criteria"], rule)
    assert not schema_accepts(doc)
    assert problems(doc)[0][0] == "$.discharge_criteria.instruments"
    good = with_value(["discharge_criteria"], {"kind": kind, "instruments": ["PHQ-9"]})
    assert schema_accepts(good)
    assert problems(good) == []


@pytest.mark.parametrize("warn_at", [[0.0], [1.0], [1.5], [0.8, 0.8], [0.1] * 21])
def test_authorisation_warnings_are_fractions_in_both(warn_at: list[float]) -> None:
    rule = {"kind": "authorisation_used", "authorised_sessions": 10, "warn_at": warn_at}
    doc = with_value(["discharge_criteria"], rule)
    assert not schema_accepts(doc)
    assert problems(doc)


def test_record_lists_are_capped_at_the_loaders_limit() -> None:
    props = DEFS["TreatmentPlan"]["properties"]
    for name in ("history", "sessions", "assessments", "reviews"):
        assert props[name]["maxItems"] == tp.document.MAX_RECORDS, name


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("path", "value", "where", "expected"),
    [
        (
            ["interventions", 0, "schedule"],
            "x",
            "$.interventions[0].schedule",
            "an object (a Schedule) or null",
        ),
        (
            ["presenting_problems", 0, "diagnosis"],
            5,
            "$.presenting_problems[0].diagnosis",
            "an object (a Diagnosis) or null",
        ),
        (
            ["custom_instruments"],
            [
                {
                    "code": "X-1",
                    "name": "x",
                    "item_count": 1,
                    "item_min": 0,
                    "item_max": 3,
                    "norms": "x",
                }
            ],
            "$.custom_instruments[0].norms",
            "an object (a Norms) or null",
        ),
        (
            ["sessions", 0, "assessments", 0, "items", 4],
            "x",
            "$.sessions[0].assessments[0].items[4]",
            "an integer or null",
        ),
        (
            ["sessions", 0, "duration_minutes"],
            50.0,
            "$.sessions[0].duration_minutes",
            "an integer or null",
        ),
    ],
)
def test_a_malformed_part_gets_what_was_expected(
    path: list[Any], value: Any, where: str, expected: str
) -> None:
    assert problems(with_value(path, value)) == [(where, expected)]


@pytest.mark.parametrize("kind", [[], {}, ["any_of"], None, 5])
@pytest.mark.parametrize(
    ("path", "where", "first"),
    [
        (["discharge_criteria"], "$.discharge_criteria", "'goals_met'"),
        (["discharge_criteria", "rules", 1], "$.discharge_criteria.rules[1]", "'goals_met'"),
        (["goals", 0, "objectives", 0, "target"], "$.goals[0].objectives[0].target", "'measure'"),
    ],
)
def test_a_kind_that_is_no_string_names_the_kinds(
    kind: Any, path: list[Any], where: str, first: str
) -> None:
    doc = copy.deepcopy(BASE)
    here = doc
    for step in path:
        here = here[step]
    here["kind"] = kind
    [(found_at, expected)] = problems(doc)
    assert found_at == where
    assert expected.startswith("one of " + first)
    assert not schema_accepts(doc)


def test_a_document_nested_too_deep_for_the_parser_is_reported_as_too_deep() -> None:
    for text in ("[" * 200_000 + "]" * 200_000, '{"a":' * 200_000 + "1" + "}" * 200_000):
        with pytest.raises(tp.ValidationError) as caught:
            tp.loads(text)
        assert caught.value.problems[0].expected == (
            f"a document nested no deeper than {_json.MAX_DEPTH} levels"
        )
        assert caught.value.__context__ is None


def test_duplicate_keys_keep_the_last_value_as_documented() -> None:
    # Refusing them would cost about 10% of loads (benchmarks/bench_duplicate_keys.py):
    # docs/schema.md documents the behaviour instead.
    text = json.dumps(BASE)
    doubled = text.replace('"plan_id": ', '"plan_id": "first", "plan_id": ', 1)
    assert tp.loads(doubled).plan_id == BASE["plan_id"]
    assert "duplicate" in (ROOT / "docs" / "schema.md").read_text("utf-8")
