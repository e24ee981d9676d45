"""Names are identities: a cache or run comes from the data and settings it names, and only from them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from luigi.task_register import Register

from model.config import TrainConfig
from model.loso import run_loso
from pipeline.store import CacheWriter, open_cache
from tasks import BuildDatasetCache, TrainLOSO
from tests.model.conftest import blob_clip, write_blob_cache
from tests.pipeline.dataset_trees import CASME2_ROWS, build_casme2
from tests.tasks.test_tasks import run_luigi

BIN = Path(sys.executable).parent
FAST_BUILD = {"face_mode": "none", "face_size": 32, "alpha": 0.0, "processes": 1}
TINY_TRAIN = {"epochs": 1, "input_size": 64, "max_frames": 4, "batch_size": 4}


def built_ids(task: BuildDatasetCache) -> list[str]:
    result = run_luigi(task)
    assert result.scheduling_succeeded, result.summary_text
    return sorted(c.sample_id for c in open_cache(task.output().path).clips)


def test_another_root_in_the_same_workdir_is_another_cache(tmp_path):
    build_casme2(tmp_path / "A")
    build_casme2(tmp_path / "B", CASME2_ROWS[:3])
    work = str(tmp_path / "work")
    a = BuildDatasetCache(workdir=work, dataset="casme2", root=str(tmp_path / "A"), **FAST_BUILD)
    b = BuildDatasetCache(workdir=work, dataset="casme2", root=str(tmp_path / "B"), **FAST_BUILD)
    assert a.output().path != b.output().path
    assert built_ids(a) == [
        "sub01/EP02_01f",
        "sub01/EP03_02",
        "sub02/EP09_01",
        "sub02/EP11_01f",
        "sub03/EP01_02",
        "sub03/EP13_04",  # fear: every clip is kept with its emotion
    ]
    assert built_ids(b) == ["sub01/EP02_01f", "sub01/EP03_02", "sub02/EP09_01"]
    assert open_cache(a.output().path).data_fingerprint == a.fingerprint


def test_a_mended_frame_gives_a_rebuilt_cache(tmp_path):
    clips = build_casme2(tmp_path / "A")
    frame = clips["sub02/EP09_01"][1]
    good = frame.read_bytes()
    frame.write_bytes(b"not a jpeg")
    work = str(tmp_path / "work")
    broken = BuildDatasetCache(workdir=work, dataset="casme2", root=str(tmp_path / "A"), **FAST_BUILD)
    assert "sub02/EP09_01" not in built_ids(broken)
    frame.write_bytes(good)
    Register.clear_instance_cache()  # a new command: Luigi would otherwise hand back the task built above
    mended = BuildDatasetCache(workdir=work, dataset="casme2", root=str(tmp_path / "A"), **FAST_BUILD)
    assert mended.output().path != broken.output().path and not mended.complete()
    assert "sub02/EP09_01" in built_ids(mended)


def test_another_cache_of_the_same_file_name_is_another_run(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    write_blob_cache(tmp_path / "x" / "blobs.h5", subjects=2, per_subject=4, size=64, seed=0)
    write_blob_cache(tmp_path / "y" / "blobs.h5", subjects=2, per_subject=3, size=64, seed=1)
    work = str(tmp_path / "work")
    first = TrainLOSO(workdir=work, hdf5=str(tmp_path / "x" / "blobs.h5"), **TINY_TRAIN)
    second = TrainLOSO(workdir=work, hdf5=str(tmp_path / "y" / "blobs.h5"), **TINY_TRAIN)
    assert first.run_dir() != second.run_dir()
    assert run_luigi(first).scheduling_succeeded
    assert not second.complete()
    assert run_luigi(second).scheduling_succeeded
    assert json.loads(Path(second.output().path).read_text())["n_samples"] == 6
    assert json.loads(Path(first.output().path).read_text())["n_samples"] == 8


def test_speed_settings_do_not_change_the_run(tmp_path):
    write_blob_cache(tmp_path / "blobs.h5", subjects=2, per_subject=2, size=64)
    one = TrainLOSO(workdir=str(tmp_path), hdf5=str(tmp_path / "blobs.h5"), threads=1, **TINY_TRAIN)
    two = TrainLOSO(
        workdir=str(tmp_path), hdf5=str(tmp_path / "blobs.h5"), threads=2, num_workers=1, **TINY_TRAIN
    )
    other = TrainLOSO(workdir=str(tmp_path), hdf5=str(tmp_path / "blobs.h5"), **{**TINY_TRAIN, "seed": 5})
    assert one.run_dir() == two.run_dir() != other.run_dir()


def test_subjects_that_differ_only_in_unsafe_characters_get_their_own_folds(tmp_path):
    path = tmp_path / "odd.h5"
    rng = np.random.default_rng(0)
    with CacheWriter(path, dataset="odd", params={}, classes=["top", "bottom"]) as w:
        for subject in ("s 1", "s_1", "s/1"):
            for i in range(2):
                w.add_clip(f"{subject}/c{i}", blob_clip(i, 4, 64, rng), subject=subject, label=i,
                           label_name=["top", "bottom"][i], onset=0, apex=2, offset=3, fps=30.0,
                           source=f"c{i}")  # fmt: skip
    cfg = TrainConfig.from_flat(dict(**TINY_TRAIN))
    metrics = run_loso(path, cfg, tmp_path / "run")
    assert metrics.n_subjects == 3 and metrics.n_samples == 6
    assert sorted(p.name for p in (tmp_path / "run").glob("fold-*")) == [
        "fold-s%201",
        "fold-s%2F1",
        "fold-s_1",
    ]


@pytest.mark.slow
def test_workers_do_not_change_the_predictions(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=3, per_subject=4, size=64)
    outputs = []
    for workers in (1, 2):
        work = tmp_path / f"work{workers}"
        args = [str(BIN / "luigi"), "--module", "tasks", "TrainLOSO", "--hdf5", str(cache), "--workdir", str(work),
                "--workers", str(workers), "--epochs", "2", "--input-size", "64", "--max-frames", "4",
                "--batch-size", "4", "--local-scheduler"]  # fmt: skip
        result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        (run_dir,) = (work / "runs").iterdir()
        outputs.append(run_dir)
    assert outputs[0].name == outputs[1].name
    assert (outputs[0] / "predictions.csv").read_bytes() == (outputs[1] / "predictions.csv").read_bytes()
    for fold in sorted(p.name for p in outputs[0].glob("fold-*")):
        a, b = (json.loads((o / fold / "predictions.json").read_text()) for o in outputs)
        assert a == b, fold


def test_the_cache_name_does_not_move_with_the_synthetic_generator_unchanged(tmp_path):
    """A generated dataset is named by its generator settings; the cache built on it follows them."""
    work = str(tmp_path)
    a = BuildDatasetCache(workdir=work, dataset="synthetic", synthetic_subjects=2)
    b = BuildDatasetCache(workdir=work, dataset="synthetic", synthetic_subjects=2)
    c = BuildDatasetCache(workdir=work, dataset="synthetic", synthetic_subjects=3)
    assert a.output().path == b.output().path != c.output().path
