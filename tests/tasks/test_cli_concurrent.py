"""The same TrainLOSO started twice in one work dir: the second waits for what the first is writing and
reuses it; neither fails (installed ``luigi``)."""

from __future__ import annotations

import json
import subprocess
import time

from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import BIN

# enough epochs that the first run is still training when the second has started (~5 s of imports)
ARGS = ["--epochs", "30", "--input-size", "64", "--max-frames", "4", "--batch-size", "4", "--workers", "1"]


def _start(cache, work, log, cwd) -> subprocess.Popen:
    command = [str(BIN / "luigi"), "--module", "tasks", "TrainLOSO", "--hdf5", str(cache), "--workdir",
               str(work), *ARGS, "--local-scheduler"]  # fmt: skip
    return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)


def test_a_second_run_in_one_work_dir_waits_and_both_finish(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=3, per_subject=4, size=64)
    work = tmp_path / "work"
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with open(logs[0], "w") as first_log, open(logs[1], "w") as second_log:
        first = _start(cache, work, first_log, tmp_path)
        deadline = time.monotonic() + 120
        while not list(work.glob("runs/*/fold-*/status.json")):  # the first is training a fold
            assert first.poll() is None and time.monotonic() < deadline, logs[0].read_text()
            time.sleep(0.2)
        second = _start(cache, work, second_log, tmp_path)
        codes = [first.wait(timeout=600), second.wait(timeout=600)]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts
    assert "LockedError" not in texts[0] + texts[1]
    # whichever reaches a fold (or the aggregate) the other is writing waits for it, then reuses it
    waited = [
        t for t in texts if "is being written by another process" in t and "waiting for it to finish" in t
    ]
    assert waited, texts
    (run_dir,) = (work / "runs").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_subjects"] == 3 and len(list(run_dir.glob("fold-*/fold.json"))) == 3
