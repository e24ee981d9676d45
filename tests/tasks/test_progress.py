"""Watching a run through the installed ``luigi``: a line per epoch on the console, the run's status file
after a finished, a killed and a failed fold, and the progress a ``luigid`` scheduler shows."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from model.train import load_checkpoint
from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import BIN, FAILED, luigi, output, run
from tests.tasks.test_tasks import _free_port, _wait_for_port

TINY = ["--input-size", "64", "--width", "4", "--max-frames", "4", "--batch-size", "4"]
DURATION = r"\?|\d+s|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh"
EPOCH_LINE = re.compile(
    r"blobs/default fold (\d)/(\d) (sub\d\d) epoch (\d+)/(\d+): ce \d+\.\d{3} sep \d+\.\d{3} cnt \d+\.\d{3} "
    rf"lr [\d.e-]+, [\d.e-]+ s/epoch, left ({DURATION}), run ~({DURATION})$",
    re.M,
)


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("LUIGI_CONFIG_PATH", "PYTHONPATH")}


def blobs(tmp_path: Path, subjects: int) -> Path:
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=subjects, per_subject=4, size=64)
    return cache


def test_train_loso_shows_a_line_per_epoch_naming_fold_epoch_and_estimate(tmp_path):
    cache, work = blobs(tmp_path, 2), tmp_path / "work"
    args = ["--hdf5", str(cache), "--workdir", str(work), "--epochs", "2", *TINY]
    result = luigi("TrainLOSO", *args, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    seen = EPOCH_LINE.findall(result.stderr)
    assert sorted(line[:5] for line in seen) == [
        ("1", "2", "sub00", "1", "2"), ("1", "2", "sub00", "2", "2"),
        ("2", "2", "sub01", "1", "2"), ("2", "2", "sub01", "2", "2"),
    ], output(result)  # fmt: skip
    assert not re.search(r"\r|it/s", result.stderr)  # not a terminal: plain lines, no bars
    # the same lines in the folds' task logs
    logged = "".join(p.read_text() for p in (work / "logs").glob("TrainFold*.log"))
    assert all(
        f"model.progress: blobs/default fold {k}/2 {s} epoch {e}/2: " in logged for k, _, s, e, *_ in seen
    )
    (status,) = (work / "runs").glob("*/status.json")
    view = json.loads(status.read_text())
    assert (view["state"], view["aggregated"], view["counts"]["done"], view["eta_seconds"]) == (
        "done",
        True,
        2,
        0,
    )

    # --progress-quiet (another run: --seed 1): nothing on the console, every epoch in the task log
    before = set((work / "logs").glob("TrainFold*.log"))
    quiet = luigi("TrainFold", "--subject", "sub00", *args, "--seed", "1", "--progress-quiet", cwd=tmp_path)
    assert quiet.returncode == 0, output(quiet)
    assert "epoch 1/2" not in output(quiet)
    (log,) = set((work / "logs").glob("TrainFold*.log")) - before
    assert "fold 1/2 sub00 epoch 1/2: " in log.read_text() and "fold 1/2 sub00 epoch 2/2: " in log.read_text()


def _status(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "status.json").read_text())
    except FileNotFoundError:
        return None


def _kill_after_an_epoch(command: list[str], cwd: Path, work: Path, subject: str) -> Path:
    """Start ``command``, SIGKILL it with all its processes once ``subject`` has finished an epoch;
    returns the run folder."""
    proc = subprocess.Popen(command, cwd=cwd, env=clean_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            views = [(p.parent, _status(p.parent)) for p in (work / "runs").glob("*/status.json")]
            ready = [d for d, v in views if v and (v["folds"][subject].get("epoch") or 0) >= 1]
            if ready:
                return ready[0]
            time.sleep(0.05)
        raise AssertionError(f"{subject} finished no epoch before the deadline (exit {proc.poll()})")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def test_status_file_after_a_killed_a_failed_and_a_finished_fold(tmp_path):
    cache, work = blobs(tmp_path, 3), tmp_path / "work"
    args = ["--hdf5", str(cache), "--workdir", str(work), "--epochs", "8", *TINY]
    command = [str(BIN / "luigi"), "--module", "tasks", "TrainFold", "--subject", "sub00", *args]
    command.append("--local-scheduler")

    # killed: the file stays as the fold last wrote it; a live reading sees that nobody holds its lock
    run_dir = _kill_after_an_epoch(command, tmp_path, work, "sub00")
    left = _status(run_dir)["folds"]["sub00"]
    assert left["state"] == "running" and 1 <= left["epoch"] < 8 and left["pid"] > 0
    killed_at = left["epoch"]
    resume_from = load_checkpoint(run_dir / "fold-sub00" / "checkpoint.pt")["epoch"]
    live = run([sys.executable, "-m", "model.status", str(run_dir)], tmp_path)
    assert live.returncode == 0 and f"fold 1 sub00: killed, epoch {killed_at}/8" in live.stdout, output(live)

    # failed: the error is recorded; this fold's writes also mark the killed one
    (run_dir / "fold-sub01").mkdir()
    (run_dir / "fold-sub01" / "checkpoint.pt").write_bytes(b"")
    failed = luigi("TrainFold", "--subject", "sub01", *args, cwd=tmp_path)
    assert failed.returncode == FAILED, output(failed)
    view = _status(run_dir)
    sub01 = view["folds"]["sub01"]
    assert sub01["state"] == "failed" and sub01["error"].startswith("CheckpointError: ")
    assert "checkpoint file is empty" in sub01["error"]
    assert (view["folds"]["sub00"]["state"], view["folds"]["sub00"]["epoch"]) == ("killed", killed_at)
    assert view["counts"] == {"done": 0, "running": 0, "failed": 1, "killed": 1, "pending": 1}
    assert view["state"] == "stopped"

    # finished
    done = luigi("TrainFold", "--subject", "sub02", *args, cwd=tmp_path)
    assert done.returncode == 0, output(done)
    view = _status(run_dir)
    sub02 = view["folds"]["sub02"]
    assert (sub02["state"], sub02["epoch"], sub02["timed_epochs"]) == ("done", 8, 8)
    assert sub02["eta_seconds"] == 0
    assert view["counts"] == {"done": 1, "running": 0, "failed": 1, "killed": 1, "pending": 0}
    assert view["last_epoch"]["subject"] == "sub02" and view["state"] == "stopped"
    # what is left (the killed and the failed fold) at the mean pace of every epoch timed so far
    timed = [(f["seconds_per_epoch"], f["timed_epochs"]) for f in (view["folds"]["sub00"], sub02)]
    assert view["seconds_per_epoch"] == pytest.approx(sum(s * t for s, t in timed) / sum(t for _, t in timed))
    assert view["eta_seconds"] == pytest.approx(view["seconds_per_epoch"] * ((8 - killed_at) + 8))

    # the rerun trains what is missing: the killed fold resumes from its checkpoint
    (run_dir / "fold-sub01" / "checkpoint.pt").unlink()
    again = luigi("TrainLOSO", *args, cwd=tmp_path)
    assert again.returncode == 0, output(again)
    view = _status(run_dir)
    assert (view["state"], view["aggregated"], view["counts"]["done"]) == ("done", True, 3)
    assert view["eta_seconds"] == 0
    assert view["folds"]["sub00"]["resumed_from"] == resume_from and view["folds"]["sub01"]["error"] is None


def _tasks(port: int, status: str) -> list[dict]:
    query = urllib.parse.quote(json.dumps({"status": status}))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=10) as reply:
        return list(json.load(reply)["response"].values())


def test_progress_and_status_messages_reach_luigid(tmp_path):
    cache, work = blobs(tmp_path, 2), tmp_path / "work"
    port = _free_port()
    (tmp_path / "luigid").mkdir()
    daemon = subprocess.Popen(
        [str(BIN / "luigid"), "--address", "127.0.0.1", "--port", str(port),
         "--state-path", str(tmp_path / "state.pickle"), "--logdir", str(tmp_path / "luigid")],
        env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    scheduler = ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]
    seen: set[tuple] = set()
    try:
        _wait_for_port(port)
        train = [str(BIN / "luigi"), "--module", "tasks", "TrainLOSO", "--hdf5", str(cache), "--workdir", str(work),
                 "--epochs", "6", *TINY, *scheduler]  # fmt: skip
        worker = subprocess.Popen(train, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        while worker.poll() is None:  # what the scheduler's page shows while the folds run
            seen |= {
                (t["name"], t["progress_percentage"], t["status_message"]) for t in _tasks(port, "RUNNING")
            }
            time.sleep(0.1)
        assert worker.returncode == 0, worker.stdout.read()
        flow = run([str(BIN / "luigi"), "--module", "tasks", "ComputeFlow", "--hdf5", str(cache), "--workdir",
                    str(work), "--processes", "1", *scheduler], tmp_path)  # fmt: skip
        assert flow.returncode == 0, output(flow)
        finished = {(t["name"], t["params"].get("subject")): t for t in _tasks(port, "DONE")}
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)

    during = [(pct, EPOCH_LINE.match(msg or "")) for name, pct, msg in seen if name == "TrainFold"]
    epochs = [(pct, m.group(3), int(m.group(4))) for pct, m in during if m and m.group(5) == "6"]
    assert any(0 < pct < 100 for pct, _, _ in epochs), seen
    # percentage and message are two calls of Luigi's API: a reading may fall between them
    assert all(100 * e // 6 <= pct <= 100 * (e + 1) // 6 for pct, _, e in epochs), epochs
    for k, subject in enumerate(("sub00", "sub01"), 1):
        fold = finished[("TrainFold", subject)]
        assert fold["progress_percentage"] == 100
        assert re.fullmatch(
            rf"blobs/default fold {k}/2 {subject}: done, 6 epochs, [\d.e-]+ s/epoch", fold["status_message"]
        )
    loso = finished[("TrainLOSO", None)]
    assert loso["progress_percentage"] == 100 and re.fullmatch(
        rf"run: done in ({DURATION})", loso["status_message"]
    )
    flow_task = finished[("ComputeFlow", None)]
    assert (flow_task["progress_percentage"], flow_task["status_message"]) == (
        100,
        "flow blobs: 1/1 shards (100%)",
    )
