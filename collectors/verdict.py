"""The verdict of a run and the one exit-code table: pure rules every view shares.

Green needs positive evidence: every phase ran a test, nothing failed, critical services are up.
The text, JSON, Markdown and JUnit writers, the TUI's header and the CLI's exit status all read
these functions, so no two of them can disagree about a run.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # the command line reads ExitCode before any evidence exists: stay light
    from claimcheck.collectors.models import PhaseRun, ServiceSample, Verdict


class ExitCode(IntEnum):
    """claimcheck's exit status, following pytest's numbering where pytest has one."""

    GREEN = 0
    RED = 1
    INTERRUPTED = 2
    INTERNAL = 3
    USAGE = 4
    NO_EVIDENCE = 5


# Phase states that are red by themselves, whatever the counts say.
RED_PHASE_STATUSES = frozenset({"failed", "error", "timeout", "crashed", "blocked"})
FAILED_OUTCOMES = frozenset({"failed", "error"})


def executed(run: PhaseRun) -> int:
    """Tests that really ran in a phase; skips and collection errors are not evidence."""
    counts = run.counts
    test_errors = max(counts.error - len(run.collection_errors), 0)
    return counts.passed + counts.failed + test_errors + counts.xfailed + counts.xpassed


def phase_problem(run: PhaseRun) -> str | None:
    """Why this phase makes the run red, in a few words; None when it does not."""
    counts = run.counts
    if run.status in RED_PHASE_STATUSES and run.reason:
        return f"{run.name}: {run.reason}"
    if counts.failed or counts.error:
        parts = [f"{counts.failed} failed"] if counts.failed else []
        if counts.error:
            parts.append(f"{counts.error} error" + ("s" if counts.error > 1 else ""))
        return f"{run.name}: " + ", ".join(parts)
    if run.status in RED_PHASE_STATUSES:
        return f"{run.name}: {run.status}"
    return None


def service_problem(sample: ServiceSample) -> str | None:
    """Only critical services decide the verdict; a flaky optional one is shown, not judged."""
    if sample.critical and sample.status != "up":
        return f"service {sample.name} {sample.status}"
    return None


def moment(ts: float) -> str:
    """A wall-clock moment as a person and a log parser both read it: UTC, to the second."""
    from datetime import datetime, timezone  # not before the first phase is spawned

    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def verdict_reasons(
    runs: Sequence[PhaseRun], samples: Sequence[ServiceSample], *, interrupted: bool = False,
    interrupted_at: float | None = None,
) -> tuple[Verdict, ExitCode, list[str]]:
    """The verdict, its exit code and the short reasons behind it, for the report's first line.

    An interruption says when it happened (`interrupted_at`), so a cancelled CI job's report
    tells how far it got.
    """
    red = [p for p in (phase_problem(r) for r in runs) if p]
    red += [p for p in (service_problem(s) for s in samples) if p]
    if interrupted or any(run.status == "interrupted" for run in runs):
        stopped = [run.name for run in runs if run.status == "interrupted"]
        first = f"interrupted during {', '.join(stopped)}" if stopped else "interrupted"
        if interrupted_at is not None:
            first += f" at {moment(interrupted_at)}"
        return "interrupted", ExitCode.INTERRUPTED, [first] + red
    if red:
        # pytest refused a phase's arguments or config: the config must be fixed first.
        from claimcheck.collectors.refusal import config_to_blame

        code = ExitCode.USAGE if any(config_to_blame(run) for run in runs) else ExitCode.RED
        return "red", code, red
    if not runs and not samples:
        return "no-evidence", ExitCode.NO_EVIDENCE, ["no phases ran and no services were probed"]
    empty = [run for run in runs
             if run.status in ("no-tests", "pending", "running") or executed(run) == 0]
    if empty:
        why = []
        for run in empty:
            if run.status in ("pending", "running"):
                why.append(f"{run.name}: {run.status}, not finished")
                continue
            skipped = f" ({run.counts.skipped} skipped)" if run.counts.skipped else ""
            why.append(f"{run.name}: {run.reason or 'no test ran'}{skipped}")
        return "no-evidence", ExitCode.NO_EVIDENCE, why
    return "green", ExitCode.GREEN, []


def verdict_and_exit(
    runs: Sequence[PhaseRun], samples: Sequence[ServiceSample], *, interrupted: bool = False
) -> tuple[Verdict, ExitCode]:
    """Green needs evidence: every phase ran a test, nothing failed, critical services are up.

    Precedence: interrupted (2) over red (1) over no-evidence (5) over green (0), so a run
    someone stopped is never reported as a finished failure, and a failure is never hidden
    behind a phase that ran nothing. A phase left `interrupted` counts as an interruption; a
    phase still `pending` or `running` is not evidence yet.
    """
    verdict, code, _ = verdict_reasons(runs, samples, interrupted=interrupted)
    return verdict, code

