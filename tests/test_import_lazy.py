"""``import treatplan`` loads the JSON layer (and cattrs) only when first asked for."""

from __future__ import annotations

import importlib
import subprocess
import sys

import treatplan as tp
from treatplan import _json


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_treatplan_does_not_load_the_converter() -> None:
    code = (
        "import sys, treatplan\n"
        "print(','.join(m for m in ('treatplan._json', 'cattrs') if m in sys.modules))"
    )
    assert _run(code) == ""


def test_the_json_functions_load_on_first_use() -> None:
    code = (
        "import sys\n"
        "from treatplan import loads\n"
        "import treatplan\n"
        "assert loads is treatplan.loads is sys.modules['treatplan._json'].loads\n"
        "print(sorted(n for n in ('dumps', 'from_dict', 'to_dict') if n in dir(treatplan)))"
    )
    assert _run(code) == "['dumps', 'from_dict', 'to_dict']"


def test_the_lazy_names_are_the_json_layer_s() -> None:
    for name in ("dumps", "from_dict", "loads", "to_dict"):
        assert getattr(tp, name) is getattr(_json, name)
        assert name in tp.__all__


def test_import_treatplan_loads_only_the_plan_data() -> None:
    # The lifecycle operations, the plan state and scoring load on first use (issue 8:
    # ``import treatplan`` within 100 ms over a bare interpreter).
    code = (
        "import sys, treatplan\n"
        "print(','.join(m for m in ('treatplan._lifecycle', 'treatplan._state', "
        "'treatplan._fast', 'treatplan._scoring', 'treatplan._change', 'treatplan._summary', "
        "'fractions') if m in sys.modules))"
    )
    assert _run(code) == ""


def test_the_lifecycle_names_load_on_first_use_and_stay() -> None:
    code = (
        "import sys, treatplan\n"
        "from treatplan import fire, describe\n"
        "life = sys.modules['treatplan._lifecycle']\n"
        "assert fire is life.fire is treatplan.fire\n"
        "assert describe is sys.modules['treatplan._summary'].summary\n"
        "assert treatplan.__dict__['fire'] is fire\n"
        "print('ok')"
    )
    assert _run(code) == "ok"


def test_every_lazy_core_name_is_public_and_resolves_to_its_module() -> None:
    for name, (module, attribute) in tp._LAZY_CORE.items():
        assert name in tp.__all__
        assert getattr(tp, name) is getattr(importlib.import_module(module), attribute)
