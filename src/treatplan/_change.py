"""Clinical change: reliable change, clinical significance cut-offs and classification.

Jacobson & Truax (1991) with the Christensen & Mendoza (1986) standard error of
the difference; the Hageman & Arrindell (1999) RC_ID and individual
clinical-significance index CS_IND (with true-score cut-offs) as an option; fixed-point
thresholds (NHS Talking Therapies: PHQ-9 6, GAD-7 4) as the simple case. The
instrument's direction is respected everywhere: "improvement" is a fall on a
higher-is-worse measure and a rise on a higher-is-better one.
"""

from __future__ import annotations

import enum
import math

import attrs

from . import _validation as v
from ._errors import ArgumentError, ValidationError, ValidationIssue
from ._fast import frozen_maker
from ._instruments import SMALLEST_ERROR, Direction, Instrument, Norms
from ._memo import IdentityCache
from ._records import SlottedRecord, record_repr
from ._scoring import Score

__all__ = [
    "DEFAULT_Z",
    "HAGEMAN_ARRINDELL_Z",
    "ChangeCategory",
    "ChangeMethod",
    "ClinicalChange",
    "CutoffChoice",
    "Cutoffs",
    "HagemanArrindell",
    "change_category",
    "classify_change",
    "clinical_cutoffs",
    "fixed_threshold_change",
    "hageman_arrindell_change",
    "hageman_arrindell_cs_index",
    "hageman_arrindell_cutoffs",
    "hageman_arrindell_rc",
    "in_clinical_range",
    "jacobson_truax_change",
    "reliable_change_index",
    "reliable_difference",
    "standard_error_of_difference",
]

#: Two-sided 5% criterion for the reliable change index (Jacobson & Truax 1991).
DEFAULT_Z = 1.96
#: One-sided 5% criterion for the RC_ID and CS_IND (Hageman & Arrindell 1999 print 1.65).
HAGEMAN_ARRINDELL_Z = 1.645


class ChangeCategory(enum.StrEnum):
    """Jacobson-Truax outcome categories, with "harmed" as some packages add.

    recovered: reliable improvement and moved from the clinical to the
    non-clinical range; improved: reliable improvement otherwise; unchanged: no
    reliable change; deteriorated: reliable worsening otherwise; harmed:
    reliable worsening and moved from the non-clinical into the clinical range.
    """

    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    DETERIORATED = "deteriorated"
    HARMED = "harmed"


class ChangeMethod(enum.StrEnum):
    """How reliable change is judged."""

    JACOBSON_TRUAX = "jacobson_truax"
    HAGEMAN_ARRINDELL = "hageman_arrindell"
    FIXED_THRESHOLD = "fixed_threshold"


class CutoffChoice(enum.StrEnum):
    """Which Jacobson-Truax clinical significance cut-off to use (a, b or c)."""

    A = "a"
    B = "b"
    C = "c"


@attrs.frozen
class Cutoffs:
    """Clinical-significance cut-offs a, b and c, for an instrument's direction.

    From :func:`clinical_cutoffs` they are Jacobson-Truax cut-offs on the raw
    total: a: two SDs beyond the clinical mean toward health; b: two SDs from the
    functional mean toward the clinical range; c: the point between the two
    means weighted by their SDs, ``(SD0*M1 + SD1*M0) / (SD0 + SD1)``. From
    :func:`hageman_arrindell_cutoffs` they are the same cut-offs on the
    true-score scale (each SD times the square root of its reliability).
    """

    __repr__ = record_repr

    a: float
    b: float
    c: float

    def get(self, choice: CutoffChoice) -> float:
        """The cut-off named by ``choice``."""
        found = (
            {"a": self.a, "b": self.b, "c": self.c}.get(choice)
            if isinstance(choice, str)
            else None
        )
        if found is None:
            raise ArgumentError("choice", "a CutoffChoice (a, b or c)")
        return found


@attrs.frozen
class HagemanArrindell:
    """Group statistics for the Hageman & Arrindell (1999) RC_ID.

    Means and SDs of the sample at pre and post, reliabilities at both time
    points and the pre-post correlation.
    """

    __repr__ = record_repr

    mean_pre: float = attrs.field(validator=v.number())
    mean_post: float = attrs.field(validator=v.number())
    sd_pre: float = attrs.field(validator=v.number(low=0))
    sd_post: float = attrs.field(validator=v.number(low=0))
    reliability_pre: float = attrs.field(validator=v.number(low=0, high=1))
    reliability_post: float = attrs.field(validator=v.number(low=0, high=1))
    pre_post_correlation: float = attrs.field(validator=v.number(low=-1, high=1))

    def __attrs_post_init__(self) -> None:
        problems = [
            ValidationIssue(f"$.{name}", "a number above 0")
            for name in ("sd_pre", "sd_post")
            if getattr(self, name) <= 0
        ]
        problems += [
            ValidationIssue(f"$.{name}", "a number above 0 and below 1")
            for name in ("reliability_pre", "reliability_post")
            if not 0 < getattr(self, name) < 1
        ]
        if not problems and _difference_reliability(self) <= 0:
            problems.append(
                ValidationIssue(
                    "$.pre_post_correlation",
                    "a correlation that leaves the reliability of the difference (r_dd) above 0",
                )
            )
        if problems:
            raise ValidationError(problems)


def _difference_reliability(stats: HagemanArrindell) -> float:
    """r_dd of Hageman & Arrindell (1999), or 0 when its denominator is not positive."""
    s1, s2, r12 = stats.sd_pre, stats.sd_post, stats.pre_post_correlation
    numerator = s1**2 * stats.reliability_pre + s2**2 * stats.reliability_post - 2 * r12 * s1 * s2
    denominator = s1**2 + s2**2 - 2 * r12 * s1 * s2
    return numerator / denominator if denominator > 0 else 0.0


@attrs.frozen
class ClinicalChange(SlottedRecord):
    """The change from ``pre`` to ``post`` on one measure, classified.

    ``difference`` is ``post - pre`` (raw); ``improvement`` is signed so that
    positive is better whatever the direction. ``index`` is the Jacobson-Truax
    RCI, signed like ``difference``; or the Hageman-Arrindell RC_ID, signed like
    the estimated true change (it includes the group mean change, so its sign
    can differ from ``difference``'s); or ``None`` for fixed thresholds.
    Reliable improvement and deterioration follow the sign of ``index`` when
    there is one. With Hageman-Arrindell, ``cutoff`` is a true-score cut-off and
    ``clinical_at_pre``/``clinical_at_post`` mean "not reliably beyond it toward
    health" (CS_IND, see :func:`hageman_arrindell_change`).
    """

    __repr__ = record_repr

    pre: float
    post: float
    difference: float
    improvement: float
    method: ChangeMethod
    index: float | None
    reliable_improvement: bool
    reliable_deterioration: bool
    cutoff: float | None
    clinical_at_pre: bool | None
    clinical_at_post: bool | None
    category: ChangeCategory

    @property
    def reliable(self) -> bool:
        """Whether the change is reliable in either direction."""
        return self.reliable_improvement or self.reliable_deterioration


#: ``ClinicalChange(...)`` as its constructor builds it, without frozen attrs' store per
#: field (see :func:`treatplan._fast.frozen_maker`): the first time each pair of totals
#: is compared, on every instrument.
_new_change = frozen_maker(ClinicalChange)

# Enum members read by every change classified, looked up once: a class attribute
# access on an enum costs several times a module global's.
_HIGHER_IS_BETTER, _HIGHER_IS_WORSE = Direction.HIGHER_IS_BETTER, Direction.HIGHER_IS_WORSE
_RECOVERED, _IMPROVED = ChangeCategory.RECOVERED, ChangeCategory.IMPROVED
_HARMED, _DETERIORATED = ChangeCategory.HARMED, ChangeCategory.DETERIORATED
_UNCHANGED = ChangeCategory.UNCHANGED
_FIXED_THRESHOLD, _JACOBSON_TRUAX = ChangeMethod.FIXED_THRESHOLD, ChangeMethod.JACOBSON_TRUAX
_HAGEMAN_ARRINDELL = ChangeMethod.HAGEMAN_ARRINDELL


def _check_direction(direction: object) -> None:
    if not isinstance(direction, Direction):
        raise ArgumentError("direction", "a Direction (treatplan.instruments.Direction)")


def _check_z(z: object) -> None:
    if not (v.is_number(z) and z > 0):  # type: ignore[operator]
        raise ArgumentError("z", "a finite number above 0")


def _check_sd_reliability(sd: float, reliability: float, sd_name: str, r_name: str) -> None:
    if not (v.is_number(sd) and sd > 0):
        raise ArgumentError(sd_name, "a finite number above 0")
    if not (v.is_number(reliability) and 0 <= reliability < 1):
        raise ArgumentError(r_name, "a number from 0 up to (not including) 1")
    if sd * math.sqrt(1 - reliability) < SMALLEST_ERROR:  # a change index would overflow
        raise ArgumentError(
            sd_name, "an SD whose standard error at this reliability is at least 1e-9"
        )


def standard_error_of_difference(sd_pre: float, reliability: float) -> float:
    """S_diff = sqrt(2) * SE, SE = SD_pre * sqrt(1 - r_xx).

    Jacobson & Truax (1991), with the sqrt(2) of Christensen & Mendoza (1986).
    """
    _check_sd_reliability(sd_pre, reliability, "sd_pre", "reliability")
    return math.sqrt(2) * sd_pre * math.sqrt(1 - reliability)


def reliable_change_index(pre: float, post: float, sd_pre: float, reliability: float) -> float:
    """Jacobson-Truax RC = (post - pre) / S_diff (signed like ``post - pre``)."""
    _check_finite(pre, post)
    return (post - pre) / standard_error_of_difference(sd_pre, reliability)


def reliable_difference(sd_pre: float, reliability: float, z: float = DEFAULT_Z) -> float:
    """The raw change whose |RC| equals ``z``: ``z * S_diff``.

    A change is reliable when it is strictly larger than this.
    """
    return z * standard_error_of_difference(sd_pre, reliability)


def clinical_cutoffs(norms: Norms, direction: Direction) -> Cutoffs:
    """Cut-offs a, b and c from population norms, for the instrument's direction.

    Jacobson & Truax (1991), with 1 = the clinical (dysfunctional) and 0 = the
    functional population. Higher-is-worse: a = M1 - 2 SD1, b = M0 + 2 SD0;
    higher-is-better: a = M1 + 2 SD1, b = M0 - 2 SD0; both:
    c = (SD0 * M1 + SD1 * M0) / (SD0 + SD1).
    """
    if not isinstance(norms, Norms):
        raise ArgumentError("norms", "the Norms of an instrument")
    _check_direction(direction)
    m1, sd1 = norms.clinical_mean, norms.clinical_sd
    m0, sd0 = norms.functional_mean, norms.functional_sd
    toward_health = -1.0 if direction is _HIGHER_IS_WORSE else 1.0
    return Cutoffs(
        a=m1 + toward_health * 2 * sd1,
        b=m0 - toward_health * 2 * sd0,
        c=(sd0 * m1 + sd1 * m0) / (sd0 + sd1),
    )


def in_clinical_range(total: float, cutoff: float, direction: Direction) -> bool:
    """Higher-is-worse: ``total >= cutoff``; higher-is-better: ``total < cutoff``.

    The same convention as an instrument's caseness cut-off, so a caseness
    cut-off and a Jacobson-Truax cut-off are used the same way. A total exactly
    at the cut-off therefore counts as clinical on a higher-is-worse measure
    (PHQ-9 10 is a case, NHS Talking Therapies) and as non-clinical on a
    higher-is-better one (ORS 25 is not a case). For a, b and c this is the
    library's convention: the clinicalsignificance R package (Claus et al.)
    uses strict inequalities both ways, so there a score exactly at the cut-off
    is neither clinical at pre nor functional at post. The two agree everywhere
    except at a total exactly equal to a (usually non-integer) a, b or c.
    """
    _check_direction(direction)
    for name, value in (("total", total), ("cutoff", cutoff)):
        if not v.is_number(value):
            raise ArgumentError(name, "a finite number")
    return _in_range(total, cutoff, direction)


def _in_range(total: float, cutoff: float, direction: Direction) -> bool:
    """:func:`in_clinical_range` of arguments already checked."""
    if direction is _HIGHER_IS_BETTER:
        return total < cutoff
    return total >= cutoff


def change_category(
    improvement_reliable: bool,
    deterioration_reliable: bool,
    clinical_at_pre: bool | None,
    clinical_at_post: bool | None,
) -> ChangeCategory:
    """The category from reliability and the range at pre and post (see ChangeCategory).

    Without a cut-off (``None`` ranges) reliable improvement is "improved" and
    reliable worsening "deteriorated".
    """
    for name, flag in (
        ("improvement_reliable", improvement_reliable),
        ("deterioration_reliable", deterioration_reliable),
    ):
        if not isinstance(flag, bool):
            raise ArgumentError(name, "True or False")
    for name, side in (
        ("clinical_at_pre", clinical_at_pre),
        ("clinical_at_post", clinical_at_post),
    ):
        if side is not None and not isinstance(side, bool):
            raise ArgumentError(name, "True, False or None")
    if improvement_reliable and deterioration_reliable:
        raise ArgumentError(
            "deterioration_reliable", "False when improvement_reliable is True (not both)"
        )
    return _category(
        improvement_reliable, deterioration_reliable, clinical_at_pre, clinical_at_post
    )


def _category(
    improvement_reliable: bool,
    deterioration_reliable: bool,
    clinical_at_pre: bool | None,
    clinical_at_post: bool | None,
) -> ChangeCategory:
    """:func:`change_category` of arguments already checked (not both reliable)."""
    if improvement_reliable:
        recovered = clinical_at_pre is True and clinical_at_post is False
        return _RECOVERED if recovered else _IMPROVED
    if deterioration_reliable:
        harmed = clinical_at_pre is False and clinical_at_post is True
        return _HARMED if harmed else _DETERIORATED
    return _UNCHANGED


def _improvement(pre: float, post: float, direction: Direction) -> float:
    return post - pre if direction is _HIGHER_IS_BETTER else pre - post


def _check_finite(pre: float, post: float) -> None:
    for name, value in (("pre", pre), ("post", post)):
        if not v.is_number(value):
            raise ArgumentError(name, "a finite number")


def _build(
    pre: float,
    post: float,
    *,
    direction: Direction,
    method: ChangeMethod,
    index: float | None,
    reliable: bool,
    cutoff: float | None,
    toward_health: float | None = None,
    ranges: tuple[bool, bool] | None = None,
) -> ClinicalChange:
    """Assemble a ClinicalChange.

    The direction of a reliable change is the sign of ``toward_health`` when
    given (the RC_ID read toward health), else of the raw improvement.
    ``ranges`` (clinical at pre, at post) overrides the raw-score range test.
    """
    _check_finite(pre, post)
    _check_direction(direction)
    if cutoff is not None and not v.is_number(cutoff):
        raise ArgumentError("cutoff", "a finite number or None")
    improvement = _improvement(pre, post, direction)
    at_pre: bool | None = None
    at_post: bool | None = None
    if ranges is not None:
        at_pre, at_post = ranges
    elif cutoff is not None:
        # in_clinical_range of the numbers and direction checked above.
        at_pre = _in_range(pre, cutoff, direction)
        at_post = _in_range(post, cutoff, direction)
    sign = improvement if toward_health is None else toward_health
    better = reliable and sign > 0
    worse = reliable and sign < 0
    return _new_change(
        pre=pre,
        post=post,
        difference=post - pre,
        improvement=improvement,
        method=method,
        index=index,
        reliable_improvement=better,
        reliable_deterioration=worse,
        cutoff=cutoff,
        clinical_at_pre=at_pre,
        clinical_at_post=at_post,
        # change_category of two bools (not both: one sign) and ranges, all made here.
        category=_category(better, worse, at_pre, at_post),
    )


def jacobson_truax_change(
    pre: float,
    post: float,
    *,
    sd_pre: float,
    reliability: float,
    direction: Direction = Direction.HIGHER_IS_WORSE,
    cutoff: float | None = None,
    z: float = DEFAULT_Z,
) -> ClinicalChange:
    """Classify a change with the Jacobson-Truax RCI; reliable when |RC| > z.

    ``sd_pre`` is the SD of the clinical sample before treatment and
    ``reliability`` the measure's r_xx (Jacobson & Truax 1991; Christensen &
    Mendoza 1986). ``cutoff`` (a caseness cut-off or a, b or c from
    :func:`clinical_cutoffs`) decides recovered and harmed.
    """
    _check_z(z)
    _check_finite(pre, post)
    index = reliable_change_index(pre, post, sd_pre, reliability)
    return _build(
        pre,
        post,
        direction=direction,
        method=_JACOBSON_TRUAX,
        index=index,
        reliable=abs(index) > z,
        cutoff=cutoff,
    )


def _hageman_arrindell_parts(stats: HagemanArrindell) -> tuple[float, float]:
    """(r_dd, denominator) of the RC_ID (Hageman & Arrindell 1999).

    A HagemanArrindell checks its SDs, reliabilities and r_dd when it is made.
    """
    if not isinstance(stats, HagemanArrindell):
        raise ArgumentError("stats", "a HagemanArrindell")
    s1, s2 = stats.sd_pre, stats.sd_post
    r_dd = _difference_reliability(stats)
    se_pre_sq = s1**2 * (1 - stats.reliability_pre)
    se_post_sq = s2**2 * (1 - stats.reliability_post)
    return r_dd, math.sqrt(r_dd * (se_pre_sq + se_post_sq))


def hageman_arrindell_rc(pre: float, post: float, stats: HagemanArrindell) -> float:
    """The Hageman & Arrindell (1999) RC_ID for one person, signed like the true change.

    ``RC_ID = [(x2 - x1) r_dd + (M2 - M1)(1 - r_dd)] / sqrt(r_dd (SE1^2 + SE2^2))``
    with ``SE_t = SD_t sqrt(1 - r_xx_t)`` and the reliability of the difference
    ``r_dd = (SD1^2 r_xx1 + SD2^2 r_xx2 - 2 r12 SD1 SD2) / (SD1^2 + SD2^2 - 2 r12 SD1 SD2)``
    (1 = pre, 2 = post; r12 the pre-post correlation). The numerator is the
    reliability-weighted (Kelley) estimate of the person's true change, shrunk
    toward the group mean change, so RC_ID has the sign of that estimate and
    not necessarily of ``post - pre``: after a large group improvement a person
    with no raw change can have a reliably improving RC_ID. Hageman & Arrindell
    advise r_dd >= 0.40; this function only requires r_dd > 0.
    """
    _check_finite(pre, post)
    r_dd, denominator = _hageman_arrindell_parts(stats)
    mean_change = stats.mean_post - stats.mean_pre
    return ((post - pre) * r_dd + mean_change * (1 - r_dd)) / denominator


def _toward_health(value: float, direction: Direction) -> float:
    """``value`` (signed like a raw-score difference) signed so positive is healthier."""
    return -value if direction is _HIGHER_IS_WORSE else value


def _positive_reliability(reliability: float, name: str) -> float:
    if not (v.is_number(reliability) and 0 < reliability < 1):
        raise ArgumentError(name, "a number above 0 and below 1")
    return reliability


def hageman_arrindell_cutoffs(
    norms: Norms,
    direction: Direction,
    *,
    reliability_clinical: float | None = None,
    reliability_functional: float | None = None,
) -> Cutoffs:
    """Hageman & Arrindell (1999) cut-offs a, b and c on the true-score scale.

    The Jacobson-Truax cut-offs with each population SD replaced by its
    true-score SD, ``SD * sqrt(r_xx)`` (1 = clinical, 0 = functional):
    higher-is-worse ``a = M1 - 2 SD1 sqrt(r1)``, ``b = M0 + 2 SD0 sqrt(r0)``;
    higher-is-better ``a = M1 + 2 SD1 sqrt(r1)``, ``b = M0 - 2 SD0 sqrt(r0)``;
    both ``c = (SD1 sqrt(r1) M0 + SD0 sqrt(r0) M1) / (SD1 sqrt(r1) + SD0 sqrt(r0))``.
    The reliabilities default to ``norms.reliability`` and must lie above 0 and
    below 1. As in the clinicalsignificance R package (``.calc_cutoff_ha``),
    except that b uses the functional SD as Jacobson & Truax's b does (the
    package's b uses the clinical SD).
    """
    if not isinstance(norms, Norms):
        raise ArgumentError("norms", "the Norms of an instrument")
    _check_direction(direction)
    r1 = _positive_reliability(
        norms.reliability if reliability_clinical is None else reliability_clinical,
        "reliability_clinical",
    )
    r0 = _positive_reliability(
        norms.reliability if reliability_functional is None else reliability_functional,
        "reliability_functional",
    )
    m1, m0 = norms.clinical_mean, norms.functional_mean
    true_sd1 = norms.clinical_sd * math.sqrt(r1)
    true_sd0 = norms.functional_sd * math.sqrt(r0)
    toward_health = -1.0 if direction is _HIGHER_IS_WORSE else 1.0
    return Cutoffs(
        a=m1 + toward_health * 2 * true_sd1,
        b=m0 - toward_health * 2 * true_sd0,
        c=(true_sd1 * m0 + true_sd0 * m1) / (true_sd1 + true_sd0),
    )


def _cs_index(
    total: float, cutoff: float, mean: float, sd: float, reliability: float, name: str
) -> float:
    r = _positive_reliability(reliability, name)
    if not v.is_number(cutoff):
        raise ArgumentError("cutoff", "a finite number")
    true_estimate = mean + r * (total - mean)
    standard_error = sd * math.sqrt(1 - r)
    return (true_estimate - cutoff) / (math.sqrt(r) * standard_error)


def hageman_arrindell_cs_index(
    total: float, cutoff: float, stats: HagemanArrindell, *, at_pre: bool = False
) -> float:
    """Hageman & Arrindell's (1999) individual clinical-significance index CS_IND.

    ``CS_IND = (M + r_xx (x - M) - cutoff) / (sqrt(r_xx) SE)``, ``SE = SD sqrt(1 - r_xx)``,
    with M, SD and r_xx of the post-treatment sample (of the pre-treatment
    sample with ``at_pre``) and ``cutoff`` on the true-score scale (see
    :func:`hageman_arrindell_cutoffs`). The numerator is the Kelley true-score
    estimate minus the cut-off and ``sqrt(r_xx) SE`` its standard error, so the
    index is signed like the estimate minus the cut-off. A person is reliably
    functional when it lies beyond ``HAGEMAN_ARRINDELL_Z`` toward health (below
    ``-z`` on a higher-is-worse measure). As the clinicalsignificance R package
    (``.calc_cutoff_ha_data``), which takes M, SD and r_xx at post.
    """
    if not v.is_number(total):
        raise ArgumentError("total", "a finite number")
    if not isinstance(stats, HagemanArrindell):
        raise ArgumentError("stats", "a HagemanArrindell")
    if at_pre:
        return _cs_index(
            total, cutoff, stats.mean_pre, stats.sd_pre, stats.reliability_pre, "reliability_pre"
        )
    return _cs_index(
        total, cutoff, stats.mean_post, stats.sd_post, stats.reliability_post, "reliability_post"
    )


def hageman_arrindell_change(
    pre: float,
    post: float,
    *,
    stats: HagemanArrindell,
    direction: Direction = Direction.HIGHER_IS_WORSE,
    cutoff: float | None = None,
    z: float = HAGEMAN_ARRINDELL_Z,
) -> ClinicalChange:
    """Classify a change with Hageman & Arrindell's (1999) RC_ID and CS_IND.

    Reliable change: ``|RC_ID| > z``, in the direction of RC_ID read toward
    health (not of the raw difference; see :func:`hageman_arrindell_rc`). ``z``
    defaults to 1.645, the one-sided 5% criterion Hageman & Arrindell use (they
    print 1.65). Clinical significance: ``cutoff`` is a true-score cut-off (a,
    b or c from :func:`hageman_arrindell_cutoffs`), and a score counts as
    non-clinical only when its CS_IND (:func:`hageman_arrindell_cs_index`) lies
    beyond ``z`` toward health; otherwise, including when the true-score
    estimate is past the cut-off by less than that, it counts as clinical. The
    same test is applied at pre (with the pre-treatment M, SD and r_xx), so
    "recovered" is reliable improvement from not reliably functional to reliably
    functional and "harmed" reliable worsening the other way. The R package
    clinicalsignificance judges HA recovery at post only and never reports
    harm; a clinical sample is rarely reliably functional at pre, so the two
    agree for nearly all treated clients.
    """
    _check_z(z)
    _check_finite(pre, post)
    _check_direction(direction)
    index = hageman_arrindell_rc(pre, post, stats)
    ranges: tuple[bool, bool] | None = None
    if cutoff is not None:
        cs_pre = hageman_arrindell_cs_index(pre, cutoff, stats, at_pre=True)
        cs_post = hageman_arrindell_cs_index(post, cutoff, stats)
        ranges = (
            not _toward_health(cs_pre, direction) > z,
            not _toward_health(cs_post, direction) > z,
        )
    return _build(
        pre,
        post,
        direction=direction,
        method=_HAGEMAN_ARRINDELL,
        index=index,
        reliable=abs(index) > z,
        cutoff=cutoff,
        toward_health=_toward_health(index, direction),
        ranges=ranges,
    )


def fixed_threshold_change(
    pre: float,
    post: float,
    *,
    threshold: float,
    direction: Direction = Direction.HIGHER_IS_WORSE,
    cutoff: float | None = None,
) -> ClinicalChange:
    """Classify a change that is reliable when its size is at least ``threshold``.

    NHS Talking Therapies: PHQ-9 changes of 6 or more, GAD-7 of 4 or more
    (NHS Talking Therapies manual; docs/references.md#change).
    """
    _check_finite(pre, post)
    if not (v.is_number(threshold) and threshold > 0):
        raise ArgumentError("threshold", "a finite number above 0")
    return _build(
        pre,
        post,
        direction=direction,
        method=_FIXED_THRESHOLD,
        index=None,
        reliable=abs(post - pre) >= threshold,
        cutoff=cutoff,
    )


def classify_change(
    instrument: Instrument,
    pre: float,
    post: float,
    *,
    method: ChangeMethod | None = None,
    cutoff: CutoffChoice | float | None = None,
    stats: HagemanArrindell | None = None,
    z: float | None = None,
) -> ClinicalChange:
    """Classify a change on ``instrument`` with the best method its definition supports.

    Default method: fixed threshold when the instrument has ``reliable_change``,
    else Jacobson-Truax from its ``norms`` (Hageman-Arrindell needs ``stats``).
    Default cut-off: the caseness cut-off, else cut-off c from the norms, else
    none (then "recovered" and "harmed" cannot occur). ``z`` overrides the
    method's criterion (1.96 Jacobson-Truax, 1.645 Hageman-Arrindell); the fixed
    threshold has none, so ``z`` with it (the default for PHQ-9 and GAD-7) raises
    :class:`~treatplan.ArgumentError` rather than being ignored: pass
    ``method=ChangeMethod.JACOBSON_TRUAX`` as well.

    Hageman-Arrindell works on the true-score scale: a named cut-off (a, b or c)
    comes from :func:`hageman_arrindell_cutoffs`, and the default is the
    true-score c when the instrument has norms, else the caseness cut-off taken
    as a true-score cut-off (an approximation: caseness cut-offs are set on
    observed totals). A numeric ``cutoff`` is used as given, on that scale.
    """
    if not isinstance(instrument, Instrument):
        raise ArgumentError(
            "instrument", "an Instrument (for a code, use treatplan.builtin_instrument('PHQ-9'))"
        )
    if method is not None and not isinstance(method, ChangeMethod):
        raise ArgumentError("method", "a ChangeMethod or None")
    if z is not None:
        _check_z(z)
    norms = instrument.norms
    if method is None:
        if instrument.reliable_change is not None:
            method = _FIXED_THRESHOLD
        elif norms is not None:
            method = _JACOBSON_TRUAX
        else:
            raise ArgumentError(
                "instrument",
                "an instrument with a reliable_change threshold or norms "
                "(or pass method and stats); it has neither",
            )
    direction = instrument.direction
    true_scores = method is _HAGEMAN_ARRINDELL

    def norm_cutoffs() -> Cutoffs:
        if norms is None:
            raise ArgumentError("cutoff", "a number when the instrument has no norms")
        if true_scores:
            return hageman_arrindell_cutoffs(norms, direction)
        return clinical_cutoffs(norms, direction)

    level: float | None
    if isinstance(cutoff, CutoffChoice):
        level = norm_cutoffs().get(cutoff)
    elif cutoff is not None:
        level = cutoff
    elif true_scores and norms is not None:
        level = norm_cutoffs().c
    elif instrument.caseness_cutoff is not None:
        level = instrument.caseness_cutoff
    elif norms is not None:
        level = norm_cutoffs().c
    else:
        level = None
    if method is _FIXED_THRESHOLD:
        if instrument.reliable_change is None:
            raise ArgumentError(
                "method", "not fixed_threshold: the instrument has no reliable_change threshold"
            )
        if z is not None:
            raise ArgumentError(
                "z",
                "None with the fixed-threshold method, which has no z criterion "
                "(for a z criterion, pass method=ChangeMethod.JACOBSON_TRUAX)",
            )
        return fixed_threshold_change(
            pre, post, threshold=instrument.reliable_change, direction=direction, cutoff=level
        )
    if method is _JACOBSON_TRUAX:
        if norms is None:
            raise ArgumentError("method", "not jacobson_truax: the instrument has no norms")
        return jacobson_truax_change(
            pre,
            post,
            sd_pre=norms.clinical_sd,
            reliability=norms.reliability,
            direction=direction,
            cutoff=level,
            z=DEFAULT_Z if z is None else z,
        )
    if stats is None:
        raise ArgumentError("stats", "HagemanArrindell statistics for that method")
    return hageman_arrindell_change(
        pre,
        post,
        stats=stats,
        direction=direction,
        cutoff=level,
        z=HAGEMAN_ARRINDELL_Z if z is None else z,
    )


# --------------------------------------------------------------------------- plan scores
def change_of(instrument: Instrument, pre: float, post: float) -> ClinicalChange | None:
    """The classified change, or ``None`` when the instrument has no way to judge it."""
    if instrument.reliable_change is None and instrument.norms is None:
        return None
    return classify_change(instrument, pre, post)


#: Changes between two totals, remembered per instrument definition object: a table by
#: (pre, post) of at most _CHANGES_PER_INSTRUMENT entries. Every session's ending rules
#: and every review compare a baseline with the latest scores, and totals repeat.
_CHANGES: IdentityCache[dict[tuple[float, float], ClinicalChange | None]] = IdentityCache(256)
_CHANGES_PER_INSTRUMENT = 4096
#: Not in a table yet (a remembered change may be ``None``).
_UNKNOWN = object()


def change_between(instrument: Instrument, pre: float, post: float) -> ClinicalChange | None:
    """:func:`change_of`, remembered per (definition object, pre, post)."""
    table = _CHANGES.get_one(instrument)
    if table is None:
        table = _CHANGES.put({}, instrument)
    key = (pre, post)
    found = table.get(key, _UNKNOWN)  # one look-up (None is a remembered answer)
    if found is not _UNKNOWN:
        return found  # type: ignore[return-value]
    if len(table) >= _CHANGES_PER_INSTRUMENT:
        table.clear()
    found = table[key] = change_of(instrument, pre, post)
    return found


def score_change(instrument: Instrument, pre: Score, post: Score) -> ClinicalChange | None:
    """:func:`change_of` from the total of ``pre`` to that of ``post`` (both scored)."""
    assert pre.total is not None
    assert post.total is not None
    return change_between(instrument, pre.total, post.total)
