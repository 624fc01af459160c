"""Shared test configuration.

Hypothesis profiles: ``default`` keeps the suite quick for CI and draws the same
examples on every run (``derandomize``), so the coverage gate (100% of branches) never
depends on a lucky draw; set ``HYPOTHESIS_PROFILE=thorough`` for a longer local run
with fresh random examples.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
