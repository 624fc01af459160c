"""Runs are byte-identical whatever the executor, worker count or chunk size."""

from __future__ import annotations

import csv
import filecmp
import itertools
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import treatplan as tp
from treatplan.sim import (
    DEFAULT_SCENARIO,
    check_manifest,
    client_plan,
    simulate,
    simulate_replicates,
)
from treatplan.sim._run import TAIL_SHARE, chunk_bounds

CLIENTS = 200


def _files(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


def _same(a: Path, b: Path) -> None:
    names = _files(a)
    assert names == _files(b)
    # The manifests differ in their times only; everything they list must match.
    names.remove("manifest.json")
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch
    assert not errors
    assert len(match) == 6
    assert check_manifest(a)["files"] == check_manifest(b)["files"]


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    simulate(DEFAULT_SCENARIO, CLIENTS, seed=11, out_dir=out, chunk_size=64)
    return out


def test_chunk_size_does_not_matter(serial: Path, tmp_path: Path) -> None:
    simulate(DEFAULT_SCENARIO, CLIENTS, seed=11, out_dir=tmp_path, chunk_size=7)
    _same(serial, tmp_path)


def test_two_processes_match_serial(serial: Path, tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        simulate(
            DEFAULT_SCENARIO, CLIENTS, seed=11, out_dir=tmp_path, executor=pool, chunk_size=50
        )
    _same(serial, tmp_path)


def test_any_executor_and_a_small_window_match_serial(serial: Path, tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        simulate(
            DEFAULT_SCENARIO,
            CLIENTS,
            seed=11,
            out_dir=tmp_path,
            executor=pool,
            chunk_size=33,
            max_in_flight=2,
        )
    _same(serial, tmp_path)


def test_dask_matches_serial(serial: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        simulate(
            DEFAULT_SCENARIO,
            CLIENTS,
            seed=11,
            out_dir=tmp_path,
            executor=client.get_executor(),
            chunk_size=60,
        )
    _same(serial, tmp_path)


def test_another_seed_differs(serial: Path, tmp_path: Path) -> None:
    simulate(DEFAULT_SCENARIO, CLIENTS, seed=12, out_dir=tmp_path)
    assert (serial / "sessions.csv").read_bytes() != (tmp_path / "sessions.csv").read_bytes()


def test_progress_is_reported_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    simulate(
        DEFAULT_SCENARIO, 50, seed=1, chunk_size=20, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(20, 50), (40, 50), (50, 50)]


def test_without_out_dir_nothing_is_written_but_the_summary_is_complete() -> None:
    result = simulate(DEFAULT_SCENARIO, 100, seed=3)
    assert result.files == ()
    assert result.summary.funnel["referred"] == 100


def test_replicates_write_one_directory_each(tmp_path: Path) -> None:
    combined, runs = simulate_replicates(
        DEFAULT_SCENARIO, 80, seed=5, replicates=3, out_dir=tmp_path
    )
    assert combined.replicates == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        *(f"replicate-{r}" for r in range(3)),
        "scenario.json",
        "summary.json",
    ]
    assert check_manifest(tmp_path)["replicates"] == 3
    assert runs[2].out_dir == tmp_path / "replicate-2"
    assert all(p.is_file() for run in runs for p in run.files)
    assert len({r.seed for r in runs}) == 3
    rate = combined.rates["recovery"]
    assert rate.low <= rate.value <= rate.high


@pytest.mark.parametrize(
    "bad", [{"clients": -1}, {"chunk_size": 0}, {"formats": ["xml"]}, {"formats": "csv"}]
)
def test_bad_arguments(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="expected"):
        simulate(DEFAULT_SCENARIO, **{"clients": 10, **bad})  # type: ignore[arg-type]


def test_bad_replicates_and_scenario() -> None:
    with pytest.raises(ValueError, match="replicates"):
        simulate_replicates(DEFAULT_SCENARIO, 10, replicates=0)
    with pytest.raises(TypeError, match="Scenario"):
        simulate("default", 10)  # type: ignore[arg-type]


def test_an_error_while_collecting_leaves_no_chunk_behind(tmp_path: Path) -> None:
    # Serial with a window of 3: chunks wait to be collected; a progress callback that
    # fails ends the run with its error, and the waiting chunks are let go.
    seen: list[int] = []

    def failing(done: int, total: int) -> None:
        seen.append(done)
        raise RuntimeError("progress display gone")

    with pytest.raises(RuntimeError, match="progress display gone"):
        simulate(DEFAULT_SCENARIO, 50, seed=1, chunk_size=10, max_in_flight=3, progress=failing)
    assert seen == [10]


@pytest.mark.parametrize(
    ("clients", "chunk_size", "in_flight"),
    [(50, 20, 1), (20_000, 250, 8), (10, 3, 8), (1, 250, 8), (999, 64, 2)],
)
def test_chunks_cover_every_client_once_in_order(
    clients: int, chunk_size: int, in_flight: int
) -> None:
    bounds = list(chunk_bounds(clients, chunk_size, in_flight))
    assert bounds[0][0] == 0
    assert bounds[-1][1] == clients
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) <= chunk_size
    # Never smaller than the tail's floor, but for the very last chunk.
    assert min(sizes[:-1], default=chunk_size) >= max(1, chunk_size // TAIL_SHARE)


def test_in_one_process_chunks_are_full_and_on_an_executor_the_tail_shrinks() -> None:
    assert [b - a for a, b in chunk_bounds(50, 20)] == [20, 20, 10]
    sizes = [b - a for a, b in chunk_bounds(20_000, 250, 8)]
    assert sizes[:70] == [250] * 70
    # The last chunks shrink, so no worker is left with a full chunk at the end.
    assert sizes[-2] == 250 // TAIL_SHARE
    assert sizes == sorted(sizes, reverse=True)


# --------------------------------------------------------------------------- plans on request
def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("client", [0, 7, 57, CLIENTS - 1])
def test_client_plan_is_the_plan_the_run_tabled(serial: Path, client: int) -> None:
    plan = client_plan(DEFAULT_SCENARIO, client, 11)
    row = _rows(serial / "clients.csv")[client]
    assert plan.client_ref == row["client"] == f"client-{client}"
    assert plan.phase.value == row["phase"]
    assert (plan.outcome.value if plan.outcome else "") == row["outcome"]
    assert len(plan.sessions) == int(row["sessions_offered"])
    assert len(plan.reviews) == int(row["reviews"])
    events = [r for r in _rows(serial / "events.csv") if r["client"] == row["client"]]
    assert [str(t.event) for t in plan.history] == [r["event"] for r in events]
    # The plan is a real one: it dumps and loads back equal.
    assert tp.loads(tp.dumps(plan)) == plan


def test_client_plan_does_not_depend_on_the_run_size() -> None:
    assert client_plan(DEFAULT_SCENARIO, 3, 2) == client_plan(DEFAULT_SCENARIO, 3, 2)
    with pytest.raises(tp.ArgumentError, match=r"^client: expected"):
        client_plan(DEFAULT_SCENARIO, -1)
    with pytest.raises(tp.ArgumentError, match=r"^policy: expected"):
        client_plan(DEFAULT_SCENARIO, 0, policy=object())  # type: ignore[arg-type]
    with pytest.raises(tp.ArgumentError, match=r"^scenario: expected"):
        client_plan(None, 0)  # type: ignore[arg-type]
