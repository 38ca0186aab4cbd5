"""The team's test runner, as it was during the incident.

It runs pytest once per folder and once more for the smoke subset, prints a green banner and
exits 0: it never looks at pytest's exit status, and "0 tests ran" counts as success too.
"""

import subprocess
import sys


def main(paths: list[str]) -> int:
    for path in paths or ["tests"]:
        print(f"==> running {path}", flush=True)
        subprocess.run([sys.executable, "-m", "pytest", path, "-q"])
        print(f"==> running {path} (smoke subset)", flush=True)
        subprocess.run([sys.executable, "-m", "pytest", path, "-q", "-m", "smoke"])
    print("All staging checks passed. Safe to deploy.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
