"""The built-in instrument catalogue (DOMAIN.md section 3) and custom definitions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import attrs
import pytest

import treatplan as tp
from treatplan import Band, Direction, Instrument, ItemChoices, Norms, ValidationError

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
    codes = [i.code for i in tp.instruments()]
    assert codes == [row[0] for row in CATALOGUE]
    assert set(codes) == set(tp.BUILTIN_INSTRUMENTS)


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
    definition = tp.instrument(code)
    assert definition.item_count == items
    assert (definition.item_min, definition.item_max) == (low, high)
    assert (definition.total_min, definition.total_max) == (total_min, total_max)
    assert definition.direction is direction
    assert definition.caseness_cutoff == case
    assert definition.loinc == loinc
    assert definition.source


def test_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        tp.instrument("HADS")


@pytest.mark.parametrize(
    "instrument", [i for i in tp.instruments() if i.bands], ids=lambda i: i.code
)
def test_bands_tile_the_total_range_without_gaps_or_overlaps(instrument: Instrument) -> None:
    bands = sorted(instrument.bands, key=lambda b: b.low)
    assert bands[0].low == instrument.total_min
    assert bands[-1].high == instrument.total_max
    for before, after in itertools.pairwise(bands):
        assert after.low == before.high + 1


def test_instruments_without_published_bands_have_none() -> None:
    assert [i.code for i in tp.instruments() if not i.bands] == ["ORS", "SRS", "PCL-5"]


def test_core10_reverses_items_2_and_3_and_prorates_one_item() -> None:
    assert tp.CORE10.reverse_items == (2, 3)
    assert tp.CORE10.max_missing == 1
    assert [r.item for r in tp.CORE10.risk_items] == [6]


def test_only_core10_prorates_by_default() -> None:
    assert {i.code: i.max_missing for i in tp.instruments() if i.max_missing} == {"CORE-10": 1}


def test_audit_items_9_and_10_take_0_2_or_4() -> None:
    assert tp.AUDIT.allowed(9) == (0, 2, 4)
    assert tp.AUDIT.allowed(10) == (0, 2, 4)
    assert tp.AUDIT.allowed(8) == (0, 1, 2, 3, 4)
    items = [0] * 8 + [1, 0]
    problems = tp.AUDIT.response_problems(items, None)
    assert [p.path for p in problems] == ["$.items[8]"]
    assert "0, 2, 4" in problems[0].expected


def test_phq9_item_9_is_the_risk_item_from_a_response_of_1() -> None:
    (risk,) = tp.PHQ9.risk_items
    assert (risk.item, risk.threshold) == (9, 1)


def test_reliable_change_only_where_published_or_documented() -> None:
    assert {i.code: i.reliable_change for i in tp.instruments() if i.reliable_change} == {
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
        bands=(Band("low", 0, 8), Band("high", 9, 18)),
        caseness_cutoff=9,
        reverse_items=(2,),
        item_choices=(ItemChoices(6, (0, 3)),),
        max_missing=2,
        norms=NORMS,
        source="local service audit",
    )


@pytest.mark.parametrize("instrument", [*tp.instruments(), _custom()], ids=lambda i: i.code)
def test_every_definition_round_trips_through_json(instrument: Instrument) -> None:
    assert tp.loads(tp.dumps(instrument), Instrument) == instrument


def test_norms_round_trip_inside_a_plan(plan_with_custom: tp.TreatmentPlan) -> None:
    again = tp.loads(tp.dumps(plan_with_custom))
    assert again == plan_with_custom
    assert again.instrument("LOCAL-6").norms == NORMS


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
