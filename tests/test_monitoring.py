"""Expected-response monitoring: the log-linear defaults, bands, signals, user curves, series."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _scoring

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- defaults
def test_default_rate_reproduces_howard_median_at_session_8() -> None:
    # Howard et al. 1986: half improved by session 8. From the typical depressed
    # intake (PHQ-9 15.5) a reliable improvement is 6 points: 6 / 15.5 / ln 9.
    assert pytest.approx(6 / 15.5 / math.log(9)) == tp.monitoring.DEFAULT_RATE
    assert pytest.approx(0.1762, abs=1e-4) == tp.monitoring.DEFAULT_RATE
    assert tp.monitoring.expected_trajectory(tp.instruments.PHQ9, 15.5, 8)[
        8
    ].expected == pytest.approx(15.5 - 6)


def test_default_rate_sd_puts_the_quartile_at_session_26() -> None:
    # Howard et al. 1986: three quarters improved by session 26.
    quartile_rate = tp.monitoring.DEFAULT_RATE - 0.6744897501960817 * tp.monitoring.DEFAULT_RATE_SD
    assert 15.5 * quartile_rate * math.log(27) == pytest.approx(6)
    assert pytest.approx(0.0871, abs=1e-4) == tp.monitoring.DEFAULT_RATE_SD


def test_median_client_halves_severity_within_hansen_range() -> None:
    # Hansen, Lambert & Forman 2002: 50% recover in 13-18 sessions in trials.
    points = tp.monitoring.expected_trajectory(tp.instruments.PHQ9, 15.5, 30)
    halved = next(p.session for p in points if p.expected <= 15.5 / 2)
    assert 13 <= halved <= 18


def test_intake_is_expected_at_session_0_with_a_measurement_error_band() -> None:
    point = tp.monitoring.expected_trajectory(tp.instruments.PHQ9, 15, 0)[0]
    sem = 6 / (1.96 * math.sqrt(2))  # from PHQ-9's reliable change of 6
    assert point.expected == 15
    assert point.upper - point.expected == pytest.approx(tp.monitoring.DEFAULT_BAND_Z * sem)
    assert point.alarm - point.expected == pytest.approx(tp.monitoring.DEFAULT_ALARM_Z * sem)


def test_worked_example_at_session_4() -> None:
    # d0 = 14; L = ln 5; expected = 14 (1 - r L); spread = hypot(14 L sd, SEM).
    log_s = math.log(5)
    expected = 14 * (1 - tp.monitoring.DEFAULT_RATE * log_s)
    spread = math.hypot(14 * log_s * tp.monitoring.DEFAULT_RATE_SD, 6 / (1.96 * math.sqrt(2)))
    point = tp.monitoring.expected_trajectory(tp.instruments.PHQ9, 14, 4)[4]
    assert point.expected == pytest.approx(expected)
    assert point.upper == pytest.approx(expected + tp.monitoring.DEFAULT_BAND_Z * spread)
    assert point.lower == pytest.approx(expected - tp.monitoring.DEFAULT_BAND_Z * spread)
    assert point.alarm == pytest.approx(expected + tp.monitoring.DEFAULT_ALARM_Z * spread)


def test_higher_is_better_curves_rise_towards_the_top() -> None:
    ors = tp.builtin_instrument("ORS")
    points = tp.monitoring.expected_trajectory(ors, 20, 10)
    assert points[10].expected > points[1].expected > points[0].expected == 20
    assert all(p.alarm <= p.lower for p in points)


INSTRUMENTS = st.sampled_from(tp.instruments.builtin_instruments())


@given(INSTRUMENTS, st.floats(0, 1), st.integers(0, 60))
def test_bands_are_ordered_and_inside_the_scale(
    instrument: tp.Instrument, where: float, session: int
) -> None:
    intake = instrument.total_min + where * (instrument.total_max - instrument.total_min)
    point = tp.monitoring.ExpectedResponse().expected(instrument, intake, session)
    assert instrument.total_min <= point.lower <= point.expected <= point.upper
    assert point.upper <= instrument.total_max
    if instrument.direction is tp.instruments.Direction.HIGHER_IS_WORSE:
        assert point.alarm >= point.upper
    else:
        assert point.alarm <= point.lower


@given(INSTRUMENTS, st.floats(0, 1), st.integers(0, 40))
def test_expected_scores_never_get_worse_with_more_sessions(
    instrument: tp.Instrument, where: float, session: int
) -> None:
    intake = instrument.total_min + where * (instrument.total_max - instrument.total_min)
    now, later = tp.monitoring.expected_trajectory(instrument, intake, session + 1)[-2:]
    if instrument.direction is tp.instruments.Direction.HIGHER_IS_WORSE:
        assert later.expected <= now.expected + 1e-9
    else:
        assert later.expected >= now.expected - 1e-9


@given(st.integers(0, 26), st.integers(0, 26), st.integers(1, 30))
def test_higher_intake_means_higher_expected_score(a: int, b: int, session: int) -> None:
    low, high = sorted((a, b))
    response = tp.monitoring.ExpectedResponse()
    assert (
        response.expected(tp.instruments.PHQ9, low, session).expected
        <= response.expected(tp.instruments.PHQ9, high, session).expected
    )


# --------------------------------------------------------------------------- signals
POINT = tp.monitoring.ExpectedScore(session=4, expected=10, lower=8, upper=12, alarm=14)


@pytest.mark.parametrize(
    ("total", "signal"),
    [(5, "green"), (12, "green"), (12.5, "amber"), (14, "amber"), (14.5, "red"), (27, "red")],
)
def test_signal_edges_higher_is_worse(total: float, signal: str) -> None:
    assert POINT.signal(
        total, tp.instruments.Direction.HIGHER_IS_WORSE
    ) is tp.monitoring.TrackSignal(signal)


@pytest.mark.parametrize(
    ("total", "signal"), [(30, "green"), (8, "green"), (7, "amber"), (6, "amber"), (5, "red")]
)
def test_signal_edges_higher_is_better(total: float, signal: str) -> None:
    point = tp.monitoring.ExpectedScore(session=4, expected=10, lower=8, upper=12, alarm=6)
    assert point.signal(
        total, tp.instruments.Direction.HIGHER_IS_BETTER
    ) is tp.monitoring.TrackSignal(signal)


def test_track_signal_for_a_non_responder_and_a_responder() -> None:
    assert (
        tp.monitoring.expected_signal(tp.instruments.PHQ9, 15, 4, 16)
        is tp.monitoring.TrackSignal.RED
    )
    assert (
        tp.monitoring.expected_signal(tp.instruments.PHQ9, 15, 4, 10)
        is tp.monitoring.TrackSignal.GREEN
    )
    assert (
        tp.monitoring.expected_signal(tp.instruments.PHQ9, 15, 0, 27)
        is tp.monitoring.TrackSignal.GREEN
    )  # the intake itself


def test_out_of_the_clinical_range_is_green_unless_configured() -> None:
    strict = tp.monitoring.LogLinearCurve(rate_sd=0, measurement_error=0)
    # Intake 12, session 8: expected 12 * (1 - 0.387) = 7.35; 9 is above the alarm.
    assert tp.monitoring.ExpectedResponse(default=strict).classify(
        tp.instruments.PHQ9, 12, 8, 9, case=False
    ) == (
        tp.monitoring.ExpectedResponse(default=strict).expected(tp.instruments.PHQ9, 12, 8),
        tp.monitoring.TrackSignal.GREEN,
    )
    plain = tp.monitoring.ExpectedResponse(default=strict, non_case_is_green=False)
    assert (
        plain.classify(tp.instruments.PHQ9, 12, 8, 9, case=False)[1]
        is tp.monitoring.TrackSignal.RED
    )


def test_curve_parameters_are_configurable() -> None:
    slow = tp.monitoring.ExpectedResponse(default=tp.monitoring.LogLinearCurve(rate=0.05))
    fast = tp.monitoring.ExpectedResponse(default=tp.monitoring.LogLinearCurve(rate=0.3))
    assert (
        slow.expected(tp.instruments.PHQ9, 20, 6).expected
        > fast.expected(tp.instruments.PHQ9, 20, 6).expected
    )
    floor = tp.monitoring.LogLinearCurve(floor=4)
    assert floor.expected(tp.instruments.PHQ9, 20, 10_000).expected == pytest.approx(4)


# --------------------------------------------------------------------------- user curves
def _table() -> tp.monitoring.TabulatedCurve:
    return tp.monitoring.TabulatedCurve(
        "PHQ-9",
        intake_low=15,
        intake_high=27,
        points=(
            tp.monitoring.ExpectedScore(0, 18, 16, 20, 22),
            tp.monitoring.ExpectedScore(4, 14, 12, 16, 18),
            tp.monitoring.ExpectedScore(8, 10, 8, 12, 14),
        ),
    )


def test_tabulated_curve_interpolates_and_holds() -> None:
    table = _table()
    assert table.expected(tp.instruments.PHQ9, 18, 2) == tp.monitoring.ExpectedScore(
        2, 16, 14, 18, 20
    )
    assert table.expected(tp.instruments.PHQ9, 18, 4) == tp.monitoring.ExpectedScore(
        4, 14, 12, 16, 18
    )
    assert table.expected(tp.instruments.PHQ9, 18, 20) == tp.monitoring.ExpectedScore(
        20, 10, 8, 12, 14
    )


def test_response_uses_a_covering_table_else_the_default() -> None:
    response = tp.monitoring.ExpectedResponse(curves=(_table(),))
    assert response.curve_for("PHQ-9", 18) is response.curves[0]
    assert response.curve_for("PHQ-9", 14) is response.default
    assert response.curve_for("GAD-7", 18) is response.default
    assert (
        response.classify(tp.instruments.PHQ9, 18, 4, 17, case=True)[1]
        is tp.monitoring.TrackSignal.AMBER
    )
    assert (
        response.classify(tp.instruments.PHQ9, 18, 4, 19, case=True)[1]
        is tp.monitoring.TrackSignal.RED
    )


def test_curves_serialise_through_the_json_layer() -> None:
    response = tp.monitoring.ExpectedResponse(
        curves=(_table(),), default=tp.monitoring.LogLinearCurve(rate=0.2)
    )
    assert tp.from_dict(tp.to_dict(response), tp.monitoring.ExpectedResponse) == response


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (
            lambda: tp.monitoring.TabulatedCurve(
                "PHQ-9", 10, 5, (tp.monitoring.ExpectedScore(0, 1, 0, 2, 3),)
            ),
            "$.intake_high",
        ),
        (
            lambda: tp.monitoring.TabulatedCurve(
                "PHQ-9",
                0,
                27,
                (
                    tp.monitoring.ExpectedScore(4, 1, 0, 2, 3),
                    tp.monitoring.ExpectedScore(2, 1, 0, 2, 3),
                ),
            ),
            "$.points",
        ),
        (lambda: tp.monitoring.ExpectedScore(0, 5, 6, 7, 8), "$"),
        (lambda: tp.monitoring.LogLinearCurve(rate=0), "$.rate"),
        (lambda: tp.monitoring.LogLinearCurve(band_z=2, alarm_z=1), "$.alarm_z"),
    ],
)
def test_invalid_curves_name_the_field(build: object, path: str) -> None:
    with pytest.raises(tp.ValidationError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.problems[0].path == path


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(tp.ValidationError):
        tp.monitoring.expected_trajectory(tp.instruments.PHQ9, 10, -1)
    with pytest.raises(tp.ValidationError):
        tp.monitoring.expected_trajectory(tp.instruments.PHQ9, math.nan, 3)
    with pytest.raises(tp.ValidationError):
        tp.monitoring.ExpectedResponse().expected(tp.instruments.PHQ9, 10, -2)


# --------------------------------------------------------------------------- series
def _plan() -> tp.TreatmentPlan:
    plan = tp.TreatmentPlan.refer("p-1", "c-1", at=T0, by="gp")
    plan = tp.fire(plan, "begin_assessment", at=T0 + timedelta(days=1), by="clin")
    plan = tp.record_assessment(
        plan, tp.Assessment("phq-0", "PHQ-9", T0 + timedelta(days=1), total=15)
    )
    plan = tp.revise(
        plan,
        goals=[
            tp.Goal(
                "g",
                "goal text",
                tp.GoalDomain.EMOTIONAL_WELLBEING,
                objectives=(
                    tp.Objective(
                        "o",
                        "objective text",
                        tp.MeasureTarget("PHQ-9", tp.Comparator.BELOW, 10),
                        date(2026, 6, 1),
                    ),
                ),
            )
        ],
        interventions=[tp.Intervention("i", tp.Modality.CBT, "CBT", serves=("o",))],
    )
    plan = tp.fire(plan, "agree_plan", at=T0 + timedelta(days=1, hours=1), by="clin")
    for week, (attendance, total) in enumerate(
        [("attended", 14), ("did_not_attend", None), ("attended", 12), ("attended", None)], 1
    ):
        when = T0 + timedelta(weeks=week)
        taken = (
            (tp.Assessment(f"phq-{week}", "PHQ-9", when, total=total),)
            if total is not None
            else ()
        )
        plan = tp.record_session(
            plan,
            tp.Session(
                f"s-{week}",
                when,
                tp.Attendance(attendance),
                interventions=("i",) if attendance == "attended" else (),
                assessments=taken,
            ),
        )
    # A standalone score between sessions 3 and 4 counts 2 attended sessions.
    return tp.record_assessment(
        plan, tp.Assessment("phq-x", "PHQ-9", T0 + timedelta(weeks=3, days=2), total=11)
    )


def test_measure_series_counts_attended_sessions() -> None:
    series = tp.instruments.plan_series(_plan())["PHQ-9"]
    assert [(p.assessment_id, p.session, p.total) for p in series] == [
        ("phq-0", 0, 15),
        ("phq-1", 1, 14),
        ("phq-3", 2, 12),
        ("phq-x", 2, 11),
    ]


def test_measure_series_is_scored_once_per_plan_object(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = _scoring.scored  # what score() runs once its arguments are checked

    def counting(instrument: tp.Instrument, assessment: tp.Assessment) -> tp.Score:
        calls.append(assessment.id)
        return real(instrument, assessment)

    monkeypatch.setattr(_scoring, "scored", counting)
    _scoring._SCORES.clear()
    plan = _plan()
    first = tp.instruments.plan_series(plan)
    assert tp.instruments.plan_series(plan) is first
    assert sorted(calls) == sorted(a.id for a in plan.all_assessments())


def test_track_charts_from_the_first_score() -> None:
    plan = _plan()
    chart = tp.monitoring.track(tp.instruments.PHQ9, tp.instruments.plan_series(plan)["PHQ-9"])
    assert [(t.session, t.signal) for t in chart] == [
        (0, tp.monitoring.TrackSignal.GREEN),
        (1, tp.monitoring.TrackSignal.GREEN),
        (2, tp.monitoring.TrackSignal.GREEN),
        (2, tp.monitoring.TrackSignal.GREEN),
    ]
    assert chart[0].expected is not None
    assert chart[0].expected.expected == 15
    silent = tp.monitoring.track(
        tp.instruments.PHQ9, tp.instruments.plan_series(plan)["PHQ-9"], expected=False
    )
    assert all(t.expected is None and t.signal is None for t in silent)


def test_tabulated_curve_holds_its_first_point_before_it() -> None:
    late = tp.monitoring.TabulatedCurve(
        "PHQ-9",
        intake_low=15,
        intake_high=27,
        points=(
            tp.monitoring.ExpectedScore(2, 16, 14, 18, 20),
            tp.monitoring.ExpectedScore(6, 12, 10, 14, 16),
        ),
    )
    assert late.expected(tp.instruments.PHQ9, 18, 0) == tp.monitoring.ExpectedScore(
        0, 16, 14, 18, 20
    )


def test_an_unscored_point_is_charted_without_expectation() -> None:
    from measured_plans import build, week

    plan = build(phq9=[15, (None,) * 9, 12])
    points = tp.instruments.plan_series(plan)["PHQ-9"]
    chart = tp.monitoring.track(tp.instruments.PHQ9, points)
    assert [p.total for p in chart] == [15, None, 12]
    unscored = chart[1]
    assert unscored.expected is None
    assert unscored.signal is None
    assert unscored.at == week(1)
    assert chart[2].expected is not None


@pytest.mark.parametrize("session", [-1, 1.5, True])
def test_classify_refuses_a_session_that_is_not_a_count(session: object) -> None:
    response = tp.monitoring.ExpectedResponse()
    with pytest.raises(tp.ValidationError, match="session"):
        response.classify(tp.instruments.PHQ9, 18, session, 17)  # type: ignore[arg-type]


def test_a_chart_starts_at_the_first_scored_point() -> None:
    from measured_plans import build

    plan = build(phq9=[(None,) * 9, 15, 12])
    chart = tp.monitoring.track(tp.instruments.PHQ9, tp.instruments.plan_series(plan)["PHQ-9"])
    assert [p.total for p in chart] == [None, 15, 12]
    assert chart[0].expected is None
    assert chart[0].signal is None
    assert chart[1].session == 0
    assert chart[1].signal is tp.monitoring.TrackSignal.GREEN
    assert chart[2].expected is not None
    unscored = build(phq9=[(None,) * 9])
    only = tp.monitoring.track(tp.instruments.PHQ9, tp.instruments.plan_series(unscored)["PHQ-9"])
    assert [(p.total, p.expected, p.signal) for p in only] == [(None, None, None)]
