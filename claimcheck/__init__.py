"""claimcheck: nobody says "fixed" before the evidence does.

The one import package an installation adds. Its two halves live in the repository's top-level
folders and are mapped here by setuptools' `package-dir`: `claimcheck.collectors` (`collectors/`,
everything that gathers and judges evidence, no Textual) and `claimcheck.tui` (`tui/`, the
command line and the command center).
"""

__version__ = "0.2.0"
