"""The plan document: its JSON Schema (:func:`json_schema`) and schema evolution
(:func:`migrate`)."""

from ._migrations import migrate
from ._model import SCHEMA_VERSION
from ._schema import json_schema

__all__ = ["SCHEMA_VERSION", "json_schema", "migrate"]
