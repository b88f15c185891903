"""`python -m safety_compliance ...`: the same command line as `safety-compliance ...`."""

import sys

from .cli import main

sys.exit(main())
