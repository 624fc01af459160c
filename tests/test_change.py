"""Reliable and clinically significant change, checked by hand and against sources."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan import ChangeCategory as C
from treatplan import ChangeMethod, CutoffChoice, Direction, HagemanArrindell, Norms

# --------------------------------------------------------------------------- Jacobson-Truax
# Worked example: SD_pre = 5, r_xx = 0.8.
#   SE     = 5 * sqrt(1 - 0.8) = 5 * 0.4472136 = 2.2360680
#   S_diff = sqrt(2) * 2.2360680 = 3.1622777 (= sqrt(10))
#   pre 20 -> post 12: RC = (12 - 20) / 3.1622777 = -2.5298221 (|RC| > 1.96: reliable)
#   pre 20 -> post 15: RC = -5 / 3.1622777 = -1.5811388 (not reliable)
#   criterion: 1.96 * 3.1622777 = 6.1980643 points


def test_standard_error_of_difference_by_hand() -> None:
    assert tp.standard_error_of_difference(5, 0.8) == pytest.approx(math.sqrt(10))


def test_rci_by_hand() -> None:
    assert tp.reliable_change_index(20, 12, 5, 0.8) == pytest.approx(-2.5298221)
    assert tp.reliable_change_index(20, 15, 5, 0.8) == pytest.approx(-1.5811388)


def test_reliable_difference_by_hand() -> None:
    assert tp.reliable_difference(5, 0.8) == pytest.approx(6.1980643)


def test_rc_criterion_matches_the_published_formula() -> None:
    # The 95% criterion as printed by Evans' RCSC calculator (psyctc.org, after
    # Jacobson & Truax 1991 and Christensen & Mendoza 1986):
    # SD1 * sqrt(2) * sqrt(1 - rel) * 1.96. SD1 = 7.5, rel = 0.9:
    # 7.5 * 1.4142136 * 0.3162278 * 1.96 = 3.3541020 * 1.96 = 6.5740 points.
    assert tp.reliable_difference(7.5, 0.9) == pytest.approx(6.5740, abs=1e-4)


def test_jacobson_truax_classification_by_hand() -> None:
    recovered = tp.jacobson_truax_change(20, 12, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert recovered.index == pytest.approx(-2.5298221)
    assert recovered.category is C.RECOVERED
    assert (recovered.clinical_at_pre, recovered.clinical_at_post) == (True, False)
    # Reliable but still above the cut-off: improved.
    improved = tp.jacobson_truax_change(24, 16, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert improved.category is C.IMPROVED
    # 5 points is below the 6.2-point criterion.
    same = tp.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert same.category is C.UNCHANGED
    assert not same.reliable
    harmed = tp.jacobson_truax_change(10, 18, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert harmed.category is C.HARMED
    worse = tp.jacobson_truax_change(16, 24, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert worse.category is C.DETERIORATED


def test_without_a_cutoff_reliable_change_is_improved_or_deteriorated() -> None:
    better = tp.jacobson_truax_change(20, 12, sd_pre=5, reliability=0.8)
    assert (better.category, better.cutoff, better.clinical_at_pre) == (C.IMPROVED, None, None)
    assert tp.jacobson_truax_change(12, 20, sd_pre=5, reliability=0.8).category is C.DETERIORATED


def test_z_is_configurable() -> None:
    # |RC| = 1.5811 is reliable at z = 1.5 but not at 1.96.
    assert tp.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8, z=1.5).reliable
    assert not tp.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8).reliable


@pytest.mark.parametrize(("sd", "r"), [(0, 0.8), (-1, 0.8), (5, 1), (5, -0.1), (math.nan, 0.5)])
def test_bad_sd_or_reliability_is_refused(sd: float, r: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        tp.standard_error_of_difference(sd, r)


# --------------------------------------------------------------------------- cut-offs
def test_cutoffs_higher_is_worse_by_hand() -> None:
    # M1 = 20, SD1 = 5 (clinical); M0 = 8, SD0 = 4 (functional).
    # a = 20 - 2*5 = 10; b = 8 + 2*4 = 16; c = (4*20 + 5*8) / (4 + 5) = 120 / 9 = 13.333
    norms = Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8
    )
    cut = tp.clinical_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert (cut.a, cut.b) == (10, 16)
    assert cut.c == pytest.approx(13.3333333)
    assert cut.get(CutoffChoice.B) == 16


def test_cutoffs_higher_is_better_by_hand() -> None:
    # M1 = 15, SD1 = 5 (clinical); M0 = 30, SD0 = 5 (functional).
    # a = 15 + 2*5 = 25; b = 30 - 2*5 = 20; c = (5*15 + 5*30) / 10 = 22.5
    norms = Norms(
        clinical_mean=15, clinical_sd=5, functional_mean=30, functional_sd=5, reliability=0.8
    )
    cut = tp.clinical_cutoffs(norms, Direction.HIGHER_IS_BETTER)
    assert (cut.a, cut.b, cut.c) == (25, 20, 22.5)


def test_evans_margison_barkham_1998_example_by_hand() -> None:
    # Inputs published in Evans, Margison & Barkham (1998, Evidence-Based Mental
    # Health 1:70-72), CORE item-mean scale, as reproduced in the clinsig R
    # package's example: clinical M1 = 1.81, SD1 = 0.53; functional M0 = 0.72,
    # SD0 = 0.57; alpha = 0.89.
    #   c = (0.57 * 1.81 + 0.53 * 0.72) / (0.57 + 0.53) = (1.0317 + 0.3816) / 1.10 = 1.2848
    #   a = 1.81 - 2 * 0.53 = 0.75;  b = 0.72 + 2 * 0.57 = 1.86
    #   RC criterion = 1.96 * 0.53 * sqrt(2) * sqrt(0.11) = 1.96 * 0.2485813 = 0.4872
    norms = Norms(
        clinical_mean=1.81,
        clinical_sd=0.53,
        functional_mean=0.72,
        functional_sd=0.57,
        reliability=0.89,
    )
    cut = tp.clinical_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert cut.c == pytest.approx(1.2848, abs=1e-4)
    assert cut.a == pytest.approx(0.75)
    assert cut.b == pytest.approx(1.86)
    assert tp.reliable_difference(0.53, 0.89) == pytest.approx(0.4872, abs=1e-4)


def test_in_clinical_range_respects_direction() -> None:
    assert tp.in_clinical_range(10, 10, Direction.HIGHER_IS_WORSE)
    assert not tp.in_clinical_range(9.9, 10, Direction.HIGHER_IS_WORSE)
    assert tp.in_clinical_range(24.9, 25, Direction.HIGHER_IS_BETTER)
    assert not tp.in_clinical_range(25, 25, Direction.HIGHER_IS_BETTER)


# --------------------------------------------------------------------------- fixed thresholds
# NHS Talking Therapies (published): reliable change is a PHQ-9 change of 6 or
# more and a GAD-7 change of 4 or more; caseness PHQ-9 >= 10, GAD-7 >= 8.
@pytest.mark.parametrize(
    ("code", "pre", "post", "category"),
    [
        ("PHQ-9", 18, 8, C.RECOVERED),  # -10, 18 case -> 8 not
        ("PHQ-9", 15, 9, C.RECOVERED),  # exactly -6 counts
        ("PHQ-9", 15, 10, C.UNCHANGED),  # -5 is not reliable
        ("PHQ-9", 18, 11, C.IMPROVED),  # -7 but still a case
        ("PHQ-9", 12, 8, C.UNCHANGED),  # crossed the cut-off, but only -4
        ("PHQ-9", 8, 14, C.HARMED),  # +6 from non-case into case
        ("PHQ-9", 15, 22, C.DETERIORATED),  # +7 within the clinical range
        ("GAD-7", 11, 7, C.RECOVERED),  # exactly -4
        ("GAD-7", 11, 8, C.UNCHANGED),  # -3
        ("GAD-7", 4, 8, C.HARMED),  # +4 into caseness
    ],
)
def test_nhs_talking_therapies_thresholds(code: str, pre: int, post: int, category: C) -> None:
    result = tp.classify_change(tp.instrument(code), pre, post)
    assert result.method is ChangeMethod.FIXED_THRESHOLD
    assert result.index is None
    assert result.category is category


@pytest.mark.parametrize(
    ("pre", "post", "category"),
    [
        (20, 30, C.RECOVERED),  # +10 from below 25 to 25+
        (18, 24, C.IMPROVED),  # +6 but still below 25
        (26, 30, C.UNCHANGED),  # +4 < 5
        (30, 20, C.HARMED),  # -10 into the clinical range
        (20, 12, C.DETERIORATED),  # -8 within it
    ],
)
def test_ors_is_higher_is_better(pre: int, post: int, category: C) -> None:
    result = tp.classify_change(tp.ORS, pre, post)
    assert result.category is category
    assert (result.improvement > 0) == (post > pre)


def test_fixed_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threshold"):
        tp.fixed_threshold_change(10, 4, threshold=0)


# --------------------------------------------------------------------------- classify_change
NORMED = attrs.evolve(
    tp.CORE10,
    norms=Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8
    ),
)


def test_classify_change_uses_norms_when_there_is_no_fixed_threshold() -> None:
    result = tp.classify_change(NORMED, 20, 12)
    assert result.method is ChangeMethod.JACOBSON_TRUAX
    assert result.index == pytest.approx(-2.5298221)
    assert result.cutoff == 11  # the caseness cut-off wins over c by default
    assert result.category is C.IMPROVED  # 12 is still at or above 11
    # 20 -> 10: RC = -10 / 3.1622777 = -3.1622777, and 10 is below 11.
    assert tp.classify_change(NORMED, 20, 10).category is C.RECOVERED


def test_classify_change_takes_a_named_or_numeric_cutoff() -> None:
    assert tp.classify_change(NORMED, 20, 12, cutoff=CutoffChoice.A).cutoff == 10
    assert tp.classify_change(NORMED, 20, 12, cutoff=CutoffChoice.A).category is C.IMPROVED
    assert tp.classify_change(NORMED, 20, 12, cutoff=15).category is C.RECOVERED


def test_classify_change_falls_back_to_cutoff_c_without_caseness() -> None:
    no_case = attrs.evolve(NORMED, caseness_cutoff=None)
    assert tp.classify_change(no_case, 20, 12).cutoff == pytest.approx(13.3333333)


def test_classify_change_needs_a_threshold_or_norms() -> None:
    with pytest.raises(ValueError, match="neither"):
        tp.classify_change(tp.CORE10, 20, 12)
    with pytest.raises(ValueError, match="norms"):
        tp.classify_change(tp.PHQ9, 20, 12, cutoff=CutoffChoice.C)
    with pytest.raises(ValueError, match="stats"):
        tp.classify_change(NORMED, 20, 12, method=ChangeMethod.HAGEMAN_ARRINDELL)


def test_classify_change_can_force_jacobson_truax_on_a_fixed_threshold_instrument() -> None:
    phq = attrs.evolve(
        tp.PHQ9,
        norms=Norms(
            clinical_mean=15.5,
            clinical_sd=4.3,
            functional_mean=3,
            functional_sd=3,
            reliability=0.89,
        ),
    )
    # S_diff = sqrt(2) * 4.3 * sqrt(0.11) = 6.0811 * 0.33166 = 2.0168
    # RC for 16 -> 9 = -7 / 2.0168 = -3.4708; 9 is below the caseness cut-off 10.
    result = tp.classify_change(phq, 16, 9, method=ChangeMethod.JACOBSON_TRUAX)
    assert result.index == pytest.approx(-3.4708, abs=1e-3)
    assert result.category is C.RECOVERED


# --------------------------------------------------------------------------- Hageman-Arrindell
STATS = HagemanArrindell(
    mean_pre=20,
    mean_post=12,
    sd_pre=5,
    sd_post=6,
    reliability_pre=0.8,
    reliability_post=0.8,
    pre_post_correlation=0.5,
)
# r_dd = (25*0.8 + 36*0.8 - 2*0.5*5*6) / (25 + 36 - 2*0.5*5*6) = 18.8 / 31 = 0.6064516
# SE_pre^2 = 25 * 0.2 = 5; SE_post^2 = 36 * 0.2 = 7.2
# denominator = sqrt(0.6064516 * 12.2) = sqrt(7.3987097) = 2.7200569


def test_hageman_arrindell_rc_by_hand() -> None:
    # Individual change equal to the mean change (-8): numerator = -8 exactly.
    assert tp.hageman_arrindell_rc(22, 14, STATS) == pytest.approx(-8 / 2.7200569)
    # No individual change: numerator = -8 * (1 - 0.6064516) = -3.1483871 -> -1.1574.
    assert tp.hageman_arrindell_rc(20, 20, STATS) == pytest.approx(-3.1483871 / 2.7200569)


def test_hageman_arrindell_uses_the_one_sided_criterion() -> None:
    # pre 20 -> post 16: numerator = -4 * 0.6064516 - 8 * 0.3935484 = -5.5741935
    # RC_ID = -5.5741935 / 2.7200569 = -2.0493 (> 1.645: reliable).
    result = tp.hageman_arrindell_change(20, 16, stats=STATS)
    assert result.index == pytest.approx(-2.0493, abs=1e-4)
    assert result.reliable_improvement
    assert result.method is ChangeMethod.HAGEMAN_ARRINDELL


def test_hageman_arrindell_judges_the_range_on_true_score_estimates() -> None:
    # post 10: true-score estimate 12 + 0.8 * (10 - 12) = 10.4 (below 11: non-clinical);
    # pre 24: 20 + 0.8 * 4 = 23.2 (clinical). Cut-off 11.
    result = tp.hageman_arrindell_change(24, 10, stats=STATS, cutoff=11)
    assert (result.clinical_at_pre, result.clinical_at_post) == (True, False)
    assert result.category is C.RECOVERED
    # Raw post 10.9 is below 11, but its estimate 12 + 0.8 * (10.9 - 12) = 11.12 is not.
    assert tp.hageman_arrindell_change(24, 10.9, stats=STATS, cutoff=11).category is C.IMPROVED


def test_hageman_arrindell_needs_a_positive_difference_reliability() -> None:
    flat = attrs.evolve(STATS, reliability_pre=0.0, reliability_post=0.0, pre_post_correlation=0.9)
    with pytest.raises(ValueError, match="r_dd"):
        tp.hageman_arrindell_rc(20, 10, flat)


def test_hageman_arrindell_stats_are_validated() -> None:
    with pytest.raises(tp.ValidationError) as info:
        attrs.evolve(STATS, sd_post=0, reliability_pre=1)
    assert {p.path for p in info.value.problems} == {"$.sd_post", "$.reliability_pre"}
    with pytest.raises(tp.ValidationError) as info:
        attrs.evolve(STATS, pre_post_correlation=1.5)
    assert [p.path for p in info.value.problems] == ["$.pre_post_correlation"]


# --------------------------------------------------------------------------- properties
scores = st.floats(min_value=0, max_value=80, allow_nan=False)
sds = st.floats(min_value=0.5, max_value=20)
reliabilities = st.floats(min_value=0, max_value=0.99)


@given(scores, scores, sds, reliabilities)
def test_rci_is_antisymmetric_in_pre_and_post(
    pre: float, post: float, sd: float, r: float
) -> None:
    forward = tp.reliable_change_index(pre, post, sd, r)
    assert tp.reliable_change_index(post, pre, sd, r) == pytest.approx(-forward)


@given(scores, scores, sds, reliabilities, st.sampled_from(Direction))
def test_swapping_pre_and_post_swaps_improvement_and_deterioration(
    pre: float, post: float, sd: float, r: float, direction: Direction
) -> None:
    forward = tp.jacobson_truax_change(pre, post, sd_pre=sd, reliability=r, direction=direction)
    back = tp.jacobson_truax_change(post, pre, sd_pre=sd, reliability=r, direction=direction)
    assert forward.reliable_improvement == back.reliable_deterioration
    assert forward.reliable_deterioration == back.reliable_improvement


@given(scores, scores, sds, reliabilities, st.sampled_from(Direction), st.floats(0, 80))
def test_category_is_consistent_with_direction(
    pre: float, post: float, sd: float, r: float, direction: Direction, cutoff: float
) -> None:
    result = tp.jacobson_truax_change(
        pre, post, sd_pre=sd, reliability=r, direction=direction, cutoff=cutoff
    )
    better = post < pre if direction is Direction.HIGHER_IS_WORSE else post > pre
    if result.category in (C.RECOVERED, C.IMPROVED):
        assert better
    if result.category in (C.DETERIORATED, C.HARMED):
        assert not better
        assert post != pre
    if result.category is C.RECOVERED:
        assert tp.in_clinical_range(pre, cutoff, direction)
        assert not tp.in_clinical_range(post, cutoff, direction)
    if result.category is C.HARMED:
        assert not tp.in_clinical_range(pre, cutoff, direction)
        assert tp.in_clinical_range(post, cutoff, direction)


@given(
    st.integers(0, 27),
    st.integers(0, 27),
)
def test_mirrored_instrument_gives_the_same_category(pre: int, post: int) -> None:
    # PHQ-9 read upside down (27 - x, higher is better) must classify identically.
    mirror = attrs.evolve(
        tp.PHQ9, code="PHQ-9-MIRROR", direction=Direction.HIGHER_IS_BETTER, caseness_cutoff=17.5
    )
    # PHQ-9 case: x >= 10  <=>  27 - x <= 17  <=>  27 - x < 17.5 (the mirror's case).
    original = tp.classify_change(tp.PHQ9, pre, post).category
    assert tp.classify_change(mirror, 27 - pre, 27 - post).category is original


@given(
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, True, False]),
    st.sampled_from([None, True, False]),
)
def test_change_category_table(
    better: bool, worse: bool, at_pre: bool | None, at_post: bool | None
) -> None:
    if better and worse:
        with pytest.raises(ValueError, match="both"):
            tp.change_category(better, worse, at_pre, at_post)
        return
    category = tp.change_category(better, worse, at_pre, at_post)
    if not better and not worse:
        assert category is C.UNCHANGED
    elif better:
        assert category is (C.RECOVERED if (at_pre, at_post) == (True, False) else C.IMPROVED)
    else:
        assert category is (C.HARMED if (at_pre, at_post) == (False, True) else C.DETERIORATED)
