"""Face stage on synthetic clips: alignment removes head pose, failures name the file."""

from __future__ import annotations

import functools
import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from pipeline.faces import AlignedClip, FaceNotFoundError, FaceParams, FaceQC, FrameReadError, align_clip
from pipeline.faces.align import checked_frames
from pipeline.faces.frames import read_frame
from pipeline.faces.geometry import drift, residual_motion
from pipeline.faces.qc import face_summary, write_landmark_montage, write_reference_montage

BACKGROUND = 90


@functools.lru_cache(maxsize=1)
def face_canvas() -> np.ndarray:
    """480x640 grayscale frame with the astronaut's face pasted off-centre."""
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[0:300, 100:350]
    canvas = np.full((480, 640), BACKGROUND, np.uint8)
    canvas[60:360, 200:450] = face
    return canvas


def write_clip(folder: Path, frames: list[np.ndarray], ext: str = ".jpg") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"img{i}{ext}"
        assert cv2.imwrite(str(path), frame)
        paths.append(path)
    return paths


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 1.0) -> np.ndarray:
    return np.clip(frame + rng.normal(0.0, sigma, frame.shape), 0, 255).astype(np.uint8)


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D((320.0, 240.0), angle_deg, scale)
    matrix[:, 2] += shift
    return matrix


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_public_names_params_and_errors_pickle():
    params = FaceParams(size=96, fallback="center")
    assert pickle.loads(pickle.dumps(params)) == params
    assert pickle.loads(pickle.dumps(align_clip)) is align_clip
    for error in (FrameReadError("a/b.jpg", "zero-byte file"), FaceNotFoundError("a", "no face")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.path == error.path


def test_pose_is_removed(tmp_path):
    """A clip and a rotated/scaled/shifted copy give the same crops and consistent transforms."""
    rng = np.random.default_rng(0)
    frames = [noisy(face_canvas(), rng) for _ in range(3)]
    moved = similarity(12.0, 0.85, (25.0, -18.0))
    frames_moved = [cv2.warpAffine(f, moved, (640, 480), borderValue=BACKGROUND) for f in frames]
    a = align_clip(write_clip(tmp_path / "a", frames))
    paths_b = write_clip(tmp_path / "b", frames_moved)
    b = align_clip(paths_b)
    assert isinstance(a, AlignedClip)
    assert a.frames.shape == (3, 128, 128) and a.frames.dtype == np.uint8
    for fa, fb in zip(a.frames, b.frames):
        assert corr(fa, fb) > 0.95
    # unaligned, the same crops of the two clips disagree much more
    assert corr(cv2.resize(frames[0], (128, 128)), cv2.resize(frames_moved[0], (128, 128))) < 0.8
    # the transform found for the moved clip undoes the known motion
    ta, tb = a.qc.transform, b.qc.transform
    assert tb["scale"] / ta["scale"] == pytest.approx(1 / 0.85, rel=0.03)
    assert tb["rotation_deg"] - ta["rotation_deg"] == pytest.approx(12.0, abs=1.5)
    assert a.qc.fallback is None and a.qc.n_faces == 1 and a.qc.reference_index == 0
    assert len(a.qc.landmarks) == 68 and a.qc.fit_rms_px < 4.0
    assert FaceQC.from_dict(json.loads(json.dumps(a.qc.to_dict()))) == a.qc  # JSON round trip
    # every frame is warped with the one recorded transform
    for i, path in enumerate(paths_b):
        raw = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        expected = cv2.warpAffine(raw, np.array(b.qc.matrix), (128, 128), borderMode=cv2.BORDER_REPLICATE)
        assert np.abs(expected.astype(int) - b.frames[i]).max() <= 1


def test_eyes_level_at_fixed_distance(tmp_path):
    """Landmarks mapped by the QC matrix put the eyes level, at the template's distance, for any pose."""
    params = FaceParams(size=160, margin=0.1)
    for k, (angle, scale) in enumerate([(0.0, 1.0), (-15.0, 1.2)]):
        frame = cv2.warpAffine(
            face_canvas(), similarity(angle, scale, (0, 0)), (640, 480), borderValue=BACKGROUND
        )
        qc = align_clip(write_clip(tmp_path / str(k), [frame]), params).qc
        points = np.array(qc.landmarks) @ np.array(qc.matrix)[:, :2].T + np.array(qc.matrix)[:, 2]
        left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
        assert abs(np.degrees(np.arctan2(*(right - left)[::-1]))) < 2.0
        distance = np.linalg.norm(right - left)
        if k == 0:
            reference = distance
        assert distance == pytest.approx(reference, rel=0.03)
        assert 0.25 * 160 < distance < 0.45 * 160


def test_static_clip_has_no_residual_motion(tmp_path):
    rng = np.random.default_rng(1)
    clip = align_clip(write_clip(tmp_path / "c", [noisy(face_canvas(), rng) for _ in range(8)]))
    motion = clip.qc.residual_motion_px
    assert len(motion["per_frame"]) == 7
    assert motion["max"] < 0.1


def test_residual_motion_measures_known_shift():
    rng = np.random.default_rng(2)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (128, 128)), (0, 0), 2.0)
    frames = np.stack([np.roll(base, (0, 2 * i), axis=(0, 1)) for i in range(3)]).astype(np.uint8)
    np.testing.assert_allclose(residual_motion(frames), [2.0, 2.0], atol=0.1)
    np.testing.assert_allclose(drift(frames), [2.0, 4.0], atol=0.1)


def test_drift_sees_a_slow_ramp_that_residual_motion_misses():
    rng = np.random.default_rng(4)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (160, 160)), (0, 0), 2.0)
    # 3 px over 31 frames, 0.1 px per frame (subpixel shifts by Fourier phase ramps)
    fy, fx = np.meshgrid(np.fft.fftfreq(160), np.fft.fftfreq(160), indexing="ij")
    spectrum = np.fft.fft2(base)
    frames = np.stack(
        [np.real(np.fft.ifft2(spectrum * np.exp(-2j * np.pi * fx * 0.1 * i))) for i in range(31)]
    )
    assert residual_motion(frames).max() < 0.5  # phase correlation is coarse below a pixel
    np.testing.assert_allclose(drift(frames)[-1], 3.0, atol=0.2)


def test_track_mode_follows_a_moving_face(tmp_path):
    """Reference mode keeps one transform (the crop drifts with the head); track mode follows the head."""
    frames = [np.roll(face_canvas(), 3 * i, axis=1) for i in range(6)]
    paths = write_clip(tmp_path / "m", frames)
    fixed = align_clip(paths)
    tracked = align_clip(paths, FaceParams(mode="track", track_sigma=1.0))
    assert fixed.qc.residual_motion_px["mean"] > 2.0
    assert tracked.qc.residual_motion_px["mean"] < 0.6
    assert fixed.qc.drift_px["last"] > 10.0  # 15 px in the source, crop scale below 1
    assert tracked.qc.drift_px["max"] < 3.0
    assert tracked.qc.track_jitter_px is not None


def test_mode_none_is_a_fixed_centre_crop_without_detection(tmp_path):
    """No alignment: the crop stays put while the face moves, and nothing is detected."""
    frames = [np.roll(face_canvas(), 3 * i, axis=1) for i in range(4)]
    clip = align_clip(write_clip(tmp_path / "n", frames, ext=".png"), FaceParams(mode="none", size=96))
    for frame, out in zip(frames, clip.frames):
        expected = cv2.resize(frame[:, 80:560], (96, 96), interpolation=cv2.INTER_LINEAR)
        assert np.abs(out.astype(int) - expected).max() <= 2
    assert clip.qc.mode == "none" and clip.qc.fallback is None
    assert clip.qc.frames_searched == [] and clip.qc.landmarks is None
    # the face moves 3 px per frame in the source, 3 * 96 / 480 = 0.6 px in the crop
    assert clip.qc.residual_motion_px["mean"] == pytest.approx(0.6, abs=0.15)
    assert FaceQC.from_dict(json.loads(json.dumps(clip.qc.to_dict()))) == clip.qc


def test_median_reference_matches_onset_on_static_clip(tmp_path):
    rng = np.random.default_rng(3)
    paths = write_clip(tmp_path / "s", [noisy(face_canvas(), rng) for _ in range(5)])
    onset = align_clip(paths)
    median = align_clip(paths, FaceParams(landmark_source="median", median_frames=4))
    assert median.qc.landmark_frames == [0, 1, 2, 3]
    assert corr(onset.frames[0], median.frames[0]) > 0.98


def test_face_found_on_a_later_frame(tmp_path):
    blank = np.full((480, 640), BACKGROUND, np.uint8)
    clip = align_clip(write_clip(tmp_path / "late", [face_canvas(), blank, face_canvas()]), reference_index=1)
    assert clip.qc.reference_index_requested == 1
    assert clip.qc.reference_index == 2
    assert clip.qc.frames_searched == [1, 2]
    assert clip.qc.fallback is None


def test_missing_face_skip_raises_naming_the_clip(tmp_path):
    blank = np.full((480, 640), BACKGROUND, np.uint8)
    paths = write_clip(tmp_path / "noface", [blank] * 4)
    with pytest.raises(FaceNotFoundError) as info:
        align_clip(paths, FaceParams(search_frames=2))
    assert "noface" in str(info.value) and str(paths[0]) in str(info.value)
    assert "frames 0..2" in str(info.value)


def test_missing_face_center_fallback_is_recorded(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 640), (480, 1)).astype(np.uint8)  # no face, known content
    clip = align_clip(write_clip(tmp_path / "ramp", [ramp] * 3, ext=".png"), FaceParams(fallback="center"))
    assert clip.qc.fallback == "center"
    assert clip.qc.reference_index is None and clip.qc.landmarks is None
    assert clip.qc.frames_searched == [0, 1, 2]
    expected = cv2.resize(ramp[:, 80:560], (128, 128), interpolation=cv2.INTER_LINEAR)
    assert np.abs(clip.frames[0].astype(int) - expected).max() <= 2
    assert FaceQC.from_dict(json.loads(json.dumps(clip.qc.to_dict()))) == clip.qc


def test_two_faces_keep_the_best_and_record_both(tmp_path):
    canvas = np.full((480, 640), BACKGROUND, np.uint8)
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[0:300, 100:350]
    canvas[20:320, 10:260] = face
    canvas[170:470, 370:620] = face[:, ::-1]  # mirrored copy: a second face with its own score
    clip = align_clip(write_clip(tmp_path / "two", [canvas]))
    assert clip.qc.n_faces == 2
    assert len(clip.qc.other_scores) == 1 and clip.qc.other_scores[0] <= clip.qc.detector_score


@pytest.mark.parametrize("defect", ["zero-byte", "truncated", "garbage", "missing", "size"])
def test_bad_frames_raise_naming_the_file(tmp_path, defect):
    paths = write_clip(tmp_path / "bad", [face_canvas()] * 3)
    bad = paths[2]
    if defect == "zero-byte":
        bad.write_bytes(b"")
    elif defect == "truncated":
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size * 2 // 3])
    elif defect == "garbage":
        bad.write_bytes(b"this is not an image\n" * 50)
    elif defect == "missing":
        bad.unlink()
    else:
        cv2.imwrite(str(bad), face_canvas()[:400])
    with pytest.raises(FrameReadError) as info:
        align_clip(paths)
    assert str(bad) in str(info.value)
    with pytest.raises(ValueError):  # the documented base class
        read_frame(bad, (480, 640))


def test_read_frame_accepts_padding_after_jpeg_end(tmp_path):
    path = write_clip(tmp_path / "pad", [face_canvas()])[0]
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    assert read_frame(path).shape == (480, 640)


def test_relative_paths_with_root(tmp_path):
    write_clip(tmp_path / "sub01" / "EP01", [face_canvas()] * 2)
    clip = align_clip(["sub01/EP01/img0.jpg", "sub01/EP01/img1.jpg"], FaceParams(size=64), root=tmp_path)
    assert clip.frames.shape == (2, 64, 64)
    assert clip.qc.clip == str(tmp_path / "sub01" / "EP01")


def test_fan_without_weights_names_the_folder(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    paths = write_clip(tmp_path / "f", [face_canvas()])
    with pytest.raises(FileNotFoundError) as info:
        align_clip(paths, FaceParams(backend="fan"))
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "s3fd-619a316812.pth" in message and "2DFAN4" in message


def test_fan_without_package_says_how_to_install(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import importlib.util

    if importlib.util.find_spec("face_alignment") is not None:
        pytest.skip("face-alignment is installed")
    import torch

    from pipeline.faces.backends import FAN_WEIGHTS, check_fan_available

    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    for names in FAN_WEIGHTS.values():
        (folder / names[0]).write_bytes(b"")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    with pytest.raises(ImportError, match="pip install face-alignment"):
        check_fan_available()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"size": 8}, "size"),
        ({"fallback": "guess"}, "fallback"),
        ({"margin": 0.6}, "margin"),
        ({"backend": "mtcnn"}, "backend"),
        ({"median_frames": 0}, "median_frames"),
    ],
)
def test_params_validate(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FaceParams(**kwargs)


def test_qc_outputs(tmp_path):
    blank = np.full((480, 640), BACKGROUND, np.uint8)
    good = align_clip(write_clip(tmp_path / "g", [face_canvas()] * 2))
    fallback = align_clip(write_clip(tmp_path / "n", [blank] * 2), FaceParams(fallback="center"))
    clips = {"g": good, "n": fallback}
    summary = face_summary({k: c.qc for k, c in clips.items()})
    assert summary["face_fallbacks"] == ["n"]
    assert summary["face_lost"] == [] and summary["drift_px_max"] is not None

    crops = [c.frames[0] for c in clips.values()]
    qcs = [c.qc for c in clips.values()]
    grid = write_reference_montage(crops, qcs, tmp_path / "qc" / "faces.png", labels=list(clips), columns=1)
    image = cv2.imread(str(grid))
    assert image.shape == (2 * (128 + 6), 128 + 6, 3)
    assert tuple(image[0, 0]) != tuple(image[134, 0])  # fallback tile framed in another colour
    rows = write_landmark_montage(
        [c.reference_frame for c in clips.values()], crops, qcs, tmp_path / "lm.png"
    )
    image = cv2.imread(str(rows))
    assert image.shape[0] == 2 * (256 + 4) and image.shape[1] == 256 * 640 // 480 + 4 + 256
    assert not list((tmp_path / "qc").glob("*.tmp"))


def test_small_face_found_by_upsampled_retry(tmp_path):
    from pipeline.faces.backends import DlibBackend

    small = cv2.resize(face_canvas(), (320, 240), interpolation=cv2.INTER_AREA)  # face box ~50 px
    rects, _, _ = DlibBackend().hog.run(small, 0, 0.0)
    assert len(rects) == 0  # too small for the detector at its native scale
    clip = align_clip(write_clip(tmp_path / "small", [small]))
    assert clip.qc.n_faces == 1 and clip.qc.fallback is None


def test_cnn_detector_gives_the_same_crop(tmp_path):
    small = np.full((240, 320), BACKGROUND, np.uint8)
    small[:, 35:285] = face_canvas()[90:330, 200:450]
    paths = write_clip(tmp_path / "cnn", [small])
    hog = align_clip(paths, FaceParams(size=64))
    cnn = align_clip(paths, FaceParams(size=64, backend_options={"detector": "cnn"}))
    assert cnn.qc.backend == "dlib-cnn" and cnn.qc.n_faces == 1
    assert corr(hog.frames[0], cnn.frames[0]) > 0.95


@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (4.0, 0.0), (0.0, -6.0), (5.0, 5.0)])
def test_drift_px_reads_a_known_head_translation(tmp_path, dx, dy):
    """The face moves by (dx, dy) source px over the clip: drift_px.last = that shift times the crop scale."""
    rng = np.random.default_rng(5)
    frames = [
        noisy(cv2.warpAffine(face_canvas(), similarity(0.0, 1.0, (dx * t / 5, dy * t / 5)), (640, 480)), rng)
        for t in range(6)
    ]
    clip = align_clip(write_clip(tmp_path / "d", frames, ext=".png"), FaceParams(qc_face_frames=3))
    scale = clip.qc.transform["scale"]
    assert clip.qc.face_checked_frames == [2, 3, 5] and clip.qc.face_lost_frames == []
    assert clip.qc.drift_px["last"] == pytest.approx(np.hypot(dx, dy) * scale, abs=0.5)
    assert clip.qc.drift_px["max"] >= clip.qc.drift_px["last"] - 1e-9


def test_drift_px_is_small_when_the_face_moves_in_place(tmp_path):
    """Expression-like change (the mouth region altered) without head motion: rigid-point drift stays near 0."""
    rng = np.random.default_rng(6)
    frames = []
    for t in range(6):
        frame = face_canvas().copy()
        frame[270:300, 290:360] = np.clip(frame[270:300, 290:360].astype(int) + 8 * t, 0, 255)
        frames.append(noisy(frame, rng))
    clip = align_clip(write_clip(tmp_path / "e", frames, ext=".png"))
    assert clip.qc.drift_px["max"] < 0.5


def test_face_lost_on_later_frames_is_flagged(tmp_path):
    rng = np.random.default_rng(7)
    blank = np.full((480, 640), BACKGROUND, np.uint8)
    frames = [noisy(face_canvas(), rng) for _ in range(4)] + [noisy(blank, rng) for _ in range(4)]
    clip = align_clip(write_clip(tmp_path / "g", frames, ext=".png"), FaceParams(qc_face_frames=4))
    assert clip.qc.face_checked_frames == [2, 4, 5, 7]
    assert clip.qc.face_lost_frames == [4, 5, 7]
    steady = align_clip(write_clip(tmp_path / "h", frames[:4], ext=".png"))
    assert steady.qc.face_lost_frames == []


def test_checked_frames_spread_over_the_clip():
    assert checked_frames(10, 0, 4) == [2, 4, 7, 9]
    assert checked_frames(10, 9, 1) == []
    assert checked_frames(3, 0, 8) == [1, 2]
    assert checked_frames(1, 0, 4) == [] and checked_frames(10, 0, 0) == []
