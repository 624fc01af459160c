"""``python -m treatplan``: the same as the ``treatplan`` command."""

import sys

try:
    from ._cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line loads: no traceback
    print("interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
