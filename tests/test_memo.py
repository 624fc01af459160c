"""The identity caches and the hot paths that use them: a cache never changes a result."""

from __future__ import annotations

import bisect
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import treatplan as tp
from treatplan import _instruments, _lifecycle, _monitoring, _scoring
from treatplan import _validation as v
from treatplan._memo import IdentityCache
from treatplan.strategies import treatment_plans

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- IdentityCache
def test_hit_only_for_the_same_objects() -> None:
    cache: IdentityCache[str] = IdentityCache(4)
    key = [("a", 1)]
    equal_copy = [("a", 1)]
    assert cache.get(key) is None
    assert cache.put("value", key) == "value"
    assert cache.get(key) == "value"
    assert equal_copy == key
    assert equal_copy is not key
    assert cache.get(equal_copy) is None


def test_several_key_objects() -> None:
    cache: IdentityCache[int] = IdentityCache(4)
    a, b = object(), object()
    cache.put(1, a, b)
    assert cache.get(a, b) == 1
    assert cache.get(b, a) is None
    assert cache.get(a) is None


def test_bounded_dropping_the_oldest() -> None:
    cache: IdentityCache[int] = IdentityCache(3)
    keys = [object() for _ in range(10)]
    for n, key in enumerate(keys):
        cache.put(n, key)
        assert len(cache) <= 3
    assert len(cache) == 3
    assert [cache.get(k) for k in keys[-3:]] == [7, 8, 9]
    assert all(cache.get(k) is None for k in keys[:-3])
    cache.clear()
    assert len(cache) == 0


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        IdentityCache(0)


def test_threads_share_a_cache() -> None:
    cache: IdentityCache[int] = IdentityCache(8)
    keys = [object() for _ in range(64)]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(50):
            for n, key in enumerate(keys):
                got = cache.get(key)
                if got is None:
                    cache.put(n, key)
                elif got != n:
                    wrong.append(n)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(cache) <= 8 + len(threads)


# --------------------------------------------------------------------------- instruments
def test_instrument_responses_cached_per_definition() -> None:
    custom = tp.Instrument(
        code="X-3",
        name="Three items",
        item_count=3,
        item_min=0,
        item_max=4,
        item_choices=(tp.ItemChoices(2, (0, 2, 4)),),
    )
    twin = attrs.evolve(custom)
    for definition in (custom, twin, custom):
        assert definition.allowed(1) == (0, 1, 2, 3, 4)
        assert definition.allowed(2) == (0, 2, 4)
        assert definition.allowed(4) == (0, 1, 2, 3, 4)  # beyond the items: the full range
        assert (definition.total_min, definition.total_max) == (0, 12)
    assert _instruments._RESPONSES.get(custom) is not None
    assert _instruments._RESPONSES.get(twin) is not None
    assert len(_instruments._RESPONSES) <= _instruments._RESPONSES.size


# --------------------------------------------------------------------------- scoring
def test_score_in_remembers_per_assessment_and_definition() -> None:
    plan = tp.TreatmentPlan.refer("p", "c", at=T0, by="x")
    a = tp.Assessment("a1", "PHQ-9", T0, items=(1,) * 9)
    first = _scoring.score_in(plan, a)
    assert first == tp.score(tp.PHQ9, a)
    assert _scoring.score_in(plan, a) is first
    twin = tp.Assessment("a1", "PHQ-9", T0, items=(1,) * 9)
    assert _scoring.score_in(plan, twin) == first
    # Another definition of the same code is another key: its own score.
    strict = attrs.evolve(tp.PHQ9, caseness_cutoff=5)
    custom_plan = tp.TreatmentPlan.refer("p", "c", at=T0, by="x", custom_instruments=(strict,))
    assert _scoring.score_in(custom_plan, a).case is True
    assert first.case is False


# --------------------------------------------------------------------------- series
def _reference_series(plan: tp.TreatmentPlan) -> dict[str, tuple[Any, ...]]:
    """measure_series as it was first written: every record scored afresh, one sort."""
    attended_at: list[datetime] = []
    taken: list[tuple[datetime, int, tp.Assessment]] = []
    for s in plan.sessions:
        if s.attended:
            attended_at.append(v.instant(s.at))
            taken.extend(
                (v.instant(a.administered_at), len(attended_at), a) for a in s.assessments
            )
    for a in plan.assessments:
        when = v.instant(a.administered_at)
        taken.append((when, bisect.bisect_right(attended_at, when), a))
    taken.sort(key=lambda t: t[0])
    grouped: dict[str, list[Any]] = {}
    for when, number, a in taken:
        point = _monitoring.ScoredPoint(tp.score(plan.instrument(a.instrument), a), number, when)
        grouped.setdefault(a.instrument, []).append(point)
    return {code: tuple(points) for code, points in grouped.items()}


def _as_dict(series: Any) -> dict[str, tuple[Any, ...]]:
    return {code: tuple(points) for code, points in series.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(treatment_plans(max_records=12))
def test_series_same_as_scoring_afresh(plan: tp.TreatmentPlan) -> None:
    # Every prefix of the sessions, in order: the incremental path extends the last one.
    for k in range(len(plan.sessions) + 1):
        version = _lifecycle._trusted(plan, sessions=plan.sessions[:k])
        got = _monitoring.measure_series(version)
        expected = _reference_series(version)
        assert _as_dict(got) == expected
        assert list(got) == list(expected)  # instrument order too


def _session(n: int, phq: int) -> tp.Session:
    at = T0 + timedelta(weeks=n)
    a = tp.Assessment(f"phq-{n}", "PHQ-9", at, items=(phq,) * 9)
    return tp.Session(f"s{n}", at, tp.Attendance.ATTENDED, assessments=(a,))


def _started() -> tp.TreatmentPlan:
    plan = tp.TreatmentPlan.refer("p", "c", at=T0 - timedelta(days=7), by="x")
    plan = tp.fire(plan, tp.Event.BEGIN_ASSESSMENT, at=T0 - timedelta(days=7), by="x")
    return tp.record_assessment(
        plan, tp.Assessment("base", "PHQ-9", T0 - timedelta(days=7), items=(2,) * 9)
    )


def test_series_extends_the_previous_version() -> None:
    plan = _started()
    for n in range(1, 6):
        plan = tp.record_session(plan, _session(n, 2 - n % 2))
        series = _monitoring.measure_series(plan)
        assert _as_dict(series) == _reference_series(plan)
        assert [p.session for p in series["PHQ-9"]] == list(range(n + 1))
    # The points of earlier sessions are shared with the previous version, not rebuilt.
    before = _monitoring.measure_series(plan)
    after = _monitoring.measure_series(tp.record_session(plan, _session(6, 0)))
    assert all(a is b for a, b in zip(before["PHQ-9"][1:], after["PHQ-9"][1:-1], strict=True))


def test_series_not_fooled_by_a_shared_last_session() -> None:
    # Same last session object, different earlier sessions: no stale reuse.
    first, other, last = _session(1, 3), _session(1, 0), _session(2, 1)
    plan = _started()
    a = _lifecycle._trusted(plan, sessions=(first, last))
    b = _lifecycle._trusted(plan, sessions=(other, last))
    assert [p.total for p in _monitoring.measure_series(a)["PHQ-9"]] == [18.0, 27.0, 9.0]
    assert [p.total for p in _monitoring.measure_series(b)["PHQ-9"]] == [18.0, 0.0, 9.0]
    assert _as_dict(_monitoring.measure_series(a)) == _reference_series(a)


def test_series_when_a_session_does_not_simply_come_after() -> None:
    plan = _started()
    plan = tp.record_session(plan, _session(1, 1))
    _monitoring.measure_series(plan)
    # A standalone score after session 1, then session 2 at the same instant, whose
    # own scores are out of time order and tie with the standalone one.
    late = T0 + timedelta(weeks=2)
    plan = tp.record_assessment(plan, tp.Assessment("gad-late", "GAD-7", late, total=9))
    _monitoring.measure_series(plan)
    session = tp.Session(
        "s2",
        late,
        tp.Attendance.ATTENDED,
        assessments=(
            tp.Assessment("gad-2", "GAD-7", late, total=4),
            tp.Assessment("phq-2", "PHQ-9", late - timedelta(hours=1), total=5),
        ),
    )
    plan = tp.record_session(plan, session)
    series = _monitoring.measure_series(plan)
    assert _as_dict(series) == _reference_series(plan)
    assert list(series) == list(_reference_series(plan))
    assert [p.assessment_id for p in series["GAD-7"]] == ["gad-2", "gad-late"]
    assert [p.session for p in series["GAD-7"]] == [2, 2]
    # A missed session, then one whose new instrument comes last.
    plan = tp.record_session(plan, tp.Session("s3", late, tp.Attendance.DID_NOT_ATTEND))
    assert _as_dict(_monitoring.measure_series(plan)) == _reference_series(plan)
    later = late + timedelta(weeks=1)
    core = tp.Assessment("ors-4", "ORS", later, total=30)
    plan = tp.record_session(
        plan, tp.Session("s4", later, tp.Attendance.ATTENDED, assessments=(core,))
    )
    assert list(_monitoring.measure_series(plan)) == list(_reference_series(plan))
    assert _as_dict(_monitoring.measure_series(plan)) == _reference_series(plan)


def test_changes_between_scores_remembered() -> None:
    from treatplan import _alerts

    plan = _started()
    for n in range(1, 4):
        plan = tp.record_session(plan, _session(n, 0))
    points = _monitoring.measure_series(plan)["PHQ-9"]
    first = _alerts.score_change(tp.PHQ9, points[0].score, points[-1].score)
    assert first == _alerts.change_of(tp.PHQ9, 18.0, 0.0)
    assert first is not None
    assert first.reliable_improvement
    assert _alerts.score_change(tp.PHQ9, points[0].score, points[-1].score) is first
    # No way to judge: None, remembered as such.
    vague = attrs.evolve(tp.PHQ9, reliable_change=None, norms=None)
    assert _alerts.score_change(vague, points[0].score, points[-1].score) is None
    assert _alerts.score_change(vague, points[0].score, points[-1].score) is None
    assert len(_alerts._CHANGES) <= _alerts._CHANGES.size


def test_expected_scores_remembered_per_curve() -> None:
    curve = tp.LogLinearCurve()
    first = curve.expected(tp.PHQ9, 15.0, 4)
    assert curve.expected(tp.PHQ9, 15.0, 4) is first
    assert tp.LogLinearCurve().expected(tp.PHQ9, 15.0, 4) == first
    # An int intake is computed afresh (not served a float's entry), with equal numbers.
    assert curve.expected(tp.PHQ9, 15, 4) == first
    assert curve.expected(tp.PHQ9, 15.0, 5) != first
    slower = tp.LogLinearCurve(rate=0.1)
    assert slower.expected(tp.PHQ9, 15.0, 4).expected > first.expected
    for session in range(_monitoring._EXPECTED_PER_CURVE + 10):
        curve.expected(tp.PHQ9, 15.0, session)
    table = _monitoring._EXPECTED.get(curve, tp.PHQ9)
    assert table is not None
    assert len(table) <= _monitoring._EXPECTED_PER_CURVE


def test_series_caches_stay_bounded() -> None:
    plan = _started()
    for n in range(1, 400):
        plan = tp.record_session(plan, _session(n, n % 3))
        _monitoring.measure_series(plan)
    assert len(_monitoring._SERIES) <= _monitoring._SERIES.size
    assert len(_monitoring._RECORDS) <= _monitoring._RECORDS.size
    assert len(_scoring._SCORES) <= _scoring._SCORES.size
    assert len(_lifecycle._IDS) <= _lifecycle._IDS.size


# --------------------------------------------------------------------------- recording
def _all_ids(plan: tp.TreatmentPlan) -> set[str]:
    ids = {p.id for p in plan.presenting_problems}
    ids |= {g.id for g in plan.goals} | {o.id for o in plan.objectives}
    ids |= {i.id for i in plan.interventions} | {a.id for a in plan.all_assessments()}
    return ids | {s.id for s in plan.sessions} | {r.id for r in plan.reviews}


def test_recorded_ids_match_collecting_them_again() -> None:
    plan = _started()
    for n in range(1, 4):
        plan = tp.record_session(plan, _session(n, 1))
        assert _lifecycle._ids(plan) == _all_ids(plan)
    # An id used in a session (or in an assessment taken at one) cannot be reused.
    with pytest.raises(tp.ValidationError):
        tp.record_session(plan, attrs.evolve(_session(9, 1), id="s2"))
    with pytest.raises(tp.ValidationError):
        tp.record_assessment(
            plan, tp.Assessment("phq-3", "PHQ-9", T0 + timedelta(weeks=4), total=3)
        )
    # The set handed out is the caller's to change: the cache keeps its own.
    _lifecycle._ids(plan).add("scribble")
    assert "scribble" not in _lifecycle._ids(plan)


@given(st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ids_of_any_plan(data: st.DataObject) -> None:
    plan = data.draw(treatment_plans(max_records=8))
    assert _lifecycle._ids(plan) == _all_ids(plan)
    assert _lifecycle._ids(plan) == _all_ids(plan)  # the cached copy too
