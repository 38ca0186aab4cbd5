"""The run as a whole, as the header shows it: what runs, how far the plan has come, how long.

`RunState` is kept by the app (a plan begins, ends, is interrupted) and read by the screen;
`verdict_word` and `header_detail` are the header's words, pure functions of it, the live
model and the latest judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from claimcheck.collectors.live import LiveEvidence
from claimcheck.collectors.models import RunReport


@dataclass
class RunState:
    """The run as a whole, kept by the app and shown by the screen."""

    started_at: float  # when the current plan started
    finished_at: float | None = None
    running: bool = False  # a plan of phases is under way (waiting for services included)
    interrupted: bool = False  # someone stopped it (a key, a signal) or a phase said so
    plan: tuple[str, ...] = ()  # the phases the current plan runs
    failed_only: bool = False  # the plan reruns what failed (`f`), merged over the last run
    carried_s: float = 0.0  # time of the earlier runs whose evidence the current plan extends

    def elapsed(self, now: float) -> float:
        """How long the evidence on screen took to gather: a partial rerun (`f`, `R`) adds
        its time to the run it extends rather than starting the clock again."""
        end = self.finished_at if self.finished_at is not None else now
        return self.carried_s + max(0.0, end - self.started_at)

    def begin(self, plan: Sequence[str], now: float, *, partial: bool,
              failed_only: bool = False) -> None:
        """A new plan starts; `partial` keeps the time of the evidence it extends."""
        self.carried_s = self.elapsed(now) if partial else 0.0
        self.plan, self.failed_only = tuple(plan), failed_only
        self.interrupted, self.running = False, True
        self.started_at, self.finished_at = now, None


def verdict_word(run: RunState, evidence: LiveEvidence, report: RunReport | None) -> str:
    """running, interrupted, or the latest judgement's verdict (no-evidence before one)."""
    if run.running or evidence.running:
        return "running"
    if run.interrupted:
        return "interrupted"
    if report is not None:
        return report.verdict
    return "no-evidence"


def header_detail(run: RunState, evidence: LiveEvidence, report: RunReport | None,
                  services: int) -> str:
    """What runs and how far the plan has come, or how many phases have evidence; and how
    many of the `services` are up, at a glance also where the services panel is folded away."""
    phases = evidence.phases
    running = sorted(evidence.running, key=list(phases).index)
    parts = []
    if running:
        plan = [name for name in run.plan if name in phases] or list(phases)
        done = sum(1 for name in plan if phases[name].status not in ("pending", "running"))
        doing = "rerunning what failed in" if run.failed_only else "running"
        parts.append(f"{doing} {running[0]} · {done}/{len(plan)} phases done")
    elif report is not None:
        done = sum(1 for live in phases.values() if live.run is not None)
        parts.append(f"{done}/{len(phases)} phases")
    samples = evidence.samples
    if samples:
        up = sum(1 for sample in samples.values() if sample.status == "up")
        parts.append(f"services {up}/{services} up")
    return " · ".join(parts)
