"""agent-backend: the sample service claimcheck's demo runs its evidence against.

Kept tiny on purpose: just enough auth, routing, WebSocket and factory code for the tests to
fail the way they failed in the real incident.
"""

__version__ = "2.3.0"
