"""The codebook of the simulator's tables: every column's meaning, type, unit and values.

One source of truth: :data:`CODEBOOK` is data. It is written as ``codebook.json``
into every output folder (:func:`codebook_dict`), rendered as the documentation
page ``docs/concepts/simulation-codebook.md`` (:func:`codebook_markdown`; a test
keeps the two equal), and gives the column types that
:func:`~treatplan.sim.read_table`, :func:`~treatplan.sim.to_dataframe` and the
Parquet writer load with.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .. import _validation as v
from .._alerts import AlertKind
from .._lifecycle import Event
from .._model import Attendance, BarrierKind, EpisodeOutcome, Phase, Readiness, SupportLevel
from .._records import record_repr

__all__ = ["CODEBOOK", "COLUMN_TYPES", "Column", "codebook_dict", "codebook_markdown"]

#: Column types: how a column loads (``category`` has a closed list of ``values``).
COLUMN_TYPES = ("string", "integer", "boolean", "date", "datetime", "category")


def _column_type(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in COLUMN_TYPES or not isinstance(value, str):
        raise v.fail(attribute, f"one of {', '.join(COLUMN_TYPES)}")


def _optional_text(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or len(value) > v.MAX_TEXT:
        raise v.fail(attribute, f"a string (empty allowed) of at most {v.MAX_TEXT} characters")


def _labels(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(x, str) and x for x in value):
        raise v.fail(attribute, "a tuple of non-empty strings")


@attrs.frozen
class Column:
    """One column of a simulator table.

    ``type`` is one of ``string``, ``integer``, ``boolean``, ``date``, ``datetime``,
    ``category``; ``unit`` is the unit of a quantity
    (``""`` when it has none); ``values`` lists a category's values (or, for a
    ``;``-separated list in a string column, the values its items take);
    ``empty`` says when the cell is empty (CSV) or ``null`` (JSON Lines, Parquet).
    """

    __repr__ = record_repr

    name: str = attrs.field(validator=v.text(max_length=100))
    type: str = attrs.field(validator=_column_type)
    meaning: str = attrs.field(validator=v.text())
    unit: str = attrs.field(default="", validator=_optional_text)
    values: tuple[str, ...] = attrs.field(default=(), validator=_labels)
    empty: str = attrs.field(default="", validator=_optional_text)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "name": self.name,
            "type": self.type,
            "unit": self.unit,
            "values": list(self.values),
            "empty": self.empty,
            "meaning": self.meaning,
        }


def _values(enum: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


_NOT_STARTED = "the client never started (declined at referral or while waiting)"
_NOT_COUNTED = "the episode does not count (see `counted`)"
_TOTAL_PHQ9 = "PHQ-9 points (0-27, higher is worse)"
_TOTAL_GAD7 = "GAD-7 points (0-21, higher is worse)"

_CLIENTS = (
    Column(
        "client",
        "string",
        "Opaque client reference, `client-<index>`; the index is the order of referral "
        "(0-based) and, with the seed, determines every random draw for the client.",
    ),
    Column("referred", "date", "Day of referral (ISO 8601 date).", "day"),
    Column(
        "readiness",
        "category",
        "Readiness for change at referral (stage of change).",
        values=_values(Readiness),
        empty="not drawn for this client",
    ),
    Column(
        "support",
        "category",
        "Support system at referral.",
        values=_values(SupportLevel),
        empty="not drawn for this client",
    ),
    Column(
        "barriers",
        "string",
        "Practical barriers to attending, `;`-separated.",
        values=_values(BarrierKind),
        empty="no barriers",
    ),
    Column(
        "intake_phq9",
        "integer",
        "PHQ-9 total at the screening on the day of referral (recorded in the plan as "
        "its first assessment). This is the `first` score of the NHS Talking Therapies "
        "outcome (`case_at_start`, `recovered`, `reliably_improved`, ...) and of "
        "`improved_by_session_8`. It and `baseline_phq9` measure the same true score "
        "(the model has no change while waiting) with independent measurement error, "
        "so the two differ by measurement error only.",
        _TOTAL_PHQ9,
    ),
    Column(
        "intake_gad7",
        "integer",
        "GAD-7 total at the screening on the day of referral; see `intake_phq9`.",
        _TOTAL_GAD7,
    ),
    Column(
        "waited_days",
        "integer",
        "Days from referral to the first (assessment) appointment.",
        "days",
        empty=_NOT_STARTED,
    ),
    Column("started", "boolean", "Whether the client came to an assessment appointment."),
    Column(
        "phase",
        "category",
        "Lifecycle phase of the plan at the end of the simulation (closure or the horizon).",
        values=_values(Phase),
    ),
    Column(
        "outcome",
        "category",
        "How the plan closed.",
        values=_values(EpisodeOutcome),
        empty="the plan is still open at the horizon",
    ),
    Column(
        "ended_by",
        "string",
        "What ended the episode: `declined`, or the kinds of the scenario's ending rules "
        "that fired, `;`-separated (for example `session_limit`, `consecutive_missed`). A "
        "non-attendance rule closes the episode as `dropped_out`, any other as `completed`.",
        empty="still open at the horizon",
    ),
    Column(
        "closed",
        "date",
        "Day the plan closed (ISO 8601 date).",
        "day",
        empty="the plan is still open at the horizon",
    ),
    Column(
        "sessions_offered",
        "integer",
        "Treatment sessions booked after the assessment (attended or not).",
        "sessions",
    ),
    Column("sessions_attended", "integer", "Treatment sessions attended.", "sessions"),
    Column(
        "reviews",
        "integer",
        "Progress reviews recorded in the plan: every `review_every` attended sessions "
        "(the scenario's policy), when a reliably improved client asks to end, and when the "
        "clinician acts on a feedback alert.",
        "reviews",
    ),
    Column(
        "step",
        "integer",
        "NICE stepped-care step at the end of the episode: 2 (low intensity) or 3 (high "
        "intensity), after any step-up.",
        values=("2", "3"),
        empty="stepped care is off in the scenario, or " + _NOT_STARTED,
    ),
    Column(
        "baseline_phq9",
        "integer",
        "PHQ-9 total at the assessment appointment, before any treatment session: the "
        "score that sets the stepped-care step and the one `first_reliable_improvement` "
        "and a client's wish to end are measured from. Compare `intake_phq9` (the "
        "screening at referral).",
        _TOTAL_PHQ9,
        empty=_NOT_STARTED,
    ),
    Column(
        "baseline_gad7",
        "integer",
        "GAD-7 total at the assessment appointment; see `baseline_phq9`.",
        _TOTAL_GAD7,
        empty=_NOT_STARTED,
    ),
    Column(
        "last_phq9",
        "integer",
        "PHQ-9 total at the last attended treatment session.",
        _TOTAL_PHQ9,
        empty="no treatment session attended",
    ),
    Column(
        "last_gad7",
        "integer",
        "GAD-7 total at the last attended treatment session.",
        _TOTAL_GAD7,
        empty="no treatment session attended",
    ),
    Column(
        "counted",
        "boolean",
        "Whether the episode counts for NHS Talking Therapies outcomes: closed, at least "
        "two attended treatment sessions, and paired first and last scores on both "
        "measures (`talking_therapies_outcome(...).counts`).",
    ),
    Column(
        "case_at_start",
        "boolean",
        "NHS Talking Therapies caseness at the first score (the screening at referral): "
        "PHQ-9 at least 10 or GAD-7 at least 8.",
        empty=_NOT_COUNTED,
    ),
    Column(
        "recovered",
        "boolean",
        "Recovery: a case at the first score and below caseness on both measures at the "
        "last (false when not a case at the start).",
        empty=_NOT_COUNTED,
    ),
    Column(
        "reliably_improved",
        "boolean",
        "Reliable improvement from the first to the last score: PHQ-9 down by 6 or more or "
        "GAD-7 down by 4 or more, and neither reliably worse.",
        empty=_NOT_COUNTED,
    ),
    Column(
        "reliably_deteriorated",
        "boolean",
        "Reliable deterioration from the first to the last score: PHQ-9 up by 6 or more or "
        "GAD-7 up by 4 or more.",
        empty=_NOT_COUNTED,
    ),
    Column(
        "reliable_recovery",
        "boolean",
        "Recovered and reliably improved.",
        empty=_NOT_COUNTED,
    ),
    Column(
        "improved_by_session_8",
        "boolean",
        "Reliable improvement on PHQ-9 alone (down by 6 or more) from the screening at "
        "referral (`intake_phq9`) to the 8th attended treatment session, or to the last "
        "attended one if fewer; false when none was attended (Howard et al. 1986's dose "
        "point).",
        empty=_NOT_STARTED,
    ),
    Column(
        "first_reliable_improvement",
        "integer",
        "The attended treatment session (1 = the first attended session; missed sessions "
        "are not counted) at which the client first showed reliable improvement from the "
        "assessment scores (`baseline_phq9`, `baseline_gad7`): PHQ-9 down by 6 or more or "
        "GAD-7 down by 4 or more. It may be followed by a relapse; the outcome columns "
        "compare the first and last scores only.",
        "attended sessions",
        empty="never reliably improved, or " + _NOT_STARTED,
    ),
)

_SESSIONS = (
    Column("client", "string", "The client (see the clients table)."),
    Column(
        "session",
        "integer",
        "Booked treatment session number, from 1, counting attended and missed sessions "
        "alike (the assessment appointment is not a session).",
        "sessions",
    ),
    Column(
        "at",
        "datetime",
        "Date and time of the session (RFC 3339, UTC).",
        "second, UTC",
    ),
    Column(
        "attendance",
        "category",
        "Whether the client attended. The simulator writes `attended` and "
        "`did_not_attend`; the other values are the library's own.",
        values=_values(Attendance),
    ),
    Column(
        "phq9",
        "integer",
        "PHQ-9 total measured at the session.",
        _TOTAL_PHQ9,
        empty="not attended",
    ),
    Column(
        "gad7",
        "integer",
        "GAD-7 total measured at the session.",
        _TOTAL_GAD7,
        empty="not attended",
    ),
    Column(
        "alerts",
        "string",
        "Alert kinds raised at the session, `;`-separated and sorted: `risk_item` when "
        "PHQ-9 item 9 is scored above 0, and the monitoring alerts the scenario's policy "
        "computes (every session, with feedback, or at a review).",
        values=_values(AlertKind),
        empty="no alert, or not attended",
    ),
)

_EVENTS = (
    Column("client", "string", "The client (see the clients table)."),
    Column(
        "seq",
        "integer",
        "Position of the transition in the plan's history, from 0 (`refer`).",
    ),
    Column("event", "category", "The lifecycle event fired.", values=_values(Event)),
    Column(
        "source",
        "category",
        "Phase before the transition.",
        values=_values(Phase),
        empty="the first transition (`refer` opens the plan)",
    ),
    Column("target", "category", "Phase after the transition.", values=_values(Phase)),
    Column(
        "at",
        "datetime",
        "When the transition happened (RFC 3339, UTC).",
        "second, UTC",
    ),
    Column(
        "outcome",
        "category",
        "Outcome set by a closing transition.",
        values=_values(EpisodeOutcome),
        empty="the transition does not close the plan",
    ),
    Column(
        "reason",
        "string",
        "The reason recorded with the transition: the ending rules' explanation, or "
        "`declined at referral` / `declined while waiting`.",
        empty="no reason recorded",
    ),
)

#: Table name -> its columns, in file order.
CODEBOOK: Mapping[str, tuple[Column, ...]] = MappingProxyType(
    {"clients": _CLIENTS, "sessions": _SESSIONS, "events": _EVENTS}
)

_TABLE_MEANINGS = MappingProxyType(
    {
        "clients": "one row per referral",
        "sessions": "one row per booked treatment session of each client",
        "events": "one row per lifecycle transition of each client's plan",
    }
)


def codebook_dict() -> dict[str, Any]:
    """The codebook as JSON-ready data (what ``codebook.json`` holds)."""
    return {
        "codebook_version": 1,
        "empty_cells": "empty in CSV, null in JSON Lines and Parquet",
        "booleans": "true / false in CSV and JSON Lines",
        "tables": {
            table: {
                "rows": _TABLE_MEANINGS[table],
                "columns": [column.to_dict() for column in columns],
            }
            for table, columns in CODEBOOK.items()
        },
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def codebook_markdown() -> str:
    """The codebook as the Markdown of the documentation page (generated: do not edit)."""
    lines = [
        "# Simulation codebook",
        "",
        "<!-- Generated from treatplan/sim/_codebook.py by codebook_markdown(); do not edit.",
        '     Regenerate: python -c "from treatplan.sim._codebook import codebook_markdown; '
        "print(codebook_markdown(), end='')\" > docs/concepts/simulation-codebook.md -->",
        "",
        "Every column of the tables that {doc}`simulation` writes. The same codebook is "
        "written as `codebook.json` into every output folder, and gives the types "
        "{func}`treatplan.sim.read_table` and {func}`treatplan.sim.to_dataframe` load with. "
        "Empty cells are empty in CSV and `null` in JSON Lines and Parquet; booleans are "
        "`true` / `false`.",
        "",
        "Scores and their times: `intake_*` is the screening at referral, `baseline_*` the "
        "assessment appointment that starts treatment, `last_*` the last attended session. "
        "The NHS Talking Therapies outcome columns pair the first score in the plan (the "
        "screening) with the last.",
    ]
    for table, columns in CODEBOOK.items():
        lines += [
            "",
            f"## `{table}`",
            "",
            f"{_TABLE_MEANINGS[table].capitalize()}.",
            "",
            "| column | type | unit | values | empty when | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in columns:
            values = ", ".join(f"`{v}`" for v in c.values)
            lines.append(
                f"| `{c.name}` | {c.type} | {_cell(c.unit)} | {values} | {_cell(c.empty)} "
                f"| {_cell(c.meaning)} |"
            )
    return "\n".join(lines) + "\n"
