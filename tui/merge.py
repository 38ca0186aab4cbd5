"""`claimcheck merge A B ...`: shard reports into one report, judged as one run; exits with its
verdict. Never imports Textual."""

from __future__ import annotations

from claimcheck.collectors.config import load_config
from claimcheck.collectors.merge import merge_reports
from claimcheck.collectors.readers import read_report, source_labels
from claimcheck.tui.guard import guarded
from claimcheck.tui.options import Options


def run_merge(options: Options) -> int:
    return guarded(lambda: _merge(options))


def _merge(options: Options) -> int:
    from claimcheck.tui.headless import write_outputs

    config = load_config(options.project, options.config)
    labels = source_labels(options.inputs)
    reads = [read_report(path, label=label, phase_name=options.as_phase,
                         project_root=config.root)
             for path, label in zip(options.inputs, labels)]
    report = merge_reports(config, reads, expect=options.expect)
    return write_outputs(report, config, options)
