"""Scoring: totals, reverse scoring, prorating, bands at their edges, caseness, risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import Assessment, Instrument, ValidationError
from treatplan.instruments import Band

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _items(code: str, *items: int | None) -> Assessment:
    return Assessment("a-1", code, T0, items=items)


def _total(code: str, total: float) -> Assessment:
    return Assessment("a-1", code, T0, total=total)


# --------------------------------------------------------------------------- bands
# Every band edge of every banded instrument (docs/references.md#measures).
BAND_EDGES = [
    # PHQ-9, Kroenke, Spitzer & Williams 2001
    ("PHQ-9", 0, "minimal"),
    ("PHQ-9", 4, "minimal"),
    ("PHQ-9", 5, "mild"),
    ("PHQ-9", 9, "mild"),
    ("PHQ-9", 10, "moderate"),
    ("PHQ-9", 14, "moderate"),
    ("PHQ-9", 15, "moderately severe"),
    ("PHQ-9", 19, "moderately severe"),
    ("PHQ-9", 20, "severe"),
    ("PHQ-9", 27, "severe"),
    # GAD-7, Spitzer et al. 2006
    ("GAD-7", 0, "minimal"),
    ("GAD-7", 4, "minimal"),
    ("GAD-7", 5, "mild"),
    ("GAD-7", 9, "mild"),
    ("GAD-7", 10, "moderate"),
    ("GAD-7", 14, "moderate"),
    ("GAD-7", 15, "severe"),
    ("GAD-7", 21, "severe"),
    # CORE-10, CORE System Trust (bands unconfirmed defaults)
    ("CORE-10", 0, "healthy"),
    ("CORE-10", 5, "healthy"),
    ("CORE-10", 6, "low level"),
    ("CORE-10", 10, "low level"),
    ("CORE-10", 11, "mild"),
    ("CORE-10", 14, "mild"),
    ("CORE-10", 15, "moderate"),
    ("CORE-10", 19, "moderate"),
    ("CORE-10", 20, "moderate-to-severe"),
    ("CORE-10", 24, "moderate-to-severe"),
    ("CORE-10", 25, "severe"),
    ("CORE-10", 40, "severe"),
    # WSAS, Mundt et al. 2002
    ("WSAS", 0, "subclinical"),
    ("WSAS", 9, "subclinical"),
    ("WSAS", 10, "significant impairment"),
    ("WSAS", 20, "significant impairment"),
    ("WSAS", 21, "moderately severe impairment"),
    ("WSAS", 40, "moderately severe impairment"),
    # K10, ABS 4817.0.55.001
    ("K10", 10, "low"),
    ("K10", 15, "low"),
    ("K10", 16, "moderate"),
    ("K10", 21, "moderate"),
    ("K10", 22, "high"),
    ("K10", 29, "high"),
    ("K10", 30, "very high"),
    ("K10", 50, "very high"),
    # AUDIT, Babor et al. 2001
    ("AUDIT", 0, "zone I: low risk"),
    ("AUDIT", 7, "zone I: low risk"),
    ("AUDIT", 8, "zone II: hazardous"),
    ("AUDIT", 15, "zone II: hazardous"),
    ("AUDIT", 16, "zone III: harmful"),
    ("AUDIT", 19, "zone III: harmful"),
    ("AUDIT", 20, "zone IV: possible dependence"),
    ("AUDIT", 40, "zone IV: possible dependence"),
]


@pytest.mark.parametrize(("code", "total", "label"), BAND_EDGES)
def test_band_edges(code: str, total: int, label: str) -> None:
    result = tp.score(tp.builtin_instrument(code), _total(code, total))
    assert result.band == label
    band = tp.instruments.band_of(tp.builtin_instrument(code), total)
    assert band is not None
    assert band.label == label


def test_every_band_edge_of_every_banded_instrument_is_tested() -> None:
    tested = {(code, total) for code, total, _ in BAND_EDGES}
    # An open lower edge (WSAS "> 20") is first reached by the next whole total.
    edges = {
        (i.code, edge)
        for i in tp.instruments.builtin_instruments()
        for b in i.bands
        for edge in (b.low + 1 if b.low_open else b.low, b.high)
    }
    assert edges == tested


def test_fractional_recorded_total_falls_in_the_band_it_has_reached() -> None:
    band = tp.instruments.band_of(tp.instruments.PHQ9, 9.5)
    assert band is not None
    assert band.label == "mild"


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (19.5, "significant impairment"),
        (20, "significant impairment"),
        (20.5, "moderately severe impairment"),
        (9.5, "subclinical"),
    ],
)
def test_fractional_wsas_totals_follow_the_open_top_band(total: float, label: str) -> None:
    # Mundt et al. 2002: 10-20 significant, > 20 moderately severe (clinical review F10).
    band = tp.instruments.band_of(tp.instruments.WSAS, total)
    assert band is not None
    assert band.label == label
    assert tp.score(tp.instruments.WSAS, _total("WSAS", total)).band == label


def test_a_total_past_an_open_edge_but_outside_every_band_takes_the_band_reached() -> None:
    gapped = Instrument(
        code="GAP",
        name="gapped bands",
        item_count=4,
        item_min=0,
        item_max=10,
        bands=(Band("low", 0, 10), Band("high", 10, 15, low_open=True)),
    )
    assert tp.instruments.band_of(gapped, 10) == gapped.bands[0]
    assert tp.instruments.band_of(gapped, 16) == gapped.bands[1]


@pytest.mark.parametrize("code", ["ORS", "SRS", "PCL-5"])
def test_instruments_without_bands_score_no_band(code: str) -> None:
    assert tp.score(tp.builtin_instrument(code), _total(code, 30)).band is None


# --------------------------------------------------------------------------- caseness
CASENESS_EDGES = [
    ("PHQ-9", 9, False),
    ("PHQ-9", 10, True),  # Kroenke et al. 2001
    ("GAD-7", 7, False),
    ("GAD-7", 8, True),  # NHS Talking Therapies
    ("CORE-10", 10, False),
    ("CORE-10", 11, True),  # CORE System Trust
    ("WSAS", 9, False),
    ("WSAS", 10, True),  # Mundt et al. 2002
    ("PCL-5", 32, False),
    ("PCL-5", 33, True),  # Weathers et al. 2013 (default of 31-33)
    ("AUDIT", 7, False),
    ("AUDIT", 8, True),  # Babor et al. 2001
    # Higher is better: a case below the cut-off.
    ("ORS", 25, False),
    ("ORS", 24.9, True),  # Miller et al. 2003
    ("SRS", 36, False),
    ("SRS", 35, True),  # Duncan et al. 2003 (unconfirmed default)
]


@pytest.mark.parametrize(("code", "total", "case"), CASENESS_EDGES)
def test_caseness_edges(code: str, total: float, case: bool) -> None:
    assert tp.score(tp.builtin_instrument(code), _total(code, total)).case is case


def test_k10_has_no_caseness() -> None:
    assert tp.score(tp.instruments.K10, _total("K10", 35)).case is None


# --------------------------------------------------------------------------- totals
def test_complete_phq9_sums_its_items() -> None:
    result = tp.score(tp.instruments.PHQ9, _items("PHQ-9", 3, 2, 2, 1, 1, 1, 1, 0, 0))
    assert result.total == 11
    assert (result.prorated, result.answered, result.missing) == (False, 9, 0)
    assert (result.band, result.case, result.reason) == ("moderate", True, None)


def test_core10_reverse_scores_items_2_and_3() -> None:
    # All zeros: items 2 and 3 reflect to 4 - 0 = 4 each, so the total is 8.
    assert tp.score(tp.instruments.CORE10, _items("CORE-10", *[0] * 10)).total == 8
    # All fours: every item 4 except items 2 and 3, which reflect to 0: 8 * 4 = 32.
    assert tp.score(tp.instruments.CORE10, _items("CORE-10", *[4] * 10)).total == 32
    # Only item 2 differs: 1 -> 3; 0 elsewhere except item 3 (0 -> 4): 3 + 4 = 7.
    assert (
        tp.score(tp.instruments.CORE10, _items("CORE-10", 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)).total == 7
    )


def test_core10_prorates_one_missing_item() -> None:
    # Answered 9 items: 1, (4->0), (4->0), 1, 1, 0, 1, 1, 1 sum to 6; mean 6/9;
    # times 10 items = 6.67, not rounded (CORE System Trust: mean x 10).
    result = tp.score(tp.instruments.CORE10, _items("CORE-10", 1, 4, 4, 1, 1, 0, 1, 1, 1, None))
    assert result.total == 60 / 9
    assert result.prorated
    assert (result.answered, result.missing) == (9, 1)


def test_core10_with_two_missing_items_has_no_total_and_says_why() -> None:
    result = tp.score(tp.instruments.CORE10, _items("CORE-10", 1, 4, 4, 1, 1, 0, 1, 1, None, None))
    assert result.total is None
    assert not result.scored
    assert (result.band, result.case) == (None, None)
    assert result.reason == "2 of 10 items missing; CORE-10 allows at most 1 missing"


def test_phq9_does_not_prorate_by_default_but_can_be_configured() -> None:
    answers = _items("PHQ-9", 3, 3, 3, 3, 3, 3, 3, 3, None)
    assert tp.score(tp.instruments.PHQ9, answers).total is None
    # With a local rule of one missing item: 24 over 8 answered items, times 9 = 27.
    local = attrs.evolve(tp.instruments.PHQ9, max_missing=1)
    assert tp.score(local, answers).total == 27


def test_core10_prorated_total_is_exact_and_keeps_its_band() -> None:
    # Clinical review F9: 9 answered items summing to 5 (items 2 and 3 at 4 reflect to 0):
    # 5 / 9 x 10 = 5.56, "healthy" (0-5) and not a case; rounding would make it 6, "low level".
    result = tp.score(tp.instruments.CORE10, _items("CORE-10", 1, 4, 4, 1, 1, 1, 1, 0, 0, None))
    assert result.total == 50 / 9
    assert (result.band, result.case, result.prorated) == ("healthy", False, True)


def test_prorate_rounding_is_an_explicit_option() -> None:
    rounded = attrs.evolve(tp.instruments.CORE10, round_prorated=True)
    assert not tp.instruments.CORE10.round_prorated
    result = tp.score(rounded, _items("CORE-10", 1, 4, 4, 1, 1, 1, 1, 0, 0, None))
    assert (result.total, result.band, result.case) == (6, "low level", False)


def test_core10_prorated_caseness_reads_the_exact_total() -> None:
    # 9 answered items summing to 10: 100 / 9 = 11.1, a case at the cut-off 11;
    # summing to 9: exactly 10.0, not a case.
    case = tp.score(tp.instruments.CORE10, _items("CORE-10", 2, 4, 4, 2, 2, 1, 1, 1, 1, None))
    assert (case.total, case.case, case.band) == (100 / 9, True, "mild")
    near = tp.score(tp.instruments.CORE10, _items("CORE-10", 2, 4, 4, 2, 2, 1, 1, 1, 0, None))
    assert (near.total, near.case, near.band) == (10.0, False, "low level")


def test_prorating_rounds_half_up_when_asked() -> None:
    six = Instrument(code="SIX", name="six items", item_count=6, item_min=0, item_max=3)
    six = attrs.evolve(six, max_missing=2, round_prorated=True)
    # 4 answered items sum to 3: 3 / 4 * 6 = 4.5 -> 5 (half up, not half to even).
    assert tp.score(six, _items("SIX", 1, 1, 1, 0, None, None)).total == 5
    # 4 answered items sum to 5: 7.5 -> 8.
    assert tp.score(six, _items("SIX", 2, 1, 1, 1, None, None)).total == 8


def test_all_items_missing_has_no_total_even_when_prorating_is_generous() -> None:
    one = Instrument(code="TWO", name="two items", item_count=2, item_min=0, item_max=3)
    one = attrs.evolve(one, max_missing=1)
    assert tp.score(one, _items("TWO", None, 2)).total == 4
    assert tp.score(one, _items("TWO", None, None)).total is None


def test_audit_scores_its_0_2_4_items() -> None:
    result = tp.score(tp.instruments.AUDIT, _items("AUDIT", 4, 4, 4, 4, 4, 4, 4, 4, 4, 4))
    assert (result.total, result.band) == (40, "zone IV: possible dependence")
    assert tp.score(tp.instruments.AUDIT, _items("AUDIT", 1, 1, 1, 1, 1, 0, 0, 0, 2, 2)).total == 9


def test_audit_rejects_a_1_on_item_10_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        tp.score(tp.instruments.AUDIT, _items("AUDIT", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))
    assert [p.path for p in info.value.problems] == ["$.items[9]"]


def test_a_recorded_total_is_used_when_there_are_no_items() -> None:
    result = tp.score(tp.instruments.ORS, _total("ORS", 31.4))
    assert (result.total, result.answered, result.case) == (31.4, None, False)


def test_scoring_against_another_instrument_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        tp.score(tp.instruments.GAD7, _items("PHQ-9", *[0] * 9))
    assert [p.path for p in info.value.problems] == ["$.instrument"]


# --------------------------------------------------------------------------- risk
def test_phq9_item_9_at_1_raises_the_risk_flag() -> None:
    assert tp.score(tp.instruments.PHQ9, _items("PHQ-9", *[0] * 8, 0)).risk_flags == ()
    flagged = tp.score(tp.instruments.PHQ9, _items("PHQ-9", *[0] * 8, 1))
    assert flagged.risk_flags == ("self-harm-thoughts",)
    assert flagged.risk_assessed


def test_risk_is_unknown_when_the_risk_item_is_missing_or_only_a_total_exists() -> None:
    local = attrs.evolve(tp.instruments.PHQ9, max_missing=1)
    missing = tp.score(local, _items("PHQ-9", *[1] * 8, None))
    assert (missing.total, missing.risk_flags, missing.risk_assessed) == (9, (), False)
    assert not tp.score(tp.instruments.PHQ9, _total("PHQ-9", 20)).risk_assessed
    # An instrument without risk items has nothing to assess.
    assert tp.score(tp.instruments.GAD7, _total("GAD-7", 20)).risk_assessed


def test_risk_flags_survive_an_unscorable_response() -> None:
    result = tp.score(tp.instruments.CORE10, _items("CORE-10", 0, 0, 0, 0, 0, 2, 0, 0, None, None))
    assert result.total is None
    assert result.risk_flags == ("plans-to-end-life",)


# --------------------------------------------------------------------------- plans
def test_score_in_and_plan_scores_use_the_plans_own_definition() -> None:
    local = attrs.evolve(tp.instruments.PHQ9, max_missing=2)
    plan = tp.TreatmentPlan.refer("plan-1", "client-1", at=T0, by="clin-1")
    plan = attrs.evolve(
        plan,
        custom_instruments=(local,),
        assessments=(
            Assessment("a-2", "PHQ-9", T0 + timedelta(days=7), items=(2,) * 7 + (None, None)),
            Assessment("a-1", "PHQ-9", T0, items=(3,) * 9),
            Assessment("g-1", "GAD-7", T0, total=9),
        ),
    )
    assert tp.instruments.plan_score(plan, plan.assessments[0]).total == 18
    scores = tp.instruments.plan_scores(plan, "PHQ-9")
    assert [(s.assessment_id, s.total, s.prorated) for s in scores] == [
        ("a-1", 27, False),
        ("a-2", 18, True),
    ]


# --------------------------------------------------------------------------- properties
def _responses(instrument: Instrument) -> st.SearchStrategy[list[int]]:
    return st.tuples(
        *(st.sampled_from(instrument.allowed(i)) for i in range(1, instrument.item_count + 1))
    ).map(list)


@given(
    st.sampled_from(tp.instruments.builtin_instruments()).flatmap(
        lambda i: st.tuples(st.just(i), _responses(i))
    )
)
def test_complete_totals_lie_in_the_total_range_and_have_a_band(
    case: tuple[Instrument, list[int]],
) -> None:
    instrument, items = case
    result = tp.score(instrument, _items(instrument.code, *items))
    assert result.total is not None
    assert instrument.total_min <= result.total <= instrument.total_max
    assert (result.band is None) == (not instrument.bands)


@given(_responses(tp.instruments.CORE10), st.integers(min_value=0, max_value=9))
def test_core10_prorated_total_stays_within_range_and_near_the_full_total(
    items: list[int], drop: int
) -> None:
    full = tp.score(tp.instruments.CORE10, _items("CORE-10", *items)).total
    partial: list[int | None] = list(items)
    partial[drop] = None
    prorated = tp.score(tp.instruments.CORE10, _items("CORE-10", *partial)).total
    assert full is not None
    assert prorated is not None
    assert 0 <= prorated <= 40
    # Replacing one item (0-4) by the mean of the others moves the total by at most 4.5 -> 5.
    assert abs(prorated - full) <= 5


def test_assessments_sharing_one_item_tuple_keep_their_own_id_and_time() -> None:
    # Scores read item tuples once per definition (a cache keyed by the tuple object);
    # what belongs to each assessment must still come from that assessment.
    items = (2, 2, 2, 2, 2, 2, 2, 2, 1)
    t0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
    first = Assessment("a1", "PHQ-9", t0, items=items)
    second = Assessment("a2", "PHQ-9", t0 + timedelta(days=7), items=items)
    phq9 = tp.builtin_instrument("PHQ-9")
    s1, s2 = tp.score(phq9, first), tp.score(phq9, second)
    assert (s1.assessment_id, s1.administered_at) == ("a1", t0)
    assert (s2.assessment_id, s2.administered_at) == ("a2", t0 + timedelta(days=7))
    assert s1.total == s2.total == 17.0
    assert s1.risk_flags == s2.risk_flags == ("self-harm-thoughts",)


@given(st.lists(st.one_of(st.none(), st.integers(-1, 4)), min_size=9, max_size=9))
def test_remembered_item_problems_are_the_same_as_checked_afresh(items: list[int | None]) -> None:
    phq9 = tp.builtin_instrument("PHQ-9")
    shared = tuple(items)
    first = phq9.response_problems(shared, None)
    first.append(tp.ValidationIssue("$.x", "mutating a returned list changes nothing"))
    assert phq9.response_problems(shared, None) == phq9.response_problems(list(items), None)


def test_a_total_beside_complete_items_must_be_theirs() -> None:
    # Scoring reads complete items, never the total beside them: a total that
    # disagrees (CORE-10's reverse-scored items 2 and 3 reflected) is refused.
    core = tp.instruments.CORE10
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    items = (0,) * 10
    assert core.response_problems(items, 8) == []
    assert [p.path for p in core.response_problems(items, 0)] == ["$.total"]
    # With a missing item the total is the recorder's own (prorating is scoring's).
    assert core.response_problems((None,) + (0,) * 9, 0) == []
    plan = tp.TreatmentPlan.refer("p-1", "c-1", at=at, by="gp-1")
    wrong = tp.Assessment("a1", "PHQ-9", at, items=(1,) * 9, total=25)
    with pytest.raises(ValidationError) as info:
        tp.record_assessment(plan, wrong)
    assert [p.path for p in info.value.problems] == ["$.total"]
    right = attrs.evolve(wrong, total=9)
    assert tp.score(tp.instruments.PHQ9, right).total == 9
    assert tp.record_assessment(plan, right).assessments == (right,)


def test_remembered_bands_and_caseness_equal_band_of_and_is_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each total's band and caseness, remembered per definition (the table starts
    afresh when full), are band_of's and is_case's, for instruments with and without
    reverse-scored items."""
    from treatplan import _scoring

    monkeypatch.setattr(_scoring, "_BANDS_PER_INSTRUMENT", 3)
    for code in ("PHQ-9", "GAD-7", "CORE-10", "WSAS"):
        instrument = tp.builtin_instrument(code)
        for total in [*range(0, 30, 3), 20.5, 9.5, 0.0]:
            if not instrument.total_min <= total <= instrument.total_max:
                continue
            band = tp.instruments.band_of(instrument, total)
            assert _scoring._band_and_case(instrument, total) == (
                band.label if band is not None else None,
                tp.instruments.is_case(instrument, total),
            )
    assert _scoring._band_and_case(tp.builtin_instrument("PHQ-9"), None) == (None, None)


def test_risk_flags_are_in_item_order_whatever_order_the_definition_lists_them() -> None:
    """Several risk items listed out of order: flags come in item order, and a missing
    risk item means risk was not assessed (complete and incomplete responses alike)."""
    from treatplan.instruments import RiskItem

    four = Instrument(
        code="FOUR",
        name="four items",
        item_count=4,
        item_min=0,
        item_max=3,
        max_missing=1,
        risk_items=(
            RiskItem(item=4, threshold=2, flag="late"),
            RiskItem(item=1, threshold=1, flag="early"),
        ),
    )
    complete = tp.score(four, Assessment("a-1", "FOUR", T0, items=(1, 0, 0, 3)))
    assert complete.risk_flags == ("early", "late")
    assert complete.risk_assessed
    assert complete.total == 4.0
    partial = tp.score(four, Assessment("a-2", "FOUR", T0, items=(2, 0, 1, None)))
    assert partial.risk_flags == ("early",)
    assert not partial.risk_assessed
    assert partial.total == 4.0
    assert partial.prorated
