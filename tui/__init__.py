"""The claimcheck command line and Textual command center (`claimcheck.tui`)."""
