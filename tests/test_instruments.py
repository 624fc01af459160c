"""The built-in instrument catalogue (docs/references.md#measures) and custom definitions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import Instrument, ValidationError
from treatplan import strategies as tps
from treatplan.instruments import Band, Direction, ItemChoices, Norms, RiskItem

# (code, items, item_min, item_max, total_min, total_max, direction, caseness, loinc)
CATALOGUE = [
    ("PHQ-9", 9, 0, 3, 0, 27, Direction.HIGHER_IS_WORSE, 10, "44261-6"),
    ("GAD-7", 7, 0, 3, 0, 21, Direction.HIGHER_IS_WORSE, 8, "70274-6"),
    ("CORE-10", 10, 0, 4, 0, 40, Direction.HIGHER_IS_WORSE, 11, None),
    ("ORS", 4, 0, 10, 0, 40, Direction.HIGHER_IS_BETTER, 25, None),
    ("SRS", 4, 0, 10, 0, 40, Direction.HIGHER_IS_BETTER, 36, None),
    ("WSAS", 5, 0, 8, 0, 40, Direction.HIGHER_IS_WORSE, 10, None),
    ("PCL-5", 20, 0, 4, 0, 80, Direction.HIGHER_IS_WORSE, 33, "101698-9"),
    ("K10", 10, 1, 5, 10, 50, Direction.HIGHER_IS_WORSE, None, None),
    ("AUDIT", 10, 0, 4, 0, 40, Direction.HIGHER_IS_WORSE, 8, None),
]


def test_catalogue_lists_every_builtin_once_in_a_stable_order() -> None:
    codes = [i.code for i in tp.instruments.builtin_instruments()]
    assert codes == [row[0] for row in CATALOGUE]
    assert set(codes) == set(tp.instruments.BUILTIN_INSTRUMENTS)


@pytest.mark.parametrize(
    ("code", "items", "low", "high", "total_min", "total_max", "direction", "case", "loinc"),
    CATALOGUE,
)
def test_builtin_definitions_match_their_sources(
    code: str,
    items: int,
    low: int,
    high: int,
    total_min: int,
    total_max: int,
    direction: Direction,
    case: float | None,
    loinc: str | None,
) -> None:
    definition = tp.builtin_instrument(code)
    assert definition.item_count == items
    assert (definition.item_min, definition.item_max) == (low, high)
    assert (definition.total_min, definition.total_max) == (total_min, total_max)
    assert definition.direction is direction
    assert definition.caseness_cutoff == case
    assert definition.loinc == loinc
    assert definition.source


def test_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        tp.builtin_instrument("HADS")


@pytest.mark.parametrize(
    "instrument",
    [i for i in tp.instruments.builtin_instruments() if i.bands],
    ids=lambda i: i.code,
)
def test_bands_tile_the_total_range_without_gaps_or_overlaps(instrument: Instrument) -> None:
    bands = sorted(instrument.bands, key=lambda b: b.low)
    assert bands[0].low == instrument.total_min
    assert bands[-1].high == instrument.total_max
    for before, after in itertools.pairwise(bands):
        # An open lower edge (WSAS "> 20") starts where the band below ends.
        assert after.low == (before.high if after.low_open else before.high + 1)


def test_instruments_without_published_bands_have_none() -> None:
    assert [i.code for i in tp.instruments.builtin_instruments() if not i.bands] == [
        "ORS",
        "SRS",
        "PCL-5",
    ]


def test_core10_reverses_items_2_and_3_and_prorates_one_item() -> None:
    assert tp.instruments.CORE10.reverse_items == (2, 3)
    assert tp.instruments.CORE10.max_missing == 1
    assert [r.item for r in tp.instruments.CORE10.risk_items] == [6]


def test_only_core10_prorates_by_default() -> None:
    assert {
        i.code: i.max_missing for i in tp.instruments.builtin_instruments() if i.max_missing
    } == {"CORE-10": 1}


def test_audit_items_9_and_10_take_0_2_or_4() -> None:
    assert tp.instruments.AUDIT.allowed(9) == (0, 2, 4)
    assert tp.instruments.AUDIT.allowed(10) == (0, 2, 4)
    assert tp.instruments.AUDIT.allowed(8) == (0, 1, 2, 3, 4)
    items = [0] * 8 + [1, 0]
    problems = tp.instruments.AUDIT.response_problems(items, None)
    assert [p.path for p in problems] == ["$.items[8]"]
    assert "0, 2, 4" in problems[0].expected


def test_phq9_item_9_is_the_risk_item_from_a_response_of_1() -> None:
    (risk,) = tp.instruments.PHQ9.risk_items
    assert (risk.item, risk.threshold) == (9, 1)


def test_reliable_change_only_where_published_or_documented() -> None:
    assert {
        i.code: i.reliable_change
        for i in tp.instruments.builtin_instruments()
        if i.reliable_change
    } == {
        "PHQ-9": 6,
        "GAD-7": 4,
        "ORS": 5,
    }


# --------------------------------------------------------------------------- norms
NORMS = Norms(clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8)


def test_norms_reject_non_positive_sds_and_unit_reliability_without_echoing() -> None:
    with pytest.raises(ValidationError) as info:
        Norms(clinical_mean=20, clinical_sd=0, functional_mean=8, functional_sd=4, reliability=1)
    paths = {p.path for p in info.value.problems}
    assert paths == {"$.clinical_sd", "$.reliability"}
    assert "20" not in str(info.value)


@pytest.mark.parametrize(
    ("sd", "reliability"), [(1e-320, 0.9999999999999999), (1e-320, 0.5), (5, 1e-30), (1e-10, 0.5)]
)
def test_norms_reject_sds_whose_standard_error_rounds_to_zero(
    sd: float, reliability: float
) -> None:
    # The change arithmetic divides by SD * sqrt(1 - r) and SD * sqrt(r): near 0,
    # every change index would overflow or divide by zero.
    with pytest.raises(ValidationError) as info:
        Norms(
            clinical_mean=20,
            clinical_sd=sd,
            functional_mean=8,
            functional_sd=4,
            reliability=reliability,
        )
    assert "$.clinical_sd" in {p.path for p in info.value.problems}


def test_norms_reject_reliability_above_one() -> None:
    with pytest.raises(ValidationError):
        attrs.evolve(NORMS, reliability=1.5)


# --------------------------------------------------------------------------- custom + JSON
def _custom() -> Instrument:
    return Instrument(
        code="LOCAL-6",
        name="A local six-item measure",
        item_count=6,
        item_min=0,
        item_max=3,
        bands=(Band("low", 0, 8), Band("high", 8, 18, low_open=True)),
        caseness_cutoff=9,
        reverse_items=(2,),
        item_choices=(ItemChoices(6, (0, 3)),),
        max_missing=2,
        round_prorated=True,
        norms=NORMS,
        source="local service audit",
    )


@pytest.mark.parametrize(
    "instrument", [*tp.instruments.builtin_instruments(), _custom()], ids=lambda i: i.code
)
def test_every_definition_round_trips_through_json(instrument: Instrument) -> None:
    assert tp.loads(tp.dumps(instrument), Instrument) == instrument


def test_norms_round_trip_inside_a_plan(plan_with_custom: tp.TreatmentPlan) -> None:
    again = tp.loads(tp.dumps(plan_with_custom))
    assert again == plan_with_custom
    assert again.instrument("LOCAL-6").norms == NORMS


def test_open_band_edges_and_prorate_rounding_round_trip_inside_a_plan(
    plan_with_custom: tp.TreatmentPlan,
) -> None:
    again = tp.loads(tp.dumps(plan_with_custom)).instrument("LOCAL-6")
    assert again.bands[1].low_open
    assert not again.bands[0].low_open
    assert again.round_prorated


def test_documents_without_low_open_or_round_prorated_take_the_defaults(
    plan_with_custom: tp.TreatmentPlan,
) -> None:
    doc = tp.to_dict(plan_with_custom)
    del doc["custom_instruments"][0]["round_prorated"]
    del doc["custom_instruments"][0]["bands"][1]["low_open"]
    loaded = tp.from_dict(doc).instrument("LOCAL-6")
    assert (loaded.round_prorated, loaded.bands[1].low_open) == (False, False)


def test_band_low_open_must_be_a_boolean() -> None:
    with pytest.raises(ValidationError) as info:
        Band("high", 8, 18, low_open="yes")  # type: ignore[arg-type]
    assert [p.path for p in info.value.problems] == ["$.low_open"]
    assert "yes" not in str(info.value)


def test_wsas_caseness_10_is_marked_as_an_unconfirmed_default() -> None:
    # Mundt et al. 2002 publish bands, not a caseness cut-off (clinical review F8).
    assert tp.instruments.WSAS.caseness_cutoff == 10
    assert tp.instruments.WSAS.source == "Mundt et al. 2002 (caseness 10 unconfirmed)"


def test_wsas_top_band_is_open_above_20() -> None:
    # Mundt et al. 2002: "> 20" moderately severe (clinical review F10).
    top = tp.instruments.WSAS.bands[-1]
    assert (top.label, top.low, top.high, top.low_open) == (
        "moderately severe impairment",
        20,
        40,
        True,
    )
    assert not top.contains(20)
    assert top.contains(20.5)


def test_plan_documents_without_norms_still_load(plan_with_custom: tp.TreatmentPlan) -> None:
    doc = tp.to_dict(plan_with_custom)
    del doc["custom_instruments"][0]["norms"]
    assert tp.from_dict(doc).instrument("LOCAL-6").norms is None


def test_bad_norms_in_a_document_are_reported_with_their_path(
    plan_with_custom: tp.TreatmentPlan,
) -> None:
    doc = tp.to_dict(plan_with_custom)
    doc["custom_instruments"][0]["norms"]["reliability"] = 2
    with pytest.raises(ValidationError) as info:
        tp.from_dict(doc)
    assert [p.path for p in info.value.problems] == ["$.custom_instruments[0].norms.reliability"]


@pytest.fixture
def plan_with_custom() -> tp.TreatmentPlan:
    return tp.TreatmentPlan.refer(
        "plan-1",
        "client-1",
        at=datetime(2026, 1, 5, 9, tzinfo=UTC),
        by="clin-1",
        custom_instruments=(_custom(),),
    )


# --------------------------------------------------------------------------- the Instrument type
# Basic checks of the definition type and of responses to PHQ-9 and GAD-7 (issue 2).
SECRET = "SECRET clinical words"


def _definition(**changes: object) -> Instrument:
    kwargs: dict[str, object] = {
        "code": "MOOD-4",
        "name": "Mood four",
        "item_count": 4,
        "item_min": 0,
        "item_max": 3,
    }
    kwargs.update(changes)
    return Instrument(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"code": SECRET}, "$.code"),
        ({"name": "  "}, "$.name"),
        ({"item_count": 0}, "$.item_count"),
        ({"item_min": 2, "item_max": 1}, "$.item_max"),
        ({"reverse_items": (5,)}, "$.reverse_items[0]"),
        ({"reverse_items": (1, 1)}, "$.reverse_items"),
        ({"item_choices": (ItemChoices(9, (0, 1)),)}, "$.item_choices[0]"),
        ({"risk_items": (RiskItem(5, 1, "flag"),)}, "$.risk_items[0]"),
        ({"max_missing": 4}, "$.max_missing"),
        ({"direction": "higher_is_worse"}, "$.direction"),
        ({"caseness_cutoff": float("nan")}, "$.caseness_cutoff"),
        ({"reliable_change": -1}, "$.reliable_change"),
        ({"loinc": "not a code"}, "$.loinc"),
    ],
    ids=lambda x: str(x)[:30],
)
def test_instrument_definitions_are_validated(changes: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _definition(**changes)
    assert [p.path for p in caught.value.problems] == [path]
    assert SECRET not in str(caught.value)


def test_parts_of_a_definition_are_validated() -> None:
    with pytest.raises(ValidationError) as caught:
        Band("mild", 5, 4)
    assert [p.path for p in caught.value.problems] == ["$.high"]
    with pytest.raises(ValidationError):
        ItemChoices(1, ())
    with pytest.raises(ValidationError):
        RiskItem(1, 1, SECRET)
    with pytest.raises(ValidationError):
        RiskItem(0, 1, "flag")


def test_allowed_responses_and_total_range() -> None:
    definition = _definition(item_choices=(ItemChoices(2, (0, 3)),))
    assert definition.allowed(1) == (0, 1, 2, 3)
    assert definition.allowed(2) == (0, 3)
    assert definition.total_min == 0
    assert definition.total_max == 12
    assert (tp.instruments.PHQ9.total_min, tp.instruments.PHQ9.total_max) == (0, 27)
    assert (tp.instruments.GAD7.total_min, tp.instruments.GAD7.total_max) == (0, 21)


@pytest.mark.parametrize(
    ("instrument", "count"), [(tp.instruments.PHQ9, 9), (tp.instruments.GAD7, 7)]
)
def test_builtin_responses_are_checked_against_the_definition(
    instrument: Instrument, count: int
) -> None:
    assert instrument.response_problems((0,) * count, None) == []
    assert instrument.response_problems((3,) * count, 3.0 * count) == []
    assert instrument.response_problems((None,) + (1,) * (count - 1), None) == []
    assert instrument.response_problems(None, 0) == []
    assert [p.path for p in instrument.response_problems((1,) * (count - 1), None)] == ["$.items"]
    assert [p.path for p in instrument.response_problems((1,) * (count + 1), None)] == ["$.items"]
    wrong = instrument.response_problems((4,) + (1,) * (count - 2) + (-1,), None)
    assert [p.path for p in wrong] == ["$.items[0]", f"$.items[{count - 1}]"]
    assert wrong[0].expected == "null or an integer from 0 to 3"
    assert [p.path for p in instrument.response_problems(None, 3 * count + 1)] == ["$.total"]
    assert [p.path for p in instrument.response_problems(None, -1)] == ["$.total"]
    assert [p.path for p in instrument.response_problems(None, None)] == ["$"]


def test_item_choice_messages_list_the_choices() -> None:
    definition = _definition(item_choices=(ItemChoices(2, (0, 2)),))
    problems = definition.response_problems((0, 1, 0, 0), None)
    assert problems == [tp.ValidationIssue("$.items[1]", "null or an integer in {0, 2}")]


@given(st.lists(st.integers(-2, 5), min_size=9, max_size=9))
def test_phq9_item_responses_are_valid_exactly_when_in_range(items: list[int]) -> None:
    problems = tp.instruments.PHQ9.response_problems(items, None)
    bad = [i for i, value in enumerate(items) if not 0 <= value <= 3]
    assert [p.path for p in problems] == [f"$.items[{i}]" for i in bad]


@given(tps.assessments(instruments=[tp.instruments.PHQ9, tp.instruments.GAD7]))
def test_generated_assessments_fit_phq9_and_gad7(assessment: tp.Assessment) -> None:
    definition = tp.instruments.PHQ9 if assessment.instrument == "PHQ-9" else tp.instruments.GAD7
    assert assessment.problems_against(definition) == []


@given(tps.instruments())
def test_custom_definitions_round_trip_and_revalidate(definition: Instrument) -> None:
    assert attrs.evolve(definition) == definition
    assert tp.loads(tp.dumps(definition), Instrument) == definition
    assert definition.total_min <= definition.total_max


def test_item_choices_stay_within_the_item_range() -> None:
    with pytest.raises(tp.ValidationError) as caught:
        tp.Instrument(
            "X-2",
            "Example",
            item_count=2,
            item_min=0,
            item_max=4,
            item_choices=(tp.instruments.ItemChoices(2, (0, 2, 10**6)),),
        )
    assert [p.path for p in caught.value.problems] == ["$.item_choices[0].values"]


def test_a_wide_custom_instrument_costs_memory_by_its_definition_not_its_responses() -> None:
    # 1,000 items of 2,001 responses each: the allowed responses are one shared range,
    # never 2 million remembered numbers (a 20 KB document could otherwise hold GBs).
    import tracemalloc

    wide = Instrument(code="WIDE", name="wide", item_count=1000, item_min=-1000, item_max=1000)
    tracemalloc.start()
    try:
        problems = wide.response_problems(tuple([5] * 999 + [2000]), None)
        assert wide.response_problems((-1000,) * 1000, None) == []
        assert (wide.total_min, wide.total_max) == (-1_000_000, 1_000_000)
        assert wide.allowed(3) == tuple(range(-1000, 1001))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.path for p in problems] == ["$.items[999]"]
    assert peak < 2_000_000
