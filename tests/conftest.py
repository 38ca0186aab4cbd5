"""Shared test helpers. Area-specific fixtures live beside the tests that use them."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

# Plugins this machine autoloads that no fixture project uses: blocking them cuts pytest's
# start-up from seconds to under one (hypothesis alone imports for ~1.5 s). pytest-xdist and
# pytest-json-report stay autoloaded, as in a real project; `-p no:` for an absent plugin is
# harmless (the engine environments have none of them).
UNUSED_PLUGINS = ("-p no:hypothesispytest -p no:textual-snapshot -p no:syrupy -p no:benchmark "
                  "-p no:anyio -p no:asyncio")


def pytest_configure(config: pytest.Config) -> None:
    """The claimcheck processes tests start remember their first phase's command
    (`collectors/remembered_start.py`) under $XDG_CACHE_HOME: a folder of this run's own, never
    the user's cache. Each xdist worker gets its own."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="cc-tests-cache-")
    config.stash[_CACHE_KEY] = folder
    os.environ["XDG_CACHE_HOME"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    folder = config.stash.get(_CACHE_KEY, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


_CACHE_KEY = pytest.StashKey[str]()


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything an outer pytest or claimcheck set, plus
    `extra`: what a fixture project's pytest or claimcheck should start with."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "CLAIMCHECK_"))}
    return {**env, **extra}


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write a small fixture project: {relative path: source (dedented)}."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path):
    """Return a function that writes a fixture project into tmp_path/proj and returns its root."""

    def make(files: dict[str, str], name: str = "proj") -> Path:
        return write_project(tmp_path / name, files)

    return make


@pytest.fixture
async def no_stragglers_left():
    """A pytest phase returns while its pytest still tears down: reap it before the next test
    (modules that run phases use it with `pytest.mark.usefixtures`)."""
    from claimcheck.collectors.pytest_run import wait_for_stragglers

    yield
    await wait_for_stragglers()


async def workers_done(app: Any) -> None:
    """Wait for every worker of a Textual app; one a newer judgement superseded (cancelled)
    counts as done, where `app.workers.wait_for_complete()` would raise."""
    await asyncio.gather(*(worker.wait() for worker in list(app.workers)),
                         return_exceptions=True)


@pytest.fixture(scope="session", params=["pytest-here", "pytest-latest"])
def phase_python(request: pytest.FixtureRequest) -> str:
    """A phase interpreter: each test that takes it runs once under this venv's pytest and
    once under the newest pytest (tests/realrun.py)."""
    from tests.realrun import phase_python_for

    return phase_python_for(request.param)


@pytest.fixture
def scenario():
    """The command center's shared scenario and stand-in engine (tests/tui_scenario.py).

    Imported here, when a test asks for it, so tests that never draw never load Textual.
    """
    import tui_scenario

    return tui_scenario


# ----------------------------------------------------------------------------------------
# Engine environments (tests/engine_envs.py): the pytest versions the engine is proven under


ENGINE_ENVS = ("newest", "floor", "this")  # "this": only with CLAIMCHECK_ENGINE_ENVS=off


def engine_env_or_skip(engine_envs: dict[str, Any], env_name: str, mode: str = "serial") -> Any:
    """The engine environment named, for a test parametrized over `ENGINE_ENVS` and serial or
    "xdist"; a skip that says why where it is not there or has no pytest-xdist."""
    env = engine_envs.get(env_name)
    if env is None:
        pytest.skip("runs only with CLAIMCHECK_ENGINE_ENVS=off" if env_name == "this"
                    else f"engine environment {env_name!r} switched off "
                         "(CLAIMCHECK_ENGINE_ENVS=off)")
    if mode == "xdist" and not env.has("pytest-xdist"):
        pytest.skip(f"{env_name!r} has no pytest-xdist")
    return env


@pytest.fixture(scope="session")
def engine_envs() -> dict[str, Any]:
    """name -> EngineEnv, made once per machine (file-locked, cached in .engine-envs/).

    Provisioning that fails makes every engine test fail with pip's words; offline, set
    CLAIMCHECK_ENGINE_ENVS=off to run them under this interpreter's pytest only.
    """
    import engine_envs as envs

    if envs.opted_out():
        return {"this": envs.current()}
    try:
        provisioned = envs.provision()
    except envs.ProvisioningFailed as error:
        pytest.fail(f"cannot provision the engine environments in {envs.CACHE}: {error}. "
                    f"Offline? Set {envs.OPT_OUT}=off to run the engine tests under this "
                    "interpreter's pytest only.", pytrace=False)
    return {env.name: env for env in provisioned}
