"""`python -m tui`: the `claimcheck` command, for a shell that cannot find the script."""

import sys

from tui.cli import main

sys.exit(main())
