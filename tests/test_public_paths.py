"""Public classes as users see them: errors under ``treatplan``, every class reachable
where its ``__module__`` says (pickle looks it up there), annotations resolvable."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import typing

import attrs
import pytest

import treatplan as tp

PUBLIC_MODULES = ("treatplan", *(f"treatplan.{name}" for name in sorted(tp._SUBMODULES)))
ERRORS = (
    tp.ArgumentError,
    tp.LimitError,
    tp.TransitionError,
    tp.TreatplanError,
    tp.UnknownReferenceError,
    tp.ValidationError,
)


def _public_classes() -> list[type]:
    found: dict[int, type] = {}
    for module in PUBLIC_MODULES:
        exported = importlib.import_module(module)
        for name in exported.__all__:
            value = getattr(exported, name)
            if inspect.isclass(value) and value.__module__.startswith("treatplan"):
                found[id(value)] = value
    return list(found.values())


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_errors_keep_their_defining_module_so_their_source_is_found(error: type) -> None:
    # Naming the errors' module ``treatplan`` (for shorter tracebacks) broke
    # inspect.getsource, and with it IPython's ``??`` and pdb's ``source``.
    assert error.__module__ == "treatplan._errors"
    assert getattr(tp, error.__name__) is error
    assert f"class {error.__name__}(" in inspect.getsource(error)


def test_errors_pickle_and_copy_as_themselves() -> None:
    raised = [
        tp.ArgumentError("plan", "a TreatmentPlan"),
        tp.LimitError.at("$", "at most 16,000,000 bytes"),
        tp.TransitionError("referred", "agree_plan", ["no goals"]),
        tp.TreatplanError("x"),
        tp.UnknownReferenceError("code", "a known code"),
        tp.ValidationError.at("$.goals", "a list"),
    ]
    for error in raised:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(error, protocol))
            assert type(back) is type(error)
            assert str(back) == str(error)
        assert type(copy.deepcopy(error)) is type(error)
        assert str(copy.copy(error)) == str(error)


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__qualname__)
def test_every_public_class_is_where_its_module_says(cls: type) -> None:
    # pickle (and copy, for an error) finds a class by __module__ and __qualname__.
    assert getattr(importlib.import_module(cls.__module__), cls.__qualname__) is cls


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__qualname__)
def test_the_annotations_of_every_public_class_resolve(cls: type) -> None:
    # typing.get_type_hints reads the module __module__ names: cattrs, the JSON Schema
    # and autodoc rely on it (why the record classes keep their defining module).
    hints = typing.get_type_hints(cls)
    if attrs.has(cls):
        assert {f.name for f in attrs.fields(cls) if f.init} <= set(hints)
