"""Luigi wiring: parameter validation, reruns, a failing fold, and folds shared by two workers via luigid."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import luigi
import pytest

from tasks import BuildDatasetCache, TrainLOSO
from tasks.config import FaceMixin, PreprocessMixin, SyntheticMixin, TrainMixin, WorkdirMixin
from tests.model.conftest import write_blob_cache

REPO = Path(__file__).resolve().parents[2]
TINY_TRAIN = {"epochs": 1, "input_size": 64, "max_frames": 4, "batch_size": 4}


@pytest.fixture
def blob_cache(tmp_path: Path) -> Path:
    path = tmp_path / "blobs-0.h5"
    write_blob_cache(path, subjects=3, per_subject=4, size=64)
    return path


def run_luigi(*tasks: luigi.Task) -> luigi.execution_summary.LuigiRunResult:
    # one worker in-process: forking a process that already ran torch (as pytest's has) can deadlock
    return luigi.build(
        list(tasks), local_scheduler=True, detailed_summary=True, log_level="WARNING", workers=1
    )


def test_parameter_names_are_unique_across_groups():
    names = []
    for group in (WorkdirMixin, FaceMixin, PreprocessMixin, SyntheticMixin, TrainMixin):
        names += [n for n in vars(group) if isinstance(vars(group)[n], luigi.Parameter)]
    assert len(names) == len(set(names))
    assert {"workdir", "epochs", "protocol", "variant", "device", "seed", "batch_size", "input_size"} <= set(
        names
    )
    assert {"alpha", "face_size", "face_detector", "frames", "synthetic_subjects"} <= set(names)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "casme9"}, r"--dataset 'casme9' is unknown"),
        ({"dataset": "casme2"}, r"--root is needed for dataset 'casme2'"),
        ({"dataset": "casme2", "root": "/no/such/folder"}, r"--root '/no/such/folder'.*not a folder"),
        ({"alpha": -1.0}, r"alpha"),
        ({"synthetic_drift": -1.0}, r"drift"),
        ({"face_size": 4}, r"size"),
        ({"processes": 0}, r"--processes must be >= 1"),
    ],
)
def test_build_task_rejects_bad_parameters_at_start(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BuildDatasetCache(workdir=str(tmp_path), **kwargs).complete()


def test_train_task_rejects_bad_parameters_at_start(tmp_path, blob_cache):
    with pytest.raises(ValueError, match=r"epochs"):
        TrainLOSO(workdir=str(tmp_path), hdf5=str(blob_cache), epochs=0)
    with pytest.raises(ValueError, match=r"--grouping 'nope-3class': dataset 'blobs' has no spec"):
        TrainLOSO(workdir=str(tmp_path), hdf5=str(blob_cache), grouping="nope-3class")
    with pytest.raises(ValueError, match=r"protocol"):
        TrainLOSO(workdir=str(tmp_path), hdf5=str(blob_cache), protocol="best-on-test")
    with pytest.raises(ValueError, match=r"no such file"):
        TrainLOSO(workdir=str(tmp_path), hdf5=str(tmp_path / "missing.h5"))


def test_failed_fold_is_reported_and_rerun_alone(tmp_path, blob_cache):
    work = str(tmp_path / "work")
    loso = TrainLOSO(workdir=work, hdf5=str(blob_cache), **TINY_TRAIN)
    folds = loso.requires()
    assert [f.subject for f in folds] == ["sub00", "sub01", "sub02"]
    broken = Path(folds[1].output().path).parent
    broken.mkdir(parents=True)
    (broken / "checkpoint.pt").write_bytes(b"not a checkpoint")

    result = run_luigi(loso)
    assert not result.scheduling_succeeded
    assert "failed" in result.summary_text and "TrainFold" in result.summary_text
    assert [task for task in folds if not task.complete()] == [folds[1]]
    assert not loso.complete()
    done_mtimes = {f.subject: os.stat(f.output().path).st_mtime_ns for f in (folds[0], folds[2])}

    (broken / "checkpoint.pt").unlink()
    result = run_luigi(loso)
    assert result.scheduling_succeeded
    assert loso.complete()
    # the two finished folds were reused, not retrained
    assert {f.subject: os.stat(f.output().path).st_mtime_ns for f in (folds[0], folds[2])} == done_mtimes
    metrics = json.loads(Path(loso.output().path).read_text())
    assert metrics["n_subjects"] == 3 and metrics["n_samples"] == 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"luigid did not listen on 127.0.0.1:{port}")


@pytest.mark.slow
def test_two_workers_share_folds_through_luigid(tmp_path, blob_cache):
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(REPO), "LUIGI_CONFIG_PATH": str(REPO / "luigi.cfg")}
    (tmp_path / "luigid-logs").mkdir()
    daemon = subprocess.Popen(
        [str(bin_dir / "luigid"), "--address", "127.0.0.1", "--port", str(port),
         "--state-path", str(tmp_path / "state.pickle"), "--logdir", str(tmp_path / "luigid-logs")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port)
        work = tmp_path / "work"
        args = [
            str(bin_dir / "luigi"),
            "--module",
            "tasks",
            "TrainLOSO",
            "--hdf5",
            str(blob_cache),
            "--workdir",
            str(work),
            "--scheduler-host",
            "127.0.0.1",
            "--scheduler-port",
            str(port),
        ]
        args += [f"--{k.replace('_', '-')}={v}" for k, v in TINY_TRAIN.items()]  # fmt: skip
        workers = [
            subprocess.Popen(
                args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        logs = [w.communicate(timeout=300)[0] for w in workers]
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    # folds run by the other worker are sharing, not failure: both exit 0
    assert [w.returncode for w in workers] == [0, 0], logs
    ran = [re.findall(r"done\s+TrainFold\(.*?subject=(\w+)", log) for log in logs]
    all_runs = ran[0] + ran[1]
    assert sorted(all_runs) == ["sub00", "sub01", "sub02"], ran  # every fold exactly once
    run_dirs = list((work / "runs").iterdir())
    assert len(run_dirs) == 1
    metrics = json.loads((run_dirs[0] / "metrics.json").read_text())
    assert metrics["n_subjects"] == 3 and metrics["n_samples"] == 12
    assert daemon.returncode is not None  # luigid stopped
