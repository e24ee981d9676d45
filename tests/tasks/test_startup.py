"""A command's start imports only what every command needs: the heavy libraries that only some steps
use (plotting, tables, metrics, filter design) are imported where they are used (the tests of those
steps fail if an import is missing there)."""

import subprocess
import sys

DEFERRED = ("sklearn", "matplotlib", "pandas", "scipy.signal", "scipy.stats")


def test_importing_the_tasks_leaves_the_heavy_libraries_unloaded():
    probe = f"import sys, tasks; print([m for m in {DEFERRED!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
