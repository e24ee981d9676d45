"""Plug-ins from outside the toolkit, each one file in tests/plugins/ ending in its registry line, loaded
with ``luigi --module`` and run through the installed ``luigi``: a model and a protocol (TrainLOSO), a
face backend and a magnifier (BuildDatasetCache)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import h5py
import numpy as np

from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import BIN, output, run

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def luigi_with_toys(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed luigi with the toy plug-ins on PYTHONPATH, loaded by ``--module toys``."""
    return run(
        [str(BIN / "luigi"), "--module", "toys", *args, "--local-scheduler"],
        cwd,
        {"PYTHONPATH": str(PLUGINS)},
    )


def test_a_plugin_model_and_protocol_train_with_their_own_options(tmp_path):
    cache, work = tmp_path / "blobs.h5", tmp_path / "work"
    write_blob_cache(cache, subjects=2, per_subject=4, size=64)
    result = luigi_with_toys("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--model", "toy",
                             "--toy-hidden", "3", "--protocol", "pick", "--pick-epoch", "2", "--epochs", "3",
                             "--input-size", "16", "--batch-size", "4", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (metrics_path,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(metrics_path.read_text())
    config = metrics["config"]
    assert (config["model"], config["model_options"], config["input_options"]["max_frames"]) == (
        "toy",
        {"toy_hidden": 3},
        8,
    )
    assert (config["protocol"], config["protocol_options"]) == ("pick", {"pick_epoch": 2})
    assert set(metrics["fold_epochs"].values()) == {2}  # the protocol's choice, not the last epoch
    fold = json.loads(next(metrics_path.parent.glob("fold-*/fold.json")).read_text())
    assert len(fold["history"]) == 3 and fold["epoch"] == 2
    report = (metrics_path.parent / "report.md").read_text()
    assert "a fixed epoch of every fold (a toy)" in report and "toy_hidden 3" in report
    # without the plug-in the option does not exist
    plain = run([str(BIN / "luigi"), "--module", "tasks", "TrainLOSO", "--hdf5", str(cache), "--toy-hidden", "3",
                 "--local-scheduler"], tmp_path)  # fmt: skip
    assert plain.returncode != 0 and "--toy-hidden" in output(plain)


def test_a_plugin_face_backend_and_magnifier_build_a_cache(tmp_path):
    work = tmp_path / "work"
    result = luigi_with_toys("BuildDatasetCache", "--dataset", "synthetic", "--workdir", str(work),
                             "--synthetic-subjects", "2", "--synthetic-clips-per-class", "1", "--face-size", "48",
                             "--face-backend", "centre", "--face-centre-share", "0.5", "--face-qc-face-frames", "0",
                             "--magnifier", "brighten", "--brighten-by", "7", "--keep-raw", "true",
                             cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (cache,) = (work / "cache").glob("synthetic-*.h5")
    with h5py.File(cache, "r") as f:
        params = json.loads(f.attrs["params"])
        clips = [f["clips"][name] for name in f["clips"]]
        assert len(clips) == 10
        for clip in clips:
            raw = clip["raw"][()].astype(int)
            assert np.array_equal(clip["frames"][()], np.clip(raw + 7, 0, 255))  # the magnifier ran
    assert (params["faces"]["backend"], params["faces"]["backend_options"]) == (
        "centre",
        {"centre_share": 0.5},
    )
    assert (params["magnifier"], params["magnify"]) == ("brighten", {"brighten_by": 7.0})
