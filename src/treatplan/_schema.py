"""The JSON Schema (draft 2020-12) of a plan document, generated from the attrs model.

The generator walks the attrs classes reachable from :class:`TreatmentPlan`: each
field's type hint gives its JSON type (strings, numbers, enums, arrays, nested
objects, tagged unions on ``kind``), each field without a default is a required
key, unknown keys are forbidden (``additionalProperties: false``, as the loader
rejects them), and the treatplan validators on a field add what they state
(numeric bounds, string lengths, the opaque-reference pattern, list lengths,
ISO 8601 formats with a pattern requiring a UTC offset).

The schema is a contract for the *shape* of a document. Some rules cannot be
said in JSON Schema and are checked only by :func:`treatplan.loads`: ids unique
across the plan, references between parts, item responses against their
instrument, times never going backwards, a history that follows the transition
table. A document the schema accepts therefore either loads or raises
:class:`treatplan.ValidationError`; a document :func:`treatplan.dumps` writes
always validates.

The schema of the current version ships with the package as
``treatplan/schema/plan-v{N}.schema.json``; ``treatplan schema`` prints it.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date, datetime
from importlib import resources
from typing import Any, Literal, Union, get_args, get_origin

import attrs

from . import _validation as v
from ._errors import ArgumentError
from ._json import MAX_RECORDS
from ._model import (
    SCHEMA_VERSION,
    Attendance,
    EpisodeOutcome,
    ObjectiveTarget,
    Phase,
    TreatmentPlan,
)
from ._rules import RULE_TYPES, Rule

__all__ = ["SCHEMA_ID", "json_schema", "schema_text", "shipped_schema_text"]

#: The ``$id`` of the current version's schema (a URN: the schema is not served anywhere).
SCHEMA_ID = f"urn:treatplan:schema:plan:v{SCHEMA_VERSION}"

_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Every pattern means the same in ECMA-262 (what JSON Schema specifies) and in Python's
# re (python-jsonschema): plain classes and escapes only, no \s, \d or \w (whose
# members differ), and the end of the text written as "no character follows", since
# Python's $ also matches before a final line feed ("client-1\n" would pass).
#: The end of the text, in both dialects (ECMA-262 has no \z, Python's $ is looser).
END = r"(?![\s\S])"
#: RFC 3339 as ``datetime.isoformat()`` writes it, with its offset (``Z`` accepted too):
#: the loader refuses naive times and offsets with seconds. Fields in range (months
#: 01-12, hours 00-23, no leap second, offsets to 23:59); years 1899 to 2200, as a
#: time at an offset in 1900-2199 UTC may have its wall clock a day either side.
DATETIME_PATTERN = (
    r"^(1899|19[0-9]{2}|20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])" + END
)
#: An ISO 8601 calendar date in the years a plan's dates may have, 1900 to 2199.
DATE_PATTERN = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" + END
#: The opaque-reference rule of :func:`treatplan._validation.ref`.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}" + END
#: The C0 control characters the ``text`` validator refuses (all but tab, LF and CR).
_CONTROL_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f"
#: The blank characters (:data:`treatplan._validation.BLANK`) above U+0020.
_WIDE_BLANK_CLASS = r"\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
#: Free text as the ``text`` validator takes it: blanks that are not controls, then a
#: character neither blank nor a control (U+0000-U+0020 holds every control and every
#: blank below U+0085), then anything but controls. The first two classes share no
#: character, so the pattern matches in time linear in the text's length.
TEXT_PATTERN = (
    rf"^[\t\n\r {_WIDE_BLANK_CLASS}]*[^\x00-\x20{_WIDE_BLANK_CLASS}][^{_CONTROL_CLASS}]*" + END
)

# Tagged unions, by their members: each becomes a definition of that name that
# dispatches on ``kind`` (see _Generator._union).
_UNIONS: dict[frozenset[type[Any]], str] = {
    frozenset(get_args(ObjectiveTarget)): "Target",
    frozenset(RULE_TYPES): "Rule",
}
_UNION_DOCS = {
    "Target": "What an objective aims for, tagged by kind: a measure, a GAS level or a "
    "behaviour count.",
    "Rule": "A termination (discharge) rule, tagged by kind; any_of and all_of nest rules.",
}

# What a validator's opaque callable (a lambda or a module function) means, per field
# (_rules._instrument_codes, v.increasing_fractions, _rules._rules_validator), and the
# plan's record lists, which the loader caps at MAX_RECORDS records in all.
_INSTRUMENT_CODES = ("SustainedRecovery", "Plateau", "ReliableDeterioration")
_ITEM_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("Assessment", "items"): {"minimum": -1000, "maximum": 1000},
    ("AuthorisationUsed", "warn_at"): {
        "minimum": 0,
        "maximum": 1,
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
    },
    **{(cls, "instruments"): {"pattern": REF_PATTERN} for cls in _INSTRUMENT_CODES},
}
_ARRAY_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("AnyOf", "rules"): {"minItems": 1, "maxItems": 100},
    ("AllOf", "rules"): {"minItems": 1, "maxItems": 100},
    ("AuthorisationUsed", "warn_at"): {"maxItems": 20, "uniqueItems": True},
    **{
        (cls, "instruments"): {"minItems": 1, "maxItems": 100, "uniqueItems": True}
        for cls in _INSTRUMENT_CODES
    },
    **{
        ("TreatmentPlan", records): {"maxItems": MAX_RECORDS}
        for records in ("history", "assessments", "sessions", "reviews")
    },
}


#: Definitions renamed within schema version 1 (old name -> new): ``GoalStatus`` is
#: the status of an objective, so it is ``ObjectiveStatus``.
_RENAMED_DEFS = {"GoalStatus": "ObjectiveStatus"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a plan document of the current ``schema_version``.

    Generated from the model on each call; equal to the file shipped in the
    package (``schema/plan-v1.schema.json``).
    """
    gen = _Generator()
    root = gen.ref(TreatmentPlan)
    # Definitions renamed within a schema version keep their old name as an alias, so
    # that another schema's "$ref" to it still resolves under the same "$id".
    for old, new in _RENAMED_DEFS.items():
        gen.defs[old] = {"$ref": f"#/$defs/{new}", "deprecated": True}
    return {
        "$schema": _DIALECT,
        "$id": SCHEMA_ID,
        "title": f"treatplan treatment plan, schema version {SCHEMA_VERSION}",
        "description": (
            "A psychotherapy treatment plan document as written by treatplan.dumps. "
            "Cross-references, instrument responses and the lifecycle history are "
            "checked only by treatplan.loads."
        ),
        **root,
        "$defs": dict(sorted(gen.defs.items())),
    }


def schema_text() -> str:
    """:func:`json_schema` as JSON text, exactly as shipped (2-space indent, newline at end)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text(version: int = SCHEMA_VERSION) -> str:
    """The schema file shipped in the package for ``version`` (every released version ships)."""
    name = f"plan-v{version}.schema.json"
    return resources.files("treatplan").joinpath("schema", name).read_text(encoding="utf-8")


class _Generator:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    # -- definitions -------------------------------------------------------
    def ref(self, kind: Any) -> dict[str, Any]:
        """A ``$ref`` to ``kind``'s definition, building it on first use."""
        name = self._name(kind)
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: recursion (AnyOf -> Rule) stops here
            self.defs[name] = self._definition(kind, name)
        return {"$ref": f"#/$defs/{name}"}

    @staticmethod
    def _name(kind: Any) -> str:
        if isinstance(kind, frozenset):
            return _UNIONS[kind]
        return str(kind.__name__)

    def _definition(self, kind: Any, name: str) -> dict[str, Any]:
        if isinstance(kind, frozenset):
            return self._union(kind, name)
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return {
                "description": _summary(kind),
                "type": "string",
                "enum": [m.value for m in kind],
            }
        return self._object(kind)

    def _union(self, members: frozenset[type[Any]], name: str) -> dict[str, Any]:
        """A tagged union, dispatched on ``kind`` with one ``if``/``then`` per member.

        Not ``oneOf``: a validator tries every branch of a ``oneOf``, and the rule
        union nests (any_of and all_of hold rules), so the work doubled with each
        level, hours for a document of 24 levels that the loader reads in
        milliseconds. Each ``if`` looks only at ``kind`` and requires an object with
        one (so a value without a kind matches no ``if`` rather than every one, and
        gets one error, not one per member): one member's schema is applied to each
        rule, and validating takes time linear in the document.
        """
        ordered = sorted(members, key=_member_order(members))
        return {
            "description": _UNION_DOCS[name],
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": [_kind_of(m) for m in ordered]}},
            "allOf": [
                {
                    "if": {
                        "type": "object",
                        "required": ["kind"],
                        "properties": {"kind": {"const": _kind_of(m)}},
                    },
                    "then": self.ref(m),
                }
                for m in ordered
            ],
        }

    def _object(self, cls: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        tagged = _is_tag(attrs.fields_dict(cls).get("kind"), hints)
        fields = [f for f in attrs.fields(cls) if f.init or (tagged and f.name == "kind")]
        # A tag is written first (see _json._tagged_unstructure) and is required for dispatch.
        fields.sort(key=lambda f: not (tagged and f.name == "kind"))
        for f in fields:
            if tagged and f.name == "kind":
                properties["kind"] = {"const": f.default}
            else:
                properties[f.name] = self._field(cls, f, hints[f.name])
            if (tagged and f.name == "kind") or f.default is attrs.NOTHING:
                required.append(f.name)
        schema: dict[str, Any] = {"description": _summary(cls), "type": "object"}
        if cls is TreatmentPlan:
            properties, required = _plan_document(properties, required)
        schema["properties"] = properties
        schema["required"] = required
        schema["additionalProperties"] = False
        schema.update(_CLASS_RULES.get(cls.__name__, {}))
        return schema

    # -- fields ------------------------------------------------------------
    def _field(self, cls: type[Any], f: attrs.Attribute[Any], hint: Any) -> dict[str, Any]:
        if cls is TreatmentPlan and f.name == "schema_version":
            return {"description": "The document layout version.", "const": SCHEMA_VERSION}
        facts = _validator_facts(f.validator)
        key = (cls.__name__, f.name)
        return self._type(hint, facts, key)

    def _type(self, hint: Any, facts: dict[str, Any], key: tuple[str, str]) -> dict[str, Any]:
        origin = get_origin(hint)
        if origin in (Union, types.UnionType):
            members = get_args(hint)
            concrete = tuple(m for m in members if m is not type(None))
            if frozenset(concrete) in _UNIONS:
                inner = self.ref(frozenset(concrete))
            elif len(concrete) == 1:
                inner = self._type(concrete[0], facts, key)
            else:
                inner = {"anyOf": [self._type(m, facts, key) for m in concrete]}
            if len(concrete) < len(members):
                return {"anyOf": [inner, {"type": "null"}]}
            return inner
        if origin is tuple:
            member = get_args(hint)[0]
            item_facts = dict(facts.get("each", {}))
            item_facts.update(_ITEM_OVERRIDES.get(key, {}))
            schema: dict[str, Any] = {
                "type": "array",
                "items": self._type(member, {"leaf": item_facts}, key),
            }
            schema.update(facts.get("array", {}))
            schema.update(_ARRAY_OVERRIDES.get(key, {}))
            return schema
        if origin is Literal:
            return {"const": get_args(hint)[0]}
        leaf = dict(facts.get("leaf", {}))
        if hint is type(None):
            return {"type": "null"}
        if hint is bool:
            return {"type": "boolean"}
        if hint is int or hint is float:
            low = max(leaf.pop("minimum", -v.MAX_NUMBER), -v.MAX_NUMBER)
            high = min(leaf.pop("maximum", v.MAX_NUMBER), v.MAX_NUMBER)
            return {
                "type": "integer" if hint is int else "number",
                "minimum": _number(low),
                "maximum": _number(high),
                **{
                    k: _number(x)
                    for k, x in leaf.items()
                    if k in ("exclusiveMinimum", "exclusiveMaximum")
                },
            }
        if hint is str:
            return {"type": "string", **leaf}
        if hint is datetime:
            return {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
        if hint is date:
            return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
        if isinstance(hint, type) and (issubclass(hint, enum.Enum) or attrs.has(hint)):
            return self.ref(hint)
        raise ArgumentError(  # pragma: no cover - every field type of the model is mapped above
            "hint", "a type with a JSON Schema mapping"
        )


# The plan document: schema_version first, then the derived phase and outcome
# (see _json.unstructure_plan), then the fields.
def _plan_document(
    properties: dict[str, Any], required: list[str]
) -> tuple[dict[str, Any], list[str]]:
    out = {
        "schema_version": properties.pop("schema_version"),
        "phase": {
            "description": "Derived: the target of the last history record.",
            "$ref": "#/$defs/Phase",
        },
        "outcome": {
            "description": "Derived: the outcome of the last history record (closed only).",
            "anyOf": [{"$ref": "#/$defs/EpisodeOutcome"}, {"type": "null"}],
        },
        **properties,
    }
    return out, ["schema_version", "phase", *required]


_CLASS_RULES: dict[str, dict[str, Any]] = {
    "TreatmentPlan": {
        # A closed plan states its outcome; an open one has none.
        "if": {"properties": {"phase": {"const": Phase.CLOSED.value}}},
        "then": {
            "required": ["outcome"],
            "properties": {"outcome": {"enum": [o.value for o in EpisodeOutcome]}},
        },
        "else": {"properties": {"outcome": {"type": "null"}}},
    },
    "Transition": {
        # An outcome exactly on transitions into closed.
        "if": {"properties": {"target": {"const": Phase.CLOSED.value}}},
        "then": {
            "required": ["outcome"],
            "properties": {"outcome": {"enum": [o.value for o in EpisodeOutcome]}},
        },
        "else": {"properties": {"outcome": {"type": "null"}}},
    },
    "Session": {
        # Interventions and assessments happen only at attended sessions.
        "if": {"not": {"properties": {"attendance": {"const": Attendance.ATTENDED.value}}}},
        "then": {
            "properties": {
                # "type" repeated so that ajv's strict mode sees the type of maxItems.
                "interventions": {"type": "array", "maxItems": 0},
                "assessments": {"type": "array", "maxItems": 0},
            }
        },
    },
    "Assessment": {
        # Item responses, a total, or both.
        "anyOf": [
            {"required": ["items"], "properties": {"items": {"type": "array"}}},
            {"required": ["total"], "properties": {"total": {"type": "number"}}},
        ],
    },
}


def _kind_of(member: type[Any]) -> str:
    """The ``kind`` a tagged union member is written with."""
    return str(attrs.fields_dict(member)["kind"].default)


def _is_tag(field: attrs.Attribute[Any] | None, hints: dict[str, Any]) -> bool:
    """A union tag: a ``kind: Literal[...]`` field set by the class, not the caller."""
    return field is not None and not field.init and get_origin(hints["kind"]) is Literal


def _member_order(members: frozenset[type[Any]]) -> Callable[[type[Any]], int]:
    declared = [*get_args(ObjectiveTarget), *RULE_TYPES, *get_args(Rule)]

    def position(member: type[Any]) -> int:
        return declared.index(member) if member in declared else len(declared)

    return position


def _summary(kind: type[Any]) -> str:
    doc = kind.__dict__.get("__doc__") or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split())


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- validators
def _validator_facts(validator: Any) -> dict[str, Any]:
    """What the treatplan validators on a field state, as JSON Schema keywords.

    Returns ``{"leaf": {...}, "array": {...}, "each": {...}}``: keywords for the value
    itself, for the array when the field is a list, and for each array member.
    Validators this does not know add nothing (the schema is then looser than the
    loader, never stricter).
    """
    facts: dict[str, dict[str, Any]] = {"leaf": {}, "array": {}, "each": {}}
    for fn in _validators(validator):
        qualname = getattr(fn, "__qualname__", "")
        if getattr(fn, "__module__", None) != v.__name__ or "<locals>" not in qualname:
            continue
        factory = qualname.split(".")[0]
        bound = _closure(fn)
        if factory == "text":
            facts["leaf"].update(minLength=1, maxLength=bound["max_length"], pattern=TEXT_PATTERN)
        elif factory == "texts":
            facts["array"]["maxItems"] = bound["max_items"]
            facts["each"].update(minLength=1, maxLength=bound["max_length"], pattern=TEXT_PATTERN)
        elif factory == "ref":
            facts["leaf"].update(pattern=REF_PATTERN)
        elif factory in ("integer", "number"):
            if bound.get("low") is not None:
                facts["leaf"]["minimum"] = bound["low"]
            if bound.get("high") is not None:
                facts["leaf"]["maximum"] = bound["high"]
        elif factory == "positive":
            facts["leaf"].update(minimum=0, exclusiveMinimum=0, maximum=bound["high"])
        elif factory == "items_of":
            array = facts["array"]
            if bound["min_length"]:
                array["minItems"] = bound["min_length"]
            array["maxItems"] = bound["max_length"]
            if bound["unique"]:
                array["uniqueItems"] = True
    return facts


def _validators(validator: Any) -> Iterator[Any]:
    if validator is None:
        return
    inner = getattr(validator, "validator", None)  # attrs.validators.optional
    if inner is not None:
        yield from _validators(inner)
        return
    # attrs.validators.and_, which attrs also makes of a list of validators
    many = getattr(validator, "_validators", None)
    if many is not None:
        for each in many:
            yield from _validators(each)
        return
    yield validator


def _closure(fn: Any) -> dict[str, Any]:
    cells = fn.__closure__ or ()
    return {
        name: cell.cell_contents for name, cell in zip(fn.__code__.co_freevars, cells, strict=True)
    }
