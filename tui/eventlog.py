"""The event stream's lines: one line per thing a person should notice, in the order it happened.

Evidence arrives in batches (one per frame, about ten a second). A batch becomes a few lines,
never one per test: failures are listed (up to `FAILURE_LINES_PER_BATCH`, then "+N more"),
passes and skips are summarised per phase every `PASS_SUMMARY_BATCHES` batches, a flood of
WebSocket frames is folded to the last few per service plus a count by event type. Phase starts
and ends, collection errors and service state changes get a line each.

Frames go to a lane of their own (`Lines.frames`), so a stream that never stops cannot push the
run's lines out of view; a stream connecting or dropping is news about the run, and stays in it.
A phase that was blocked never started: it gets one line saying why it did not run.

Every string from a test, a service or the network goes through `data_text` (escaped, redacted,
one line); colours come from the palette (app.tcss), by meaning.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, NamedTuple, Sequence

from claimcheck.collectors.live import LiveEvidence
from claimcheck.collectors.models import (
    CollectionErrored,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    ServiceSample,
    StreamEvent,
    TestFinished,
    TestResult,
)
from claimcheck.collectors.verdict import FAILED_OUTCOMES
from claimcheck.tui.widgets._palette import StyleOf, plain
from claimcheck.tui.widgets._text import Redact, data_text
from rich.text import Text

PASS_SUMMARY_BATCHES = 20  # one "+N passed" line per phase every 20 batches (~2 s)
FAILURE_LINES_PER_BATCH = 12  # failures written per batch, then "+N more"
FRAMES_PER_BATCH = 4  # WebSocket frames per service per batch before they are folded
PHASE_END_TONES = {"passed": "good", "interrupted": "stopped"}  # anything else: bad
SERVICE_TONES = {"up": "good", "degraded": "warn"}  # anything else: bad


def finished_summary(run: PhaseRun) -> str:
    """`5 tests, 1 collection error`: the phase's outcomes as the strip counts them (a file
    pytest could not collect is one error there, as in its summary), told apart here."""
    errors = len(run.collection_errors)
    tests = max(0, run.counts.done - errors)
    summary = f"{tests:,} {'test' if tests == 1 else 'tests'}"
    if errors:
        summary += f", {errors:,} collection error{'' if errors == 1 else 's'}"
    return summary


class Lines(NamedTuple):
    """One batch's lines: the run's (tests, phases, services), and the streams' frames."""

    run: list[Text]
    frames: list[Text]


QUIET_OUTCOMES = ("skipped", "xfailed", "xpassed")  # the pass summary's order after "passed"


def _quiet_order(outcome: str) -> tuple[int, str]:
    """skipped, xfailed, xpassed, then any other word a plugin's report may carry."""
    return (QUIET_OUTCOMES.index(outcome) if outcome in QUIET_OUTCOMES
            else len(QUIET_OUTCOMES), outcome)


class EventLog:
    """Turns batches of evidence into lines; keeps only what the pass summaries need."""

    def __init__(self, evidence: LiveEvidence, redact: Redact | None = None,
                 palette: StyleOf = plain) -> None:
        self.evidence = evidence
        self.redact = redact
        self.palette = palette
        self._passes: Counter[str] = Counter()  # passes not yet summarised, per phase
        # skips, xfails and xpasses not yet summarised, per (phase, outcome): each is counted
        # under its own word, as the phase strip's columns count it, never as a pass
        self._quiet: Counter[tuple[str, str]] = Counter()
        self._batches_unsummarised = 0
        self._summaries = 0
        self._service_status: dict[str, str] = {}

    def lines(self, events: Sequence[object]) -> Lines:
        """The lines for one batch, in the order its events happened, lane by lane."""
        out: list[Text] = []
        frame_lines: list[Text] = []
        failures: list[TestResult] = []
        frames: list[StreamEvent] = []
        tests_seen = False

        def end_of_run_of_tests() -> None:
            nonlocal failures, tests_seen
            if tests_seen:
                out.extend(self._test_lines(failures))
            failures, tests_seen = [], False

        def end_of_run_of_frames() -> None:
            nonlocal frames
            states = [event for event in frames if event.direction == "state"]
            out.extend(self._state_lines(states))
            frame_lines.extend(self._frame_lines(frames))
            frames = []

        for event in events:
            if isinstance(event, TestFinished):
                tests_seen = True
                result = event.result
                if result.outcome in FAILED_OUTCOMES:
                    failures.append(result)
                elif result.outcome == "passed":
                    self._passes[event.phase] += 1
                else:
                    self._quiet[event.phase, result.outcome] += 1
                continue
            if isinstance(event, StreamEvent):
                frames.append(event)
                continue
            end_of_run_of_tests()
            end_of_run_of_frames()
            out.extend(self._event_lines(event))
        end_of_run_of_tests()
        end_of_run_of_frames()
        return Lines(out, frame_lines)

    # ------------------------------------------------------------------ phases and tests

    def _event_lines(self, event: object) -> list[Text]:
        style = self.palette
        if isinstance(event, PhaseStarted):
            if self._never_started(event):
                return []
            return [Text.assemble(("▶ ", style("info")), data_text(event.phase, "bold"),
                                  (" started", style("info")))]
        if isinstance(event, CollectionErrored):
            error = event.error
            message = f"{error.error_type}: {error.message}"
            return [Text.assemble(("✖ collection error ", style("failed")),
                                  data_text(f"[{event.phase}] ", style("muted")),
                                  data_text(error.path, "bold"), "  ",
                                  data_text(message, style("message"), self.redact,
                                            one_line=True, limit=200))]
        if isinstance(event, PhaseFinished):
            return self.pass_summaries() + [self._finished_line(event)]
        if isinstance(event, ServiceSample):
            return self._service_lines(event)
        return []

    def _never_started(self, event: PhaseStarted) -> bool:
        """A phase the plan loop recorded as blocked: its PhaseStarted only opens the record.

        The loop emits that PhaseStarted and its blocked PhaseFinished back to back, so by the
        time the screen draws the first, the live model has folded both.
        """
        live = self.evidence.phase(event.phase)
        return (live.status == "blocked" and live.run is not None
                and live.run.started_at == event.started_at)

    def _finished_line(self, event: PhaseFinished) -> Text:
        run = self.evidence.phase(event.phase).run or event.run
        tone = self.palette(PHASE_END_TONES.get(run.status, "bad"))
        if run.status == "blocked":
            line = Text.assemble(("■ ", tone), data_text(run.name, "bold"),
                                 (" not run: ", tone))
            line.append_text(data_text(run.reason or "blocked", self.palette("warn"),
                                       self.redact, one_line=True))
            return line
        line = Text.assemble(("■ ", tone), data_text(run.name, "bold"), (f" {run.status}", tone),
                             (f"  {finished_summary(run)}", self.palette("muted")))
        if run.reason:
            line.append("  ")
            line.append_text(data_text(run.reason, self.palette("warn"), self.redact,
                                       one_line=True))
        return line

    def _test_lines(self, failures: list[TestResult]) -> list[Text]:
        style = self.palette
        lines: list[Text] = []
        for result in failures[:FAILURE_LINES_PER_BATCH]:
            label = "✖ error " if result.outcome == "error" else "✖ failed "
            line = Text.assemble((label, style("failed")),
                                 data_text(f"[{result.phase}] ", style("muted")),
                                 data_text(result.nodeid, "", self.redact, one_line=True))
            if result.message:
                line.append("  ")
                line.append_text(data_text(result.message, style("message"), self.redact,
                                           one_line=True, limit=160))
            lines.append(line)
        if len(failures) > FAILURE_LINES_PER_BATCH:
            lines.append(Text(f"  … and {len(failures) - FAILURE_LINES_PER_BATCH:,} more "
                              "failures (see the failure list)", style("bad")))
        self._batches_unsummarised += 1
        if self._batches_unsummarised >= PASS_SUMMARY_BATCHES or self._summaries == 0:
            lines.extend(self.pass_summaries())
        return lines

    def pass_summaries(self) -> list[Text]:
        """Passes are noise one by one: one summary line per phase every few seconds."""
        if not (self._passes or self._quiet):
            return []
        lines: list[Text] = []
        for phase in sorted(set(self._passes) | {phase for phase, _ in self._quiet}):
            live = self.evidence.phase(phase)
            line = Text.assemble(("✔ ", self.palette("good")), data_text(phase, "bold"),
                                 (f" +{self._passes[phase]:,} passed", self.palette("good")))
            outcomes = {outcome for (of, outcome) in self._quiet if of == phase}
            for outcome in sorted(outcomes, key=_quiet_order):
                line.append(f", {self._quiet[phase, outcome]:,} {outcome}",
                            self.palette("muted"))
            line.append(f"  ({len(live.results):,}/{max(live.collected, len(live.results)):,})",
                        self.palette("muted"))
            lines.append(line)
        self._passes.clear()
        self._quiet.clear()
        self._batches_unsummarised = 0
        self._summaries += 1
        return lines

    # ------------------------------------------------------------------ services and streams

    def _service_lines(self, sample: ServiceSample) -> list[Text]:
        previous = self._service_status.get(sample.name)
        self._service_status[sample.name] = sample.status
        if previous == sample.status:
            return []
        tone = self.palette(SERVICE_TONES.get(sample.status, "bad"))
        was = f"{previous} → " if previous else ""
        line = Text.assemble(("● ", tone), data_text(sample.name, "bold"),
                             (f" {was}{sample.status}", tone))
        if sample.status != "up" and sample.detail:
            line.append("  ")
            line.append_text(data_text(sample.detail, self.palette("muted"), self.redact,
                                       one_line=True, limit=200))
        return [line]

    def _state_lines(self, events: Iterable[StreamEvent]) -> list[Text]:
        """A stream connecting, dropping or reconnecting: news about the run."""
        style = self.palette
        return [Text.assemble(("⇄ ", style("warn")), data_text(event.service, "bold"), " ",
                              data_text(event.payload, style("warn"), self.redact,
                                        one_line=True))
                for event in events]

    def _frame_lines(self, events: Iterable[StreamEvent]) -> list[Text]:
        style = self.palette
        by_service: dict[str, list[StreamEvent]] = defaultdict(list)
        for event in events:
            by_service[event.service].append(event)
        lines: list[Text] = []
        for service, batch in by_service.items():
            frames = [e for e in batch if e.direction != "state"]
            if not frames:
                continue
            shown = set(map(id, frames[-FRAMES_PER_BATCH:]))
            folded = frames[:-FRAMES_PER_BATCH]
            if folded:
                types = Counter(e.event_type or ("binary" if e.is_binary else "text")
                                for e in folded)
                summary = ", ".join(f"{name} ×{count}" for name, count in types.most_common(4))
                lines.append(Text.assemble(("⇣ ", style("stream")), data_text(service, "bold"),
                                           (f" +{len(folded):,} frames ", style("stream")),
                                           data_text(f"({summary})", style("muted"),
                                                     self.redact)))
            for event in frames:
                if id(event) in shown:
                    arrow = "←" if event.direction == "recv" else "→"
                    line = Text.assemble((f"{arrow} ", style("stream")),
                                         data_text(service, "bold"), " ")
                    if event.event_type:
                        line.append_text(data_text(event.event_type, style("stream")))
                        line.append(" ")
                    line.append_text(data_text(event.payload, "", self.redact, one_line=True,
                                               limit=300))
                    lines.append(line)
        return lines
