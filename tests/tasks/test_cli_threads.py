"""``--threads`` is not part of a run's name (it changes speed, and scores in their last digits): each run
records the thread count every fold trained with (installed ``luigi``)."""

from __future__ import annotations

import json

from pipeline.identity import SPEED_ONLY
from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import TINY_TRAIN, luigi, output


def test_each_fold_s_thread_count_is_recorded_in_metrics(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    work = tmp_path / "work"
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), *TINY_TRAIN, "--threads", "2",
                   "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (path,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(path.read_text())
    assert "threads" in SPEED_ONLY and metrics["fold_threads"] == {"sub00": 2, "sub01": 2}
    assert metrics["config"]["threads"] == 2
