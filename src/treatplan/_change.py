"""Clinical change: reliable change, clinical significance cut-offs and classification.

Jacobson & Truax (1991) with the Christensen & Mendoza (1986) standard error of
the difference; the Hageman & Arrindell (1999) RC_ID as an option; fixed-point
thresholds (NHS Talking Therapies: PHQ-9 6, GAD-7 4) as the simple case. The
instrument's direction is respected everywhere: "improvement" is a fall on a
higher-is-worse measure and a rise on a higher-is-better one.
"""

from __future__ import annotations

import enum

import attrs

from ._instruments import Direction, Instrument, Norms

__all__ = [
    "DEFAULT_Z",
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
    "hageman_arrindell_rc",
    "in_clinical_range",
    "jacobson_truax_change",
    "reliable_change_index",
    "reliable_difference",
    "standard_error_of_difference",
]

#: Two-sided 5% criterion for the reliable change index (Jacobson & Truax 1991).
DEFAULT_Z = 1.96


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
    """Jacobson-Truax cut-offs on the raw total, for an instrument's direction.

    a: two SDs beyond the clinical mean toward health; b: two SDs from the
    functional mean toward the clinical range; c: the point between the two
    means weighted by their SDs, ``(SD0*M1 + SD1*M0) / (SD0 + SD1)``.
    """

    a: float
    b: float
    c: float

    def get(self, choice: CutoffChoice) -> float:
        """The cut-off named by ``choice``."""
        return {CutoffChoice.A: self.a, CutoffChoice.B: self.b, CutoffChoice.C: self.c}[choice]


@attrs.frozen
class HagemanArrindell:
    """Group statistics for the Hageman & Arrindell (1999) RC_ID.

    Means and SDs of the sample at pre and post, reliabilities at both time
    points and the pre-post correlation.
    """

    mean_pre: float
    mean_post: float
    sd_pre: float
    sd_post: float
    reliability_pre: float
    reliability_post: float
    pre_post_correlation: float


@attrs.frozen
class ClinicalChange:
    """The change from ``pre`` to ``post`` on one measure, classified.

    ``difference`` is ``post - pre`` (raw); ``improvement`` is signed so that
    positive is better whatever the direction. ``index`` is the RCI (or RC_ID,
    or ``None`` for fixed thresholds), signed like ``difference``.
    """

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


def standard_error_of_difference(sd_pre: float, reliability: float) -> float:
    """S_diff = sqrt(2) * SD_pre * sqrt(1 - r_xx) (Christensen & Mendoza 1986)."""
    raise NotImplementedError


def reliable_change_index(pre: float, post: float, sd_pre: float, reliability: float) -> float:
    """Jacobson-Truax RC = (post - pre) / S_diff (signed like ``post - pre``)."""
    raise NotImplementedError


def reliable_difference(sd_pre: float, reliability: float, z: float = DEFAULT_Z) -> float:
    """The raw change whose |RC| equals ``z``: ``z * S_diff``."""
    raise NotImplementedError


def clinical_cutoffs(norms: Norms, direction: Direction) -> Cutoffs:
    """Cut-offs a, b and c from population norms, for the instrument's direction."""
    raise NotImplementedError


def in_clinical_range(total: float, cutoff: float, direction: Direction) -> bool:
    """Higher-is-worse: ``total >= cutoff``; higher-is-better: ``total < cutoff``."""
    raise NotImplementedError


def change_category(
    improvement_reliable: bool,
    deterioration_reliable: bool,
    clinical_at_pre: bool | None,
    clinical_at_post: bool | None,
) -> ChangeCategory:
    """The category from reliability and the range at pre and post (see ChangeCategory)."""
    raise NotImplementedError


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
    """Classify a change with the Jacobson-Truax RCI; reliable when |RC| > z."""
    raise NotImplementedError


def hageman_arrindell_rc(pre: float, post: float, stats: HagemanArrindell) -> float:
    """The Hageman & Arrindell (1999) RC_ID for one person (signed like post - pre)."""
    raise NotImplementedError


def hageman_arrindell_change(
    pre: float,
    post: float,
    *,
    stats: HagemanArrindell,
    direction: Direction = Direction.HIGHER_IS_WORSE,
    cutoff: float | None = None,
    z: float = 1.645,
) -> ClinicalChange:
    """Classify a change with the Hageman-Arrindell RC_ID; reliable when |RC_ID| > z."""
    raise NotImplementedError


def fixed_threshold_change(
    pre: float,
    post: float,
    *,
    threshold: float,
    direction: Direction = Direction.HIGHER_IS_WORSE,
    cutoff: float | None = None,
) -> ClinicalChange:
    """Classify a change that is reliable when its size is at least ``threshold``.

    NHS Talking Therapies: PHQ-9 changes of 6 or more, GAD-7 of 4 or more.
    """
    raise NotImplementedError


def classify_change(
    instrument: Instrument,
    pre: float,
    post: float,
    *,
    method: ChangeMethod | None = None,
    cutoff: CutoffChoice | float | None = None,
    stats: HagemanArrindell | None = None,
) -> ClinicalChange:
    """Classify a change on ``instrument`` with the best method its definition supports.

    Default method: fixed threshold when the instrument has ``reliable_change``,
    else Jacobson-Truax from its ``norms``. Default cut-off: the caseness
    cut-off, else cut-off c from the norms.
    """
    raise NotImplementedError
