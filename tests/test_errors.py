"""The library's errors: problems with JSON paths, one error type for bad input."""

from __future__ import annotations

import copy as copy_module
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import TransitionError, TreatplanError, ValidationError
from treatplan import ValidationIssue as Problem
from treatplan._errors import _join


def test_problem_prints_path_and_expectation() -> None:
    problem = Problem("$.goals[1].objectives[0].target.threshold", "a finite number")
    assert str(problem) == "$.goals[1].objectives[0].target.threshold: a finite number"
    assert problem == Problem("$.goals[1].objectives[0].target.threshold", "a finite number")


def test_validation_error_lists_every_problem() -> None:
    error = ValidationError([Problem("$.a", "x"), Problem("$.b[0]", "y")], "invalid plan")
    assert error.problems == (Problem("$.a", "x"), Problem("$.b[0]", "y"))
    assert str(error) == "invalid plan: 2 problems\n  $.a: x\n  $.b[0]: y"
    single = ValidationError.at("$.c", "z")
    assert str(single) == "invalid input: 1 problem\n  $.c: z"


def test_validation_error_without_problems_still_has_one() -> None:
    error = ValidationError([], "invalid thing")
    assert error.problems == (Problem("$", "invalid thing"),)


def test_error_hierarchy() -> None:
    assert issubclass(ValidationError, TreatplanError)
    assert issubclass(ValidationError, ValueError)  # callers catching ValueError still work
    assert issubclass(TransitionError, TreatplanError)
    assert not issubclass(TransitionError, ValidationError)


@pytest.mark.parametrize(
    ("prefix", "path", "joined"),
    [
        ("$.goals[0]", "$", "$.goals[0]"),
        ("$.goals[0]", "$.statement", "$.goals[0].statement"),
        ("$.goals[0]", "$.objectives[1]", "$.goals[0].objectives[1]"),
        ("$", "$.a", "$.a"),
        ("$.a", ".b", "$.a.b"),
        ("$.a", "[3]", "$.a[3]"),
    ],
)
def test_paths_join(prefix: str, path: str, joined: str) -> None:
    assert _join(prefix, path) == joined


def test_prefixed_relocates_every_problem() -> None:
    error = ValidationError([Problem("$", "whole"), Problem("$.items[2]", "range")])
    moved = error.prefixed("$.sessions[3].assessments[0]")
    assert [p.path for p in moved.problems] == [
        "$.sessions[3].assessments[0]",
        "$.sessions[3].assessments[0].items[2]",
    ]
    assert [p.path for p in error.problems] == ["$", "$.items[2]"]  # the original is unchanged


@given(st.lists(st.tuples(st.from_regex(r"\$(\.[a-z]+|\[[0-9]\])*", fullmatch=True), st.text())))
def test_message_carries_every_problem_in_order(pairs: list[tuple[str, str]]) -> None:
    problems = [Problem(path, expected) for path, expected in pairs]
    error = ValidationError(problems)
    lines = str(error).split("\n")[1:]
    if problems:
        assert len(error.problems) == len(problems)
        assert str(error).count("\n  $") >= len(problems)
        assert lines[0].startswith(f"  {problems[0].path}: ")


def test_transition_error_names_phase_event_and_every_reason() -> None:
    error = TransitionError("assessing", "agree_plan", ["no baseline", "no goal"])
    assert error.phase == "assessing"
    assert error.event == "agree_plan"
    assert error.reasons == ("no baseline", "no goal")
    assert str(error) == "agree_plan is not allowed in phase assessing: no baseline; no goal"
    assert "not allowed" in str(TransitionError("closed", "pause", []))


def test_fire_raises_transition_error_with_the_failed_guards() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    plan = tp.TreatmentPlan.refer("p1", "c1", at=t0, by="gp")
    plan = tp.fire(plan, "begin_assessment", at=t0, by="c1")
    with pytest.raises(TransitionError) as caught:
        tp.fire(plan, "agree_plan", at=t0 + timedelta(days=1), by="c1")
    assert caught.value.phase == "assessing"
    assert caught.value.event == "agree_plan"
    assert len(caught.value.reasons) >= 2


def _every_error() -> list[TreatplanError]:
    from treatplan.sim import OutputExistsError, SweepError

    return [
        TreatplanError("plain"),
        ValidationError([Problem("$.a", "x"), Problem("$.b[0]", "y")], "invalid plan"),
        ValidationError.at("$.c", "z"),
        tp.LimitError([Problem("$", "at most 10 bytes")], "document too large"),
        tp.ArgumentError("clients", "an integer from 1"),
        tp.UnknownReferenceError("code", "a known instrument code"),
        TransitionError("referred", "agree_plan", ("no goals", "no interventions")),
        TransitionError("closed", "fire", ()),
        OutputExistsError("out_dir: expected an empty folder"),
        SweepError("holds another sweep"),
    ]


@pytest.mark.parametrize("error", _every_error(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_and_copies_as_itself(error: TreatplanError) -> None:
    # An error raised in a worker process (or on a Dask worker) is pickled to the
    # caller. Errors whose __init__ builds the message from its own arguments once
    # failed to unpickle (ArgumentError, TransitionError) or came back garbled.
    error.add_note("a note")
    for copy in (pickle.loads(pickle.dumps(error)), copy_module.deepcopy(error)):
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.args == error.args
        assert vars(copy) == vars(error)
        assert copy.__notes__ == ["a note"]


def test_every_library_error_class_is_covered_by_the_pickling_test() -> None:
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    covered = {type(e) for e in _every_error()}
    library = {c for c in subclasses(TreatplanError) if c.__module__.startswith("treatplan")}
    assert library <= covered
