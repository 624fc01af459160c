"""Compare service policies on common random numbers.

Two alternatives to the default NICE / NHS Talking Therapies policy, each a few
lines on top of :class:`treatplan.sim.DefaultPolicy`:

- ``BriefReviews``: a review every 4 attended sessions, and the episode ends as
  soon as two scores in a row are below caseness on PHQ-9 and GAD-7;
- ``FixedCourse``: a fixed course of 8 attended sessions (only non-attendance
  ends it earlier).

Every policy sees the same synthetic clients (same seed: the clinical draws do
not depend on the policy), so the differences are the policies' own.

Run it::

    python examples/policy_comparison.py              # 600 clients
    python examples/policy_comparison.py --clients 3000
"""

from __future__ import annotations

import argparse

import treatplan as tp
from treatplan.sim import DEFAULT_SCENARIO, ClientState, DefaultPolicy, Ending, Summary, simulate

# --------------------------------------------------------------------------- policies
PHQ9_CASE = tp.instruments.PHQ9.caseness_cutoff or 10
GAD7_CASE = tp.instruments.GAD7.caseness_cutoff or 8


class BriefReviews(DefaultPolicy):
    """Review every 4 sessions; end after two scores in a row below caseness."""

    def review_due(self, state: ClientState) -> bool:
        return state.attended % 4 == 0 or state.asks_to_end or state.acting_on_feedback

    def end(self, state: ClientState, verdict: tp.Verdict) -> Ending | None:
        last_two = state.scores[1:][-2:]  # attended sessions only, not the baseline
        below = all(phq < PHQ9_CASE and gad < GAD7_CASE for phq, gad in last_two)
        if state.attended_now and len(last_two) == 2 and below:
            return Ending(tp.EpisodeOutcome.COMPLETED, "two scores below caseness", "below_case")
        return super().end(state, verdict)


class FixedCourse(DefaultPolicy):
    """Eight attended sessions, whatever the scores; non-attendance still ends early."""

    sessions = 8

    def end(self, state: ClientState, verdict: tp.Verdict) -> Ending | None:
        ending = super().end(state, verdict)
        if ending is not None and ending.outcome is tp.EpisodeOutcome.DROPPED_OUT:
            return ending
        if state.attended >= self.sessions:
            return Ending(tp.EpisodeOutcome.COMPLETED, "course delivered", "fixed_course")
        return None


POLICIES = {"default": DefaultPolicy(), "brief_reviews": BriefReviews(), "fixed_8": FixedCourse()}


# --------------------------------------------------------------------------- comparison
def compare(clients: int = 600, seed: int = 1) -> dict[str, Summary]:
    """Each policy's summary on the same clients (common random numbers)."""
    return {
        name: simulate(DEFAULT_SCENARIO, clients, seed, policy=policy).summary
        for name, policy in POLICIES.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    summaries = compare(args.clients, args.seed)
    print(f"{'policy':<14}{'sessions':>10}{'recovery':>22}{'dropout':>22}")
    for name, s in summaries.items():
        sessions = s.figures["mean_sessions_attended_all_started"]
        print(f"{name:<14}{sessions:>10.2f}{s.rates['recovery']!s:>22}{s.rates['dropout']!s:>22}")


if __name__ == "__main__":
    main()
