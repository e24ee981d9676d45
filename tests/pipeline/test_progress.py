"""Console progress: a bar on a terminal, plain lines otherwise, nothing when quiet; the report callback;
the lock probe that tells a live fold from a killed one."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

from pipeline.lock import exclusive, is_held
from pipeline.progress import Progress, duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_duration_reads_as_people_write_it():
    assert [duration(s) for s in (None, 4.4, 65, 3 * 3600 + 7 * 60, 2 * 86400 + 5 * 3600)] == [
        "?", "4s", "1m05s", "3h07m", "2d05h",
    ]  # fmt: skip


def test_plain_lines_when_not_a_terminal_and_a_report_per_percent():
    stream, reports = io.StringIO(), []
    with Progress(
        "toy clips", 25, unit="clip", stream=stream, report=lambda p, m: reports.append((p, m))
    ) as bar:
        for i in range(25):
            bar.update(1, note=f"{i % 2} failed")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 10  # a line per tenth, not per clip
    assert lines[-1] == "toy clips: 25/25 clips (100%), 0 failed"
    assert lines[0].startswith("toy clips: 3/25 clips (12%), 0 failed, ~") and lines[0].endswith(" left")
    assert [p for p, _ in reports] == [int(100 * k / 25) for k in range(1, 26)]
    assert reports[-1][1] == lines[-1]


def test_a_bar_on_a_terminal_and_nothing_when_quiet():
    terminal = Terminal()
    with Progress("toy clips", 4, unit="clip", stream=terminal) as bar:
        for _ in range(4):
            bar.update(1, note="0 failed")
    drawn = terminal.getvalue()
    assert "\r" in drawn and "toy clips" in drawn and "4/4" in drawn and "0 failed" in drawn
    assert "(100%)" not in drawn  # tqdm's bar, not the plain lines
    quiet = Terminal()
    with Progress("toy clips", 4, stream=quiet, quiet=True) as bar:
        bar.update(4)
    assert quiet.getvalue() == ""


def test_a_resumed_job_counts_what_was_done_before():
    stream = io.StringIO()
    with Progress("flow toy", 3, initial=1, unit="shard", stream=stream, lines=None) as bar:
        bar.update(1)
        assert bar.left() is not None and bar.percent() == 66
        bar.update(1)
    assert stream.getvalue().splitlines()[-1] == "flow toy: 3/3 shards (100%)"


def test_a_lock_is_held_while_its_holder_lives(tmp_path):
    target = tmp_path / "status.json"
    assert not is_held(target)
    with exclusive(target, "status"):
        assert is_held(target)
    assert not is_held(target)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pipeline.lock import exclusive\n"
         f"with exclusive({str(target)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    assert is_held(target)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert not is_held(target)  # killed: the kernel released it
