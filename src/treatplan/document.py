"""The plan document: its JSON Schema (:func:`json_schema`), schema evolution
(:func:`migrate`), the type of JSON data (:data:`JsonValue`), and the limits every
document and plan keeps (the range of valid instants, the largest document and record
count :func:`~treatplan.loads` accepts)."""

from ._json import MAX_DOCUMENT_SIZE, MAX_RECORDS
from ._migrations import JsonValue, migrate
from ._model import SCHEMA_VERSION
from ._schema import json_schema
from ._validation import MAX_INSTANT, MIN_INSTANT

__all__ = [
    "MAX_DOCUMENT_SIZE",
    "MAX_INSTANT",
    "MAX_RECORDS",
    "MIN_INSTANT",
    "SCHEMA_VERSION",
    "JsonValue",
    "json_schema",
    "migrate",
]
