"""build_cache end to end on a small synthetic tree: content, QC, failures, kill and resume."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from pipeline.build import BuildError, build_cache
from pipeline.datasets import load_manifest
from pipeline.faces import FaceParams
from pipeline.magnify import MAGNIFIERS, MagnifyParams
from pipeline.magnify.registry import MagnifierSpec
from pipeline.params import PreprocessParams
from pipeline.staging import staging_dir
from pipeline.store import ClipDataset, open_cache
from pipeline.synthetic import SyntheticParams, write_dataset

N_CLIPS = 10
SIZE = 48


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "tree"
    small = SyntheticParams(
        subjects=2,
        clips_per_class=1,
        clip_length=(6, 8),
        blink_frames=3,
        frame_width=240,
        frame_height=180,
        face_width=(80.0, 90.0),
        verify_detection=False,
    )
    write_dataset(root, small, seed=1)
    return root


def small_params(keep_raw: bool = True) -> PreprocessParams:
    return PreprocessParams(
        faces=FaceParams(size=SIZE),
        magnify=dataclasses.replace(MagnifyParams(), alpha=10.0),
        keep_raw=keep_raw,
    )


def read_all(path: Path) -> dict[str, dict]:
    """Every clip's arrays and attributes, via h5py (one group per clip under /clips)."""
    out = {}
    with h5py.File(path, "r") as f:
        for group in f["clips"].values():
            arrays = {k: group[k][()] for k in group if k in ("frames", "raw")}
            out[group.attrs["sample_id"]] = {"attrs": dict(group.attrs), **arrays}
    return out


@pytest.fixture(scope="module")
def reference_build(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    manifest = load_manifest("synthetic", tree)
    summary = build_cache(manifest, small_params(), out / "ref.h5", out / "qc", workers=2, progress=False)
    return manifest, summary


def test_build_end_to_end(reference_build):
    manifest, summary = reference_build
    path = summary.out_path
    assert summary.written == N_CLIPS and summary.failed == {} and summary.processed == N_CLIPS
    assert not staging_dir(path).exists()
    info = open_cache(path)
    params = small_params()
    assert info.dataset == "synthetic" and info.classes == list(manifest.classes)
    assert info.params == json.loads(params.to_json()) and info.params_hash == params.hash()
    assert info.subjects == manifest.subjects and info.has_raw
    clips = read_all(path)
    assert sorted(clips) == sorted(r.sample_id for r in manifest.rows)
    for record in manifest.rows:
        clip = clips[record.sample_id]
        a = clip["attrs"]
        assert clip["frames"].shape == (len(record.frames), SIZE, SIZE) and clip["frames"].dtype == np.uint8
        assert (a["subject"], a["label"], a["label_name"], a["source"]) == (
            record.subject,
            record.label,
            record.label_name,
            record.clip,
        )
        assert (a["onset"], a["offset"]) == (record.index_of(record.onset), record.index_of(record.offset))
        assert a["apex"] == (record.index_of(record.apex) if record.apex >= 0 else -1)
        assert (a["onset_frame"], a["apex_frame"], a["offset_frame"]) == (
            record.onset,
            record.apex,
            record.offset,
        )
        # magnification changes the frames (band-passed, so the onset frame too: its filtered phase is
        # not zero)
        assert not np.array_equal(clip["frames"], clip["raw"])

    qc = json.loads((summary.qc_dir / "qc.json").read_text())
    assert qc["summary"]["n_written"] == N_CLIPS and qc["summary"]["n_failed"] == 0
    first = qc["clips"][manifest.rows[0].sample_id]
    assert first["face"]["n_frames"] == len(manifest.rows[0].frames) and first["magnify"]["alpha"] == 10.0
    assert (summary.qc_dir / "reference_montage.png").stat().st_size > 0
    assert (summary.qc_dir / "landmarks.png").stat().st_size > 0
    assert len(list(summary.qc_dir.glob("strip-*.png"))) == 3

    batch = ClipDataset(path, subjects=[info.subjects[0]], input_size=32)[0]
    assert batch["frames"].shape[1:] == (1, 32, 32)


def test_failed_clip_is_reported_not_fatal(tree, tmp_path):
    manifest = load_manifest("synthetic", tree)
    bad = manifest.rows[3]
    broken = tmp_path / "tree"
    # a copy of the tree with one frame of one clip corrupted
    shutil.copytree(tree, broken)
    (broken / bad.frames[1]).write_bytes(b"not a jpeg")
    manifest = dataclasses.replace(manifest, root=broken)
    params = small_params(keep_raw=False)
    out, qc_dir = tmp_path / "c.h5", tmp_path / "qc"

    with pytest.raises(BuildError, match=bad.sample_id):
        build_cache(manifest, params, out, qc_dir, workers=1, progress=False, strict=True)
    assert not out.exists()
    assert len(list(staging_dir(out).glob("*.npz"))) == N_CLIPS - 1  # good clips kept for a rerun

    summary = build_cache(manifest, params, out, qc_dir, workers=1, progress=False)
    assert summary.reused == N_CLIPS - 1 and summary.processed == 1  # only the bad clip is retried
    assert summary.written == N_CLIPS - 1 and list(summary.failed) == [bad.sample_id]
    assert bad.frames[1].rsplit("/", 1)[-1] in summary.failed[bad.sample_id]
    info = open_cache(out)
    assert bad.sample_id not in {c.sample_id for c in info.clips} and not info.has_raw
    qc = json.loads((qc_dir / "qc.json").read_text())
    assert qc["clips"][bad.sample_id]["error"] == summary.failed[bad.sample_id]
    assert qc["summary"]["n_failed"] == 1 and qc["summary"]["n_written"] == N_CLIPS - 1


def test_a_clip_whose_face_leaves_is_flagged_or_fails_the_strict_build(tree, tmp_path):
    manifest = load_manifest("synthetic", tree)
    gone = manifest.rows[2]
    broken = tmp_path / "tree"
    shutil.copytree(tree, broken)
    for rel in gone.frames[len(gone.frames) // 2 + 1 :]:  # the face leaves: later frames show only the wall
        frame = cv2.imread(str(broken / rel), cv2.IMREAD_GRAYSCALE)
        assert cv2.imwrite(str(broken / rel), np.full_like(frame, int(np.median(frame))))
    manifest = dataclasses.replace(manifest, root=broken)
    params = small_params(keep_raw=False)
    out, qc_dir = tmp_path / "c.h5", tmp_path / "qc"

    summary = build_cache(manifest, params, out, qc_dir, workers=1, progress=False)
    assert summary.written == N_CLIPS and summary.failed == {}
    qc = json.loads((qc_dir / "qc.json").read_text())
    assert qc["summary"]["face_lost"] == [gone.sample_id]
    lost = qc["clips"][gone.sample_id]["face"]["face_lost_frames"]
    assert lost and min(lost) > len(gone.frames) // 2
    assert all(
        not qc["clips"][r.sample_id]["face"]["face_lost_frames"] for r in manifest.rows if r is not gone
    )

    out.unlink()
    with pytest.raises(BuildError, match=rf"{gone.sample_id}: strict: face not found on frame\(s\)"):
        build_cache(manifest, params, out, qc_dir, workers=1, progress=False, strict=True)
    assert not out.exists()
    qc = json.loads((qc_dir / "qc.json").read_text())
    assert qc["summary"]["status"] == "failed" and list(qc["summary"]["failed"]) == [gone.sample_id]


def test_the_build_calls_the_magnifier_named_in_the_parameters(tree, tmp_path, monkeypatch):
    calls = []

    def flat(frames, *, fps, reference, device, stats, options):
        calls.append((fps, reference, device, options.alpha))
        return np.full(frames.shape, 128.0, np.float32)

    monkeypatch.setitem(MAGNIFIERS._entries, "flat", MagnifierSpec("flat", MagnifyParams, flat))
    manifest = load_manifest("synthetic", tree)
    params = dataclasses.replace(small_params(keep_raw=False), magnifier="flat")
    reports = []
    build_cache(manifest, params, tmp_path / "c.h5", tmp_path / "qc", workers=1, progress=False, device="cpu",
                report=lambda percent, message: reports.append((percent, message)))  # fmt: skip
    # the scheduler is told every whole percent of the clips (here every clip)
    assert [p for p, _ in reports] == [100 * k // N_CLIPS for k in range(1, N_CLIPS + 1)]
    assert reports[-1][1] == f"synthetic clips: {N_CLIPS}/{N_CLIPS} clips (100%), 0 failed"
    assert len(calls) == N_CLIPS and {c[2] for c in calls} == {"cpu"} and {c[3] for c in calls} == {10.0}
    assert [c[1] for c in calls] == [r.index_of(r.onset) for r in manifest.rows]
    assert all((clip["frames"] == 128).all() for clip in read_all(tmp_path / "c.h5").values())
    qc = json.loads((tmp_path / "qc" / "qc.json").read_text())
    # a flat grey image keeps almost none of the face: every clip is named as damaged
    assert qc["summary"]["magnify_damaged"] == sorted(r.sample_id for r in manifest.rows)
    assert qc["summary"]["min_ssim_median"] < 0.6
    with pytest.raises(ValueError, match=r"PreprocessParams.magnifier: must be one of"):
        dataclasses.replace(params, magnifier="linear")


def test_qc_reports_the_share_the_phase_bound_limited(tree, tmp_path):
    manifest = dataclasses.replace(
        load_manifest("synthetic", tree), rows=load_manifest("synthetic", tree).rows[:2]
    )
    params = dataclasses.replace(
        small_params(keep_raw=False),
        magnify=dataclasses.replace(MagnifyParams(), alpha=10.0, phase_bound=0.5),
    )
    build_cache(manifest, params, tmp_path / "c.h5", tmp_path / "qc", workers=1, progress=False)
    qc = json.loads((tmp_path / "qc" / "qc.json").read_text())
    shares = [c["magnify"]["bound_limited_fraction"] for c in qc["clips"].values()]
    assert all(0.0 < c["magnify"]["ssim_median"] <= 1.0 for c in qc["clips"].values())
    assert all(0.0 < s < 1.0 for s in shares) and qc["summary"]["max_bound_limited_fraction"] == max(shares)
    # a build without a bound records none
    unbounded = dataclasses.replace(params, magnify=dataclasses.replace(params.magnify, phase_bound=None))
    build_cache(manifest, unbounded, tmp_path / "d.h5", tmp_path / "qd", workers=1, progress=False)
    qd = json.loads((tmp_path / "qd" / "qc.json").read_text())
    assert {c["magnify"]["bound_limited_fraction"] for c in qd["clips"].values()} == {None}
    assert qd["summary"]["max_bound_limited_fraction"] is None


KILLED_BUILD = textwrap.dedent(
    """
    import dataclasses, sys, time
    import pipeline.build as build
    from pipeline.datasets import load_manifest
    from pipeline.faces import FaceParams
    from pipeline.magnify import MAGNIFIERS, MagnifyParams
    from pipeline.params import PreprocessParams

    real = build.process_clip

    def slow(*args):
        result = real(*args)
        time.sleep(1.0)  # leave the test time to kill the build between clips, even on a busy CPU
        return result

    build.process_clip = slow
    params = PreprocessParams(faces=FaceParams(size={size}),
                              magnify=dataclasses.replace(MagnifyParams(), alpha=10.0), keep_raw=True)
    build.build_cache(load_manifest("synthetic", sys.argv[1]), params, sys.argv[2], sys.argv[3],
                      workers=1, progress=False)
    """
)


def finished_staged(staging: Path) -> list[Path]:
    """Staged clips renamed into place (a killed write leaves a hidden ``.<name>.*.npz`` temporary file)."""
    return [p for p in staging.glob("*.npz") if not p.name.startswith(".")]


def test_killed_build_resumes_with_same_content(tree, reference_build, tmp_path):
    manifest, reference = reference_build
    out = tmp_path / "cache" / "synthetic.h5"
    script = KILLED_BUILD.replace("{size}", str(SIZE))
    proc = subprocess.Popen([sys.executable, "-c", script, str(tree), str(out), str(tmp_path / "qc")])
    staging = staging_dir(out)
    deadline = time.monotonic() + 120
    try:
        while len(finished_staged(staging)) < 3:
            assert proc.poll() is None, "build ended before it could be killed"
            assert time.monotonic() < deadline, "build made no progress"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(finished_staged(staging))
    assert 3 <= done_before < N_CLIPS
    assert not out.exists() and not list(out.parent.glob("*.h5"))

    summary = build_cache(manifest, small_params(), out, tmp_path / "qc", workers=1, progress=False)
    assert summary.reused == done_before and summary.processed == N_CLIPS - done_before
    assert summary.written == N_CLIPS and not staging.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["synthetic.h5"]
    resumed, fresh = read_all(out), read_all(reference.out_path)
    assert sorted(resumed) == sorted(fresh)
    for sid, clip in fresh.items():
        np.testing.assert_array_equal(resumed[sid]["frames"], clip["frames"])
        np.testing.assert_array_equal(resumed[sid]["raw"], clip["raw"])
        assert resumed[sid]["attrs"] == clip["attrs"]
