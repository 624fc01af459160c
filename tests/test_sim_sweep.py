"""Sweeps: arms x replicates, common random numbers, one tidy table, resumable."""

from __future__ import annotations

import csv
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sweep_scenarios import SMALL
from treatplan import ValidationError
from treatplan.sim import DEFAULT_SCENARIO, SWEEP_COLUMNS, Arm, SweepError, _sweep, grid, sweep
from treatplan.sim._sweep import apply_overrides, check_grid

ARMS = grid({"service.step3.therapists": [1, 3]})


def _table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("sweep") / "out"
    return sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=out), out


def test_grid_is_every_combination_last_fastest() -> None:
    arms = grid([("a.b", [1, 2]), ("c", ["x", "y", "z"])])
    assert [a.name for a in arms] == [f"arm-{i}" for i in range(6)]
    assert arms[1].overrides == (("a.b", 1), ("c", "y"))
    assert arms[3].values() == {"a.b": 2, "c": "x"}


def test_overrides_set_dotted_paths_and_fill_in_a_service() -> None:
    changed = apply_overrides(DEFAULT_SCENARIO, [("service.step3.therapists", 7)])
    assert changed.service is not None
    assert changed.service.step3.therapists == 7
    assert apply_overrides(SMALL, [("horizon_weeks", 40)]).horizon_weeks == 40


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ([("horizon_weeks", 10), ("no.such.field", 1)], "$.arms[2][1]"),
        ([("", 1)], "$.arms[2][0]"),
        ([("horizon_weeks", 10), ("horizon_weeks", "secret-value")], "$.arms[2][1]"),
        ([("service.order", "secret-value")], "$.arms[2][0]"),
    ],
)
def test_override_errors_name_the_position_never_the_key_or_value(
    overrides: list[tuple[str, Any]], path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        apply_overrides(SMALL, overrides, "$.arms[2]")
    assert [p.path for p in info.value.problems] == [path]
    assert "secret" not in str(info.value)
    assert "no.such" not in str(info.value)


def test_check_grid_names_the_parameter_and_value() -> None:
    with pytest.raises(ValidationError) as info:
        check_grid(SMALL, [("horizon_weeks", [10, 20]), ("service.step3.therapists", [1, -4])])
    assert [p.path for p in info.value.problems] == ["$.grid[1].values[1]"]
    with pytest.raises(ValidationError) as info:
        check_grid(SMALL, [("horizon_weeks.x", [10])], "--set")
    assert [p.path for p in info.value.problems] == ["--set[0].path"]


def test_sweep_writes_a_tidy_table_and_a_folder_per_run(done: tuple[Any, Path]) -> None:
    result, out = done
    rows = _table(out / "sweep.csv")
    assert tuple(rows[0]) == ("arm", "service.step3.therapists", *SWEEP_COLUMNS[1:])
    assert {r["replicate"] for r in rows} == {"0", "1", "all"}
    assert {r["arm"] for r in rows} == {"arm-0", "arm-1"}
    metrics = {r["metric"] for r in rows}
    assert {"service.started_within_6_weeks", "clinical.recovery"} <= metrics
    assert len(result.rows) == len(rows)
    for arm in ("arm-0", "arm-1"):
        for r in range(2):
            folder = out / "runs" / arm / f"replicate-{r}"
            manifest = json.loads((folder / "manifest.json").read_text())
            assert manifest["complete"] is True
            listed = {f["path"] for f in manifest["files"]}
            assert {"waits.csv", "clients.csv", "metrics.json", "service.json"} <= listed
    assert json.loads((out / "sweep.json").read_text())["replicates"] == 2
    assert result.resumed == 0
    assert result.client_sessions > 0


def test_common_random_numbers_across_arms(done: tuple[Any, Path]) -> None:
    _, out = done
    referred = [
        [r["referred_day"] for r in _table(out / "runs" / arm / "replicate-1" / "waits.csv")]
        for arm in ("arm-0", "arm-1")
    ]
    assert referred[0] == referred[1]


def test_more_step3_therapists_shorten_the_wait(done: tuple[Any, Path]) -> None:
    _, out = done
    rows = _table(out / "sweep.csv")
    mean = {
        r["arm"]: float(r["value"])
        for r in rows
        if r["replicate"] == "all" and r["metric"] == "service.mean_wait_treatment_days"
    }
    assert mean["arm-1"] < mean["arm-0"]
    rates = [r for r in rows if r["metric"] == "service.started_within_6_weeks" and r["ci_low"]]
    assert rates
    assert all(0 <= float(r["ci_low"]) <= float(r["ci_high"]) <= 1 for r in rates)


def test_any_executor_gives_the_same_bytes(done: tuple[Any, Path], tmp_path: Path) -> None:
    _, out = done
    with ThreadPoolExecutor(2) as pool:
        sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=tmp_path, executor=pool)
    assert (tmp_path / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    for name in ("waits.csv", "queues.csv", "clients.csv", "sessions.csv", "events.csv"):
        path = Path("runs") / "arm-1" / "replicate-0" / name
        assert (tmp_path / path).read_bytes() == (out / path).read_bytes()


def test_an_interrupted_sweep_continues_from_completed_runs(
    done: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = done
    calls = []
    real = _sweep.run_arm

    def interrupted(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(_sweep, "run_arm", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=tmp_path)
    runs = tmp_path / "runs"
    assert sorted(p.name for p in (runs / "arm-0").iterdir()) == ["replicate-0", "replicate-1"]
    assert not (runs / "arm-1").exists() or not any((runs / "arm-1").iterdir())
    assert not (tmp_path / "sweep.csv").exists()
    monkeypatch.setattr(_sweep, "run_arm", real)
    again = sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=tmp_path)
    assert again.resumed == 2
    assert (tmp_path / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    # A run folder left without its manifest (killed while committing) is run again.
    (runs / "arm-0" / "replicate-1" / "manifest.json").unlink()
    shutil.rmtree(runs / "arm-1" / "replicate-0")
    third = sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=tmp_path)
    assert third.resumed == 2
    assert (tmp_path / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()


def test_a_folder_with_another_sweep_or_other_files_is_refused(
    done: tuple[Any, Path], tmp_path: Path
) -> None:
    _, out = done
    with pytest.raises(SweepError, match="it holds a different sweep"):
        sweep(SMALL, ARMS, clients=41, replicates=2, seed=5, out_dir=out)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(
        SweepError, match="out_dir: expected an empty folder or one holding this sweep"
    ):
        sweep(SMALL, ARMS, clients=40, out_dir=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_scenario_without_a_service_runs_through_simulate(tmp_path: Path) -> None:
    arms = [Arm("short", (("policy.review_every", 4),)), {"policy.feedback": True}]
    result = sweep(DEFAULT_SCENARIO, arms, clients=15, replicates=1, out_dir=tmp_path)
    rows = _table(tmp_path / "sweep.csv")
    assert {r["arm"] for r in rows} == {"short", "arm-1"}
    assert {r["policy.feedback"] for r in rows} == {"", "true"}
    assert all(r["metric"].startswith("clinical.") for r in rows)
    assert result.client_sessions > 0
    # One replicate: the "all" rows have the value and no interval.
    combined = [r for r in rows if r["replicate"] == "all" and r["metric"] == "clinical.recovery"]
    assert combined[0]["ci_low"] == ""


def test_without_an_out_folder_nothing_is_written(tmp_path: Path) -> None:
    result = sweep(DEFAULT_SCENARIO, [{}], clients=5, replicates=2)
    assert result.files == ()
    assert result.rows


def test_parquet_and_plot(done: tuple[Any, Path], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pytest.importorskip("matplotlib")
    _, out = done
    shutil.copytree(out, tmp_path / "copy")
    result = sweep(
        SMALL,
        ARMS,
        clients=40,
        replicates=2,
        seed=5,
        out_dir=tmp_path / "copy",
        table_format="parquet",
        plots=True,
    )
    assert result.resumed == 4
    names = [p.name for p in result.files]
    assert names == ["sweep.parquet", "sweep.png"]
    table = pq.read_table(tmp_path / "copy" / "sweep.parquet")
    assert table.num_rows == len(result.rows)
    assert table.schema.field("value").type == "double"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"clients": 0}, "clients"),
        ({"replicates": True}, "replicates"),
        ({"table_format": "xlsx"}, "table_format: expected"),
    ],
)
def test_bad_arguments(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep(SMALL, ARMS, **options)


def test_bad_base_and_no_arms() -> None:
    with pytest.raises(TypeError):
        sweep("scenario", ARMS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="arms: expected at least one arm"):
        sweep(SMALL, [])


def test_a_failing_run_on_an_executor_leaves_no_partial_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_sweep, "run_arm", broken)
    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="boom"):
        sweep(SMALL, ARMS, clients=5, replicates=2, out_dir=tmp_path, executor=pool)
    assert not [p for p in (tmp_path / "runs").rglob("*") if p.is_dir() and "partial" in p.name]


def test_resume_checks_the_manifest_and_cleans_up_stale_partials(
    done: tuple[Any, Path], tmp_path: Path
) -> None:
    _, out = done
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    manifest = copy / "runs" / "arm-0" / "replicate-0" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["seed"] = 12345  # another run's manifest: not this run
    manifest.write_text(json.dumps(data))
    stale = copy / "runs" / "arm-1" / ".replicate-0.partial-0000"
    stale.mkdir()
    again = sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=copy)
    assert again.resumed == 3
    assert not stale.exists()
    assert (copy / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    (copy / "sweep.json").write_text("{not json")
    with pytest.raises(SweepError, match="it holds a different sweep"):
        sweep(SMALL, ARMS, clients=40, replicates=2, seed=5, out_dir=copy)


def test_a_service_sweep_without_an_out_folder() -> None:
    result = sweep(SMALL, ARMS[:1], clients=8, replicates=1)
    assert any(row[3] == "service.left_while_waiting" for row in result.rows)


def test_an_interval_of_nothing() -> None:
    assert all(v != v for v in _sweep._t_interval([float("nan")]))


def test_a_failing_run_without_an_out_folder_raises_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []

    def broken(*args: Any) -> Any:
        calls.append(args)
        raise RuntimeError("boom")

    monkeypatch.setattr(_sweep, "run_arm", broken)
    with pytest.raises(RuntimeError, match="boom"):
        sweep(DEFAULT_SCENARIO, [{}], clients=5, replicates=2)
    assert len(calls) == 1  # the first failure ends the sweep
