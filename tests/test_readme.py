"""The README's promises: its example runs, and CI runs its set-up commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import treatplan as tp
from treatplan._cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_setup_is_two_commands() -> None:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", setup, flags=re.DOTALL)
    assert len(commands) == 2
    assert all(len(c.strip().splitlines()) == 1 for c in commands)
    main_job, tests = (c.strip() for c in commands)
    assert "treatplan simulate" in main_job
    assert "pytest" in tests


def test_ci_installs_and_tests_as_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup = README.split("## Set-up", 1)[1]
    test_command = re.findall(r"```sh\n(.*?)```", setup, flags=re.DOTALL)[1].strip()
    install = re.search(r"python -m pip install [^&]+", test_command)
    run_tests = re.search(r"python -m pytest[^&]*", test_command)
    assert install
    assert run_tests
    assert install.group(0).strip() in ci
    assert run_tests.group(0).strip() in ci
    # CI ends with the README's test command, the coverage gate included.
    assert ci.strip().splitlines()[-1] == run_tests.group(0).strip()
    assert "--cov-fail-under=100" in run_tests.group(0)


def test_ten_line_example_runs_and_raises_as_described() -> None:
    code = _blocks("python")[0]
    *body, last = code.strip().splitlines()
    namespace: dict[str, object] = {}
    exec("\n".join(body), namespace)  # the README's own code, not a loaded document
    with pytest.raises(tp.TransitionError, match="at least one goal"):
        exec(last, namespace)
    plan = namespace["plan"]
    assert isinstance(plan, tp.TreatmentPlan)
    assert plan.phase is tp.Phase.ASSESSING


def test_command_line_examples_parse() -> None:
    # Every `treatplan ...` line of the README's command-line block is accepted by the
    # program's own parser, so a renamed flag or command cannot leave the README behind.
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    lines = [
        line.split("#", 1)[0].split(" > ", 1)[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
        for line in block.splitlines()
    ]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("treatplan ")]
    assert len(commands) >= 8
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        assert args.command == argv[0]
