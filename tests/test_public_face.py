"""The public face: a small top level, concept submodules, and a path for every 0.1 name."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import treatplan as tp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SUBMODULES = (
    "change",
    "document",
    "fhir",
    "instruments",
    "lifecycle",
    "monitoring",
    "outcomes",
    "reviews",
    "rules",
    "stepped",
)


def test_the_top_level_is_small() -> None:
    assert len(tp.__all__) <= 80
    assert len(set(tp.__all__)) == len(tp.__all__)
    for name in tp.__all__:
        assert hasattr(tp, name), name


@pytest.mark.parametrize("name", SUBMODULES)
def test_each_submodule_exports_what_it_names(name: str) -> None:
    module = importlib.import_module(f"treatplan.{name}")
    assert module.__doc__
    assert len(set(module.__all__)) == len(module.__all__)
    for exported in module.__all__:
        assert hasattr(module, exported), (name, exported)
    assert getattr(tp, name) is module  # loads on first attribute access too


@pytest.mark.parametrize("old", sorted(tp.MOVED))
def test_every_moved_name_still_resolves_with_a_warning(old: str) -> None:
    module, new = tp.MOVED[old]
    with pytest.warns(DeprecationWarning, match=f"treatplan.{old} is now {module}.{new}"):
        found = getattr(tp, old)
    assert found is getattr(importlib.import_module(module), new)


def test_unknown_names_are_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tp.nope  # noqa: B018
    assert "fhir" in dir(tp)
    assert "review" in dir(tp)


def test_import_treatplan_does_not_load_what_a_caller_may_not_use() -> None:
    code = (
        "import sys, treatplan\n"
        "loaded = [m for m in ('treatplan._fhir', 'treatplan.sim', 'treatplan._schema', "
        "'treatplan._review', 'treatplan._alerts', "
        "'treatplan.strategies', 'numpy', 'hypothesis') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


#: ``treatplan.sim.__all__`` in 0.1 (41 names, before the simulator's public face was
#: cut down): each is either still exported or resolves with a DeprecationWarning.
SIM_0_1 = [
    "CLIENT_COLUMNS",
    "DEFAULT_SCENARIO",
    "EVENT_COLUMNS",
    "FORMATS",
    "NON_ATTENDANCE_RULES",
    "SESSION_COLUMNS",
    "TABLES",
    "Admission",
    "Capacity",
    "ChunkOutput",
    "ClientResult",
    "ClientTraits",
    "Engagement",
    "ItemPatterns",
    "Normal",
    "Policy",
    "Population",
    "Rate",
    "Response",
    "RunResult",
    "Scenario",
    "Summary",
    "TableWriter",
    "Tally",
    "WaitingList",
    "client_stream",
    "combine_replicates",
    "compare",
    "draw_traits",
    "format_summary",
    "load_scenario",
    "read_table",
    "replicate_seed",
    "run_chunk",
    "simulate",
    "simulate_client",
    "simulate_replicates",
    "summarise",
    "to_dataframe",
    "true_scores",
    "write_parquet",
]


def test_the_simulator_exports_what_a_script_uses_and_no_machinery() -> None:
    from treatplan import sim

    assert len(sim.__all__) <= 70
    assert sim.__all__ == sorted(sim.__all__, key=lambda n: (not n.isupper(), n))
    assert len(set(sim.__all__)) == len(sim.__all__)
    assert set(sim.__all__).isdisjoint(sim.INTERNAL)
    machinery = {"RunFolder", "scenario_sha256", "t_quantile", "VERIFY_EVERY", "check_grid"}
    assert machinery.isdisjoint(dir(sim))
    assert dir(sim) == sorted(sim.__all__)
    assert len(SIM_0_1) == 41
    assert set(SIM_0_1) <= set(sim.__all__) | set(sim.INTERNAL)


@pytest.mark.parametrize("name", sorted(__import__("treatplan.sim").sim.INTERNAL))
def test_every_internal_sim_name_of_0_1_still_resolves_with_a_warning(name: str) -> None:
    from treatplan import sim

    module = sim.INTERNAL[name]
    with pytest.warns(DeprecationWarning, match=f"treatplan.sim.{name} is internal"):
        found = getattr(sim, name)
    assert found is getattr(importlib.import_module(module), name)


def test_an_unknown_sim_name_is_an_attribute_error() -> None:
    from treatplan import sim

    with pytest.raises(AttributeError, match="no attribute 'RunFolder'"):
        sim.RunFolder  # noqa: B018


def test_the_simulation_page_states_the_verification_rate() -> None:
    from pathlib import Path

    from treatplan.sim._engine import VERIFY_EVERY

    page = Path(__file__).resolve().parents[1] / "docs" / "concepts" / "simulation.md"
    assert f"One client in {VERIFY_EVERY} (by index" in page.read_text(encoding="utf-8")


def test_the_renamed_method_still_works_with_a_warning() -> None:
    assert tp.MOVED_METHODS == {"TreatmentPlan.scores": "TreatmentPlan.assessments_of"}
    plan = tp.loads((EXAMPLES / "mbc-walkthrough.json").read_text(encoding="utf-8"))
    found = plan.assessments_of("PHQ-9")
    assert found
    assert all(type(a) is tp.Assessment and a.instrument == "PHQ-9" for a in found)
    assert [a.administered_at for a in found] == sorted(a.administered_at for a in found)
    with pytest.warns(
        DeprecationWarning, match="TreatmentPlan.scores is now TreatmentPlan.assessments_of"
    ):
        assert plan.scores("PHQ-9") == found
    # The scores of those assessments are what the plan_ function gives.
    scores = tp.instruments.plan_scores(plan, "PHQ-9")
    assert [s.administered_at for s in scores] == [a.administered_at for a in found]


def test_objective_status_is_named_for_what_has_it() -> None:
    assert attrs.fields(tp.Objective).status.default is tp.ObjectiveStatus.ACTIVE
    assert "status" not in attrs.fields_dict(tp.Goal)
    with pytest.warns(DeprecationWarning, match="GoalStatus is now treatplan.ObjectiveStatus"):
        assert tp.GoalStatus is tp.ObjectiveStatus
