"""``python -m treatplan``: the same as the ``treatplan`` command (whose entry point is
:func:`run`)."""

import sys


def run() -> int:
    """Load the command line and run it; Ctrl-C while it loads is one line and 130."""
    try:
        from ._cli import main
    except KeyboardInterrupt:  # no traceback for an interrupt before main() can catch it
        print("interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
