"""Start-up cost of a command: ``import tasks`` alone, and a ``luigi --module tasks`` command that fails
on its first option check (what every command pays before any work). Prints a Markdown table
(medians over ``--repeats``; each a fresh process, so the page cache is warm after the first).

    python benchmarks/startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LUIGI = Path(sys.executable).with_name("luigi")
COMMANDS = {
    "python -c 'import tasks'": [sys.executable, "-c", "import tasks"],
    "luigi --module tasks TrainLOSO --epochs 0 (exit 40)": [
        str(LUIGI), "--module", "tasks", "TrainLOSO", "--local-scheduler", "--epochs", "0",
    ],
}  # fmt: skip


def seconds(command: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| command | seconds (median) |\n|---|---|")
    with tempfile.TemporaryDirectory() as cwd:  # no luigi.cfg, no work dir
        for name, command in COMMANDS.items():
            times = [seconds(command, cwd) for _ in range(args.repeats)]
            print(f"| {name} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
