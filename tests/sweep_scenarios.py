"""A small service scenario shared by the sweep tests (library, audit and command line).

Not a test module (no ``test_`` prefix): pytest puts ``tests/`` on ``sys.path``, so the
test files import it as ``sweep_scenarios``.
"""

from __future__ import annotations

import attrs

from treatplan.sim import CAPACITY_SCENARIO, Capacity, Team

#: The capacity scenario at 10 referrals a week, one therapist per step, no warm-up and a
#: 30-week horizon: a sweep arm of a few dozen clients runs in well under a second.
SMALL = attrs.evolve(
    CAPACITY_SCENARIO,
    capacity=Capacity(referrals_per_week=10.0),
    service=attrs.evolve(
        CAPACITY_SCENARIO.service, step2=Team(1, 4, 20), step3=Team(1, 4, 20), warmup_weeks=0.0
    ),
    horizon_weeks=30,
)
