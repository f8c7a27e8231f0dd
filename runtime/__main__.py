"""`python -m synapse.runtime` runs the `syn` command line (see cli.py)."""

import sys

from synapse.runtime.cli import main

sys.exit(main())
