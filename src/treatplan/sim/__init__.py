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

from ._checks import MAX_CLIENTS, MAX_REPLICATES
from ._codebook import CODEBOOK, Column
from ._dynamics import ClientTraits, ItemPatterns, draw_traits, true_scores
from ._engine import (
    CLIENT_COLUMNS,
    EVENT_COLUMNS,
    SESSION_COLUMNS,
    VERIFY_EVERY,
    Admission,
    ClientResult,
    WaitingList,
    max_clients,
    simulate_client,
)
from ._manifest import OutputExistsError, RunFolder, check_manifest, scenario_sha256
from ._policy import NON_ATTENDANCE_RULES, ClientState, DefaultPolicy, Ending, ServicePolicy
from ._random import client_stream, replicate_seed
from ._run import ChunkOutput, RunResult, run_chunk, simulate, simulate_replicates
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
    ClinicalEpisodes,
    Episode,
    Episodes,
    ExponentialEpisodes,
    ServiceResult,
    ServiceSummary,
    erlang_c_mean_wait,
    plot_service,
    simulate_service,
)
from ._summary import Rate, Summary, Tally, combine_replicates, compare, format_summary, summarise
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
    t_quantile,
)
from ._sweep import (
    MAX_ARMS,
    SWEEP_COLUMNS,
    Arm,
    SweepError,
    SweepResult,
    apply_overrides,
    check_grid,
    grid,
    sweep,
)
from ._tables import (
    DEFAULT_FORMATS,
    FORMATS,
    TABLES,
    TableWriter,
    read_table,
    to_dataframe,
    write_parquet,
)

__all__ = [  # noqa: RUF022 - the service and sweep names are kept in one block
    # Service model and sweeps (issue 11).
    "CAPACITY_SCENARIO",
    "MAX_ARMS",
    "QUEUE_COLUMNS",
    "SWEEP_COLUMNS",
    "WAIT_COLUMNS",
    "Arm",
    "ClinicalEpisodes",
    "Episode",
    "Episodes",
    "ExponentialEpisodes",
    "Patience",
    "Service",
    "ServiceResult",
    "ServiceSummary",
    "SweepError",
    "SweepResult",
    "Team",
    "apply_overrides",
    "check_grid",
    "erlang_c_mean_wait",
    "grid",
    "plot_service",
    "simulate_service",
    "sweep",
    # The simulator.
    "CLIENT_COLUMNS",
    "CODEBOOK",
    "DEFAULT_FORMATS",
    "DEFAULT_SCENARIO",
    "ENDING_CAUSES",
    "EVENT_COLUMNS",
    "FORMATS",
    "MAX_CLIENTS",
    "MAX_REPLICATES",
    "NON_ATTENDANCE_RULES",
    "SESSION_COLUMNS",
    "TABLES",
    "VERIFY_EVERY",
    "Admission",
    "Capacity",
    "ChunkOutput",
    "ClientResult",
    "ClientState",
    "ClientTraits",
    "Column",
    "CumulativeIncidence",
    "DefaultPolicy",
    "Durations",
    "Ending",
    "Engagement",
    "ItemPatterns",
    "Normal",
    "OutputExistsError",
    "Policy",
    "Population",
    "Rate",
    "Response",
    "RunFolder",
    "RunResult",
    "Scenario",
    "ServicePolicy",
    "Summary",
    "SurvivalCurve",
    "TableWriter",
    "Tally",
    "WaitingList",
    "max_clients",
    "check_manifest",
    "client_stream",
    "combine_replicates",
    "compare",
    "competing_risks",
    "cumulative_incidence",
    "draw_traits",
    "ending_cause",
    "episode_endings",
    "format_summary",
    "kaplan_meier",
    "load_scenario",
    "read_table",
    "recovery_times",
    "replicate_seed",
    "run_chunk",
    "scenario_sha256",
    "simulate",
    "simulate_client",
    "simulate_replicates",
    "summarise",
    "t_quantile",
    "to_dataframe",
    "true_scores",
    "write_parquet",
]
