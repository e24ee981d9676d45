"""A clip whose face leaves the frame (installed ``luigi``): kept by default, named on the console and in
qc.json (``face_lost``), and a failure under ``--strict`` (README "What a build leaves out")."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np

from pipeline.datasets import load_manifest
from tests.tasks.test_cli import FAILED, luigi, output, synthetic_root  # noqa: F401 (fixture)


def test_a_face_lost_clip_is_kept_and_listed_or_fails_strict(synthetic_root, tmp_path):  # noqa: F811
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    gone = load_manifest("synthetic", root).rows[2]
    for rel in gone.frames[len(gone.frames) // 2 + 1 :]:  # the face leaves: later frames show only the wall
        frame = cv2.imread(str(root / rel), cv2.IMREAD_GRAYSCALE)
        assert cv2.imwrite(str(root / rel), np.full_like(frame, int(np.median(frame))))
    common = ["BuildDatasetCache", "--dataset", "synthetic", "--root", str(root), "--face-size", "32",
              "--processes", "1"]  # fmt: skip
    lenient = luigi(*common, "--workdir", str(tmp_path / "lenient"), cwd=tmp_path)
    assert lenient.returncode == 0, output(lenient)
    text = output(lenient)
    assert "1 clip(s) kept although the face was not found on some checked frames" in text
    assert f"--strict fails them): {gone.sample_id}" in text
    (qc_path,) = (tmp_path / "lenient" / "qc").glob("*/qc.json")
    summary = json.loads(qc_path.read_text())["summary"]
    assert summary["status"] == "complete" and summary["face_lost"] == [gone.sample_id]
    assert summary["n_written"] == summary["n_clips"]  # kept
    strict = luigi(*common, "--workdir", str(tmp_path / "strict"), "--strict", "true", cwd=tmp_path)
    assert strict.returncode == FAILED, output(strict)
    assert f"{gone.sample_id}: strict: face not found on frame(s)" in output(strict)
    (qc_path,) = (tmp_path / "strict" / "qc").glob("*/qc.json")
    assert json.loads(qc_path.read_text())["summary"]["status"] == "failed"
    assert not list((tmp_path / "strict" / "cache").glob("*.h5"))
