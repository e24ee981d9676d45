"""What a user types: every README command and option through the installed executables.

Each ``luigi`` call is a subprocess of the ``luigi`` executable beside this Python, run from a
folder without luigi.cfg (so the shipped configuration must be found) on tiny fixtures. Failures
must exit non-zero with a message naming the file or option, and leave nothing that looks complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from pipeline.identity import file_sha256
from pipeline.lock import exclusive
from pipeline.store import CacheWriter
from tests.model.conftest import write_blob_cache, write_motion_cache
from tests.pipeline.dataset_trees import CASME2_ROWS, build_casme2

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHIPPED_CFG = str(REPO / "luigi.cfg")
TINY_SYNTHETIC = [
    "--subjects",
    "2",
    "--clips-per-class",
    "1",
    "--clip-length",
    "14",
    "16",
    "--blink-frames",
    "6",
]
TINY_TRAIN = ["--epochs", "1", "--input-size", "64", "--max-frames", "4", "--batch-size", "4"]
#: a tiny CASME II tree builds in seconds: no face alignment, no magnification, 32 px, one process
FAST_BUILD = ["--face-mode", "none", "--face-size", "32", "--alpha", "0", "--processes", "1"]
FAILED = 30  # [retcode] task_failed
REFUSED = 40  # [retcode] unhandled_exception: the task could not be built (bad parameter)
CASME2_CLIPS = len(CASME2_ROWS)  # a cache keeps every clip with its emotion (fear too)


def run(
    args: list[str], cwd: Path, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("LUIGI_CONFIG_PATH", "PYTHONPATH")}
    return subprocess.run(
        args, cwd=cwd, env={**environment, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def luigi(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return run([str(BIN / "luigi"), "--module", "tasks", *args, "--local-scheduler"], cwd, env)


def flat_config(config: dict) -> dict:
    """A run's stored training configuration with the model's and input's options flattened into it."""
    return {**config, **(config["model_options"] or {}), **(config["input_options"] or {})}


def casme2_build(root: Path, work: Path, *extra: str) -> list[str]:
    """``BuildDatasetCache`` of the CASME II tree at ``root`` into ``work`` (`FAST_BUILD`), then ``extra``."""
    return ["BuildDatasetCache", "--dataset", "casme2", "--root", str(root), "--workdir", str(work), *FAST_BUILD,
            *extra]  # fmt: skip


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """``python -m pipeline.synthetic`` as the README shows it: 2 subjects x 5 classes."""
    folder = tmp_path_factory.mktemp("synthetic")
    out, montage = folder / "data", folder / "montage.png"
    result = run(
        [
            sys.executable,
            "-m",
            "pipeline.synthetic",
            "--out",
            str(out),
            "--seed",
            "3",
            "--montage",
            str(montage),
        ]
        + TINY_SYNTHETIC
        + ["--quiet"],
        folder,
    )
    assert result.returncode == 0, output(result)
    assert montage.is_file() and (out / "synthetic-truth.json").is_file()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["sub01", "sub02"]
    return out


@pytest.fixture
def casme2_root(tmp_path) -> Path:
    root = tmp_path / "CASME2"
    build_casme2(root)
    return root


def test_dataset_inspection_command(synthetic_root, tmp_path):
    result = run(
        [sys.executable, "-m", "pipeline.datasets", "--dataset", "synthetic", "--root", str(synthetic_root),
         "--out", str(tmp_path / "synthetic.csv")],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    lines = (tmp_path / "synthetic.csv").read_text().splitlines()
    assert len([line for line in lines if line and not line.startswith("#")]) == 1 + 10  # header + clips


def built_cache(work: Path) -> tuple[Path, dict]:
    """The one synthetic cache under ``work`` and its preprocessing parameters."""
    (cache,) = (work / "cache").glob("synthetic-*.h5")
    with h5py.File(cache, "r") as f:
        return cache, json.loads(f.attrs["params"])


def test_band_and_bound_can_be_switched_off(synthetic_root, tmp_path):
    """``none``/``off`` turn the shipped band-pass and phase bound off (the bare method)."""
    work = tmp_path / "work"
    result = luigi(
        "BuildDatasetCache", "--dataset", "synthetic", "--root", str(synthetic_root), "--workdir", str(work),
        "--face-size", "32", "--f-low", "none", "--f-high", "None", "--phase-bound", "off", "--processes", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    cache, params = built_cache(work)
    magnify = params["magnify"]
    assert (magnify["alpha"], magnify["f_low"], magnify["f_high"], magnify["phase_bound"]) == (
        15.0,
        None,
        None,
        None,
    )
    clips = json.loads((work / "qc" / cache.stem / "qc.json").read_text())["clips"]
    assert {c["magnify"]["bound_limited_fraction"] for c in clips.values()} == {None}


def test_build_dataset_cache_with_every_preprocessing_option(synthetic_root, tmp_path):
    work = tmp_path / "work"
    result = luigi(
        "BuildDatasetCache", "--dataset", "synthetic", "--root", str(synthetic_root), "--workdir", str(work),
        "--face-size", "64", "--face-detector", "hog", "--face-backend", "dlib", "--face-mode", "clip",
        "--alpha", "5", "--f-low", "1", "--f-high", "40", "--pyramid", "octave", "--temporal-filter", "ideal",
        "--sigma", "1", "--attenuate", "true", "--phase-bound", "1.0", "--frames", "full",
        "--keep-raw", "true", "--processes", "1", "--strict", "true", "--workers", "1", "--magnify-device", "cpu",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    cache, params = built_cache(work)
    with h5py.File(cache, "r") as f:  # every clip with its emotion: the grouping is chosen when training
        assert len(f["clips"]) > 0 and f.attrs["grouping"] == "emotions"
    assert params["faces"] == {
        **params["faces"],
        "size": 64,
        "backend": "dlib",
        "mode": "clip",
    }
    # the backend's own options, nested: another backend's options do not rename this cache
    assert params["faces"]["backend_options"] == {
        "detector": "hog", "predictor_path": None, "detector_path": None, "upsample": 0,
    }  # fmt: skip
    assert params["magnify"] == {
        **params["magnify"], "alpha": 5.0, "f_low": 1.0, "f_high": 40.0, "pyramid": "octave",
        "temporal_filter": "ideal", "sigma": 1.0, "attenuate": True, "phase_bound": 1.0,
    }  # fmt: skip
    assert (params["keep_raw"], params["frame_set"], "grouping" in params) == (True, "full", False)
    qc = json.loads((work / "qc" / cache.stem / "qc.json").read_text())["summary"]
    assert qc["status"] == "complete" and qc["n_written"] == 10
    assert qc["configuration"] == [SHIPPED_CFG]  # run from a folder without luigi.cfg
    info = run([sys.executable, "-m", "pipeline.store", "info", str(cache)], tmp_path)
    assert info.returncode == 0 and "synthetic" in info.stdout, output(info)


def test_train_loso_with_every_training_option(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=4, size=64)
    work = tmp_path / "work"
    result = luigi(
        "TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--epochs", "2", "--protocol", "fixed",
        "--variant", "all", "--device", "cpu", "--seed", "1", "--batch-size", "4", "--input-size", "64",
        "--max-frames", "4", "--lr", "0.01", "--width", "8", "--subtract-onset", "true", "--workers", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    (metrics_path,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(metrics_path.read_text())
    cfg = flat_config(metrics["config"])
    assert (cfg["epochs"], cfg["protocol"], cfg["variant"], cfg["device"], cfg["seed"]) == (
        2,
        "fixed",
        "all",
        "cpu",
        1,
    )
    assert (cfg["batch_size"], cfg["input_size"], cfg["max_frames"], cfg["lr"], cfg["width"]) == (
        4,
        64,
        4,
        0.01,
        8,
    )
    assert cfg["subtract_onset"] is True and metrics["n_samples"] == 8 and metrics["n_subjects"] == 2
    assert metrics["configuration"] == [SHIPPED_CFG]
    assert f"configuration: `{SHIPPED_CFG}`" in (metrics_path.parent / "report.md").read_text()


def test_the_default_recipe_learns_a_separable_file(tmp_path):
    """Subject-specific textures, three classes told apart only by where a 2 px motion is."""
    cache = tmp_path / "motion.h5"
    write_motion_cache(cache, subjects=4)
    work = tmp_path / "work"
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--epochs", "8", "--input-size", "64",
                   cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (run,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(run.read_text())
    assert metrics["config"]["recipe"] == "default" and metrics["config"]["lr"] == 0.01
    assert metrics["accuracy"] >= 0.8 and metrics["n_samples"] == 36
    report = (run.parent / "report.md").read_text()
    assert (
        "model `akmnet`, recipe `default` with epochs=8" in report
        and "![training curves](training.png)" in report
    )
    assert (run.parent / "training.png").stat().st_size > 0
    history = json.loads(next(run.parent.glob("fold-*/fold.json")).read_text())["history"]
    assert len(history) == 8 and {"loss_ce", "loss_separation", "loss_count", "key_frames", "lr"} <= set(
        history[0]
    )
    assert history[-1]["loss_ce"] < history[0]["loss_ce"] and history[-1]["lr"] < history[0]["lr"]


def test_the_flow_baseline_learns_a_separable_file_and_computes_flow_once(tmp_path):
    """The motion file above through ``--recipe flow-cnn``: a ComputeFlow task, then the folds."""
    cache = tmp_path / "motion.h5"
    write_motion_cache(cache, subjects=4)
    work = tmp_path / "work"
    args = ["TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--recipe", "flow-cnn"]
    result = luigi(*args, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (run,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(run.read_text())
    assert (metrics["config"]["model"], metrics["config"]["optimizer"]) == ("flow-cnn", "adam")
    assert metrics["accuracy"] >= 0.8 and metrics["n_samples"] == 36
    (flow,) = (work / "flow").glob("*.h5")
    assert flow.name.startswith("motion-") and flow.with_suffix(".png").stat().st_size > 0  # its QC figure
    report = (run.parent / "report.md").read_text()
    assert (
        report.startswith("# flow-cnn LOSO run") and "Not applicable: `flow-cnn` scores no frames" in report
    )
    written = flow.stat().st_mtime_ns
    again = luigi(*args, "--seed", "1", cwd=tmp_path)  # another run, the same flow file, not recomputed
    assert again.returncode == 0, output(again)
    assert len(list((work / "runs").glob("*/metrics.json"))) == 2 and list((work / "flow").glob("*.h5")) == [
        flow
    ]
    assert flow.stat().st_mtime_ns == written


def test_off_apexnet_learns_a_separable_file_through_the_cli(tmp_path):
    """The motion file (classes told apart only by where the motion is) through ``--recipe off-apexnet``:
    its flow file, then every fold; chance is 1/3."""
    cache = tmp_path / "motion.h5"
    write_motion_cache(cache, subjects=4)
    work = tmp_path / "work"
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--recipe", "off-apexnet",
                   "--epochs", "30", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (run,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(run.read_text())
    cfg = flat_config(metrics["config"])
    assert (cfg["model"], cfg["input_size"], cfg["fc_units"], cfg["flow_method"]) == (
        "off-apexnet",
        28,
        1024,
        "tvl1",
    )
    assert metrics["accuracy"] >= 0.8 and metrics["n_samples"] == 36
    assert len(list((work / "flow").glob("*.h5"))) == 1
    assert (run.parent / "report.md").read_text().startswith("# off-apexnet LOSO run")


def test_lbp_top_svm_learns_a_separable_file_from_raw_frames_through_the_cli(tmp_path):
    """The motion file with raw frames through ``--recipe lbp-top``: one fit per fold, on the raw frames."""
    cache = tmp_path / "motion.h5"
    write_motion_cache(cache, subjects=4, keep_raw=True)
    work = tmp_path / "work"
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--recipe", "lbp-top",
                   "--input-size", "64", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (run,) = (work / "runs").glob("*/metrics.json")
    metrics = json.loads(run.read_text())
    cfg = flat_config(metrics["config"])
    assert (cfg["model"], cfg["source"], cfg["epochs"], cfg["svm_c"], cfg["class_weight"]) == (
        "lbp-top",
        "raw",
        1,
        1.0,
        "balanced",
    )
    assert metrics["accuracy"] >= 0.8 and metrics["n_samples"] == 36
    fold = json.loads(next(run.parent.glob("fold-*/fold.json")).read_text())
    assert len(fold["history"]) == 1 and fold["history"][0]["train_accuracy"] == 1.0
    assert (run.parent / "fold-sub00" / "checkpoint.pt").stat().st_size > 0
    reseeded = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--recipe", "lbp-top",
                        "--input-size", "64", "--seed", "1", cwd=tmp_path)  # fmt: skip
    assert reseeded.returncode == 0, output(reseeded)
    other = set((work / "runs").glob("*/metrics.json")) - {run}
    predictions = [json.loads(p.read_text())["per_subject"] for p in (run, *other)]
    assert predictions[0] == predictions[1]  # the SVM's seed changes nothing on a separable file


def test_an_unknown_model_or_method_fails_when_the_task_is_built_listing_the_known(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    work = tmp_path / "work"
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--model", "lstm", cwd=tmp_path)
    assert result.returncode == REFUSED
    assert (
        "TrainLOSO: --model: must be one of ('akmnet', 'flow-cnn', 'off-apexnet', 'lbp-top'), got 'lstm' "
        "(TrainConfig.model)" in output(result)
    )
    result = luigi("TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--recipe", "flow-cnn", "--source",
                   "raw", cwd=tmp_path)  # fmt: skip
    assert result.returncode == REFUSED
    assert f"--source raw: {cache} was built without --keep-raw (valid: magnified)" in output(result)
    result = luigi("FullBenchmark", "--workdir", str(work), "--methods", "default, sota", cwd=tmp_path)
    assert result.returncode == REFUSED
    assert (
        "--methods 'default, sota': unknown ['sota']; known methods (recipes): paper, default, flow-cnn, "
        "off-apexnet, lbp-top" in (output(result))
    )
    assert not work.exists()


def test_recipes_and_init_checkpoint_through_the_cli(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=4, size=64)
    work = tmp_path / "work"
    small = [
        "--hdf5",
        str(cache),
        "--workdir",
        str(work),
        "--epochs",
        "1",
        "--input-size",
        "64",
        "--width",
        "4",
    ]
    result = luigi("TrainLOSO", *small, "--recipe", "paper", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (first,) = (work / "runs").glob("*/metrics.json")
    cfg = flat_config(json.loads(first.read_text())["config"])
    assert (
        cfg["recipe"],
        cfg["lr"],
        cfg["lr_schedule"],
        cfg["max_frames"],
        cfg["flip"],
        cfg["eval_norm"],
    ) == ("paper", 0.001, "reference", None, False, "running")
    checkpoint = next(first.parent.glob("fold-*/checkpoint.pt"))
    again = luigi(
        "TrainLOSO", *small, "--recipe", "paper", "--init-checkpoint", str(checkpoint), cwd=tmp_path
    )
    assert again.returncode == 0, output(again)
    (second,) = set((work / "runs").glob("*/metrics.json")) - {first}  # another run: its own name
    cfg = json.loads(second.read_text())["config"]
    assert cfg["init_checkpoint_sha256"] == file_sha256(checkpoint)
    logs = "".join(p.read_text() for p in (work / "logs").rglob("*.log"))
    assert "initialised from" in logs + output(again)
    none = luigi("TrainLOSO", *small, "--max-frames", "none", cwd=tmp_path)  # the default recipe's 8 -> all
    assert none.returncode == 0, output(none)
    (third,) = set((work / "runs").glob("*/metrics.json")) - {first, second}
    cfg = flat_config(json.loads(third.read_text())["config"])
    assert (cfg["recipe"], cfg["max_frames"], cfg["subtract_onset"]) == ("default", None, True)
    bad = luigi("TrainLOSO", *small, "--recipe", "fancy", cwd=tmp_path)
    assert bad.returncode != 0 and "fancy" in output(bad) and "paper" in output(bad)


@pytest.mark.slow
def test_full_benchmark_from_a_folder_without_luigi_cfg(tmp_path):
    from tasks import FullBenchmark

    work = tmp_path / "work"
    options = ["--workdir", str(work), "--face-size", "64", "--synthetic-subjects", "2",
               "--synthetic-clips-per-class", "1", "--synthetic-clip-length", "[14, 16]",
               "--synthetic-blink-frames", "6", *TINY_TRAIN]  # fmt: skip
    result = luigi("FullBenchmark", *options, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    report = (work / "report.md").read_text()
    methods = [("default", "akmnet"), ("paper", "akmnet"), ("flow-cnn", "flow-cnn"), ("off-apexnet", "off-apexnet"),
               ("lbp-top", "lbp-top")]  # fmt: skip
    for method, model in methods:
        grouping, classes = ("akmnet-4class", 4) if method == "paper" else ("synthetic-5class", 5)
        assert f"| synthetic | {method} | {model} | {grouping} | 10 | 2 | {classes} |" in report
    assert f"Configuration: `{SHIPPED_CFG}`." in report
    assert "Shrunk for the built-in" not in report  # the options given replace the shrink
    runs = sorted((work / "runs").glob("*/metrics.json"))
    assert len(runs) == 5 and len(list((work / "flow").glob("*.h5"))) == 1  # one flow file, two flow models
    (cache,) = (work / "cache").glob("*.h5")  # one build serves both groupings
    with h5py.File(cache) as f:  # lbp-top reads the raw frames: the build kept them
        assert json.loads(f.attrs["params"])["keep_raw"] is True
    metrics = json.loads(runs[0].read_text())
    assert metrics["n_samples"] == 10 and sorted(metrics["per_subject"]) == ["sub01", "sub02"]
    rows = json.loads((work / "report.json").read_text())
    assert [(r["method"], r["model"]) for r in rows] == methods
    assert any((work / "logs").iterdir())
    again = luigi("FullBenchmark", *options, cwd=tmp_path)
    assert again.returncode == 0 and "complete ones were encountered" in output(again)
    # the same settings built in Python are complete; other settings are not mixed into this report
    params = {"workdir": str(work), "face_size": 64, "synthetic_subjects": 2, "synthetic_clips_per_class": 1,
              "synthetic_clip_length": (14, 16), "synthetic_blink_frames": 6, "epochs": 1, "input_size": 64,
              "max_frames": 4, "batch_size": 4}  # fmt: skip
    assert FullBenchmark(**params).complete()
    assert not FullBenchmark(**{**params, "epochs": 2}).complete()
    assert not FullBenchmark(**{**params, "methods": "default, flow-cnn"}).complete()
    # the built-in set's shrink of the paper recipe, less what was given
    given = {k: v for k, v in params.items() if k not in ("epochs", "max_frames")}
    assert FullBenchmark(**given).shrink("synthetic", "paper") == {"epochs": 6, "max_frames": 8}
    assert FullBenchmark(**given).shrink("synthetic", "default") == {}
    one = luigi("FullBenchmark", *options, "--methods", "flow-cnn", "--model", "flow-cnn", "--optimizer", "sgd",
                cwd=tmp_path)  # fmt: skip
    assert one.returncode == 0, output(one)
    (row,) = json.loads((work / "report.json").read_text())
    assert (row["method"], row["model"]) == ("flow-cnn", "flow-cnn") and "optimizer=sgd" in row["overrides"]
    assert (
        json.loads((work / "runs" / row["run"] / "metrics.json").read_text())["config"]["optimizer"] == "sgd"
    )


def test_the_readme_build_command_parses_dataset_and_names_an_unknown_one(tmp_path, casme2_root):
    result = luigi("BuildDatasetCache", "--dataset", "casme9", "--root", str(casme2_root), cwd=tmp_path)
    assert result.returncode == REFUSED
    assert "--dataset 'casme9' is unknown; known datasets: 4dme, casme1, casme2, casme3a" in output(result)
    assert "ambiguous option" not in output(result)


def test_a_bad_clip_is_left_out_and_named_or_fails_the_strict_build(tmp_path, casme2_root):
    (casme2_root / "CASME2_RAW_selected/sub02/EP09_01/img101.jpg").write_bytes(b"not a jpeg")
    work = tmp_path / "strict"
    strict = luigi(*casme2_build(casme2_root, work, "--strict", "true"), cwd=tmp_path)
    assert strict.returncode == FAILED, output(strict)
    assert "sub02/EP09_01" in output(strict) and "img101.jpg" in output(strict)
    assert not list((work / "cache").glob("*.h5"))
    (qc_path,) = (work / "qc").glob("*/qc.json")
    qc = json.loads(qc_path.read_text())
    assert qc["summary"]["status"] == "failed" and list(qc["summary"]["failed"]) == ["sub02/EP09_01"]
    work = tmp_path / "lenient"
    lenient = luigi(*casme2_build(casme2_root, work), cwd=tmp_path)
    assert lenient.returncode == 0, output(lenient)
    (qc_path,) = (work / "qc").glob("*/qc.json")
    summary = json.loads(qc_path.read_text())["summary"]
    assert summary["status"] == "complete" and summary["n_written"] == CASME2_CLIPS - 1
    assert list(summary["failed"]) == ["sub02/EP09_01"] and "img101.jpg" in summary["failed"]["sub02/EP09_01"]
    log = "".join(p.read_text() for p in (work / "logs").glob("BuildDatasetCache*.log"))
    assert "sub02/EP09_01 failed" in log and "img101.jpg" in log


def test_every_clip_failing_exits_non_zero_with_the_reasons(tmp_path, casme2_root):
    # 16x16 frames hold no face: every clip fails face detection
    work = tmp_path / "work"
    result = luigi("BuildDatasetCache", "--dataset", "casme2", "--root", str(casme2_root),
                   "--workdir", str(work), "--face-size", "32", "--processes", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == FAILED, output(result)
    text = output(result)
    assert f"no clip of casme2 could be processed ({CASME2_CLIPS} failed); by reason:" in text
    assert (
        f"{CASME2_CLIPS} clip(s): FaceNotFoundError: no face found for clip … no face on frames #..#" in text
    )
    assert not list((work / "cache").glob("*.h5"))
    (qc_path,) = (work / "qc").glob("*/qc.json")
    qc = json.loads(qc_path.read_text())
    assert qc["summary"]["status"] == "failed" and len(qc["summary"]["failed"]) == CASME2_CLIPS
    assert all("no face" in clip["error"] for clip in qc["clips"].values())


def test_a_file_that_is_not_a_spreadsheet_fails_naming_it(tmp_path, casme2_root):
    sheet = casme2_root / "CASME2-coding-20140508.xlsx"
    sheet.write_text("this is not a spreadsheet")
    result = luigi("BuildDatasetCache", "--dataset", "casme2", "--root", str(casme2_root),
                   "--workdir", str(tmp_path / "work"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == REFUSED  # the manifest is read when the task is built
    assert str(sheet) in output(result)
    assert not (tmp_path / "work" / "cache").exists() or not list((tmp_path / "work" / "cache").glob("*.h5"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["FullBenchmark", "--device", "cuda"], "--device 'cuda': CUDA is not available on this machine"),
        (["FullBenchmark", "--magnify-device", "cuda"],
         "--magnify-device 'cuda': CUDA is not available on this machine"),
        (["BuildDatasetCache", "--magnify-device", "tpu"], "--magnify-device 'tpu': must be cpu, cuda, cuda:N or auto"),
        (["TrainLOSO", "--hdf5", "{cache}", "--device", "cuda:3"], "--device 'cuda:3'"),
        (["BuildDatasetCache", "--dataset", "synthetic", "--alpha", "10", "--f-low", "1", "--f-high", "150"],
         "--f-high 150.0: must be below the Nyquist frequency of synthetic (200 fps / 2 = 100 Hz)"),
        (["BuildDatasetCache", "--dataset", "casme2", "--root", "{casme2}", "--f-low", "1", "--f-high", "100"],
         "Nyquist frequency of casme2 (200 fps / 2 = 100 Hz)"),
        (["FullBenchmark", "--synthetic-subjects", "1"], "--synthetic-subjects 1: LOSO needs >= 2 subjects"),
        (["TrainLOSO", "--hdf5", "{one_subject}"], "one subject (sub00); LOSO needs >= 2 subjects"),
        (["TrainLOSO", "--hdf5", "{empty}"], "no clips under grouping 'cache' (LOSO needs >= 2 subjects)"),
        (["TrainLOSO", "--hdf5", "{not_hdf5}"], "not_hdf5.h5"),
        (["BuildDatasetCache", "--face-size", "4"],
         "BuildDatasetCache: --face-size: must be an integer >= 16, got 4 (FaceParams.size)"),
        (["BuildDatasetCache", "--alpha", "-1"],
         "BuildDatasetCache: --alpha: must be >= 0 for a cache build (0 = no magnification), got -1.0 "
         "(MagnifyParams.alpha)"),
        (["TrainLOSO", "--hdf5", "{cache}", "--epochs", "0"],
         "TrainLOSO: --epochs: must be an integer >= 1, got 0 (TrainConfig.epochs)"),
        (["FullBenchmark", "--synthetic-drift", "-1"], "--synthetic-drift: must be >= 0, got -1.0 (SyntheticParams.drift)"),
        (["TrainLOSO", "--hdf5", "{cache}", "--lr", "inf"], "TrainLOSO: --lr: must be a finite number, got inf (TrainConfig.lr)"),
        (["BuildDatasetCache", "--alpha", "nan"], "BuildDatasetCache: --alpha: must be a finite number, got nan"),
        (["TrainLOSO", "--hdf5", "{cache}", "--grouping", "nope"],
         "--grouping 'nope': dataset 'blobs' has no spec in data_manifests/: only grouping 'cache'"),
        (["TrainLOSO", "--hdf5", "{cache}", "--balance", "twice"], "--balance: must be one of ('none', 'oversample')"),
    ],
)  # fmt: skip
def test_bad_options_fail_before_any_work(tmp_path, casme2_root, args, message):
    files = {"cache": tmp_path / "blobs.h5", "one_subject": tmp_path / "one.h5", "empty": tmp_path / "empty.h5",
             "not_hdf5": tmp_path / "not_hdf5.h5", "casme2": casme2_root}  # fmt: skip
    write_blob_cache(files["cache"], subjects=2, per_subject=2, size=64)
    write_blob_cache(files["one_subject"], subjects=1, per_subject=2, size=64)
    with CacheWriter(files["empty"], dataset="none", params={}, classes=["a", "b"]):
        pass
    files["not_hdf5"].write_text("plain text")
    work = tmp_path / "work"
    result = luigi(*[a.format(**files) for a in args], "--workdir", str(work), cwd=tmp_path)
    assert result.returncode == REFUSED, output(result)
    assert message in output(result)
    assert not work.exists()  # nothing was started


def test_unknown_dataset_in_the_configuration_is_an_error_listing_the_known(tmp_path):
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(open(SHIPPED_CFG).read().replace("megc2019 =\n", "megc2019 =\ncasme3 = /data/CASME3\n"))
    result = luigi("FullBenchmark", "--workdir", str(tmp_path / "work"), cwd=tmp_path)
    assert result.returncode == REFUSED
    assert (
        "luigi.cfg [datasets]: 'casme3' is not a dataset spec in data_manifests/; known: 4dme, casme1, casme2, casme3a"
        in output(result)
    )
    assert f"configuration: {cfg}" in output(result)


def test_a_spec_name_in_the_configuration_is_used(tmp_path, synthetic_root):
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(
        open(SHIPPED_CFG).read().replace("megc2019 =\n", f"megc2019 =\nsynthetic = {synthetic_root}\n")
    )
    result = luigi("BuildDatasetCache", "--dataset", "synthetic", "--workdir", str(tmp_path / "work"),
                   "--face-size", "32", "--alpha", "0", "--processes", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    meta = json.loads(next((tmp_path / "work" / "cache").glob("*.manifest.json")).read_text())
    assert meta["root"] == str(synthetic_root)
    assert not (tmp_path / "work" / "data").exists()  # the configured root, not a generated set


def test_a_second_writer_of_the_same_run_waits_for_it(tmp_path):
    """Another process holds the run's aggregate: the second waits (saying so), then writes it."""
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    work = tmp_path / "work"
    args = ["TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), *TINY_TRAIN, "--workers", "1"]
    first = luigi(*args, cwd=tmp_path)
    assert first.returncode == 0, output(first)
    (run_dir,) = (work / "runs").iterdir()
    (run_dir / "metrics.json").unlink()  # the aggregate must be redone, while "another process" holds it
    log = tmp_path / "second.log"
    command = [str(BIN / "luigi"), "--module", "tasks", *args, "--local-scheduler"]
    with exclusive(run_dir / "metrics.json", "run"), open(log, "w") as handle:
        second = subprocess.Popen(command, cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while "waiting for it to finish" not in log.read_text():
            assert second.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert not (run_dir / "metrics.json").exists()
    assert second.wait(timeout=300) == 0, log.read_text()
    text = log.read_text()
    assert f"run {run_dir / 'metrics.json'} is being written by another process (pid {os.getpid()}" in text
    assert (run_dir / "metrics.json").is_file()


@pytest.mark.skipif(
    not (REPO / ".venv" / "bin" / ".installed").is_file() or BIN != REPO / ".venv" / "bin",
    reason="make run uses the repository's .venv",
)
def test_make_run_exits_non_zero_when_the_pipeline_fails(tmp_path):
    result = run(
        ["make", "-s", "-C", str(REPO), "run", f"ARGS=--device cuda --workdir {tmp_path / 'work'}"], tmp_path
    )
    assert result.returncode != 0
    assert "--device 'cuda'" in output(result)


def test_the_same_command_from_two_folders_runs_in_both(tmp_path):
    """Luigi's own lock keys on the command line: with it, the second command would do nothing and exit 0."""
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    folders = [tmp_path / "one", tmp_path / "two"]
    args = [str(BIN / "luigi"), "--module", "tasks", "TrainLOSO", "--hdf5", str(cache), *TINY_TRAIN,
            "--workers", "1", "--local-scheduler"]  # fmt: skip
    procs = []
    for folder in folders:
        folder.mkdir()
        procs.append(
            subprocess.Popen(args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    for folder in folders:  # the default --workdir ./work of each folder
        assert len(list((folder / "work" / "runs").glob("*/metrics.json"))) == 1
