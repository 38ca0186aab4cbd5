"""Evidence collectors for claimcheck: everything that gathers and judges evidence.

Nothing in this package imports Textual; the headless report and the TUI share it.
"""

__version__ = "0.1.0"
