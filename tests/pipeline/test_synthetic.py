"""The built-in synthetic dataset: CASME II layout, sheet, faces, motion fields, determinism."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from pipeline.synthetic import (
    CLASSES,
    SHEET_NAME,
    TRUTH_NAME,
    SyntheticParams,
    displacement_field,
    envelope,
    gaussian_field,
    render_frame,
    write_dataset,
)
from pipeline.synthetic.__main__ import main as cli_main
from pipeline.synthetic.render import clip_motion

CASME2_COLUMNS = [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
]
SMALL = SyntheticParams(
    subjects=8,
    clips_per_class=1,
    clip_length=(6, 9),
    blink_frames=4,
    blink_probability=0.3,
    amplitude=1.2,
    amplitude_spread=0.0,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic") / "casme2-synthetic"
    dataset = write_dataset(out, SMALL, seed=11)
    truth = json.loads((out / TRUTH_NAME).read_text())
    return out, dataset, truth


def _frame_numbers(folder: Path) -> list[int]:
    numbers = []
    for f in folder.iterdir():
        m = re.fullmatch(r"img(\d+)\.jpg", f.name)
        assert m, f"unexpected file {f}"
        numbers.append(int(m.group(1)))
    return sorted(numbers)


def test_layout_matches_casme2(generated):
    out, dataset, truth = generated
    subjects = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert subjects == [f"sub{i:02d}" for i in range(1, 9)]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted([SHEET_NAME, TRUTH_NAME])
    folders = sorted(p for s in subjects for p in (out / s).iterdir())
    assert len(folders) == 8 * 5 == len(truth["clips"])
    assert all(re.fullmatch(r"EP\d{2}_\d{2}f?", p.name) for p in folders)
    assert any(p.name.endswith("f") for p in folders) and not all(p.name.endswith("f") for p in folders)
    for clip in truth["clips"]:
        numbers = _frame_numbers(out / clip["sample"])
        assert numbers == list(range(clip["onset_frame"], clip["offset_frame"] + 1))
        assert numbers[0] >= 50 and len(numbers) == clip["n_frames"]
        assert 6 <= clip["n_frames"] <= 9
        assert clip["onset_frame"] < clip["apex_frame"] < clip["offset_frame"]
    image = cv2.imread(str(out / truth["clips"][0]["sample"] / f"img{truth['clips'][0]['onset_frame']}.jpg"))
    assert image.shape == (240, 320, 3)


def test_sheet_has_casme2_columns_and_quirks(generated):
    out, dataset, truth = generated
    df = pd.read_excel(out / SHEET_NAME)
    # The released sheet has blank columns at positions 2 and 6, which pandas names "Unnamed: N".
    assert list(df.columns) == [
        "Subject",
        "Filename",
        "Unnamed: 2",
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Unnamed: 6",
        "Action Units",
        "Estimated Emotion",
    ]
    assert df["Unnamed: 2"].isna().all() and df["Unnamed: 6"].isna().all()
    df = df.drop(columns=["Unnamed: 2", "Unnamed: 6"])
    assert list(df.columns) == CASME2_COLUMNS
    assert len(df) == 40
    assert df["Subject"].dtype.kind == "i" and sorted(set(df["Subject"])) == list(range(1, 9))
    assert set(df["Estimated Emotion"]) == set(CLASSES)
    assert (df.groupby(["Subject", "Estimated Emotion"]).size() == 1).all()
    missing = df[df["ApexFrame"].astype(str) == "/"]
    assert len(missing) == 2  # round(0.05 * 40)
    by_sample = {c["sample"]: c for c in truth["clips"]}
    for row in df.itertuples(index=False):
        clip = by_sample[f"sub{row.Subject:02d}/{row.Filename}"]
        assert (out / clip["sample"]).is_dir()
        assert (row.OnsetFrame, row.OffsetFrame) == (clip["onset_frame"], clip["offset_frame"])
        assert row[5] == clip["action_units"] and row[6] == clip["emotion"]
        if row.ApexFrame == "/":
            assert not clip["apex_in_sheet"]
        else:
            assert int(row.ApexFrame) == clip["apex_frame"] and clip["apex_in_sheet"]


def test_dlib_finds_the_face_in_every_clip(generated):
    import dlib

    out, dataset, truth = generated
    detector = dlib.get_frontal_face_detector()
    for clip in truth["clips"]:
        gray = cv2.imread(str(out / clip["sample"] / f"img{clip['onset_frame']}.jpg"), cv2.IMREAD_GRAYSCALE)
        rects = detector(gray, 0)
        assert len(rects) == 1, clip["sample"]
        r = rects[0]
        center = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
        landmarks = np.asarray(clip["landmarks"])
        assert np.linalg.norm(center - landmarks[27:48].mean(0)) < 0.25 * r.width(), clip["sample"]
        assert 85 <= r.width() <= 150, clip["sample"]  # face ~100-130 px wide in a 320x240 frame
        assert 0.6 * r.width() < np.ptp(landmarks[:, 0]) < 1.2 * r.width(), clip["sample"]


def test_displacement_has_requested_amplitude_in_au_region_only(generated):
    out, dataset, truth = generated
    shape = SMALL.frame_shape
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    for clip, record in zip(dataset.clips, truth["clips"], strict=True):
        subject = dataset.subject_of(clip)
        apex = record["apex_frame"] - record["onset_frame"]
        field = displacement_field(subject, clip, apex, shape)
        assert field.shape == (*shape, 2) and field.dtype == np.float32
        magnitude = np.linalg.norm(field, axis=-1)
        assert magnitude.max() == pytest.approx(SMALL.amplitude, rel=0.03), record["sample"]
        region = record["au_region"]
        points, sigma = np.asarray(region["points"]), region["sigma"]
        distance = np.min(np.hypot(xx[..., None] - points[:, 0], yy[..., None] - points[:, 1]), axis=-1)
        assert distance[np.unravel_index(magnitude.argmax(), shape)] < 1.5 * sigma
        assert magnitude[distance > 4 * sigma].max() < 0.01 * SMALL.amplitude
        for index in (0, record["n_frames"] - 1):  # onset and offset frames are neutral
            assert np.abs(displacement_field(subject, clip, index, shape)).max() < 1e-6


def test_rendered_motion_is_local_and_present(generated):
    out, dataset, truth = generated
    shape = SMALL.frame_shape
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    for emotion in CLASSES:
        clip = next(c for c in dataset.clips if c.emotion == emotion)
        subject = dataset.subject_of(clip)
        moved = render_frame(subject, clip, clip.apex_index, SMALL, noise=False).astype(int)
        still = render_frame(subject, clip, clip.apex_index, SMALL, noise=False, gain=0.0).astype(int)
        diff = np.abs(moved - still).max(-1)
        motion = clip_motion(subject, clip, shape)
        shifted = motion.points + clip.translation(clip.apex_index) - clip.translation(0)
        distance = np.min(np.hypot(xx[..., None] - shifted[:, 0], yy[..., None] - shifted[:, 1]), axis=-1)
        assert diff[distance > 4 * motion.sigma].max() <= 1, emotion
        assert diff[distance < 1.5 * motion.sigma].max() >= 8, emotion


def test_envelope_and_gaussian_field_analytic():
    t = np.arange(11)
    e = envelope(t, 11, 4)
    assert e[0] == 0 and e[4] == 1 and e[10] == pytest.approx(0, abs=1e-12)
    assert np.all(np.diff(e[:5]) > 0) and np.all(np.diff(e[4:]) < 0)
    assert e[2] == pytest.approx(0.5) and e[7] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="apex"):
        envelope(t, 11, 10)
    field = gaussian_field(np.array([[20.0, 10.0]]), np.array([[0.5, -1.0]]), 3.0, (30, 40))
    assert field.shape == (30, 40, 2)
    np.testing.assert_allclose(field[10, 20], [0.5, -1.0], rtol=1e-6)
    np.testing.assert_allclose(field[10, 23], np.exp(-0.5) * np.array([0.5, -1.0]), rtol=1e-6)
    np.testing.assert_allclose(field[16, 20], np.exp(-2.0) * np.array([0.5, -1.0]), rtol=1e-6)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


TINY = ["--subjects", "2", "--clips-per-class", "1", "--clip-length", "5", "6", "--blink-frames", "3"]


def test_same_seed_same_files_other_seed_differs(tmp_path):
    assert cli_main(["--out", str(tmp_path / "a"), "--seed", "5", "--quiet", *TINY]) == 0
    assert cli_main(["--out", str(tmp_path / "b"), "--seed", "5", "--quiet", *TINY]) == 0
    assert cli_main(["--out", str(tmp_path / "c"), "--seed", "6", "--quiet", *TINY]) == 0
    a, b, c = (_tree_bytes(tmp_path / n) for n in "abc")
    assert len(a) > 10 and a == b
    assert a[TRUTH_NAME] != c[TRUTH_NAME]
    frames_a = sorted(v for k, v in a.items() if k.endswith(".jpg"))
    frames_c = sorted(v for k, v in c.items() if k.endswith(".jpg"))
    assert not set(frames_a) & set(frames_c)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # no temporary folders left


def test_montage_and_refusal_to_overwrite(tmp_path):
    out = tmp_path / "set"
    png = tmp_path / "montage.png"
    assert cli_main(["--out", str(out), "--seed", "1", "--quiet", "--montage", str(png), *TINY]) == 0
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 5 * 200  # one row per class
    with pytest.raises(FileExistsError, match="not empty"):
        write_dataset(out, replace(SyntheticParams(), subjects=1), seed=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subjects", 0),
        ("amplitude", -0.5),
        ("clip_length", (30, 20)),
        ("face_width", (110.0, 200.0)),
        ("blink_probability", 1.5),
        ("blink_frames", 50),
    ],
)
def test_params_validate(field, value):
    with pytest.raises(ValueError, match=field):
        SyntheticParams(**{field: value})
