"""Redaction of configured secrets and terminal-unsafe text.

Header values, URL credentials and secret-looking `${VAR}` values never reach a screen, a log or
a report: every writer passes text through a `Redactor` built from `Config.secrets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "***"
_MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words

# CSI, OSC (terminated by BEL or ST), other two-byte escapes, and C0/C1 controls but \t and \n.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


@dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if len(secret) >= _MIN_SECRET_LENGTH and secret in text:
                text = text.replace(secret, MASK)
        return text


def strip_control(text: str) -> str:
    """Remove escape sequences and control characters so text cannot drive the terminal."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))

