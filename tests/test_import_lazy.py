"""``import treatplan`` loads the JSON layer (and cattrs) only when first asked for."""

from __future__ import annotations

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
