"""Summaries of simulated caseloads: the funnel, NHS Talking Therapies outcomes,
drop-out, sessions and waiting times, with confidence intervals.

A :class:`Tally` accumulates counts client by client (workers tally their own
chunks, the parent merges), so a summary never needs the rows in memory.
:func:`summarise` turns a tally into a :class:`Summary`; single runs get Wilson
95% intervals, replicate seeds get t intervals of the replicate rates
(:func:`combine_replicates`); :func:`compare` lays scenarios side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .. import _validation as v
from .._errors import ArgumentError
from .._records import record_repr
from . import _checks as checks
from ._engine import CLIENT_COLUMNS, ClientResult
from ._survival import t_quantile

__all__ = [
    "Rate",
    "Summary",
    "Tally",
    "combine_replicates",
    "compare",
    "format_summary",
    "summarise",
]

_COL = {name: i for i, name in enumerate(CLIENT_COLUMNS)}
#: NHS waiting-time standards: 75% start within 6 weeks, 95% within 18 (NHS England).
_WAIT_STANDARDS_WEEKS = (6, 18)


class Tally:
    """Streaming counts over clients; mergeable and picklable.

    :attr:`RunResult.tally <treatplan.sim.RunResult>` holds a run's: ``counts``
    (the funnel and outcome counts by name), ``wait_days`` (started clients by
    whole days waited) and the drop-out counts behind
    :meth:`dropout_survival`. The engine counts each client's result; tallies
    of chunks or replicates merge.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "referred",
                "declined",
                "started",
                "two_or_more",
                "completed",
                "dropped_out",
                "still_open",
                "counted",
                "cases",
                "recovered",
                "reliably_improved",
                "reliably_deteriorated",
                "reliable_recovery",
                "improved_by_session_8",
                "sessions_attended_counted",
                "sessions_attended_started",
                "waited_days",
                "session_rows",
            ),
            0,
        )
        self.wait_days: dict[int, int] = {}  # started clients by whole days waited
        self.dropout_events: dict[int, int] = {}
        self.dropout_censored: dict[int, int] = {}

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"Tally(referred={c['referred']}, started={c['started']}, "
            f"completed={c['completed']}, dropped_out={c['dropped_out']}, "
            f"session_rows={c['session_rows']})"
        )

    def _add(self, result: ClientResult) -> None:
        """Count one client's result (the engine's)."""
        row, c = result.client, self.counts
        c["referred"] += 1
        c["session_rows"] += len(result.sessions)
        if not row[_COL["started"]]:
            c["declined"] += 1
            return
        c["started"] += 1
        attended = row[_COL["sessions_attended"]]
        c["sessions_attended_started"] += attended
        waited = row[_COL["waited_days"]]
        c["waited_days"] += waited
        self.wait_days[waited] = self.wait_days.get(waited, 0) + 1
        if attended >= 2:
            c["two_or_more"] += 1
        outcome = row[_COL["outcome"]]
        if outcome == "completed":
            c["completed"] += 1
        elif outcome == "dropped_out":
            c["dropped_out"] += 1
        else:  # a started episode closes only as completed or dropped out
            c["still_open"] += 1
        if row[_COL["improved_by_session_8"]] is True:
            c["improved_by_session_8"] += 1
        if row[_COL["counted"]]:
            c["counted"] += 1
            c["sessions_attended_counted"] += attended
            c["cases"] += row[_COL["case_at_start"]] is True
            for key in ("recovered", "reliably_improved", "reliably_deteriorated"):
                c[key] += row[_COL[key]] is True
            c["reliable_recovery"] += row[_COL["reliable_recovery"]] is True
        if result.dropout_at is not None:
            self.dropout_events[result.dropout_at] = (
                self.dropout_events.get(result.dropout_at, 0) + 1
            )
        elif result.censored_at is not None:  # pragma: no branch - started, no drop-out: censored
            self.dropout_censored[result.censored_at] = (
                self.dropout_censored.get(result.censored_at, 0) + 1
            )

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        if not isinstance(other, Tally):
            raise ArgumentError("other", "a treatplan.sim.Tally")
        for key, value in other.counts.items():
            self.counts[key] += value
        for mine, theirs in (
            (self.wait_days, other.wait_days),
            (self.dropout_events, other.dropout_events),
            (self.dropout_censored, other.dropout_censored),
        ):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n

    def dropout_survival(self) -> list[tuple[int, float]]:
        """Kaplan-Meier estimate of staying in treatment (not dropping out) by sessions attended.

        Drop-outs are events at the number of sessions attended when the episode
        closed; other endings (and open episodes) are censored there.
        """
        at_risk = sum(self.dropout_events.values()) + sum(self.dropout_censored.values())
        survival, curve = 1.0, [(0, 1.0)]
        for n in sorted(set(self.dropout_events) | set(self.dropout_censored)):
            events = self.dropout_events.get(n, 0)
            if at_risk > 0 and events:
                survival *= 1 - events / at_risk
            curve.append((n, survival))
            at_risk -= events + self.dropout_censored.get(n, 0)
        return curve


def _proportion(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # NaN stands for "no denominator" (nothing to count), or an interval not computed.
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise v.fail(attribute, "a proportion from 0 to 1 (or NaN)")
    # Compared as given: math.isnan of an int too large for a float overflows.
    if not (0 <= value <= 1 or (isinstance(value, float) and math.isnan(value))):
        raise v.fail(attribute, "a proportion from 0 to 1 (or NaN)")


@attrs.frozen
class Rate:
    """A proportion with its 95% interval and the counts behind it (``n`` = denominator).

    ``value``, ``low`` and ``high`` are proportions from 0 to 1, or NaN when
    there is nothing to count or no interval.
    """

    __repr__ = record_repr

    value: float = attrs.field(validator=_proportion)
    low: float = attrs.field(validator=_proportion)
    high: float = attrs.field(validator=_proportion)
    n: int = attrs.field(validator=v.integer(low=0))

    def __str__(self) -> str:
        return f"{100 * self.value:5.1f}% ({100 * self.low:.1f}-{100 * self.high:.1f})"


def _wilson(k: int, n: int, z: float = 1.96) -> Rate:
    """Wilson score interval (Wilson 1927): sound near 0 and 1 and for small n."""
    if n == 0:
        return Rate(math.nan, math.nan, math.nan, 0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Rate(p, max(0.0, centre - half), min(1.0, centre + half), n)


@attrs.frozen
class Summary:
    """What a caseload run shows. ``rates`` hold :class:`Rate` values; ``figures`` plain numbers.

    Rates: ``dropout`` (of clients who started), ``recovery`` and
    ``reliable_recovery`` (of counted episodes that were cases at the start:
    NHS Digital's recovery rate is recovered / (finished - not at caseness);
    that reliable recovery uses the same denominator is assumed, unconfirmed),
    ``reliable_improvement``, ``reliable_deterioration`` (of counted episodes:
    NHS Digital's reliable-improvement rate is over all finished courses),
    ``improved_by_session_8`` (of clients who started:
    reliable improvement on PHQ-9, a fall of 6 or more, from the first score to
    the 8th attended session or the last, if earlier; Howard et al. 1986 report
    about half improved by session 8), and the share who started within 6 and 18
    weeks of referral.
    """

    __repr__ = record_repr

    scenario: str
    replicates: int
    funnel: Mapping[str, int]
    rates: Mapping[str, Rate]
    figures: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "scenario": self.scenario,
            "replicates": self.replicates,
            "funnel": dict(self.funnel),
            "rates": {
                k: {"value": r.value, "low": r.low, "high": r.high, "n": r.n}
                for k, r in self.rates.items()
            },
            "figures": dict(self.figures),
        }


def summarise(tally: Tally, scenario: str = "default") -> Summary:
    """The summary of one run (Wilson 95% intervals)."""
    checks.instance("tally", tally, Tally, "a Tally (treatplan.sim._summary)")
    checks.instance("scenario", scenario, str, "a scenario name (a str)")
    c = tally.counts
    started, counted = c["started"], c["counted"]
    funnel = {
        "referred": c["referred"],
        "started": started,
        "two_or_more_sessions": c["two_or_more"],
        "completed": c["completed"],
        "recovered": c["recovered"],
    }
    within = {
        w: sum(n for days, n in tally.wait_days.items() if days < 7 * w)
        for w in _WAIT_STANDARDS_WEEKS
    }
    rates = {
        "dropout": _wilson(c["dropped_out"], started),
        "recovery": _wilson(c["recovered"], c["cases"]),
        "reliable_improvement": _wilson(c["reliably_improved"], counted),
        "reliable_deterioration": _wilson(c["reliably_deteriorated"], counted),
        # Only cases can recover, so reliable recovery shares recovery's denominator
        # (NHS Digital's own denominator for it is unconfirmed; clinical review F12).
        "reliable_recovery": _wilson(c["reliable_recovery"], c["cases"]),
        "improved_by_session_8": _wilson(c["improved_by_session_8"], started),
        "started_within_6_weeks": _wilson(within[6], started),
        "started_within_18_weeks": _wilson(within[18], started),
    }
    figures = {
        "mean_sessions_attended": _ratio(c["sessions_attended_counted"], counted),
        "mean_sessions_attended_all_started": _ratio(c["sessions_attended_started"], started),
        # Waits are in weeks throughout (the NHS standards are in weeks).
        "mean_wait_weeks": _ratio(c["waited_days"], 7 * started),
        "median_wait_weeks": _median(tally.wait_days) / 7,
        "declined_before_starting": float(c["declined"]),
        "still_open_at_horizon": float(c["still_open"]),
    }
    return Summary(scenario, 1, funnel, rates, figures)


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _median(hist: Mapping[int, int]) -> float:
    """The median of the values counted in ``hist`` (value -> count): the mean of the
    two middle values when the count is even; NaN when there are none."""
    total = sum(hist.values())
    if not total:
        return math.nan
    # The 0-based positions of the middle value(s) in sorted order.
    lower, upper = (total - 1) // 2, total // 2
    found: list[int] = []
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        while len(found) < 2 and seen > (lower, upper)[len(found)]:
            found.append(value)
    return (found[0] + found[1]) / 2


def _t(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (two-sided 95%)."""
    return t_quantile(0.975, df)


def _summaries(summaries: Any, expected: str) -> list[Summary]:
    """``summaries`` as a list, if it is a non-empty collection of :class:`Summary`."""
    if isinstance(summaries, Summary | str | bytes | Mapping):
        raise ArgumentError("summaries", expected)
    try:
        listed = list(summaries)
    except TypeError:
        raise ArgumentError("summaries", expected) from None
    if not listed or not all(isinstance(s, Summary) for s in listed):
        raise ArgumentError("summaries", expected)
    return listed


def combine_replicates(summaries: Sequence[Summary]) -> Summary:
    """One summary over replicate seeds: mean rates with t 95% intervals across replicates.

    With one replicate the run's own (Wilson) intervals are kept. Funnel counts
    and figures are averaged.
    """
    summaries = _summaries(summaries, "at least one treatplan.sim.Summary, in a list")
    if len(summaries) == 1:
        return summaries[0]
    k = len(summaries)
    rates: dict[str, Rate] = {}
    for key in summaries[0].rates:
        values = [s.rates[key].value for s in summaries if not math.isnan(s.rates[key].value)]
        n = sum(s.rates[key].n for s in summaries)
        if len(values) < 2:
            rates[key] = Rate(values[0] if values else math.nan, math.nan, math.nan, n)
            continue
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (len(values) - 1))
        half = _t(len(values) - 1) * sd / math.sqrt(len(values))
        rates[key] = Rate(mean, max(0.0, mean - half), min(1.0, mean + half), n)
    funnel = {key: round(sum(s.funnel[key] for s in summaries) / k) for key in summaries[0].funnel}
    figures = {key: sum(s.figures[key] for s in summaries) / k for key in summaries[0].figures}
    return Summary(summaries[0].scenario, k, funnel, rates, figures)


_RATE_LABELS = {
    "dropout": "drop-out (of started)",
    "recovery": "recovery (counted cases)",
    "reliable_improvement": "reliable improvement",
    "reliable_deterioration": "reliable deterioration",
    "reliable_recovery": "reliable recovery (counted cases)",
    "improved_by_session_8": "reliably improved by session 8",
    "started_within_6_weeks": "started within 6 weeks",
    "started_within_18_weeks": "started within 18 weeks",
}
_FIGURE_LABELS = {
    "mean_sessions_attended": "mean sessions (counted)",
    "mean_sessions_attended_all_started": "mean sessions (all started)",
    "mean_wait_weeks": "mean wait (weeks)",
    "median_wait_weeks": "median wait (weeks)",
}


def compare(summaries: Iterable[Summary]) -> str:
    """Summaries side by side as a plain-text table (one column per scenario)."""
    columns = _summaries(summaries, "at least one treatplan.sim.Summary, in a list")
    label_width = 36
    width = max(24, *(len(s.scenario) + 2 for s in columns))
    lines = [" " * label_width + "".join(f"{s.scenario:>{width}}" for s in columns)]
    replicates = {s.replicates for s in columns}
    if replicates != {1}:
        lines.append(
            f"{'replicates':<{label_width}}" + "".join(f"{s.replicates:>{width}}" for s in columns)
        )
    # Replicate funnels are means per replicate, not totals over every simulated client.
    lines.append("funnel (clients)" if replicates == {1} else "funnel (mean per replicate)")
    for key in columns[0].funnel:
        lines.append(
            f"  {key.replace('_', ' '):<{label_width - 2}}"
            + "".join(f"{s.funnel[key]:>{width},}" for s in columns)
        )
    lines.append("outcomes (95% CI)")
    for key, label in _RATE_LABELS.items():
        lines.append(
            f"  {label:<{label_width - 2}}"
            + "".join(f"{s.rates[key]!s:>{width}}" for s in columns)
        )
    lines.append("sessions and waiting (waits in weeks, referral to first appointment)")
    for key, label in _FIGURE_LABELS.items():
        lines.append(
            f"  {label:<{label_width - 2}}"
            + "".join(f"{s.figures[key]:>{width}.1f}" for s in columns)
        )
    return "\n".join(lines) + "\n"


def format_summary(summary: Summary) -> str:
    """One summary as plain text."""
    checks.instance("summary", summary, Summary, "a treatplan.sim.Summary")
    return compare([summary])
