"""Run folders that cannot mislead: written aside, moved into place when complete.

A run writes into a fresh hidden folder beside its target
(``.<name>.partial-<random>``). Only when everything is written does
:meth:`RunFolder.commit` write ``manifest.json`` (last: the treatplan version,
the command, seed, clients, replicates, scenario hashes, UTC start and finish
times, and every file with its size and SHA-256) and move the folder into
place; an earlier run in the target (``overwrite=True``) is removed only then.

So a folder without ``manifest.json`` is incomplete, and one whose manifest
says ``"complete": false`` is a partial run kept on purpose
(``keep_partial=True``). A run that fails or is interrupted leaves the target
as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from .._errors import ArgumentError, TreatplanError
from . import _checks as checks
from ._scenario import Scenario

__all__ = [
    "MANIFEST",
    "OutputExistsError",
    "RunFolder",
    "check_manifest",
    "scenario_sha256",
]

#: The file a complete (or deliberately kept partial) run folder ends with.
MANIFEST = "manifest.json"


class OutputExistsError(TreatplanError):
    """The output folder is in use: not empty, and ``overwrite`` was not asked for.

    Also raised for ``overwrite`` when the folder holds anything but a treatplan
    run (a ``manifest.json`` listing every file in it), so a mistyped ``--out``,
    or a file of yours kept beside the tables, is never deleted.
    """


def utc_now() -> str:
    """The current time as RFC 3339 UTC, to the second (``2026-01-05T09:00:00Z``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def scenario_sha256(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON (sorted keys, no spaces, UTF-8)."""
    checks.instance("scenario", scenario, Scenario, "a treatplan.sim.Scenario")
    text = json.dumps(
        scenario.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entries(root: Path) -> list[dict[str, Any]]:
    return [
        {"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(root.rglob("*"))
        if p.is_file() and p != root / MANIFEST
    ]


def _holds_only_a_run(folder: Path) -> bool:
    """Whether ``folder`` holds a treatplan run and nothing else: its ``manifest.json``
    (complete or partial) lists every file in it, so replacing it deletes nothing the
    run did not write (a file of the user's beside the tables keeps it)."""
    manifest = folder / MANIFEST
    listed: set[str] = set()
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        listed = {entry["path"] for entry in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    present = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not p.is_dir() and p != manifest
    }
    return present <= listed


def _fresh_folder(target: Path, kind: str) -> Path:
    """A new hidden folder ``.<name>.<kind>-<random>`` beside ``target`` (umask applies)."""
    while True:
        path = target.with_name(f".{target.name}.{kind}-{secrets.token_hex(4)}")
        try:
            path.mkdir()
        except FileExistsError:  # pragma: no cover - 32 random bits collide
            continue
        return path


class RunFolder:
    """Write a run into a hidden folder beside ``target``; move it into place on commit.

    ``record`` is what the manifest says about the run (command, seed, clients,
    ...); ``name`` is how messages name the folder (``out_dir``, ``--out``), never
    by its path, which may hold a client's name. Use as a context manager: leaving
    the block without :meth:`commit` (an error, ``KeyboardInterrupt``) removes the
    partial folder, or with
    ``keep_partial`` keeps it, renamed ``<target>.partial`` when that name is
    free, with a manifest marked ``"complete": false``.
    """

    def __init__(
        self,
        target: str | Path,
        record: Mapping[str, Any],
        *,
        overwrite: bool = False,
        keep_partial: bool = False,
        name: str = "out_dir",
    ) -> None:
        # Absolute, so that "." or "out/" name a folder with a name and a parent.
        self.target = Path(os.path.abspath(checks.folder("target", target)))
        if not isinstance(record, Mapping) or not all(isinstance(k, str) for k in record):
            raise ArgumentError("record", "a mapping from str to what the manifest records")
        for flag, value in (("overwrite", overwrite), ("keep_partial", keep_partial)):
            if not isinstance(value, bool):
                raise ArgumentError(flag, "True or False")
        if not isinstance(name, str) or not name:
            raise ArgumentError("name", "how messages name the folder (a non-empty str)")
        self.name = name  # how messages name the folder: never its path (it may hold a name)
        self.record = dict(record)
        self.overwrite = overwrite
        self.keep_partial = keep_partial
        self.started = utc_now()
        self.partial: Path | None = None  # where a kept partial run is
        self.committed = False
        self._old: Path | None = None  # the earlier run, moved aside while committing
        self.check()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.path = _fresh_folder(self.target, "partial")

    def check(self) -> None:
        """Raise :class:`OutputExistsError` unless the target may receive this run."""
        target, name = self.target, self.name
        # On the command line the folder is a flag (--out), and so is overwriting.
        overwrite = "--overwrite" if name.startswith("-") else "overwrite=True"
        if target.exists() and not target.is_dir():
            raise OutputExistsError(f"{name}: expected a folder, not a file")
        if not target.is_dir() or not any(target.iterdir()):
            return
        if not self.overwrite:
            raise OutputExistsError(
                f"{name}: expected an empty folder, or {overwrite} to replace the "
                "treatplan run in it"
            )
        if not _holds_only_a_run(target):
            raise OutputExistsError(
                f"{name}: expected a folder holding only a treatplan run (a manifest.json "
                f"listing every file in it) for {overwrite}; nothing was replaced"
            )

    def _manifest(self, complete: bool) -> dict[str, Any]:
        return {
            "manifest_version": 1,
            "complete": complete,
            **self.record,
            "started": self.started,
            "finished": utc_now(),
            "files": _file_entries(self.path),
        }

    def commit(self) -> Path:
        """Write ``manifest.json`` last and move the run into place; returns the target."""
        # Checked again: another process may have written into the target meanwhile.
        self.check()
        manifest = self._manifest(complete=True)
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        with _interrupts_held():
            # Both renames or neither: between them the target would be gone, and the
            # clean-up on leaving the block would then remove the new run as well.
            if self.target.is_dir():
                self._old = _fresh_folder(self.target, "old")
                self.target.rename(self._old / "run")
            try:
                self.path.rename(self.target)
            except OSError:
                if self._old is not None:  # the earlier run goes back where it was
                    (self._old / "run").rename(self.target)
                    self._remove_old()
                raise
            self.committed = True
        self._remove_old()
        return self.target

    def _remove_old(self) -> None:
        """Remove the earlier run, moved aside by :meth:`commit` (again, if an interrupt
        stopped the first try: the new run is in place by then)."""
        if self._old is not None:
            shutil.rmtree(self._old, ignore_errors=True)
            self._old = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.committed:
            self._remove_old()
            return
        if not self.path.exists():
            return
        if not self.keep_partial:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        manifest = self._manifest(complete=False)
        manifest["stopped_by"] = kind.__name__ if kind is not None else "not committed"
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        kept = self.target.with_name(self.target.name + ".partial")
        if not kept.exists():
            self.path.rename(kept)
            self.partial = kept
        else:
            self.partial = self.path


#: The signals an overwrite's two renames hold back (Ctrl-C and a polite stop).
_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM wait: they are raised again, to the handlers
    they would have reached, when it ends. Only the main thread can do this (Python
    runs signal handlers there); elsewhere the block runs unchanged.

    The Python-level handlers are swapped rather than the signals blocked: a signal
    sent to the process reaches any thread that does not block it, and the main
    thread would still see it at once. Each handler is restored, and each held
    signal raised, even when a signal's handler raises part-way (nested ``finally``).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    swapped: list[tuple[int, Any]] = []
    try:
        for signum in _HELD:
            previous = signal.getsignal(signum)
            if previous is None:  # set outside Python: leave it alone
                continue
            swapped.append((signum, previous))  # before the swap, so it is restored
            signal.signal(signum, hold)
        yield
    finally:
        _restore(swapped, received)


def _restore(swapped: list[tuple[int, Any]], received: list[int]) -> None:
    """Put back each handler of ``swapped``, then raise each signal of ``received`` once;
    every step runs even if an earlier one raises (a handler raising KeyboardInterrupt)."""
    if swapped:
        (signum, previous), rest = swapped[0], swapped[1:]
        try:
            signal.signal(signum, previous)
        finally:
            _restore(rest, received)
    elif received:
        first, others = received[0], [s for s in received if s != received[0]]
        try:
            signal.raise_signal(first)
        finally:
            _restore([], others)


_DAMAGED = f"a run whose {MANIFEST} is readable JSON as treatplan writes it (it is damaged)"
#: What each entry of a manifest's ``files`` holds, and of which type.
_ENTRY_KEYS = {"path": str, "bytes": int, "sha256": str}


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, with the shape :func:`check_manifest` relies on, or
    :class:`ArgumentError` naming ``folder`` (a damaged or foreign file)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON
        raise ArgumentError("folder", _DAMAGED) from None
    if not isinstance(manifest, dict):
        raise ArgumentError("folder", _DAMAGED)
    if manifest.get("complete") is True:
        files = manifest.get("files")
        if not isinstance(files, list) or not all(
            isinstance(entry, dict)
            and entry.keys() == _ENTRY_KEYS.keys()
            and all(type(entry[key]) is kind for key, kind in _ENTRY_KEYS.items())
            for entry in files
        ):
            raise ArgumentError("folder", _DAMAGED)
    return manifest


def check_manifest(folder: str | Path) -> dict[str, Any]:
    """Verify a run folder against its ``manifest.json``; returns the manifest.

    Raises :class:`treatplan.ArgumentError` (a :class:`TreatplanError`)
    naming ``folder`` when the manifest is missing (an incomplete run), damaged
    (not JSON, or not shaped as treatplan writes it), marked partial, or a file
    is missing, extra, or differs in size or SHA-256.
    """
    root = checks.folder("folder", folder)
    path = root / MANIFEST
    # The messages name the parameter, not the folder's path (which may hold a name).
    if not path.is_file():
        raise ArgumentError("folder", f"a complete run (no {MANIFEST}: an incomplete run)")
    manifest = _read_manifest(path)
    if manifest.get("complete") is not True:
        raise ArgumentError(
            "folder", "a complete run (a partial run: its manifest says complete: false)"
        )
    listed: Sequence[Mapping[str, Any]] = manifest["files"]
    found = {e["path"]: e for e in _file_entries(root)}
    expected = {e["path"]: e for e in listed}
    if len(expected) != len(listed):
        raise ArgumentError("folder", _DAMAGED)
    if set(found) != set(expected):
        raise ArgumentError(
            "folder", "the files its manifest lists (files differ from the manifest's list)"
        )
    differing = sum(found[name] != dict(entry) for name, entry in expected.items())
    if differing:
        raise ArgumentError(
            "folder",
            f"the files its manifest lists (what differs from it: {differing} file(s), in "
            "size or SHA-256)",
        )
    return manifest
