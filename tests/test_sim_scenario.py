"""Scenarios: defaults, JSON round trip, errors with paths and no values."""

from __future__ import annotations

import json
import pickle

import attrs
import pytest

import treatplan as tp
from treatplan.sim import DEFAULT_SCENARIO, Capacity, Policy, Scenario, load_scenario


def test_default_round_trips_through_json() -> None:
    text = DEFAULT_SCENARIO.to_json()
    assert Scenario.from_json(text) == DEFAULT_SCENARIO
    assert json.loads(text)["policy"]["ending_rules"]["kind"] == "any_of"


def test_partial_document_takes_defaults(tmp_path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"name": "short-course", "policy": {"review_every": 2}}')
    scenario = load_scenario(path)
    assert scenario.name == "short-course"
    assert scenario.policy.review_every == 2
    assert scenario.population == DEFAULT_SCENARIO.population


def test_ending_rules_are_real_rules() -> None:
    doc = DEFAULT_SCENARIO.to_dict()
    doc["policy"]["ending_rules"] = {"kind": "session_limit", "max_sessions": 6}
    scenario = Scenario.from_dict(doc)
    assert scenario.policy.ending_rules == tp.rules.SessionLimit(max_sessions=6)


def test_errors_name_every_path_and_never_the_value() -> None:
    bad = {
        "capacity": {"therapists": -3},
        "population": {"readiness": {"eager": 1.0}},
        "horizon": 5,
    }
    with pytest.raises(tp.ValidationError) as err:
        Scenario.from_dict(bad)
    paths = {p.path for p in err.value.problems}
    assert "$.capacity.therapists" in paths
    assert "$.population.readiness" in paths
    assert "$" in paths  # the unknown key "horizon", reported at its object
    assert "eager" not in str(err.value)
    assert "-3" not in str(err.value)


def test_unknown_rule_kind_is_reported_with_its_path() -> None:
    with pytest.raises(tp.ValidationError) as err:
        Scenario.from_dict({"policy": {"ending_rules": {"kind": "whenever"}}})
    assert err.value.problems[0].path.startswith("$.policy.ending_rules")


def test_malformed_json_is_a_validation_error() -> None:
    with pytest.raises(tp.ValidationError, match="well-formed JSON"):
        Scenario.from_json("{nope")
    with pytest.raises(tp.ValidationError):
        Scenario.from_dict([1, 2])


def test_capacity_starts_per_week() -> None:
    assert Capacity(therapists=10, caseload=20, course_weeks=10).starts_per_week == 20


def test_constructor_validates() -> None:
    with pytest.raises(tp.ValidationError):
        Policy(review_every=0)
    with pytest.raises(tp.ValidationError):
        attrs.evolve(DEFAULT_SCENARIO, horizon_weeks=0)


def test_simulated_sds_are_marked_as_unconfirmed_defaults() -> None:
    # Clinical review F13: the SDs behind the simulated SEM have no cited source.
    from treatplan.sim import Response

    doc = " ".join((Response.__doc__ or "").split())
    assert (Response().phq9_sd, Response().gad7_sd) == (5.5, 5.0)
    assert "``phq9_sd`` 5.5 and ``gad7_sd`` 5.0" in doc
    assert "configurable defaults (*unconfirmed*)" in doc


def test_default_session_limit_hides_howards_session_26_and_says_so() -> None:
    # Clinical review F16: the default SessionLimit(12) ends every course by session 12.
    limits = [
        r.max_sessions
        for r in DEFAULT_SCENARIO.policy.ending_rules.rules
        if hasattr(r, "max_sessions")
    ]
    assert limits == [12]
    doc = " ".join((Policy.__doc__ or "").split())
    assert "session 26" in doc
    assert "cannot be observed in the default scenario" in doc


def test_the_default_scenario_cannot_be_changed_under_later_runs() -> None:
    weights = DEFAULT_SCENARIO.population.readiness
    with pytest.raises(TypeError, match="read-only"):
        weights["action"] = 0.9  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        DEFAULT_SCENARIO.population.barriers.update(cost=1.0)
    assert weights["action"] == 0.30
    copy = pickle.loads(pickle.dumps(DEFAULT_SCENARIO))  # as sent to worker processes
    assert copy == DEFAULT_SCENARIO


@pytest.mark.parametrize(
    ("population", "path", "expected"),
    [
        ({"readiness": {}}, "$.population.readiness", "an object with weights for"),
        (
            {"support": {"none": -1, "strong": 1}},
            "$.population.support.none",
            "non-negative numbers",
        ),
        ({"support": {"none": 0, "strong": 0}}, "$.population.support", "not all zero"),
        ({"barriers": {"weather": 0.1}}, "$.population.barriers", "keys among"),
        ({"barriers": {"cost": 1.5}}, "$.population.barriers.cost", "probabilities from 0 to 1"),
    ],
)
def test_population_weights_and_probabilities_are_checked(
    population: dict[str, object], path: str, expected: str
) -> None:
    with pytest.raises(tp.ValidationError) as err:
        Scenario.from_dict({"population": population})
    assert [p.path for p in err.value.problems] == [path]
    assert expected in err.value.problems[0].expected
    assert "weather" not in str(err.value)


def test_population_weights_built_in_python_must_be_objects() -> None:
    from treatplan.sim import Population

    with pytest.raises(tp.ValidationError, match="an object with weights for"):
        Population(readiness=[1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(tp.ValidationError, match="an object with probabilities for"):
        Population(barriers=[0.1])  # type: ignore[arg-type]
