"""`python -m claimcheck`: the `claimcheck` command, for a shell that cannot find the script."""

import sys

from claimcheck.tui.cli import main

sys.exit(main())
