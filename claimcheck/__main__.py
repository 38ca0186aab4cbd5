"""`python -m claimcheck`: the `claimcheck` command, for a shell that cannot find the script."""

from claimcheck.tui.entry import run

run()
