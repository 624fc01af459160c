"""t quantiles: arguments outside the domain are refused, huge df stay accurate."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from treatplan import ArgumentError
from treatplan.sim._survival import t_quantile


@pytest.mark.parametrize(
    ("p", "df", "parameter"),
    [
        (0.975, True, "df"),  # a bool is not a count
        (0.975, 1e-300, "df"),  # once a ZeroDivisionError
        (0.3, 0.1, "df"),  # once a math domain error
        (0.975, 10**400, "df"),  # once an OverflowError
        (0.975, "5", "df"),
        ("0.9", 5, "p"),  # once a TypeError
        (True, 5, "p"),
        (None, 5, "p"),
    ],
)
def test_t_quantile_refuses_what_is_not_its_domain(p: object, df: object, parameter: str) -> None:
    with pytest.raises(ArgumentError) as info:
        t_quantile(p, df)  # type: ignore[arg-type]
    assert info.value.parameter == parameter


@pytest.mark.parametrize("df", [10**6, 10**9, 1e12, 1e300])
@pytest.mark.parametrize("p", [1e-10, 0.025, 0.3, 0.975])
def test_t_quantile_for_huge_df_is_the_normal_quantile_corrected(df: float, p: float) -> None:
    # The t quantile tends to the normal one as z + (z^3 + z) / (4 df) + O(1 / df^2).
    z = NormalDist().inv_cdf(p)
    expected = z + (z**3 + z) / (4 * df)
    # (The 1 / df^2 term is still about 1e-10 of it at df = 10^6, p = 1e-10.)
    rel = 1e-9 if df == 10**6 else 1e-12
    assert t_quantile(p, df) == pytest.approx(expected, rel=rel, abs=1e-15)
    assert math.isfinite(t_quantile(p, df))


def test_t_quantile_takes_the_smallest_df_and_ints() -> None:
    assert t_quantile(0.975, 0.5) > t_quantile(0.975, 1) > t_quantile(0.975, 2)
    assert t_quantile(0.975, 30) == t_quantile(0.975, 30.0)
