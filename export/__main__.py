"""`python -m export ...` is the `eagerscript` command."""
import sys

from export.cli import main

sys.exit(main())
