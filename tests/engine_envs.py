"""Engine environments: the pytest versions claimcheck's engine is proven under.

A fresh `pip install` gets the newest pytest, while claimcheck's own test extra pins an older
one (syrupy, through pytest-textual-snapshot). So the engine tests run their fixture projects'
phases under separate virtual environments, through `tool.claimcheck.python`, as a user's
project would:

    newest   the newest pytest, pytest-xdist, pytest-rerunfailures, pytest-json-report
    floor    the oldest pytest pyproject.toml allows (`pytest>=X.Y` -> X.Y.0), the same
             plugins, and pytest-subtests (pytest 8 has no built-in subtests)

They are made with `python -m venv` and pip into `.engine-envs/` at the repository's root
(gitignored), once, under a file lock so parallel test workers wait for one another; `newest` is
made again when it is a week old. Offline, set CLAIMCHECK_ENGINE_ENVS=off: the engine tests then
run under this interpreter's pytest only, and say so in their skip reasons.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".engine-envs"
OPT_OUT = "CLAIMCHECK_ENGINE_ENVS"  # "off": no provisioning (offline work)
NEWEST_MAX_AGE_S = 7 * 24 * 3600
PLUGINS = ("pytest-xdist", "pytest-rerunfailures", "pytest-json-report")
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class EngineEnv:
    """One interpreter the fixture projects' phases run under, and what it can do."""

    name: str
    python: str
    pytest_version: str
    plugins: frozenset[str]  # distribution names installed beside pytest

    def has(self, capability: str) -> bool:
        """`subtests` (pytest 9, or the pytest-subtests plugin), or a plugin's name."""
        if capability == "subtests":
            return self.pytest_major >= 9 or "pytest-subtests" in self.plugins
        return capability in self.plugins

    @property
    def pytest_major(self) -> int:
        return int(self.pytest_version.split(".")[0])


class ProvisioningFailed(Exception):
    pass


def floor_pytest() -> str:
    """The lowest pytest pyproject.toml's dependencies allow, as an exact requirement."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"pytest>=([0-9][0-9.]*)"', text)
    if match is None:
        raise ProvisioningFailed("pyproject.toml has no \"pytest>=X\" dependency to read")
    parts = (match.group(1).split(".") + ["0", "0"])[:3]
    return "pytest==" + ".".join(parts)


def wanted() -> dict[str, tuple[str, ...]]:
    return {
        "newest": ("pytest", *PLUGINS),
        "floor": (floor_pytest(), *PLUGINS, "pytest-subtests"),
    }


def provision(names: tuple[str, ...] = ("newest", "floor")) -> list[EngineEnv]:
    """The engine environments, made if missing; raises ProvisioningFailed with pip's words."""
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n", encoding="utf-8")
    requirements = wanted()
    envs: list[EngineEnv] = []
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be making them right now
        for name in names:
            envs.append(_ensure(name, requirements[name]))
    return envs


def _ensure(name: str, requirements: tuple[str, ...]) -> EngineEnv:
    key = hashlib.sha256(json.dumps([sys.version_info[:2], requirements]).encode()).hexdigest()
    folder = CACHE / f"{name}-{key[:12]}"
    ready = folder / "ready.json"
    fresh = ready.exists() and (name != "newest"
                                or time.time() - ready.stat().st_mtime < NEWEST_MAX_AGE_S)
    if not fresh:
        shutil.rmtree(folder, ignore_errors=True)
        _make(folder, requirements)
        python = folder / "bin" / "python"
        versions = _versions(python)
        ready.write_text(json.dumps(versions), encoding="utf-8")
    versions = json.loads(ready.read_text(encoding="utf-8"))
    return EngineEnv(name=name, python=str(folder / "bin" / "python"),
                     pytest_version=versions["pytest"],
                     plugins=frozenset(key for key in versions if key != "pytest"))


def _make(folder: Path, requirements: tuple[str, ...]) -> None:
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", *requirements],
    ]
    for argv in steps:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                                  check=False, env={**os.environ, "PIP_NO_INPUT": "1"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProvisioningFailed(f"{' '.join(argv)}: {exc}") from exc
        if done.returncode != 0:
            lines = [line for line in (done.stderr + done.stdout).splitlines()
                     if line.strip() and "is ignored: it is neither" not in line]
            raise ProvisioningFailed(f"{' '.join(argv)} exited {done.returncode}: "
                                     + " | ".join(lines[-5:]))


_VERSIONS = """
import importlib.metadata as metadata, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def _versions(python: Path) -> dict[str, str]:
    names = ["pytest", *PLUGINS, "pytest-subtests"]
    done = subprocess.run([str(python), "-c", _VERSIONS, *names], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise ProvisioningFailed(f"{python}: cannot read versions: {done.stderr.strip()}")
    return json.loads(done.stdout)


def current() -> EngineEnv:
    """This interpreter, as the fallback when provisioning is switched off."""
    import importlib.metadata as metadata

    plugins = set()
    for name in (*PLUGINS, "pytest-subtests"):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        plugins.add(name)
    return EngineEnv(name="this", python=sys.executable,
                     pytest_version=metadata.version("pytest"), plugins=frozenset(plugins))


def opted_out() -> bool:
    return os.environ.get(OPT_OUT, "").lower() in ("off", "0", "no", "false")
