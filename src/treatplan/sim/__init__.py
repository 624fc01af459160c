"""treatplan.sim: reproducible, calibrated caseload simulation on the real plan logic.

Every synthetic client is a real :class:`treatplan.TreatmentPlan` taken through
referral, waiting list, assessment, sessions, reviews and ending by the
library's own lifecycle, reviews, stepped care and ending rules; outcome
categories come from :func:`treatplan.outcomes.talking_therapies_outcome` and
:func:`treatplan.change.classify_change` applied to those plans. Runs are
byte-for-byte reproducible from ``(scenario, clients, seed)`` whatever executor
or worker count runs them.

>>> from treatplan.sim import DEFAULT_SCENARIO, simulate
>>> result = simulate(DEFAULT_SCENARIO, clients=200, seed=1)
>>> 0 < result.summary.rates["recovery"].value < 1
True
"""

import importlib
import warnings
from typing import Any

from ._checks import MAX_CLIENTS, MAX_REPLICATES
from ._codebook import CODEBOOK, Column
from ._dynamics import ClientTraits
from ._engine import max_clients
from ._manifest import OutputExistsError, check_manifest
from ._policy import NON_ATTENDANCE_RULES, ClientState, DefaultPolicy, Ending, ServicePolicy
from ._run import RunResult, client_plan, simulate, simulate_replicates
from ._scenario import (
    CAPACITY_SCENARIO,
    DEFAULT_SCENARIO,
    Capacity,
    Engagement,
    Normal,
    Patience,
    Policy,
    Population,
    Response,
    Scenario,
    Service,
    Team,
    load_scenario,
)
from ._service import (
    QUEUE_COLUMNS,
    WAIT_COLUMNS,
    Episode,
    Episodes,
    ExponentialEpisodes,
    ServiceResult,
    ServiceSummary,
    erlang_c_mean_wait,
    plot_service,
    simulate_service,
)
from ._summary import Rate, Summary, Tally, combine_replicates, compare, format_summary
from ._survival import (
    ENDING_CAUSES,
    CumulativeIncidence,
    Durations,
    SurvivalCurve,
    competing_risks,
    cumulative_incidence,
    ending_cause,
    episode_endings,
    kaplan_meier,
    recovery_times,
)
from ._sweep import MAX_ARMS, SWEEP_COLUMNS, Arm, SweepError, SweepResult, grid, sweep
from ._tables import FORMATS, TABLES, read_table, to_dataframe, write_parquet

#: What a researcher scripting caseloads uses: scenarios, runs, policies, summaries,
#: tables, survival statistics, the service model and sweeps. The engine's machinery
#: (waiting list, chunks, table writers, run folders, random streams) stays in the
#: private modules.
__all__ = [
    "CAPACITY_SCENARIO",
    "CODEBOOK",
    "DEFAULT_SCENARIO",
    "ENDING_CAUSES",
    "FORMATS",
    "MAX_ARMS",
    "MAX_CLIENTS",
    "MAX_REPLICATES",
    "NON_ATTENDANCE_RULES",
    "QUEUE_COLUMNS",
    "SWEEP_COLUMNS",
    "TABLES",
    "WAIT_COLUMNS",
    "Arm",
    "Capacity",
    "ClientState",
    "ClientTraits",
    "Column",
    "CumulativeIncidence",
    "DefaultPolicy",
    "Durations",
    "Ending",
    "Engagement",
    "Episode",
    "Episodes",
    "ExponentialEpisodes",
    "Normal",
    "OutputExistsError",
    "Patience",
    "Policy",
    "Population",
    "Rate",
    "Response",
    "RunResult",
    "Scenario",
    "Service",
    "ServicePolicy",
    "ServiceResult",
    "ServiceSummary",
    "Summary",
    "SurvivalCurve",
    "SweepError",
    "SweepResult",
    "Tally",
    "Team",
    "check_manifest",
    "client_plan",
    "combine_replicates",
    "compare",
    "competing_risks",
    "cumulative_incidence",
    "ending_cause",
    "episode_endings",
    "erlang_c_mean_wait",
    "format_summary",
    "grid",
    "kaplan_meier",
    "load_scenario",
    "max_clients",
    "plot_service",
    "read_table",
    "recovery_times",
    "simulate",
    "simulate_replicates",
    "simulate_service",
    "sweep",
    "to_dataframe",
    "write_parquet",
]

#: Names of the 0.1 ``treatplan.sim`` that are machinery rather than API: name ->
#: the private module that defines it. They still resolve here, with a
#: DeprecationWarning, until 1.0 (see CHANGELOG.md).
INTERNAL: dict[str, str] = {
    "CLIENT_COLUMNS": "treatplan.sim._engine",
    "EVENT_COLUMNS": "treatplan.sim._engine",
    "SESSION_COLUMNS": "treatplan.sim._engine",
    "Admission": "treatplan.sim._engine",
    "ClientResult": "treatplan.sim._engine",
    "WaitingList": "treatplan.sim._engine",
    "simulate_client": "treatplan.sim._engine",
    "ItemPatterns": "treatplan.sim._dynamics",
    "draw_traits": "treatplan.sim._dynamics",
    "true_scores": "treatplan.sim._dynamics",
    "ChunkOutput": "treatplan.sim._run",
    "run_chunk": "treatplan.sim._run",
    "TableWriter": "treatplan.sim._tables",
    "summarise": "treatplan.sim._summary",
    "client_stream": "treatplan.sim._random",
    "replicate_seed": "treatplan.sim._random",
}


def __getattr__(name: str) -> Any:
    module = INTERNAL.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    warnings.warn(
        f"treatplan.sim.{name} is internal ({module}); it leaves treatplan.sim in 1.0",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
