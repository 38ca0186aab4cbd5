"""Shipping claimcheck's plugin to pytest-xdist workers, wherever they run.

A worker may be on another machine (`--tx ssh=...`, `--tx socket=...`) where neither claimcheck
nor these files exist, and the workers of a `command` phase never see the `-p claimcheck_stream`
that came through PYTEST_ADDOPTS. So before xdist starts a worker, the sources of the plugin's
modules travel over the gateway and are served to `import` from memory (first on the import
path, so the worker runs the controller's copy), and PYTEST_PLUGINS names the plugin for the
worker's pytest. The worker puts PYTEST_PLUGINS back as it was once it is configured, so pytest
runs started by the tests stay clean. A local worker that imports the plugin by itself (a
`pytest` phase's `-n`: this folder on its PYTHONPATH, `-p claimcheck_stream` on its command
line) is left to do so (`loads_plugin_itself`).

Standard library only, like the plugin itself.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

# The plugin and every sibling it imports (claimcheck_select is loaded by its own -p).
SHIPPED_MODULES = ("claimcheck_protocol", "claimcheck_append", "claimcheck_exit",
                   "claimcheck_fold", "claimcheck_owner", "claimcheck_ship", "claimcheck_trees",
                   "claimcheck_writer", "claimcheck_stream")
PLUGIN_NAME = "claimcheck_stream"
ENV_PLUGINS_BEFORE = "CLAIMCHECK_PYTEST_PLUGINS_BEFORE"
SHIP_TIMEOUT_S = 30.0

_WORKER_BOOTSTRAP = """
import importlib.abc, importlib.util, os, sys
modules, plugin, before_key = channel.receive()

class ClaimcheckSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in modules:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=modules[fullname][1])
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        source, filename = modules[module.__name__]
        exec(compile(source, filename, "exec"), module.__dict__)

sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ClaimcheckSource"]
sys.meta_path.insert(0, ClaimcheckSource())
for name in modules:
    sys.modules.pop(name, None)
plugins = os.environ.get("PYTEST_PLUGINS", "")
if plugin not in [part.strip() for part in plugins.split(",")]:
    os.environ[before_key] = plugins
    os.environ["PYTEST_PLUGINS"] = ",".join(part for part in (plugins, plugin) if part)
channel.send(True)
"""


def plugin_sources(folder: str | None = None) -> dict[str, tuple[str, str]]:
    """module name -> (source, file name) of every shipped module."""
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    sources: dict[str, tuple[str, str]] = {}
    for name in SHIPPED_MODULES:
        path = os.path.join(folder, name + ".py")
        with open(path, encoding="utf-8") as handle:
            sources[name] = (handle.read(), path)
    return sources


def loads_plugin_itself(spec: Any, args: list[str], environ: Mapping[str, str]) -> bool:
    """Whether a worker started from this gateway spec imports the plugin on its own: a local
    worker (`popen`, no `via`) inherits this process's environment, with this folder on its
    PYTHONPATH, and xdist hands it the controller's command line, with `-p claimcheck_stream`
    in it. Shipping to it anyway cost some 10 ms per gateway in the controller, before its
    worker could start, and the compiling of the sources in every worker."""
    if not getattr(spec, "popen", False) or getattr(spec, "via", None):
        return False
    if "PYTHONPATH" in (getattr(spec, "env", None) or {}):
        return False  # `--tx popen//env:PYTHONPATH=...`: the worker's import path is its own
    folder = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    paths = environ.get("PYTHONPATH", "").split(os.pathsep)
    if folder not in (os.path.realpath(path) for path in paths if path):
        return False
    return any(arg == "-p" and following == PLUGIN_NAME or arg == "-p" + PLUGIN_NAME
               for arg, following in zip(args, [*args[1:], ""]))


def ship_to_worker(gateway: Any) -> None:
    """Send the plugin's sources to the gateway's process before xdist starts the worker."""
    try:
        channel = gateway.remote_exec(_WORKER_BOOTSTRAP)
        channel.send((plugin_sources(), PLUGIN_NAME, ENV_PLUGINS_BEFORE))
        channel.receive(SHIP_TIMEOUT_S)
        channel.waitclose(SHIP_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - never break the run; the worker then goes without it
        pass


def restore_pytest_plugins() -> None:
    """In a worker: PYTEST_PLUGINS as it was before the plugin was named in it."""
    if ENV_PLUGINS_BEFORE not in os.environ:
        return
    before = os.environ.pop(ENV_PLUGINS_BEFORE)
    if before:
        os.environ["PYTEST_PLUGINS"] = before
    else:
        os.environ.pop("PYTEST_PLUGINS", None)
