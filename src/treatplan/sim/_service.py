"""A service whose waiting lists emerge from its capacity: a discrete-event loop.

Referrals arrive as a Poisson process, wait for an assessment appointment (if
the service has an assessment stage), then for a treatment place at their step;
a place frees when the episode ends (completed, dropped out, discharged) or the
client steps up, who then waits for a step-3 place. Clients leave a waiting list
when their patience runs out. See docs/concepts/service-model.md.

Clients who share places are not independent, so one run is simulated in one
process, in event order; parallelism comes from replicates and scenarios
(:func:`treatplan.sim.sweep`). Every draw comes from a per-client stream
(:func:`~treatplan.sim._random.client_stream`), so a run is byte-identical for one
``(scenario, clients, seed)`` whatever executor runs it, and arms of a sweep
see the same referrals and the same clients (common random numbers).

The clinical episode is the engine's: :func:`~treatplan.sim._engine.simulate_client` is
called with the day the client starts (a real treatment plan), and the place is
held until the plan closes. The engine's episode runs without a break, so a
step-up's wait for a step-3 place is modelled in the service timeline only (see
:class:`ClinicalEpisodes`).
"""

from __future__ import annotations

import csv
import heapq
import importlib
import io
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import attrs

from .. import _validation as v
from .._errors import ArgumentError
from .._model import ReviewDecision
from .._records import record_repr
from .._stepped import SteppedCarePolicy, initial_step
from .._validation import MAX_INSTANT
from . import _checks as checks
from ._engine import CLIENT_COLUMNS, Admission, ClientResult, simulate_client
from ._manifest import MANIFEST, RunFolder
from ._random import client_stream
from ._run import check_fits, run_record
from ._scenario import Scenario, Service
from ._summary import Rate, Summary, Tally, _wilson, summarise
from ._tables import TABLES, TableWriter, format_rows, write_json

__all__ = [
    "QUEUE_COLUMNS",
    "WAIT_COLUMNS",
    "ClinicalEpisodes",
    "Episode",
    "Episodes",
    "ExponentialEpisodes",
    "ServiceResult",
    "ServiceSummary",
    "erlang_c_mean_wait",
    "plot_service",
    "simulate_service",
]

#: Columns of the waits table (``waits.csv``): one row per referral. Times are days
#: since the scenario's start (fractions of a day from the arrival process); empty
#: where a stage was not reached. ``fate``: ``declined_at_referral``,
#: ``left_waiting`` (patience ran out), ``not_taken_up`` (offered a place after a
#: wait, did not take it up), ``started``, or ``waiting_at_end`` (still waiting
#: when the run or the client's follow-up, the scenario's horizon, ended: censored).
WAIT_COLUMNS = (
    "client",
    "referred_day",
    "step",
    "fate",
    "assessed_day",
    "started_day",
    "left_day",
    "stepped_up_day",
    "step3_day",
    "ended_day",
    "wait_assessment_days",
    "wait_treatment_days",
    "first_to_second_days",
    "step3_wait_days",
)
#: Columns of the queues table (``queues.csv``): one row each time a queue's waiting
#: list or its places in use change. ``queue``: ``assessment``, ``step2``, ``step3``.
QUEUE_COLUMNS = ("day", "queue", "waiting", "in_treatment", "places")

_WEEK = 7.0
_STANDARD_WEEKS = (6, 18)
# Event kinds, in the order events at the same time are handled: places free first,
# so a client arriving at that moment can take one.
_FREE, _ARRIVAL, _SLOT, _RENEGE = range(4)
#: Idle assessment slots stepped one by one before the clock jumps (see _Loop._next_slot).
_SLOT_STEPS = 1_000
#: More servers than any service has: the Erlang C sum runs over them.
_MAX_SERVERS = 100_000


@attrs.frozen
class Episode:
    """How long a client holds a treatment place, in days from the start.

    ``step_up_after``: days from the start to a step-up (the client then leaves
    the step-2 place and waits for a step-3 place, which is held for the rest,
    ``duration - step_up_after``).
    """

    __repr__ = record_repr

    duration: float = attrs.field(validator=v.number(low=0, high=v.MAX_NUMBER))
    step_up_after: float | None = attrs.field(
        default=None, validator=v.number(low=0, high=v.MAX_NUMBER, optional=True)
    )


class Episodes(Protocol):
    """What the service loop asks of a client's treatment (engine or synthetic)."""

    #: Days after referral after which a client still waiting leaves (``math.inf``: never).
    horizon_days: float

    def route(self, index: int, referred: float) -> tuple[int, float]:
        """The client's step (2 or 3) and severity (the higher, the sooner with priority)."""

    def start(self, index: int, referred: float, at: float) -> Episode:
        """The client starts treatment at day ``at``: how long does it hold a place?"""

    def leave(self, index: int, referred: float, at: float, reason: str) -> None:
        """The client leaves without starting treatment at day ``at``."""


class ExponentialEpisodes:
    """Synthetic episodes: exponential lengths with mean ``mean_days``, everyone at step 3.

    With Poisson referrals and ``c`` places this is the M/M/c queue, whose mean
    wait :func:`erlang_c_mean_wait` gives; lengths come from each client's
    ``"episode"`` stream, so they are common random numbers across arms.
    """

    horizon_days = math.inf

    def __init__(self, mean_days: float, seed: int) -> None:
        if not v.is_number(mean_days) or not 0 < mean_days <= v.MAX_NUMBER:
            raise ArgumentError("mean_days", "a finite number of days above 0")
        self.mean_days = mean_days
        self.seed = checks.seed(seed)

    def route(self, index: int, referred: float) -> tuple[int, float]:
        return 3, 0.0

    def start(self, index: int, referred: float, at: float) -> Episode:
        rng = client_stream(self.seed, index, "episode")
        return Episode(rng.expovariate(1.0 / self.mean_days))

    def leave(self, index: int, referred: float, at: float, reason: str) -> None:
        return None


class ClinicalEpisodes:
    """Episodes from the engine: every client a real treatment plan.

    - Routing needs the step before treatment starts, so with stepped care (or
      priority order) the engine is first run from the referral day as a probe:
      its baseline PHQ-9 gives the step (:func:`treatplan.stepped.initial_step`, as the
      engine does) and its screening PHQ-9 the severity. A client's scores do
      not depend on the start day, so the episode run at the real start starts
      at the same step; the probe doubles the engine's work for these clients.
    - The place is held from the start until the plan closes (or the horizon).
    - A step-up (the engine's review decision to step up) frees the step-2 place
      on the review's day; the client then waits for a step-3 place and holds it
      for the rest of the episode. The engine's episode runs on without that
      wait: the plan's session dates, scores and drop-out do not see it, and
      clients do not leave while waiting for step 3 (approximated).

    ``results`` holds each client's rows for the tables (by index) unless
    ``keep_rows`` is false; ``tally`` counts every client for the summary.
    """

    def __init__(self, scenario: Scenario, seed: int, *, keep_rows: bool = True) -> None:
        checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
        self.scenario = scenario
        self.seed = checks.seed(seed)
        self.horizon_days = scenario.horizon_weeks * _WEEK
        # Each client's rows, by index, for the tables; without tables to write only
        # the tally is kept (its counts do not depend on the order clients end in).
        self.keep_rows = keep_rows
        self.results: dict[int, ClientResult] = {}
        self.tally = Tally()
        self._probe = scenario.policy.stepped_care or (
            scenario.service is not None and scenario.service.order == "priority"
        )
        self._steps = SteppedCarePolicy(more_severe_from=scenario.policy.step_up_threshold)
        self._routed: dict[int, int] = {}
        # The last referral day whose plan (followed for the horizon, with a goal due
        # 16 weeks after a start within it) stays in the supported range.
        last = (MAX_INSTANT - timedelta(days=1)).date()
        self._last_referral = (last - scenario.start).days - self.horizon_days - 16 * _WEEK

    def _check_fits(self, referred: float) -> None:
        # check_fits refuses runs whose referrals at the mean rate would not fit; the
        # drawn arrivals can still run later than the mean, rarely: refused here.
        if referred > self._last_referral:
            raise ArgumentError(
                "clients",
                "fewer clients for this scenario and seed: the referrals drawn at "
                "capacity.referrals_per_week from its start, each followed for its "
                "horizon, must end before 2200 (or choose an earlier start or a shorter "
                "horizon)",
            )

    def _day(self, at: date) -> int:
        return (at - self.scenario.start).days

    def route(self, index: int, referred: float) -> tuple[int, float]:
        self._check_fits(referred)
        if not self._probe:
            return 3, 0.0
        day = int(referred)
        probe = simulate_client(self.scenario, self.seed, Admission(index, day, day, None, None))
        row = dict(zip(CLIENT_COLUMNS, probe.client, strict=True))
        step = 3
        if self.scenario.policy.stepped_care:
            step = int(initial_step(row["baseline_phq9"], self._steps))
        self._routed[index] = step
        return step, float(row["intake_phq9"])

    def start(self, index: int, referred: float, at: float) -> Episode:
        day = int(referred)
        start = max(day, math.ceil(at))
        low_intensity = self._routed.get(index) == 2
        admission = Admission(index, day, start, None, None)
        result = simulate_client(self.scenario, self.seed, admission, keep_plan=low_intensity)
        row = dict(zip(CLIENT_COLUMNS, result.client, strict=True))
        end = day + self.horizon_days
        if row["closed"]:
            end = self._day(date.fromisoformat(row["closed"]))
        step_up: float | None = None
        if result.plan is not None:
            for review in result.plan.reviews:
                if review.decision is ReviewDecision.STEP_UP:
                    step_up = max(0.0, self._day(review.at.date()) - at)
                    break
        self._ended(index, attrs.evolve(result, plan=None))
        return Episode(max(0.0, end - at), step_up)

    def leave(self, index: int, referred: float, at: float, reason: str) -> None:
        self._check_fits(referred)
        day = int(referred)
        left = max(day, min(int(at), day + int(self.horizon_days)))
        admission = Admission(index, day, None, left, reason)
        self._ended(index, simulate_client(self.scenario, self.seed, admission))

    def _ended(self, index: int, result: ClientResult) -> None:
        """Count a client's final result (once each), and keep it for the tables."""
        self.tally._add(result)
        if self.keep_rows:
            self.results[index] = result


class _Queue:
    """One waiting list and its places (``places`` None: an assessment list)."""

    def __init__(self, name: str, places: int, log: list[tuple[Any, ...]]) -> None:
        self.name = name
        self.places = places
        self.busy = 0
        self.waiting = 0
        self.entries: list[tuple[Any, ...]] = []
        self._log = log

    def record(self, at: float) -> None:
        self._log.append((at, self.name, self.waiting, self.busy, self.places))


@attrs.define
class _Client:
    __repr__ = record_repr

    index: int
    referred: float
    step: int = 3
    severity: float = 0.0
    patience: float = math.inf
    take_up: float = 0.0
    fate: str = "waiting_at_end"
    queue: str | None = None  # the list the client waits on, if any
    assessed: float | None = None
    started: float | None = None
    left: float | None = None
    stepped_up: float | None = None
    step3: float | None = None
    ended: float | None = None
    rest: float = 0.0  # days of the episode still to run at step 3 after a step-up


class _Loop:
    """The discrete-event loop of one run (see the module docstring)."""

    def __init__(self, scenario: Scenario, service: Service, episodes: Episodes, seed: int):
        self.scenario = scenario
        self.service = service
        self.episodes = episodes
        self.seed = seed
        self.log: list[tuple[Any, ...]] = []
        interval = scenario.policy.session_interval_days
        self.queues = {
            "assessment": _Queue("assessment", 0, self.log),
            "step2": _Queue("step2", service.step2.places(interval), self.log),
            "step3": _Queue("step3", service.step3.places(interval), self.log),
        }
        self.events: list[tuple[float, int, int, int]] = []
        self.clients: list[_Client] = []
        self._seq = 0
        self._arrival = 0.0
        self._rate = scenario.capacity.referrals_per_week / _WEEK
        self._slot_gap = (
            _WEEK / service.assessment_slots_per_week
            if service.assessment_slots_per_week > 0
            else 0.0
        )

    def push(self, at: float, kind: int, index: int) -> None:
        self._seq += 1
        heapq.heappush(self.events, (at, kind, self._seq, index))

    def run(self, clients: int) -> None:
        for queue in self.queues.values():
            queue.record(0.0)
        if clients:
            self.arrive_next(clients)
            if self._slot_gap:
                self.push(0.0, _SLOT, -1)
        while self.events:
            at, kind, _, index = heapq.heappop(self.events)
            if kind == _FREE:
                self.free(at, self.clients[index])
            elif kind == _ARRIVAL:
                self.arrival(at, index, clients)
            elif kind == _SLOT:
                self.slot(at)
            else:
                self.renege(at, self.clients[index])
        for client in self.clients:
            if client.fate == "waiting_at_end" and client.queue is not None:  # no horizon
                self.episodes.leave(client.index, client.referred, client.referred, "waiting")

    def arrive_next(self, clients: int) -> None:
        index = len(self.clients)
        rng = client_stream(self.seed, index, "intake")
        self._arrival += rng.expovariate(self._rate)
        client = _Client(index, self._arrival)
        decline = rng.random() < self.scenario.population.decline_at_referral
        client.patience = self.service.patience.draw_days(rng.random())
        client.take_up = rng.random()
        if decline:
            client.fate = "declined_at_referral"
        self.clients.append(client)
        self.push(client.referred, _ARRIVAL, index)

    def arrival(self, at: float, index: int, clients: int) -> None:
        client = self.clients[index]
        if index + 1 < clients:
            self.arrive_next(clients)
        if client.fate == "declined_at_referral":
            client.left = at
            self.episodes.leave(index, at, at, "declined at referral")
            return
        routed = self.episodes.route(index, at)
        if (
            not isinstance(routed, tuple)
            or len(routed) != 2
            or routed[0] not in (2, 3)
            or isinstance(routed[0], bool)
            or not v.is_number(routed[1])
        ):
            raise ArgumentError("episodes", "an Episodes whose route() gives (2 or 3, a number)")
        client.step, client.severity = int(routed[0]), float(routed[1])
        # Followed until patience runs out or the horizon ends follow-up, if sooner.
        until = min(client.patience, self.episodes.horizon_days)
        if math.isfinite(until):
            self.push(at + until, _RENEGE, index)
        if self._slot_gap:
            self.join(at, client, "assessment")
        else:
            self.join(at, client, f"step{client.step}")
            self.start_waiting(at, self.queues[f"step{client.step}"])

    def join(self, at: float, client: _Client, name: str) -> None:
        queue = self.queues[name]
        client.queue = name
        key = -client.severity if self.service.order == "priority" else 0.0
        self._seq += 1
        heapq.heappush(queue.entries, (key, at, self._seq, client.index))
        queue.waiting += 1
        queue.record(at)

    def next_waiting(self, queue: _Queue) -> _Client | None:
        while queue.entries:
            index: int = heapq.heappop(queue.entries)[3]
            client = self.clients[index]
            if client.queue == queue.name:  # not left meanwhile
                client.queue = None
                queue.waiting -= 1
                return client
        return None

    def slot(self, at: float) -> None:
        queue = self.queues["assessment"]
        client = self.next_waiting(queue)
        if client is not None:
            queue.record(at)
            client.assessed = at
            self.join(at, client, f"step{client.step}")
            self.start_waiting(at, self.queues[f"step{client.step}"])
        if queue.waiting:
            self.push(at + self._slot_gap, _SLOT, -1)
        elif self.clients[-1].referred > at:  # the next referral, not yet arrived
            self.push(self._next_slot(at, self.clients[-1].referred), _SLOT, -1)

    def _next_slot(self, at: float, arrival: float) -> float:
        """The first slot at or after ``arrival``: slots while the list is empty assess nobody.

        Skipping them bounds the loop's work by the clients, whatever the slot rate.
        Slot times are stepped by repeated addition, as one event after another
        would (so runs keep their exact times), for up to :data:`_SLOT_STEPS` slots;
        a longer idle stretch jumps to its lattice point by multiplication.
        """
        gap = self._slot_gap
        slot = at + gap
        for _ in range(_SLOT_STEPS):
            if slot >= arrival:
                return slot
            slot += gap
        # Rounding may land this a hair before the arrival: that slot finds the
        # list empty and steps once more.
        return slot + math.ceil((arrival - slot) / gap) * gap

    def start_waiting(self, at: float, queue: _Queue) -> None:
        while queue.busy < queue.places:
            client = self.next_waiting(queue)
            if client is None:
                return
            if client.stepped_up is not None:  # a step-up: the rest of the episode
                client.step3 = at
                queue.busy += 1
                queue.record(at)
                self.push(at + client.rest, _FREE, client.index)
                continue
            waited_weeks = (at - client.referred) / _WEEK
            if client.take_up < 1.0 - (1.0 - self.service.wait_dropout_per_week) ** waited_weeks:
                queue.record(at)
                client.fate, client.left = "not_taken_up", at
                self.episodes.leave(client.index, client.referred, at, "did not take up")
                continue
            episode = self.episodes.start(client.index, client.referred, at)
            if not isinstance(episode, Episode):
                raise ArgumentError("episodes", "an Episodes whose start() gives an Episode")
            client.fate, client.started = "started", at
            queue.busy += 1
            queue.record(at)
            if episode.step_up_after is not None and queue.name == "step2":
                client.rest = max(0.0, episode.duration - episode.step_up_after)
                client.stepped_up = at + episode.step_up_after
                self.push(client.stepped_up, _FREE, client.index)
            else:
                self.push(at + episode.duration, _FREE, client.index)

    def free(self, at: float, client: _Client) -> None:
        name = "step3" if client.step3 is not None else f"step{client.step}"
        queue = self.queues[name]
        queue.busy -= 1
        queue.record(at)
        if name == "step2" and client.stepped_up is not None:
            self.join(at, client, "step3")
            self.start_waiting(at, self.queues["step3"])
        else:
            client.ended = at
        self.start_waiting(at, queue)

    def renege(self, at: float, client: _Client) -> None:
        if client.queue is None or client.started is not None:
            return
        queue = self.queues[client.queue]
        client.queue = None
        queue.waiting -= 1
        queue.record(at)
        if client.patience > self.episodes.horizon_days:
            # Still waiting when follow-up ends: censored, not a client who left.
            self.episodes.leave(client.index, client.referred, at, "waiting")
            return
        client.fate, client.left = "left_waiting", at
        self.episodes.leave(client.index, client.referred, at, "declined while waiting")


def _cell(value: float | None) -> float | str:
    return "" if value is None else round(value, 6)


def _diff(later: float | None, earlier: float | None) -> float | str:
    return "" if later is None or earlier is None else round(later - earlier, 6)


def _wait_row(client: _Client, assessment: bool) -> tuple[Any, ...]:
    first_to_second = _diff(client.started, client.assessed) if assessment else ""
    return (
        f"client-{client.index}",
        _cell(client.referred),
        client.step,
        client.fate,
        _cell(client.assessed),
        _cell(client.started),
        _cell(client.left),
        _cell(client.stepped_up),
        _cell(client.step3),
        _cell(client.ended),
        _diff(client.assessed, client.referred),
        _diff(client.started, client.referred),
        first_to_second,
        _diff(client.step3, client.stepped_up),
    )


@attrs.frozen
class ServiceSummary:
    """What a service run shows about waiting (clients referred after the warm-up).

    ``counts``: referrals and their fates. ``rates`` (:class:`Rate`, Wilson 95%
    intervals): ``assessed_within_6_weeks`` / ``_18_weeks`` (of those
    assessed; the assessment as the first treatment appointment),
    ``started_within_6_weeks`` / ``_18_weeks`` (of those who started a course),
    ``left_while_waiting`` (of referrals, those whose patience ran out or who
    did not take up a place). ``figures`` (days, or clients): mean waits,
    time-averaged queue lengths and places in use per queue over the whole run,
    occupancy (places in use / places), and the referral rate per day.
    """

    __repr__ = record_repr

    scenario: str
    counts: Mapping[str, int]
    rates: Mapping[str, Rate]
    figures: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "scenario": self.scenario,
            "counts": dict(self.counts),
            "rates": {
                k: {"value": r.value, "low": r.low, "high": r.high, "n": r.n}
                for k, r in self.rates.items()
            },
            "figures": dict(self.figures),
        }


def time_averages(log: Sequence[Sequence[Any]], queue: str, until: float) -> tuple[float, float]:
    """Time-averaged (waiting, in treatment) of ``queue`` over ``[0, until]`` from the log."""
    waiting_area = busy_area = 0.0
    last_at, waiting, busy = 0.0, 0, 0
    for at, name, w, b, _ in log:
        if name != queue:
            continue
        waiting_area += waiting * (at - last_at)
        busy_area += busy * (at - last_at)
        last_at, waiting, busy = at, w, b
    waiting_area += waiting * (until - last_at)
    busy_area += busy * (until - last_at)
    return (waiting_area / until, busy_area / until) if until > 0 else (math.nan, math.nan)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _summarise(loop: _Loop, name: str) -> ServiceSummary:
    warmup = loop.service.warmup_weeks * _WEEK
    counted = [c for c in loop.clients if c.referred >= warmup]
    fates = {
        fate: sum(c.fate == fate for c in counted)
        for fate in (
            "declined_at_referral",
            "left_waiting",
            "not_taken_up",
            "started",
            "waiting_at_end",
        )
    }
    counts = {
        "referred": len(counted),
        **fates,
        "stepped_up": sum(c.stepped_up is not None for c in counted),
    }
    assessed = [c.assessed - c.referred for c in counted if c.assessed is not None]
    started = [c.started - c.referred for c in counted if c.started is not None]
    rates: dict[str, Rate] = {}
    for weeks in _STANDARD_WEEKS:
        within = sum(w < weeks * _WEEK for w in assessed)
        rates[f"assessed_within_{weeks}_weeks"] = _wilson(within, len(assessed))
    for weeks in _STANDARD_WEEKS:
        within = sum(w < weeks * _WEEK for w in started)
        rates[f"started_within_{weeks}_weeks"] = _wilson(within, len(started))
    rates["left_while_waiting"] = _wilson(
        fates["left_waiting"] + fates["not_taken_up"], len(counted)
    )
    until = max((row[0] for row in loop.log), default=0.0)
    figures: dict[str, float] = {
        "mean_wait_assessment_days": _mean(assessed),
        "mean_wait_treatment_days": _mean(started),
        "mean_first_to_second_days": _mean(
            [
                c.started - c.assessed
                for c in counted
                if c.started is not None and c.assessed is not None
            ]
        ),
        "mean_step3_wait_after_step_up_days": _mean(
            [
                c.step3 - c.stepped_up
                for c in counted
                if c.step3 is not None and c.stepped_up is not None
            ]
        ),
        "referrals_per_day": len(loop.clients) / loop.clients[-1].referred
        if loop.clients and loop.clients[-1].referred > 0
        else math.nan,
    }
    for queue in loop.queues.values():
        waiting, busy = time_averages(loop.log, queue.name, until)
        figures[f"mean_waiting_{queue.name}"] = waiting
        if queue.name != "assessment":
            figures[f"mean_in_treatment_{queue.name}"] = busy
            figures[f"occupancy_{queue.name}"] = busy / queue.places if queue.places else math.nan
    return ServiceSummary(name, counts, rates, figures)


@attrs.frozen
class ServiceResult:
    """The outcome of :func:`simulate_service`.

    ``service``: the waiting summary; ``summary``: the clinical summary of the
    episodes (``None`` with synthetic episodes); ``waits`` and ``queues``: the
    rows of the waits and queues tables (:data:`WAIT_COLUMNS`,
    :data:`QUEUE_COLUMNS`); ``files``: what was written.
    """

    __repr__ = record_repr

    service: ServiceSummary
    summary: Summary | None
    waits: tuple[tuple[Any, ...], ...] = attrs.field(repr=False)
    queues: tuple[tuple[Any, ...], ...] = attrs.field(repr=False)
    seed: int
    clients: int
    session_rows: int = 0
    files: tuple[Path, ...] = ()


def _csv_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def simulate_service(
    scenario: Scenario,
    clients: int = 2000,
    seed: int = 1,
    *,
    out_dir: str | Path | None = None,
    episodes: Episodes | None = None,
    overwrite: bool = False,
) -> ServiceResult:
    """Simulate ``clients`` referrals to a service with shared capacity, in event order.

    ``scenario.service`` (a :class:`~treatplan.sim.Service`) sets the places and
    lists; ``None`` uses the default :class:`~treatplan.sim.Service`. Episodes come
    from the engine (every client a real treatment plan) unless ``episodes`` is
    given (for example :class:`ExponentialEpisodes`). With ``out_dir``, writes
    ``waits.csv``, ``queues.csv`` and ``service.json`` and, for engine episodes,
    the clients, sessions and events tables (CSV) and ``summary.json``, then
    ``manifest.json``, as :func:`~treatplan.sim.simulate` does: the run is written
    aside and moved into place when complete, and a non-empty ``out_dir`` is
    refused (:class:`~treatplan.sim.OutputExistsError`) unless ``overwrite``
    (which replaces an earlier run only). The result is byte-identical for one
    ``(scenario, clients, seed)``.
    """
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    checks.integer("clients", clients, 0, checks.MAX_CLIENTS)
    checks.seed(seed)
    if out_dir is not None:
        checks.folder("out_dir", out_dir)
    if not isinstance(overwrite, bool):
        raise ArgumentError("overwrite", "True or False")
    if episodes is not None:
        horizon: Any = getattr(episodes, "horizon_days", None)
        methods = all(callable(getattr(episodes, m, None)) for m in ("route", "start", "leave"))
        if not methods or not (horizon == math.inf or (v.is_number(horizon) and horizon > 0)):
            raise ArgumentError(
                "episodes", "a treatplan.sim.Episodes (horizon_days above 0, or math.inf), or None"
            )
    if episodes is None:  # plans are dated: the run must fit the supported range
        check_fits(scenario, clients)
    if out_dir is None:
        return _service_into(None, scenario, clients, seed, episodes)
    record = run_record([(scenario, ".")], clients, seed, 1, ("csv",), None)
    with RunFolder(out_dir, record, overwrite=overwrite) as folder:
        result = _service_into(folder.path, scenario, clients, seed, episodes)
        target = folder.commit()
    files = tuple(target / p.relative_to(folder.path) for p in result.files)
    return attrs.evolve(result, files=(*files, target / MANIFEST))


def _service_into(
    out: Path | None,
    scenario: Scenario,
    clients: int,
    seed: int,
    episodes: Episodes | None = None,
) -> ServiceResult:
    """The work of :func:`simulate_service` (arguments checked); ``out``: an empty folder
    the files go straight into (the caller commits it), or ``None``."""
    service = scenario.service or Service()
    keep_rows = out is not None
    clinical = ClinicalEpisodes(scenario, seed, keep_rows=keep_rows) if episodes is None else None
    loop = _Loop(scenario, service, clinical or episodes, seed)  # type: ignore[arg-type]
    loop.run(clients)
    waits = tuple(_wait_row(c, bool(loop._slot_gap)) for c in loop.clients)
    queues = tuple((round(at, 6), *rest) for at, *rest in loop.log)
    summary: Summary | None = None
    tally = Tally()
    if clinical is not None:
        tally = clinical.tally
        summary = summarise(tally, scenario.name)
    result = ServiceResult(
        _summarise(loop, scenario.name),
        summary,
        waits,
        queues,
        seed,
        clients,
        tally.counts["session_rows"],
    )
    if out is None:
        return result
    files = [out / "waits.csv", out / "queues.csv"]
    files[0].write_text(_csv_text(WAIT_COLUMNS, waits), encoding="utf-8")
    files[1].write_text(_csv_text(QUEUE_COLUMNS, queues), encoding="utf-8")
    if clinical is not None:
        with TableWriter(out, ["csv"]) as writer:
            for table in TABLES:
                rows: list[tuple[Any, ...]] = []
                for index in range(clients):
                    got = clinical.results[index]
                    rows.extend([got.client] if table == "clients" else getattr(got, table))
                writer.write(table, "csv", format_rows(table, rows, "csv"))
            files.extend(writer.paths)
    if summary is not None:
        files.append(out / "summary.json")
        write_json(files[-1], summary.to_dict())
    files.append(out / "service.json")
    write_json(files[-1], result.service.to_dict())
    return attrs.evolve(result, files=tuple(files))


def erlang_c_mean_wait(arrivals_per_day: float, mean_days: float, servers: int) -> float:
    """The mean wait in an M/M/c queue (Erlang C): ``C(c, a) / (c mu - lambda)``.

    ``a = lambda * mean_days`` is the offered load; the queue must be stable (``a < c``).
    """
    for name, value in (("arrivals_per_day", arrivals_per_day), ("mean_days", mean_days)):
        if not v.is_number(value) or not 0 < value <= v.MAX_NUMBER:
            raise ArgumentError(name, "a finite number above 0")
    checks.integer("servers", servers, 1, _MAX_SERVERS)
    load = arrivals_per_day * mean_days
    if not load < servers:
        raise ArgumentError(
            "servers", "more than arrivals_per_day x mean_days (a stable M/M/c queue)"
        )
    # Erlang B by its recurrence, B(k) = a B(k-1) / (k + a B(k-1)): every step stays
    # in [0, 1], where the sum of a^k / k! overflows once a passes about 700.
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    waiting_probability = servers * blocking / (servers - load * (1.0 - blocking))
    return waiting_probability / (servers / mean_days - arrivals_per_day)


def plot_service(result: ServiceResult, path: str | Path) -> Path:
    """Draw a service run (needs ``treatplan[plots]``): waiting lists and places in use
    over time, and the distribution of waits to first treatment.

    The file's suffix picks the format (``.png``, ``.pdf``, ``.svg``, ... as
    matplotlib writes them); a name without one gets ``.png``. Returns the path
    written. :class:`treatplan.ArgumentError` names ``path`` for a format
    matplotlib does not write, a folder, a missing parent folder or a file that
    cannot be written (never the path itself).
    """
    checks.instance("result", result, ServiceResult, "a treatplan.sim.ServiceResult")
    target = checks.folder("path", path, "a file path (a str or os.PathLike)")
    if not target.suffix:
        target = target.with_name(target.name + ".png")
    if target.is_dir():
        raise ArgumentError("path", "a file path, not a folder")
    if not target.parent.is_dir():
        raise ArgumentError("path", "a file in an existing folder")
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    fig, (lists, places, hist) = plt.subplots(1, 3, figsize=(13, 3.6))
    formats = fig.canvas.get_supported_filetypes()
    if target.suffix[1:].lower() not in formats:
        plt.close(fig)
        raise ArgumentError(
            "path",
            f"a file name ending in a format matplotlib writes: .{', .'.join(sorted(formats))}",
        )
    for name in ("assessment", "step2", "step3"):
        rows = [row for row in result.queues if row[1] == name]
        if not any(row[2] or row[3] for row in rows):
            continue
        weeks = [row[0] / _WEEK for row in rows]
        lists.step(weeks, [row[2] for row in rows], where="post", label=name)
        if name != "assessment":
            places.step(weeks, [row[3] for row in rows], where="post", label=f"{name} in use")
            places.axhline(rows[0][4], linestyle=":", linewidth=1)
    lists.set(title="waiting lists", xlabel="weeks", ylabel="clients waiting")
    places.set(title="places in use (dotted: places)", xlabel="weeks", ylabel="clients")
    column = WAIT_COLUMNS.index("wait_treatment_days")
    waits = [row[column] / _WEEK for row in result.waits if row[column] != ""]
    hist.hist(waits, bins=30)
    for standard in _STANDARD_WEEKS:
        hist.axvline(standard, color="black", linestyle="--", linewidth=1)
    hist.set(title="referral to first treatment", xlabel="weeks", ylabel="clients")
    for ax in (lists, places):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        fig.savefig(target, dpi=100)
    except OSError as exc:  # its message names the file
        raise ArgumentError(
            "path", f"a file that can be written ({exc.strerror or type(exc).__name__})"
        ) from None
    finally:
        plt.close(fig)
    return target
