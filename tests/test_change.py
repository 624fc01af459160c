"""Reliable and clinically significant change, checked by hand and against sources."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import treatplan as tp
from treatplan.change import ChangeCategory as C
from treatplan.change import ChangeMethod, CutoffChoice, HagemanArrindell
from treatplan.instruments import Direction, Norms

# --------------------------------------------------------------------------- Jacobson-Truax
# Worked example: SD_pre = 5, r_xx = 0.8.
#   SE     = 5 * sqrt(1 - 0.8) = 5 * 0.4472136 = 2.2360680
#   S_diff = sqrt(2) * 2.2360680 = 3.1622777 (= sqrt(10))
#   pre 20 -> post 12: RC = (12 - 20) / 3.1622777 = -2.5298221 (|RC| > 1.96: reliable)
#   pre 20 -> post 15: RC = -5 / 3.1622777 = -1.5811388 (not reliable)
#   criterion: 1.96 * 3.1622777 = 6.1980643 points


def test_standard_error_of_difference_by_hand() -> None:
    assert tp.change.standard_error_of_difference(5, 0.8) == pytest.approx(math.sqrt(10))


def test_rci_by_hand() -> None:
    assert tp.change.reliable_change_index(20, 12, 5, 0.8) == pytest.approx(-2.5298221)
    assert tp.change.reliable_change_index(20, 15, 5, 0.8) == pytest.approx(-1.5811388)


def test_reliable_difference_by_hand() -> None:
    assert tp.change.reliable_difference(5, 0.8) == pytest.approx(6.1980643)


def test_rc_criterion_matches_the_published_formula() -> None:
    # The 95% criterion as printed by Evans' RCSC calculator (psyctc.org, after
    # Jacobson & Truax 1991 and Christensen & Mendoza 1986):
    # SD1 * sqrt(2) * sqrt(1 - rel) * 1.96. SD1 = 7.5, rel = 0.9:
    # 7.5 * 1.4142136 * 0.3162278 * 1.96 = 3.3541020 * 1.96 = 6.5740 points.
    assert tp.change.reliable_difference(7.5, 0.9) == pytest.approx(6.5740, abs=1e-4)


def test_jacobson_truax_classification_by_hand() -> None:
    recovered = tp.change.jacobson_truax_change(20, 12, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert recovered.index == pytest.approx(-2.5298221)
    assert recovered.category is C.RECOVERED
    assert (recovered.clinical_at_pre, recovered.clinical_at_post) == (True, False)
    # Reliable but still above the cut-off: improved.
    improved = tp.change.jacobson_truax_change(24, 16, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert improved.category is C.IMPROVED
    # 5 points is below the 6.2-point criterion.
    same = tp.change.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert same.category is C.UNCHANGED
    assert not same.reliable
    harmed = tp.change.jacobson_truax_change(10, 18, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert harmed.category is C.HARMED
    worse = tp.change.jacobson_truax_change(16, 24, sd_pre=5, reliability=0.8, cutoff=13.3)
    assert worse.category is C.DETERIORATED


def test_without_a_cutoff_reliable_change_is_improved_or_deteriorated() -> None:
    better = tp.change.jacobson_truax_change(20, 12, sd_pre=5, reliability=0.8)
    assert (better.category, better.cutoff, better.clinical_at_pre) == (C.IMPROVED, None, None)
    assert (
        tp.change.jacobson_truax_change(12, 20, sd_pre=5, reliability=0.8).category
        is C.DETERIORATED
    )


def test_z_is_configurable() -> None:
    # |RC| = 1.5811 is reliable at z = 1.5 but not at 1.96.
    assert tp.change.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8, z=1.5).reliable
    assert not tp.change.jacobson_truax_change(20, 15, sd_pre=5, reliability=0.8).reliable


@pytest.mark.parametrize(("sd", "r"), [(0, 0.8), (-1, 0.8), (5, 1), (5, -0.1), (math.nan, 0.5)])
def test_bad_sd_or_reliability_is_refused(sd: float, r: float) -> None:
    with pytest.raises(tp.ArgumentError, match="expected"):
        tp.change.standard_error_of_difference(sd, r)


# --------------------------------------------------------------------------- cut-offs
def test_cutoffs_higher_is_worse_by_hand() -> None:
    # M1 = 20, SD1 = 5 (clinical); M0 = 8, SD0 = 4 (functional).
    # a = 20 - 2*5 = 10; b = 8 + 2*4 = 16; c = (4*20 + 5*8) / (4 + 5) = 120 / 9 = 13.333
    norms = Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8
    )
    cut = tp.change.clinical_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert (cut.a, cut.b) == (10, 16)
    assert cut.c == pytest.approx(13.3333333)
    assert cut.get(CutoffChoice.B) == 16


def test_cutoffs_higher_is_better_by_hand() -> None:
    # M1 = 15, SD1 = 5 (clinical); M0 = 30, SD0 = 5 (functional).
    # a = 15 + 2*5 = 25; b = 30 - 2*5 = 20; c = (5*15 + 5*30) / 10 = 22.5
    norms = Norms(
        clinical_mean=15, clinical_sd=5, functional_mean=30, functional_sd=5, reliability=0.8
    )
    cut = tp.change.clinical_cutoffs(norms, Direction.HIGHER_IS_BETTER)
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
    cut = tp.change.clinical_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert cut.c == pytest.approx(1.2848, abs=1e-4)
    assert cut.a == pytest.approx(0.75)
    assert cut.b == pytest.approx(1.86)
    assert tp.change.reliable_difference(0.53, 0.89) == pytest.approx(0.4872, abs=1e-4)


def test_in_clinical_range_respects_direction() -> None:
    assert tp.change.in_clinical_range(10, 10, Direction.HIGHER_IS_WORSE)
    assert not tp.change.in_clinical_range(9.9, 10, Direction.HIGHER_IS_WORSE)
    assert tp.change.in_clinical_range(24.9, 25, Direction.HIGHER_IS_BETTER)
    assert not tp.change.in_clinical_range(25, 25, Direction.HIGHER_IS_BETTER)
    # Exactly at a Jacobson-Truax c counts as clinical too (documented convention;
    # the clinicalsignificance R package would call it neither clinical nor functional).
    assert tp.change.in_clinical_range(120 / 9, 120 / 9, Direction.HIGHER_IS_WORSE)


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
    result = tp.change.classify_change(tp.builtin_instrument(code), pre, post)
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
    result = tp.change.classify_change(tp.instruments.ORS, pre, post)
    assert result.category is category
    assert (result.improvement > 0) == (post > pre)


def test_fixed_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threshold"):
        tp.change.fixed_threshold_change(10, 4, threshold=0)


# --------------------------------------------------------------------------- classify_change
NORMED = attrs.evolve(
    tp.instruments.CORE10,
    norms=Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8
    ),
)


def test_classify_change_uses_norms_when_there_is_no_fixed_threshold() -> None:
    result = tp.change.classify_change(NORMED, 20, 12)
    assert result.method is ChangeMethod.JACOBSON_TRUAX
    assert result.index == pytest.approx(-2.5298221)
    assert result.cutoff == 11  # the caseness cut-off wins over c by default
    assert result.category is C.IMPROVED  # 12 is still at or above 11
    # 20 -> 10: RC = -10 / 3.1622777 = -3.1622777, and 10 is below 11.
    assert tp.change.classify_change(NORMED, 20, 10).category is C.RECOVERED


def test_classify_change_takes_a_named_or_numeric_cutoff() -> None:
    assert tp.change.classify_change(NORMED, 20, 12, cutoff=CutoffChoice.A).cutoff == 10
    assert tp.change.classify_change(NORMED, 20, 12, cutoff=CutoffChoice.A).category is C.IMPROVED
    assert tp.change.classify_change(NORMED, 20, 12, cutoff=15).category is C.RECOVERED


def test_classify_change_falls_back_to_cutoff_c_without_caseness() -> None:
    no_case = attrs.evolve(NORMED, caseness_cutoff=None)
    assert tp.change.classify_change(no_case, 20, 12).cutoff == pytest.approx(13.3333333)


def test_classify_change_needs_a_threshold_or_norms() -> None:
    with pytest.raises(tp.ArgumentError, match="it has neither"):
        tp.change.classify_change(tp.instruments.CORE10, 20, 12)
    with pytest.raises(ValueError, match="norms"):
        tp.change.classify_change(tp.instruments.PHQ9, 20, 12, cutoff=CutoffChoice.C)
    with pytest.raises(ValueError, match="stats"):
        tp.change.classify_change(NORMED, 20, 12, method=ChangeMethod.HAGEMAN_ARRINDELL)


def test_classify_change_refuses_z_with_the_fixed_threshold() -> None:
    # The fixed threshold has no z criterion: z was once ignored without a word.
    with pytest.raises(tp.ArgumentError, match=r"^z: expected None with the fixed-threshold"):
        tp.change.classify_change(tp.instruments.PHQ9, 16, 10, z=100)
    with pytest.raises(tp.ArgumentError, match=r"^z: "):
        tp.change.classify_change(
            tp.instruments.GAD7, 16, 10, method=ChangeMethod.FIXED_THRESHOLD, z=1.96
        )
    # With the norm-based method z is the criterion.
    assert tp.change.classify_change(NORMED, 20, 12, z=100).reliable_improvement is False


def test_classify_change_can_force_jacobson_truax_on_a_fixed_threshold_instrument() -> None:
    phq = attrs.evolve(
        tp.instruments.PHQ9,
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
    result = tp.change.classify_change(phq, 16, 9, method=ChangeMethod.JACOBSON_TRUAX)
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
# CS_IND denominators: sqrt(r) * SE = sqrt(0.8) * 5 * sqrt(0.2) = 5 * 0.4 = 2.0 at pre,
# sqrt(0.8) * 6 * sqrt(0.2) = 6 * 0.4 = 2.4 at post.


def test_hageman_arrindell_rc_by_hand() -> None:
    # Individual change equal to the mean change (-8): numerator = -8 exactly.
    assert tp.change.hageman_arrindell_rc(22, 14, STATS) == pytest.approx(-8 / 2.7200569)
    # No individual change: numerator = -8 * (1 - 0.6064516) = -3.1483871 -> -1.1574.
    assert tp.change.hageman_arrindell_rc(20, 20, STATS) == pytest.approx(-3.1483871 / 2.7200569)


def test_hageman_arrindell_rc_matches_the_clinicalsignificance_formula() -> None:
    # clinicalsignificance R package, R/calc_rci_ha.R: one SEm from the pre SD,
    # SEm^2 = 25 * (1 - 0.8) = 5, so r_xx2 = (SD2^2 - SEm^2) / SD2^2 = 31/36.
    # pre 20 -> post 2, M 10 -> 7, SD 5 / 6, r12 0.5:
    #   r_dd = (25*0.8 + 31 - 30) / (25 + 36 - 30) = 21/31 = 0.6774194
    #   RC_ID = (-18 * 0.6774194 - 3 * 0.3225806) / sqrt(0.6774194 * 10)
    #         = -13.1612903 / 2.6027277 = -5.0567289
    stats = HagemanArrindell(
        mean_pre=10,
        mean_post=7,
        sd_pre=5,
        sd_post=6,
        reliability_pre=0.8,
        reliability_post=31 / 36,
        pre_post_correlation=0.5,
    )
    assert tp.change.hageman_arrindell_rc(20, 2, stats) == pytest.approx(-5.056728874721522)


def test_hageman_arrindell_uses_the_one_sided_criterion() -> None:
    # pre 20 -> post 16: numerator = -4 * 0.6064516 - 8 * 0.3935484 = -5.5741935
    # RC_ID = -5.5741935 / 2.7200569 = -2.0493 (> 1.645: reliable).
    result = tp.change.hageman_arrindell_change(20, 16, stats=STATS)
    assert result.index == pytest.approx(-2.0493, abs=1e-4)
    assert result.reliable_improvement
    assert result.method is ChangeMethod.HAGEMAN_ARRINDELL


# Clinical review F3: a large group mean change (25 -> 12).
BIG_CHANGE = HagemanArrindell(
    mean_pre=25,
    mean_post=12,
    sd_pre=6,
    sd_post=7,
    reliability_pre=0.8,
    reliability_post=0.8,
    pre_post_correlation=0.7,
)
# r_dd = (36*0.8 + 49*0.8 - 2*0.7*6*7) / (36 + 49 - 2*0.7*6*7) = 9.2 / 26.2 = 0.3511450
# denominator = sqrt(0.3511450 * (36*0.2 + 49*0.2)) = sqrt(0.3511450 * 17) = 2.4432490
# pre 20 -> 21: numerator = 1 * 0.3511450 - 13 * 0.6488550 = -8.0839695 -> RC_ID = -3.3086965
# pre 20 -> 20: numerator = -13 * 0.6488550 = -8.4351145 -> RC_ID = -3.4524171


def test_hageman_arrindell_direction_comes_from_rc_id_not_the_raw_difference() -> None:
    # Raw +1 on a higher-is-worse scale, but the estimated true change is a fall
    # well beyond 1.645: a reliable improvement (the old code said "deteriorated").
    worse_raw = tp.change.hageman_arrindell_change(20, 21, stats=BIG_CHANGE)
    assert worse_raw.index == pytest.approx(-3.3086965)
    assert worse_raw.difference == 1
    assert worse_raw.improvement == -1
    assert (worse_raw.reliable_improvement, worse_raw.reliable_deterioration) == (True, False)
    assert worse_raw.category is C.IMPROVED
    same = tp.change.hageman_arrindell_change(20, 20, stats=BIG_CHANGE)
    assert same.index == pytest.approx(-3.4524171)
    assert same.reliable_improvement  # the old code said "unchanged"
    assert same.category is C.IMPROVED


def test_hageman_arrindell_direction_on_a_higher_is_better_scale() -> None:
    # The same case mirrored on 0-100 (x -> 100 - x): the group rises 75 -> 88 and
    # the person falls 80 -> 79. RC_ID = +3.3086965, toward health: improvement.
    mirrored = attrs.evolve(BIG_CHANGE, mean_pre=75, mean_post=88)
    result = tp.change.hageman_arrindell_change(
        80, 79, stats=mirrored, direction=Direction.HIGHER_IS_BETTER
    )
    assert result.index == pytest.approx(3.3086965)
    assert (result.reliable_improvement, result.reliable_deterioration) == (True, False)


def test_hageman_arrindell_true_score_cutoffs_by_hand() -> None:
    # M1 = 20, SD1 = 5, r1 = 0.81 (sqrt 0.9): true SD1 = 4.5;
    # M0 = 8, SD0 = 4, r0 = 0.64 (sqrt 0.8): true SD0 = 3.2. Higher is worse:
    #   a = 20 - 2*4.5 = 11; b = 8 + 2*3.2 = 14.4;
    #   c = (4.5*8 + 3.2*20) / (4.5 + 3.2) = (36 + 64) / 7.7 = 12.987013
    norms = Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.81
    )
    cut = tp.change.hageman_arrindell_cutoffs(
        norms, Direction.HIGHER_IS_WORSE, reliability_functional=0.64
    )
    assert cut.a == pytest.approx(11)
    assert cut.b == pytest.approx(14.4)
    assert cut.c == pytest.approx(12.987013)
    # With one reliability for both, c equals Jacobson-Truax c (both SDs scale by sqrt r):
    # (4.5*8 + 3.6*20) / 8.1 = 108 / 8.1 = 13.333333.
    same_r = tp.change.hageman_arrindell_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert same_r.c == pytest.approx(
        tp.change.clinical_cutoffs(norms, Direction.HIGHER_IS_WORSE).c
    )
    assert same_r.b == pytest.approx(8 + 2 * 3.6)


def test_hageman_arrindell_true_score_cutoffs_higher_is_better() -> None:
    # M1 = 15, SD1 = 5; M0 = 30, SD0 = 5; r = 0.64: true SDs 4.
    #   a = 15 + 8 = 23; b = 30 - 8 = 22; c = (4*30 + 4*15) / 8 = 22.5
    norms = Norms(
        clinical_mean=15, clinical_sd=5, functional_mean=30, functional_sd=5, reliability=0.64
    )
    cut = tp.change.hageman_arrindell_cutoffs(norms, Direction.HIGHER_IS_BETTER)
    assert (cut.a, cut.b, cut.c) == (pytest.approx(23), pytest.approx(22), pytest.approx(22.5))


def test_hageman_arrindell_cutoffs_match_the_clinicalsignificance_example() -> None:
    # Example from Bauer et al. (2004) in the clinicalsignificance R package's
    # tests/testthat/test-calc_cutoff.R (.calc_cutoff_ha): M1 = 68.35, SD1 = 22.33,
    # M0 = 50, SD0 = 22, r = 0.93 for both; sqrt(0.93) = 0.9643651.
    #   true SD1 = 22.33 * 0.9643651 = 21.5342721; true SD0 = 22 * 0.9643651 = 21.2160317
    #   a (lower is better) = 68.35 - 2 * 21.5342721 = 25.2814557
    #   c = (21.5342721*50 + 21.2160317*68.35) / (21.5342721 + 21.2160317)
    #     = (1076.7136 + 1450.1158) / 42.7503038 = 59.1066998
    #   b = 50 + 2 * 21.2160317 = 92.4320633 (the package's b takes SD1: 93.0685443)
    norms = Norms(
        clinical_mean=68.35,
        clinical_sd=22.33,
        functional_mean=50,
        functional_sd=22,
        reliability=0.93,
    )
    worse = tp.change.hageman_arrindell_cutoffs(norms, Direction.HIGHER_IS_WORSE)
    assert worse.a == pytest.approx(25.2814557)
    assert worse.c == pytest.approx(59.1066998)
    assert worse.b == pytest.approx(92.4320633)
    better = tp.change.hageman_arrindell_cutoffs(norms, Direction.HIGHER_IS_BETTER)
    assert better.a == pytest.approx(68.35 + 2 * 21.5342721)  # 111.4185443
    assert better.c == worse.c


def test_hageman_arrindell_cutoffs_need_a_positive_reliability() -> None:
    with pytest.raises(tp.ValidationError, match="reliability: a number above 0 and below 1"):
        Norms(clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0)
    norms = Norms(
        clinical_mean=20, clinical_sd=5, functional_mean=8, functional_sd=4, reliability=0.8
    )
    with pytest.raises(tp.ArgumentError, match="reliability_clinical"):
        tp.change.hageman_arrindell_cutoffs(
            norms, Direction.HIGHER_IS_WORSE, reliability_clinical=0
        )
    with pytest.raises(ValueError, match="reliability_functional"):
        tp.change.hageman_arrindell_cutoffs(
            norms, Direction.HIGHER_IS_WORSE, reliability_clinical=0.8, reliability_functional=1
        )


def test_hageman_arrindell_cutoffs_check_norms_and_direction() -> None:
    # A direction as text once gave the higher-is-better cut-offs without a word.
    norms = Norms(
        clinical_mean=18, clinical_sd=5, functional_mean=5, functional_sd=4, reliability=0.85
    )
    for direction in ("higher_is_worse", None):
        with pytest.raises(tp.ArgumentError, match=r"^direction: "):
            tp.change.hageman_arrindell_cutoffs(norms, direction)  # type: ignore[arg-type]
    with pytest.raises(tp.ArgumentError, match=r"^norms: expected the Norms of an instrument"):
        tp.change.hageman_arrindell_cutoffs(None, Direction.HIGHER_IS_WORSE)  # type: ignore[arg-type]


def test_hageman_arrindell_cs_index_by_hand() -> None:
    # CS_IND = (M + r (x - M) - cutoff) / (sqrt(r) SE); true-score cut-off 11.
    #   post 5:  12 + 0.8 * (5 - 12)  = 6.4  -> (6.4 - 11) / 2.4 = -1.9166667
    #   post 10: 12 + 0.8 * (10 - 12) = 10.4 -> (10.4 - 11) / 2.4 = -0.25
    #   pre 24:  20 + 0.8 * (24 - 20) = 23.2 -> (23.2 - 11) / 2.0 = 6.1
    assert tp.change.hageman_arrindell_cs_index(5, 11, STATS) == pytest.approx(-1.9166667)
    assert tp.change.hageman_arrindell_cs_index(10, 11, STATS) == pytest.approx(-0.25)
    assert tp.change.hageman_arrindell_cs_index(24, 11, STATS, at_pre=True) == pytest.approx(6.1)
    with pytest.raises(tp.ValidationError, match="reliability_post"):
        attrs.evolve(STATS, reliability_post=0.0)
    with pytest.raises(ValueError, match="total"):
        tp.change.hageman_arrindell_cs_index(math.inf, 11, STATS)


def test_hageman_arrindell_recovery_needs_cs_ind_beyond_the_criterion() -> None:
    # Cut-off 11 (true-score scale); functional at post needs CS_IND < -1.645, i.e.
    # an estimate below 11 - 1.645 * 2.4 = 7.052, i.e. a raw post below 5.815.
    # 24 -> 5: RC_ID = (-19 * 0.6064516 - 8 * 0.3935484) / 2.7200569
    #                = -14.6709677 / 2.7200569 = -5.3936253; CS_IND post -1.9167: recovered.
    recovered = tp.change.hageman_arrindell_change(24, 5, stats=STATS, cutoff=11)
    assert recovered.index == pytest.approx(-5.3936253)
    assert (recovered.clinical_at_pre, recovered.clinical_at_post) == (True, False)
    assert recovered.category is C.RECOVERED
    # 24 -> 6: estimate 7.2, CS_IND = -3.8 / 2.4 = -1.5833 (not beyond 1.645): improved.
    assert tp.change.hageman_arrindell_change(24, 6, stats=STATS, cutoff=11).category is C.IMPROVED
    # 24 -> 10: the estimate 10.4 is below 11, but CS_IND is only -0.25. The old
    # hybrid (Kelley estimate vs cut-off, no error criterion) called this recovered.
    near = tp.change.hageman_arrindell_change(24, 10, stats=STATS, cutoff=11)
    assert near.clinical_at_post is True
    assert near.category is C.IMPROVED


def test_hageman_arrindell_harm_mirrors_recovery() -> None:
    # pre 2: estimate 20 + 0.8 * (2 - 20) = 5.6, CS_IND = (5.6 - 11) / 2.0 = -2.7
    # (reliably functional); post 20: estimate 18.4, CS_IND = 7.4 / 2.4 = 3.0833.
    # RC_ID = (18 * 0.6064516 - 8 * 0.3935484) / 2.7200569 = 7.7677419 / 2.7200569 = 2.8557277
    harmed = tp.change.hageman_arrindell_change(2, 20, stats=STATS, cutoff=11)
    assert harmed.index == pytest.approx(2.8557277)
    assert (harmed.clinical_at_pre, harmed.clinical_at_post) == (False, True)
    assert harmed.category is C.HARMED


def test_classify_change_uses_true_score_cutoffs_for_hageman_arrindell() -> None:
    ha = ChangeMethod.HAGEMAN_ARRINDELL
    # NORMED: r = 0.8 for both populations, so true-score c = JT c = 13.3333 (not
    # the caseness cut-off 11, an observed-score rule).
    default = tp.change.classify_change(NORMED, 24, 5, method=ha, stats=STATS)
    assert default.cutoff == pytest.approx(13.3333333)
    # a = 20 - 2 * 5 * sqrt(0.8) = 20 - 8.9442719 = 11.0557281
    named = tp.change.classify_change(NORMED, 24, 5, method=ha, stats=STATS, cutoff=CutoffChoice.A)
    assert named.cutoff == pytest.approx(11.0557281)
    assert named.category is C.RECOVERED
    # Without norms, the caseness cut-off is used as a true-score cut-off.
    bare = attrs.evolve(NORMED, norms=None)
    assert tp.change.classify_change(bare, 24, 5, method=ha, stats=STATS).cutoff == 11


def test_hageman_arrindell_needs_a_positive_difference_reliability() -> None:
    with pytest.raises(tp.ValidationError, match="r_dd"):
        attrs.evolve(STATS, reliability_pre=0.01, reliability_post=0.01, pre_post_correlation=0.9)
    with pytest.raises(tp.ValidationError, match="r_dd"):  # a zero denominator: equal SDs, r 1
        attrs.evolve(STATS, sd_post=STATS.sd_pre, pre_post_correlation=1)


def test_hageman_arrindell_stats_are_validated() -> None:
    with pytest.raises(tp.ValidationError) as info:
        attrs.evolve(STATS, sd_post=0, reliability_pre=1)
    assert {p.path for p in info.value.problems} == {"$.sd_post", "$.reliability_pre"}
    with pytest.raises(tp.ValidationError) as info:
        attrs.evolve(STATS, pre_post_correlation=1.5)
    assert [p.path for p in info.value.problems] == ["$.pre_post_correlation"]


@given(st.integers(0, 40), st.integers(0, 40), st.sampled_from([None, 9.5, 13, 17.25]))
def test_hageman_arrindell_mirrored_scale_gives_the_same_result(
    pre: int, post: int, cutoff: float | None
) -> None:
    # Reading the scale upside down (x -> 40 - x, means and cut-off too) flips the
    # sign of RC_ID and CS_IND and the direction, so nothing else may change.
    mirrored = attrs.evolve(BIG_CHANGE, mean_pre=40 - 25, mean_post=40 - 12)
    forward = tp.change.hageman_arrindell_change(pre, post, stats=BIG_CHANGE, cutoff=cutoff)
    back = tp.change.hageman_arrindell_change(
        40 - pre,
        40 - post,
        stats=mirrored,
        direction=Direction.HIGHER_IS_BETTER,
        cutoff=None if cutoff is None else 40 - cutoff,
    )
    assert back.index == pytest.approx(-(forward.index or 0.0))
    assert back.category is forward.category
    assert (back.clinical_at_pre, back.clinical_at_post) == (
        forward.clinical_at_pre,
        forward.clinical_at_post,
    )


@given(st.floats(0, 40), st.floats(0, 40), st.sampled_from(Direction))
def test_hageman_arrindell_reliable_direction_is_the_sign_of_rc_id(
    pre: float, post: float, direction: Direction
) -> None:
    result = tp.change.hageman_arrindell_change(pre, post, stats=BIG_CHANGE, direction=direction)
    assert result.index is not None
    toward_health = -result.index if direction is Direction.HIGHER_IS_WORSE else result.index
    assert result.reliable_improvement == (toward_health > tp.change.HAGEMAN_ARRINDELL_Z)
    assert result.reliable_deterioration == (toward_health < -tp.change.HAGEMAN_ARRINDELL_Z)


# --------------------------------------------------------------------------- properties
scores = st.floats(min_value=0, max_value=80, allow_nan=False)
sds = st.floats(min_value=0.5, max_value=20)
reliabilities = st.floats(min_value=0, max_value=0.99)


@given(scores, scores, sds, reliabilities)
def test_rci_is_antisymmetric_in_pre_and_post(
    pre: float, post: float, sd: float, r: float
) -> None:
    forward = tp.change.reliable_change_index(pre, post, sd, r)
    assert tp.change.reliable_change_index(post, pre, sd, r) == pytest.approx(-forward)


@given(scores, scores, sds, reliabilities, st.sampled_from(Direction))
def test_swapping_pre_and_post_swaps_improvement_and_deterioration(
    pre: float, post: float, sd: float, r: float, direction: Direction
) -> None:
    forward = tp.change.jacobson_truax_change(
        pre, post, sd_pre=sd, reliability=r, direction=direction
    )
    back = tp.change.jacobson_truax_change(
        post, pre, sd_pre=sd, reliability=r, direction=direction
    )
    assert forward.reliable_improvement == back.reliable_deterioration
    assert forward.reliable_deterioration == back.reliable_improvement


@given(scores, scores, sds, reliabilities, st.sampled_from(Direction), st.floats(0, 80))
def test_category_is_consistent_with_direction(
    pre: float, post: float, sd: float, r: float, direction: Direction, cutoff: float
) -> None:
    result = tp.change.jacobson_truax_change(
        pre, post, sd_pre=sd, reliability=r, direction=direction, cutoff=cutoff
    )
    better = post < pre if direction is Direction.HIGHER_IS_WORSE else post > pre
    if result.category in (C.RECOVERED, C.IMPROVED):
        assert better
    if result.category in (C.DETERIORATED, C.HARMED):
        assert not better
        assert post != pre
    if result.category is C.RECOVERED:
        assert tp.change.in_clinical_range(pre, cutoff, direction)
        assert not tp.change.in_clinical_range(post, cutoff, direction)
    if result.category is C.HARMED:
        assert not tp.change.in_clinical_range(pre, cutoff, direction)
        assert tp.change.in_clinical_range(post, cutoff, direction)


@given(
    st.integers(0, 27),
    st.integers(0, 27),
)
def test_mirrored_instrument_gives_the_same_category(pre: int, post: int) -> None:
    # PHQ-9 read upside down (27 - x, higher is better) must classify identically.
    mirror = attrs.evolve(
        tp.instruments.PHQ9,
        code="PHQ-9-MIRROR",
        direction=Direction.HIGHER_IS_BETTER,
        caseness_cutoff=17.5,
    )
    # PHQ-9 case: x >= 10  <=>  27 - x <= 17  <=>  27 - x < 17.5 (the mirror's case).
    original = tp.change.classify_change(tp.instruments.PHQ9, pre, post).category
    assert tp.change.classify_change(mirror, 27 - pre, 27 - post).category is original


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
            tp.change.change_category(better, worse, at_pre, at_post)
        return
    category = tp.change.change_category(better, worse, at_pre, at_post)
    if not better and not worse:
        assert category is C.UNCHANGED
    elif better:
        assert category is (C.RECOVERED if (at_pre, at_post) == (True, False) else C.IMPROVED)
    else:
        assert category is (C.HARMED if (at_pre, at_post) == (False, True) else C.DETERIORATED)


# --------------------------------------------------------------------------- edges
def test_non_finite_totals_are_refused_by_name() -> None:
    with pytest.raises(tp.ArgumentError, match="pre"):
        tp.change.fixed_threshold_change(math.nan, 5, threshold=6)
    with pytest.raises(tp.ArgumentError, match="post"):
        tp.change.fixed_threshold_change(10, math.inf, threshold=6)
    with pytest.raises(tp.ArgumentError, match="cutoff"):
        tp.change.hageman_arrindell_cs_index(10, math.nan, STATS)


def test_without_a_cutoff_nobody_recovers() -> None:
    # A reliable_change threshold but no caseness cut-off and no norms: reliable change
    # only, never "recovered".
    bare = attrs.evolve(tp.instruments.PHQ9, caseness_cutoff=None, norms=None)
    result = tp.change.classify_change(bare, 20, 5)
    assert result.method is ChangeMethod.FIXED_THRESHOLD
    assert result.category is C.IMPROVED


def test_a_method_the_instrument_cannot_support_is_refused() -> None:
    no_threshold = attrs.evolve(
        tp.instruments.PHQ9, reliable_change=None, norms=Norms(20, 5, 5, 4, 0.8)
    )
    with pytest.raises(tp.ArgumentError, match="no reliable_change threshold"):
        tp.change.classify_change(no_threshold, 20, 5, method=ChangeMethod.FIXED_THRESHOLD)
    with pytest.raises(tp.ArgumentError, match="no norms"):
        tp.change.classify_change(tp.instruments.PHQ9, 20, 5, method=ChangeMethod.JACOBSON_TRUAX)


def test_the_change_table_is_emptied_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from treatplan import _change

    monkeypatch.setattr(_change, "_CHANGES_PER_INSTRUMENT", 2)
    instrument = attrs.evolve(tp.instruments.PHQ9)  # a fresh object: a table of its own
    pairs = [(20.0, 5.0), (20.0, 19.0), (5.0, 20.0)]
    found = [_change.change_between(instrument, pre, post) for pre, post in pairs]
    assert [c.category for c in found if c is not None] == [
        C.RECOVERED,
        C.UNCHANGED,
        C.HARMED,
    ]
    table = _change._CHANGES.get(instrument)
    assert table is not None
    assert list(table) == [(5.0, 20.0)]


@pytest.mark.parametrize(("sd", "reliability"), [(1e-320, 0.8), (1e-12, 0.5)])
def test_an_sd_too_small_for_a_finite_change_index_is_refused(
    sd: float, reliability: float
) -> None:
    # Below a standard error of 1e-9 every change index would overflow (or divide by 0).
    with pytest.raises(tp.ArgumentError) as info:
        tp.change.jacobson_truax_change(18, 8, sd_pre=sd, reliability=reliability)
    assert info.value.parameter == "sd_pre"
