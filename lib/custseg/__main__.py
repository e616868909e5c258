"""`python -m custseg` is the `custseg` command."""

import sys

from custseg.cli import main

sys.exit(main())
