"""``python -m treatplan``: the same as the ``treatplan`` command."""

from ._cli import main

raise SystemExit(main())
