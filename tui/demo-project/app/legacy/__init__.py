"""The pre-2.0 WebSocket layer, kept "for a sprint or two" after the rewrite.

Deprecated: everything here moved to app.websocket_manager; nothing new may import it.
"""

import warnings

warnings.warn(
    "app.legacy is deprecated; use app.websocket_manager instead",
    DeprecationWarning,
    stacklevel=2,
)
