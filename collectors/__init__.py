"""Evidence collectors for claimcheck: everything that gathers and judges evidence.

Nothing in this package imports Textual; the headless report and the TUI share it.
"""

from claimcheck import __version__

__all__ = ["__version__"]
