"""Screenshots of the real command center on the demo project, for the README.

Runs exactly what `claimcheck demo` runs - the sample project copied to a temporary folder, the
sample services on 127.0.0.1, the real phase runner, probes and event stream - in a headless
Textual app, waits until every phase has finished and every service has been probed, and saves:

    main-120x40.svg / .png   the main screen (shown at the top of README.md)
    main-80x24.svg  / .png   the same at 80x24 (panels stacked)
    main-200x50.svg / .png   the same at 200x50 (where and time columns)
    failure-detail.svg / .png  Enter on the unit test_token_expires_after_ttl failure

PNGs are made with `rsvg-convert` (Debian/Ubuntu: librsvg2-bin). Everything it started - pytest
runs, the auth subprocess, the WebSocket servers - is stopped before it exits, however it exits.

    python screenshots/make_screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claimcheck.collectors.config import load_config  # noqa: E402
from claimcheck.collectors.pytest_run import check_interpreter  # noqa: E402
from claimcheck.tui.app import ClaimcheckApp  # noqa: E402
from claimcheck.tui.demo import (  # noqa: E402
    _end_leftovers,
    _prepare_environment,
    copy_sample,
)
from claimcheck.tui.demo_services import start_services  # noqa: E402
from claimcheck.tui.options import Options  # noqa: E402
from claimcheck.tui.signals import terminate_as_interrupt  # noqa: E402
from claimcheck.tui.widgets.failures import FailureList, failure_key  # noqa: E402

DETAIL_TEST = "tests/unit/test_auth.py::TestAuthService::test_token_expires_after_ttl"
SIZES = ((120, 40), (80, 24), (200, 50))
PNG_WIDTH = {200: 1800}  # pixels per screenshot width in columns; 1400 otherwise
SETTLE_S = 3.0  # after the last phase: a few probes and agent runs for the history and events
TIMEOUT_S = 180.0


class ScreenshotError(Exception):
    """Something the person running the script can fix; the message says what."""


def require_rsvg() -> str:
    path = shutil.which("rsvg-convert")
    if path is None:
        raise ScreenshotError(
            "rsvg-convert is not installed; it turns the SVGs into PNGs. Install it with "
            "`apt-get install librsvg2-bin` (Debian/Ubuntu) or `brew install librsvg` (macOS).")
    return path


async def wait_for(pilot: Any, what: str, condition: Any, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ScreenshotError(f"timed out after {timeout:.0f} s waiting for {what}: "
                                  f"{state_of(pilot.app)}")
        await asyncio.sleep(0.2)


def state_of(app: ClaimcheckApp) -> str:
    phases = ", ".join(f"{name} {live.status}" + (f" ({live.note})" if live.note else "")
                       for name, live in app.evidence.phases.items())
    missing = [s.name for s in app.config.services if s.name not in app.evidence.samples]
    return f"phases: {phases}; not yet probed: {', '.join(missing) or 'none'}"


def everything_in(app: ClaimcheckApp) -> bool:
    phases_done = all(live.run is not None for live in app.evidence.phases.values())
    probed = all(service.name in app.evidence.samples for service in app.config.services)
    return phases_done and probed and not app.run_state.running and app.report is not None


async def shoot(app: ClaimcheckApp, out: Path) -> list[Path]:
    saved: list[Path] = []

    def save(name: str) -> None:
        path = out / f"{name}.svg"
        app.save_screenshot(path.name, str(out))
        saved.append(path)
        print(f"  saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    async with app.run_test(size=SIZES[0]) as pilot:
        await wait_for(pilot, "every phase to finish and every service to be probed",
                       lambda: everything_in(app))
        await pilot.pause(SETTLE_S)
        judging = [worker for worker in app.workers if worker.group == "judge"]
        if judging:  # (an empty list would mean "every worker", streams included)
            await app.workers.wait_for_complete(judging)
        print(f"  {state_of(app)}")
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.5)
            save(f"main-{width}x{height}")
        await pilot.resize_terminal(*SIZES[0])
        await pilot.pause(0.3)
        key = failure_key("unit", DETAIL_TEST)
        if key not in app.evidence.failures:
            raise ScreenshotError(f"the demo's unit phase did not fail {DETAIL_TEST}")
        await pilot.press("3")
        failures = app.query_one(FailureList)
        failures.move_cursor(row=failures.get_row_index(key))
        await pilot.press("enter")
        await pilot.pause(0.5)
        save("failure-detail")
        await pilot.press("escape", "q")
    return saved


def to_png(rsvg: str, svgs: list[Path]) -> None:
    for svg in svgs:
        columns = int(svg.stem.split("-")[-1].split("x")[0]) if "x" in svg.stem else 120
        width = PNG_WIDTH.get(columns, 1400)
        png = svg.with_suffix(".png")
        # Textual draws a space that starts a styled run as a leading &#160;; without
        # xml:space="preserve" librsvg drops it and "e2e blocked" renders as "e2eblocked".
        text = svg.read_text(encoding="utf-8").replace(
            '<svg class="rich-terminal"', '<svg xml:space="preserve" class="rich-terminal"', 1)
        subprocess.run([rsvg, "-w", str(width), "-o", str(png)], input=text.encode("utf-8"),
                       check=True)
        print(f"  {png.name}: {png.stat().st_size // 1024} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    services = None
    try:
        rsvg = require_rsvg()
        with (tempfile.TemporaryDirectory(prefix="claimcheck-shots-") as tmp,
              terminate_as_interrupt()):  # SIGTERM unwinds through the cleanup below
            project = copy_sample(Path(tmp))
            services = start_services(os.environ.get("DEMO_E2E_TOKEN") or "screenshot-token")
            _prepare_environment(services)
            config = load_config(project)
            check_interpreter(config)
            app = ClaimcheckApp(config, Options(project=project), read_git=False)
            print("running the demo phases for real (about half a minute)...")
            svgs = asyncio.run(shoot(app, out))
        to_png(rsvg, svgs)
    except ScreenshotError as exc:
        print(f"make_screenshots: {exc}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        print("make_screenshots: interrupted", file=sys.stderr)
        return 2
    finally:
        if services is not None:
            services.stop()
        _end_leftovers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
