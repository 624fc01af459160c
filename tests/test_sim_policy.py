"""Service policies: the default reproduces the built-in behaviour, other policies change
what they should, and runs stay byte-reproducible for any executor and chunking."""

from __future__ import annotations

import runpy
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

import treatplan as tp
from treatplan.sim import (
    DEFAULT_SCENARIO,
    ClientState,
    DefaultPolicy,
    Ending,
    Policy,
    ServicePolicy,
    _engine,
    simulate,
)
from treatplan.sim._engine import CLIENT_COLUMNS, ClientResult, WaitingList, simulate_client

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COL = {c: i for i, c in enumerate(CLIENT_COLUMNS)}
SEED = 5


class CoinFlipReviews(DefaultPolicy):
    """Reviews at random (from the policy's own stream), and a random short course."""

    def review_due(self, state: ClientState) -> bool:
        return state.rng.random() < 0.3 or state.asks_to_end

    def end(self, state: ClientState, verdict: tp.Verdict) -> Ending | None:
        if state.attended_now and state.rng.random() < 0.1:
            return Ending(tp.EpisodeOutcome.COMPLETED, "coin says so", "coin")
        return super().end(state, verdict)


def _admissions(n: int, scenario=DEFAULT_SCENARIO, seed: int = SEED):
    return WaitingList(scenario, seed).admissions(0, n)


def _one(args: tuple[object, ...]) -> ClientResult:
    scenario, seed, admission, policy = args
    return simulate_client(scenario, seed, admission, policy=policy)  # type: ignore[arg-type]


def _run(policy: ServicePolicy, n: int, executor: Executor | None = None) -> list[ClientResult]:
    jobs = [(DEFAULT_SCENARIO, SEED, a, policy) for a in _admissions(n)]
    if executor is None:
        return [_one(j) for j in jobs]
    return list(executor.map(_one, jobs, chunksize=7))


@pytest.fixture(scope="module")
def example() -> dict[str, object]:
    return runpy.run_path(str(EXAMPLES / "policy_comparison.py"), run_name="example")


def test_the_default_policy_satisfies_the_protocol() -> None:
    assert isinstance(DefaultPolicy(), ServicePolicy)
    assert isinstance(CoinFlipReviews(), ServicePolicy)


def test_passing_the_default_policy_changes_nothing() -> None:
    admissions = _admissions(40)
    for a in admissions:
        assert simulate_client(DEFAULT_SCENARIO, SEED, a) == simulate_client(
            DEFAULT_SCENARIO, SEED, a, policy=DefaultPolicy()
        )


def test_an_ending_is_a_completion_or_a_drop_out() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Ending(tp.EpisodeOutcome.TRANSFERRED, "moved away", "moved")


def test_a_random_policy_is_reproducible_across_executors() -> None:
    serial = _run(CoinFlipReviews(), 60)
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert _run(CoinFlipReviews(), 60, pool) == serial
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert _run(CoinFlipReviews(), 60, pool) == serial
    assert any(r.client[COL["ended_by"]] == "coin" for r in serial)


class _RefusesToDecide(DefaultPolicy):
    """A policy that raises a library error at the first review."""

    def decide(self, state: ClientState, findings: tp.Findings) -> tp.ReviewDecision:
        raise tp.ArgumentError("findings", "findings this policy understands")


def test_a_library_error_in_a_worker_process_reaches_the_caller_as_itself() -> None:
    # It once broke the process pool (BrokenProcessPool): ArgumentError did not unpickle.
    with (
        ProcessPoolExecutor(max_workers=2) as pool,
        pytest.raises(tp.ArgumentError, match=r"^findings: expected findings this policy"),
    ):
        simulate(DEFAULT_SCENARIO, 20, seed=SEED, policy=_RefusesToDecide(), executor=pool)


def test_a_random_policy_is_reproducible_on_dask() -> None:
    distributed = pytest.importorskip("dask.distributed")
    serial = _run(CoinFlipReviews(), 30)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert _run(CoinFlipReviews(), 30, client.get_executor()) == serial


def test_simulate_with_a_policy_ignores_chunking_and_executors() -> None:
    one = simulate(DEFAULT_SCENARIO, 90, seed=SEED, chunk_size=90, policy=CoinFlipReviews())
    with ThreadPoolExecutor(max_workers=2) as pool:
        other = simulate(
            DEFAULT_SCENARIO,
            90,
            seed=SEED,
            chunk_size=13,
            executor=pool,
            policy=CoinFlipReviews(),
        )
    assert one.summary == other.summary
    default = simulate(DEFAULT_SCENARIO, 90, seed=SEED, chunk_size=90)
    assert one.summary != default.summary


def test_policies_share_the_clients_draws() -> None:
    """Common random numbers: intake, baseline and first-session scores do not depend on
    the policy (its own draws come from a separate stream)."""
    default, coin = _run(DefaultPolicy(), 40), _run(CoinFlipReviews(), 40)
    for a, b in zip(default, coin, strict=True):
        for column in ("intake_phq9", "intake_gad7", "baseline_phq9", "readiness", "started"):
            assert a.client[COL[column]] == b.client[COL[column]]
        if a.sessions and b.sessions:
            assert a.sessions[0][:6] == b.sessions[0][:6]


def test_the_example_brief_reviews_policy_reviews_more_and_ends_sooner(
    example: dict[str, object],
) -> None:
    policies = example["POLICIES"]
    assert isinstance(policies, dict)
    default, brief = _run(policies["default"], 150), _run(policies["brief_reviews"], 150)

    def total(results: list[ClientResult], column: str) -> int:
        return sum(r.client[COL[column]] or 0 for r in results)

    assert total(brief, "sessions_attended") < total(default, "sessions_attended")
    reviews_per_session = [
        total(rs, "reviews") / total(rs, "sessions_attended") for rs in (default, brief)
    ]
    assert reviews_per_session[1] > reviews_per_session[0]
    assert any(r.client[COL["ended_by"]] == "below_case" for r in brief)


def test_the_example_fixed_course_delivers_eight_sessions(example: dict[str, object]) -> None:
    policies = example["POLICIES"]
    assert isinstance(policies, dict)
    for a in _admissions(80):
        result = simulate_client(
            DEFAULT_SCENARIO, SEED, a, keep_plan=True, policy=policies["fixed_8"]
        )
        plan = result.plan
        assert plan is not None
        if plan.outcome is tp.EpisodeOutcome.COMPLETED:
            assert len(plan.attended_sessions) == 8
            assert result.client[COL["ended_by"]] == "fixed_course"


def test_the_example_compares_summaries(example: dict[str, object]) -> None:
    compare = example["compare"]
    summaries = compare(120, 3)  # type: ignore[operator]
    assert set(summaries) == {"default", "brief_reviews", "fixed_8"}
    sessions = {k: s.figures["mean_sessions_attended_all_started"] for k, s in summaries.items()}
    assert sessions["brief_reviews"] < sessions["default"]


def test_step_up_is_the_engine_s_to_carry_out() -> None:
    """A policy that steps up at the first review moves step-2 clients to CBT."""

    class StepUpAtOnce(DefaultPolicy):
        def decide(self, state: ClientState, findings: tp.Findings) -> tp.ReviewDecision:
            if state.low_intensity:
                return tp.ReviewDecision.STEP_UP
            return super().decide(state, findings)

        def review_due(self, state: ClientState) -> bool:
            return state.attended == 1 or super().review_due(state)

    stepped = attrs.evolve(DEFAULT_SCENARIO, policy=Policy(stepped_care=True))
    seen = 0
    for a in _admissions(60, stepped):
        result = simulate_client(stepped, SEED, a, keep_plan=True, policy=StepUpAtOnce())
        plan = result.plan
        assert plan is not None
        if len(plan.interventions) == 2:  # started at step 2, then stepped up
            seen += 1
            attended = plan.attended_sessions
            assert attended[0].interventions == ("self-help",)
            assert all(s.interventions == ("cbt",) for s in attended[1:])
            assert result.client[COL["step"]] == 3
    assert seen > 0


def test_verification_sample_agrees_with_the_checked_constructors() -> None:
    for a in _admissions(25):
        checked = _engine._simulate(
            DEFAULT_SCENARIO, SEED, a, _engine.DEFAULT_POLICY, _engine._CHECKED
        )
        fast = simulate_client(DEFAULT_SCENARIO, SEED, a, keep_plan=True, verify=True)
        assert fast == checked
        assert fast.plan is not None
        assert tp.loads(tp.dumps(fast.plan)) == fast.plan


def test_a_disagreeing_fast_path_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    admission = next(a for a in _admissions(20) if a.start_day is not None)
    real = _engine._FAST.assessment

    def skewed(ident: str, instrument: str, at, items):  # type: ignore[no-untyped-def]
        if ident == "phq9-s1":
            items = (*items[:-1], 0) if items[-1] else (*items[:-1], 1)
        return real(ident, instrument, at, items)

    monkeypatch.setattr(_engine._FAST, "assessment", skewed)
    with pytest.raises(tp.TreatplanError, match="verification failed"):
        simulate_client(DEFAULT_SCENARIO, SEED, admission, verify=True)
    # Outside the sample, nothing is checked.
    simulate_client(DEFAULT_SCENARIO, SEED, admission, verify=False)


def test_the_default_sample_is_every_hundredth_client() -> None:
    sample = [a for a in _admissions(201) if a.index % _engine.VERIFY_EVERY == 0]
    assert [a.index for a in sample] == [0, 100, 200]


class _StepUpAndReviewOften(DefaultPolicy):
    """Starts everyone at step 2, reviews after every attended session and steps up at
    the second: the engine's review records and step-up revisions on every client."""

    def start_step(self, state: ClientState) -> int | None:
        return 2

    def review_due(self, state: ClientState) -> bool:
        return True

    def decide(self, state: ClientState, findings: tp.Findings) -> tp.ReviewDecision:
        if state.attended == 2:
            return tp.ReviewDecision.STEP_UP
        return super().decide(state, findings)


_OTHER_RULES = tp.rules.AnyOf(
    (
        tp.rules.AllOf((tp.rules.SustainedRecovery(1, ("PHQ-9",)), tp.rules.SessionLimit(4))),
        tp.rules.SessionLimit(9, count_missed=True),
        tp.rules.ConsecutiveMissed(1, include_client_cancellations=True),
        tp.rules.ClientRequest(),
    )
)


@pytest.mark.parametrize("policy", [DefaultPolicy(), _StepUpAndReviewOften()], ids=type)
def test_every_client_of_another_scenario_agrees_with_the_checked_constructors(
    policy: ServicePolicy,
) -> None:
    """With other ending rules, stepped care, feedback, alerts and a review at every
    session, each client (its remembered verdicts, review records and revisions checked
    once per content) equals the client the checked constructors build."""
    scenario = attrs.evolve(
        DEFAULT_SCENARIO,
        policy=Policy(
            review_every=1,
            ending_rules=_OTHER_RULES,
            stepped_care=True,
            feedback=True,
            alerts_every_session=True,
        ),
    )
    reviews = stepped_up = 0
    for a in _admissions(60, scenario):
        checked = _engine._simulate(scenario, SEED, a, policy, _engine._CHECKED)
        fast = simulate_client(scenario, SEED, a, keep_plan=True, policy=policy, verify=True)
        assert fast == checked
        assert fast.plan is not None
        reviews += len(fast.plan.reviews)
        stepped_up += len(fast.plan.interventions) == 2
    assert reviews > 100
    assert stepped_up > (20 if isinstance(policy, _StepUpAndReviewOften) else 0)


class _EndsWithText(DefaultPolicy):
    def end(self, state: ClientState, verdict: tp.Verdict) -> Ending | None:
        return "stop"  # type: ignore[return-value]


class _StartsAtStep7(DefaultPolicy):
    def start_step(self, state: ClientState) -> int | None:
        return 7


class _StartsAtStepTwoPointZero(DefaultPolicy):
    def start_step(self, state: ClientState) -> int | None:
        return 2.0  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_EndsWithText(), "a policy whose end returns an Ending or None"),
        (_StartsAtStep7(), "a policy whose start_step returns 2, 3 or None"),
        (_StartsAtStepTwoPointZero(), "a policy whose start_step returns 2, 3 or None"),
    ],
)
def test_a_policy_answer_of_the_wrong_kind_is_a_library_error(
    policy: ServicePolicy, expected: str
) -> None:
    # end() returning text raised AttributeError deep in the engine; a start step of 7
    # was written into the clients table, whose codebook allows 2 and 3.
    with pytest.raises(tp.ArgumentError, match=f"^policy: expected {expected}"):
        simulate(DEFAULT_SCENARIO, 30, seed=SEED, policy=policy)


class _RewritesTheStep(DefaultPolicy):
    def wants_alerts(self, state: ClientState) -> bool:
        state.step = "SENTINEL"  # type: ignore[assignment]
        return super().wants_alerts(state)


def test_a_policy_writing_state_step_does_not_reach_the_tables() -> None:
    # The engine keeps its own step: it wrote whatever a hook left in state.step.
    rows = [r.client[COL["step"]] for r in _run(_RewritesTheStep(), 30)]
    assert rows == [r.client[COL["step"]] for r in _run(DefaultPolicy(), 30)]
    assert "SENTINEL" not in rows
