"""The ``treatplan`` command line (also ``python -m treatplan``).

Each sub-command lives in a module with ``register(subparsers)`` that adds its
parser and sets ``func`` to a callable taking the parsed arguments and returning
an exit code. :data:`_COMMAND_MODULES` lists them, in help order.

Every sub-command reports the same failure the same way (docs/cli.md): it takes
its plan file as the positional ``PLAN`` (:data:`PLAN_METAVAR`), loads it with
:func:`load_plan` (or :func:`read_plan_text` for other documents), and lets a
:class:`PlanFileError` reach :func:`main`, which prints its lines and returns its
exit code. Choices are matched without regard to case (:func:`case_insensitive`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from ._errors import TreatplanError, ValidationError
from ._json import loads
from ._model import TreatmentPlan
from ._version import __version__

#: Exit codes, the same in every sub-command. 0: done; 1: a plan (or other
#: document) is not valid, or the library refused the operation; 2: the command
#: line is wrong (argparse's own code) or a file cannot be read.
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
#: A run stopped by Ctrl-C (SIGINT) exits 128 + 2, one stopped by SIGTERM 128 + 15.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: The most referrals one run simulates (``treatplan.sim.MAX_CLIENTS``; kept here so
#: that building the parser does not import the simulator, and a test keeps them equal).
MAX_CLIENTS = 10_000_000
#: The most replicate seeds one run takes (``treatplan.sim.MAX_REPLICATES``).
MAX_REPLICATES = 1_000
#: The most worker processes a run starts (``--workers``), and the largest chunk of
#: clients a worker takes at once (``--chunk-size``).
MAX_WORKERS = 256
MAX_CHUNK = 100_000

#: The name of the plan-file positional in every sub-command's usage line.
PLAN_METAVAR = "PLAN"
PLAN_HELP = "a plan JSON file ('-' for stdin)"

#: Modules that define sub-commands (each has ``register(subparsers)``).
_COMMAND_MODULES: tuple[str, ...] = (
    "treatplan._cli_core",
    "treatplan._cli_review",
    "treatplan._cli_schema",
    "treatplan._cli_fhir",
    "treatplan._cli_simulate",
    "treatplan._cli_sweep",
)


#: argparse's messages that quote what the user typed, and how treatplan words them
#: instead: the argument's name and what it expects, never the text given.
_ARGPARSE_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(argument [^:]+): invalid choice: .* \(choose from (.*)\)", re.S),
        r"\1: expected one of \2",
    ),
    (re.compile(r"(argument [^:]+): invalid int value: .*", re.S), r"\1: expected an integer"),
    (re.compile(r"(argument [^:]+): invalid float value: .*", re.S), r"\1: expected a number"),
    (re.compile(r"(argument [^:]+): invalid \S+ value: .*", re.S), r"\1: expected a valid value"),
    (
        re.compile(r"(argument [^:]+): ignored explicit argument .*", re.S),
        r"\1: expected no value",
    ),
    (
        re.compile(r"unrecognized arguments: .*", re.S),
        "unrecognized arguments: expected only the options and arguments listed by --help",
    ),
    (
        re.compile(r"ambiguous option: .*", re.S),
        "ambiguous option: expected an option name that matches one option (see --help)",
    ),
)


class CliParser(argparse.ArgumentParser):
    """argparse's parser, with messages that never repeat what the user typed.

    argparse quotes the offending text (``invalid choice: 'SECRET-NOTE'``,
    ``unrecognized arguments: --SECRET``); :meth:`error` rewords those messages
    as ``argument --flag: expected ...`` and keeps argparse's usage line and exit
    code 2. ``commands`` maps each sub-command to its parser.
    """

    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        for pattern, replacement in _ARGPARSE_MESSAGES:
            if pattern.fullmatch(message):
                message = pattern.sub(replacement, message)
                break
        super().error(message)


def build_parser() -> CliParser:
    parser = CliParser(
        prog="treatplan",
        description="Typed psychotherapy treatment plans: validate, inspect, review, simulate.",
    )
    parser.add_argument("--version", action="version", version=f"treatplan {__version__}")
    # Not required here: main() reports an unknown option before a missing command.
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    parser.commands = dict(subparsers.choices)
    return parser


def parse_arguments(parser: CliParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``: an unknown option is reported (by its sub-command's parser, with
    its usage) before a missing command, and never quoted."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        owner = parser.commands.get(args.command, parser) if args.command else parser
        owner.error("unrecognized arguments: (not quoted)")
    if args.command is None:
        parser.error("the following arguments are required: COMMAND")
    return args


class UsageError(Exception):
    """A flag's value that parsed but the library refused (a ``--as-of`` before the
    referral): reported as argparse reports a malformed one, naming the flag, exit 2."""

    def __init__(self, flag: str, expected: str) -> None:
        super().__init__(f"argument {flag}: expected {expected}")
        self.flag = flag
        self.expected = expected


class PlanFileError(Exception):
    """A file named on the command line could not be read or is not a valid document.

    ``lines`` are the messages for stderr, each ``NAME: ...`` (see
    :func:`file_error`); ``exit_code`` is :data:`EXIT_USAGE` for a file that
    cannot be read and :data:`EXIT_INVALID` for one that is not valid.
    """

    def __init__(self, lines: Sequence[str], exit_code: int) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)
        self.exit_code = exit_code


#: How error messages name each file given on the command line: by its argument
#: (``PLAN``, ``SPEC``, ``--scenario``; ``PLAN[1]`` for the second of several), never
#: by its path, which may hold a client's name. Filled by :func:`label_files`.
_FILE_LABELS: dict[str, str] = {}


def _argument_label(action: argparse.Action) -> str:
    if action.option_strings:
        return max(action.option_strings, key=len)
    return action.metavar if isinstance(action.metavar, str) else action.dest.upper()


def label_files(parser: CliParser, args: argparse.Namespace) -> None:
    """Name every text value of ``args`` by its argument, for :func:`display_name`."""
    _FILE_LABELS.clear()
    command = parser.commands.get(args.command)
    # A command's own parsers for its actions (``fhir import-plan``) come after it.
    parsers = [command, *getattr(command, "actions", {}).values()]
    values = vars(args)
    for owner in parsers:
        for action in owner._actions:  # argparse keeps no public list of them
            value = values.get(action.dest)
            texts = value if isinstance(value, list) else [value]
            for i, text in enumerate(texts):
                if isinstance(text, str):
                    label = _argument_label(action)
                    _FILE_LABELS.setdefault(text, f"{label}[{i}]" if len(texts) > 1 else label)


def display_name(path: str) -> str:
    """How error messages name a file given on the command line: its argument
    (:func:`label_files`), ``<stdin>`` for ``-``, else ``file``; never the path."""
    return "<stdin>" if path == "-" else _FILE_LABELS.get(path, "file")


def file_error(path: str, error: OSError | TreatplanError) -> PlanFileError:
    """The :class:`PlanFileError` for ``error`` met while reading or loading ``path``.

    Formats, one line each: ``NAME: JSONPATH: expected WHAT`` per validation
    problem (exit 1), ``NAME: expected an accessible file (REASON)`` for a file
    that cannot be opened (exit 2), ``NAME: MESSAGE`` for any other library error (exit 1).
    No line repeats document content: problems hold paths and expectations only.
    """
    name = display_name(path)
    if isinstance(error, ValidationError):
        lines = [f"{name}: {p.path}: expected {p.expected}" for p in error.problems]
        return PlanFileError(lines, EXIT_INVALID)
    if isinstance(error, OSError):
        return PlanFileError([f"{name}: {_os_expectation(error)}"], EXIT_USAGE)
    return PlanFileError([f"{name}: {error}"], EXIT_INVALID)


def _os_expectation(error: OSError) -> str:
    # The same words whether reading or writing failed: the reason says which.
    return f"expected an accessible file ({error.strerror or type(error).__name__})"


def load_plan(path: str) -> TreatmentPlan:
    """The plan in file ``path`` (``-`` for stdin), or a :class:`PlanFileError`."""
    try:
        return loads(read_plan_text(path))
    except (OSError, TreatplanError) as exc:
        raise file_error(path, exc) from None


class Terminated(KeyboardInterrupt):
    """SIGTERM (from ``timeout``, CI or a scheduler), raised where Ctrl-C would be.

    A :class:`KeyboardInterrupt`, so a run stops and cleans up as it does on Ctrl-C.
    """


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM must not cut the clean-up short: ignore it from now on.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread only:
    elsewhere Python cannot install signal handlers, and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_exit(error: KeyboardInterrupt) -> int:
    """The exit code for a run stopped by ``error``: 143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(error, Terminated) else EXIT_INTERRUPTED


def ignore_interrupts() -> None:
    """Worker processes leave Ctrl-C and SIGTERM to the parent, which stops the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def count(most: int) -> Callable[[str], int]:
    """An argparse ``type``: a positive integer of at most ``most`` (the message names
    the bound, never the text given)."""
    expected = f"expected a positive integer of at most {most:,}"

    def convert(text: str) -> int:
        # Long digit strings are refused before int() spends time on them.
        if len(text.strip()) > len(str(most)) + 1:
            raise argparse.ArgumentTypeError(expected)
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(expected) from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(expected)
        return value

    return convert


def load_scenario_arg(path: str) -> Any:
    """The scenario in file ``path`` (``-`` for stdin), or a :class:`PlanFileError`
    (``FILE: $.path: expected ...``, as for plan files)."""
    from .sim import Scenario

    data = read_json(path)
    try:
        return Scenario.from_dict(data)
    except TreatplanError as exc:
        raise file_error(path, exc) from None


def case_insensitive(choices: Sequence[str]) -> Callable[[str], str]:
    """An argparse ``type`` mapping any spelling of one of ``choices`` to that choice.

    Pass ``choices=`` as well: argparse converts first, then checks the choice, so
    ``r5`` becomes ``R5`` and anything else is still refused with the list.
    """
    by_folded = {choice.casefold(): choice for choice in choices}

    def convert(text: str) -> str:
        return by_folded.get(text.casefold(), text)

    return convert


def read_plan_text(path: str) -> str:
    """Read a plan document as UTF-8 (a leading byte-order mark is allowed), ``-`` for stdin.

    Raises :class:`ValidationError` for bytes that are not UTF-8.
    """
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # a text stream without bytes underneath (e.g. io.StringIO)
            return sys.stdin.read().removeprefix("\ufeff")
        data: bytes = raw.read()
    else:
        data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError.at("$", "UTF-8 text") from None


def parse_json(text: str) -> Any:
    """JSON ``text`` as data, or a :class:`ValidationError` at ``$`` with the line and
    column where it stops being well-formed (the same words as :func:`treatplan.loads`)."""
    where: str | None = None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
    if where is not None:  # raised outside the handler: no __context__ with document text
        raise ValidationError.at("$", f"well-formed JSON{where}")
    return data


def read_json(path: str) -> Any:
    """The JSON document in file ``path`` (``-`` for stdin), or a :class:`PlanFileError`
    in the one format every sub-command uses (``FILE: $: expected well-formed JSON ...``)."""
    try:
        return parse_json(read_plan_text(path))
    except (OSError, TreatplanError) as exc:
        raise file_error(path, exc) from None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt as stop:
        # Ctrl-C outside a command's own handling (while starting, or printing a
        # summary): one line and 130, never a traceback. A run that was stopped is
        # reported by its command, which knows what it left.
        print("interrupted", file=sys.stderr)
        return interrupted_exit(stop)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parse_arguments(parser, argv)
    label_files(parser, args)
    try:
        code: int = args.func(args)
    except PlanFileError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"treatplan {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:  # an argument the library refused, not a file
        for problem in exc.problems:
            print(f"error: {problem.path}: expected {problem.expected}", file=sys.stderr)
        return EXIT_INVALID
    except TreatplanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # the reader went away, e.g. `treatplan review x | head`
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file a command opened itself (a scenario, an output file)
        name = _FILE_LABELS.get(str(exc.filename), "error")
        print(f"{name}: {_os_expectation(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return code
