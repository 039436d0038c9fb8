"""`python -m tccc`: hands over to the command line in `tccc.cli`."""

from __future__ import annotations

import sys

from tccc.cli.main import main

# `main` stays importable here: console scripts installed before the entry point moved to
# tccc.cli.main still import it from tccc.__main__.
__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
