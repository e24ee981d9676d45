"""``luigi --module tasks BuildDatasetCache --dataset NAME`` on a small tree of each newer dataset whose
frames are real faces (the photographs the synthetic set is made from), read back with h5py alone."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import h5py
import pytest

from pipeline.datasets.frames import frame_number
from pipeline.datasets.regroup import grouped_cache
from pipeline.synthetic import SyntheticParams, write_dataset
from tests.pipeline.newer_trees import (
    build_4dme,
    build_casme3a,
    build_casme3c,
    build_casme_sq,
    build_mmew,
    build_smic_e,
)
from tests.tasks.test_cli import luigi, output

# 30 and 25 fps datasets: the shipped 5-25 Hz band is above their Nyquist frequency (15, 12.5 Hz)
OPTIONS = ["--face-size", "32", "--processes", "1", "--f-low", "1", "--f-high", "10"]


@pytest.fixture(scope="module")
def face_writer(tmp_path_factory):
    """Writes each requested file name with the next frame of a real-face clip (grey when asked)."""
    root = tmp_path_factory.mktemp("faces")
    small = SyntheticParams(
        subjects=1, clips_per_class=1, clip_length=(6, 6), blink_frames=3, frame_width=160, frame_height=120,
        face_width=(80.0, 84.0),
    )  # fmt: skip
    write_dataset(root, small, seed=1)
    clip = sorted(p for p in (root / "sub01").iterdir() if p.is_dir())[0]
    faces = [cv2.imread(str(p)) for p in sorted(clip.glob("img*.jpg"), key=lambda p: frame_number(p.name))]

    def write(folder: Path, names, *, color: bool = True) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, name in enumerate(names):
            image = faces[i % len(faces)]
            if not color:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            assert cv2.imwrite(str(folder / name), image)
            paths.append(folder / name)
        return paths

    return write


def tree(name: str, root: Path, writer) -> None:
    """Two clips (three for CAS(ME)^2, one of them a macro row left out) in the dataset's layout."""
    if name == "casme3a":  # two MEs of one video with a missing frame (32)
        rows = {
            2: ("spNO.1", "a", 10, 12, 14, "12", "I", "happy"),
            3: ("spNO.1", "a", 30, 31, 35, "4", "II", "disgust"),
        }
        build_casme3a(root, rows, {("spNO.1", "a"): [10, 11, 12, 13, 14, 30, 31, 33, 34, 35]}, writer=writer)
    elif name == "casme3c":  # the second folder is numbered 1..5
        rows = [(1, 1, 100, 104, "4，7,", "negative"), (2, 1, 50, 54, "12", "positive")]
        build_casme3c(
            root, rows, {("01", "1"): list(range(100, 105)), ("02", "1"): list(range(1, 6))}, writer=writer
        )
    elif name == "mmew":
        rows = [
            ("S01", "S01_01", 1, 3, 5, "12", "happiness", ""),
            ("S02", "S02_01", 1, 2, 5, "4", "others", ""),
        ]
        frames = {("happiness", "S01_01"): list(range(1, 6)), ("repression", "S02_01"): list(range(1, 6))}
        build_mmew(root, rows, frames, writer=writer)
    elif name == "4dme":
        rows = [
            ("S01", "S01_1st_001_01", "Positive", 120, 122, 124, "AU12", 1, 0, 0, 0, 0, 0, 0, 1, 1),
            ("S02", "S02_2nd_001_01", "Negative", 300, 302, 304, "AU4", 0, 1, 0, 0, 0, 0, 1, 0, 2),
        ]
        frames = {
            ("S01", "S01_1st_001_01"): list(range(120, 125)),
            ("S02", "S02_2nd_001_01"): list(range(300, 305)),
        }
        build_4dme(root, rows, frames, writer=writer)
    elif name == "casme_sq":
        rows = [
            (1, "disgust1_1", 30, 32, 34, "4+9", "negative", "micro-expression", "disgust"),
            (1, "anger1_1", 200, 202, 204, "12", "positive", "macro-expression", "happy"),
            (2, "happy1_1", 55, 57, 0, "12", "positive", "micro-expression", "happy"),  # offset 0 -> 57
        ]
        videos = {
            "s15/15_0101disgustingteeth": list(range(30, 35)),
            "s16/16_0502funnyerrors": list(range(55, 60)),
        }
        build_casme_sq(root, rows, videos, writer=writer)
    else:
        clips = [
            ("s1", "negative", "s1_ne_01", [501, 502, 504, 505]),
            ("s2", "surprise", "s2_sur_01", [7, 8, 9, 10]),
        ]
        build_smic_e(root, {"smic-vis": "VIS", "smic-nir": "NIR"}[name], clips, writer=writer)


#: dataset -> {sample id: (frames, onset index, apex index, offset index, class, sheet onset, apex, offset)}
EXPECTED = {
    "casme3a": {
        "spNO.1/a_10": (5, 0, 2, 4, "positive", 10, 12, 14),
        "spNO.1/a_30": (5, 0, 1, 4, "negative", 30, 31, 35),
    },
    "casme3c": {
        "01/1_100": (5, 0, -1, 4, "negative", 100, -1, 104),
        "02/1_50": (5, 0, -1, 4, "positive", 50, -1, 54),
    },
    "mmew": {"S01/S01_01": (5, 0, 2, 4, "happiness", 1, 3, 5), "S02/S02_01": (5, 0, 1, 4, "others", 1, 2, 5)},
    "4dme": {
        "S01/S01_1st_001_01": (5, 0, 2, 4, "positive", 120, 122, 124),
        "S02/S02_2nd_001_01": (5, 0, 2, 4, "negative", 300, 302, 304),
    },
    "casme_sq": {
        "s15/disgust1_1": (5, 0, 2, 4, "negative", 30, 32, 34),
        "s16/happy1_1": (3, 0, 2, 2, "positive", 55, 57, 57),
    },
    "smic-vis": {
        "s1/s1_ne_01": (4, 0, -1, 3, "negative", 501, -1, 505),
        "s2/s2_sur_01": (4, 0, -1, 3, "surprise", 7, -1, 10),
    },
}
EXPECTED["smic-nir"] = EXPECTED["smic-vis"]
#: dataset -> {sample id: the emotion the cache stores (as written, lower case)}
EMOTIONS = {
    "casme3a": {"spNO.1/a_10": "happy", "spNO.1/a_30": "disgust"},
    "casme3c": {"01/1_100": "negative", "02/1_50": "positive"},
    "mmew": {"S01/S01_01": "happiness", "S02/S02_01": "others"},
    "4dme": {"S01/S01_1st_001_01": "positive", "S02/S02_2nd_001_01": "negative"},
    "casme_sq": {"s15/disgust1_1": "negative", "s16/happy1_1": "positive"},
    "smic-vis": {"s1/s1_ne_01": "negative", "s2/s2_sur_01": "surprise"},
}
EMOTIONS["smic-nir"] = EMOTIONS["smic-vis"]
FPS = {"casme3a": 30, "casme3c": 30, "mmew": 90, "4dme": 60, "casme_sq": 30, "smic-vis": 25, "smic-nir": 25}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_build_dataset_cache_of_each_newer_dataset(tmp_path, face_writer, name):
    root, work = tmp_path / "data", tmp_path / "work"
    tree(name, root, face_writer)
    result = luigi("BuildDatasetCache", "--dataset", name, "--root", str(root), "--workdir", str(work), *OPTIONS,
                   cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    (cache,) = (work / "cache").glob(f"{name}-*.h5")
    got = {}
    with h5py.File(cache, "r") as f:
        assert (f.attrs["format"], f.attrs["dataset"], bool(f.attrs["complete"])) == (
            "akmnet-clips",
            name,
            True,
        )
        classes = json.loads(f.attrs["classes"])
        for group in f["clips"].values():
            a = group.attrs
            assert classes[a["label"]] == a["label_name"] and a["fps"] == FPS[name]
            assert group["frames"].dtype == "uint8" and group["frames"].shape[1:] == (32, 32)
            got[a["sample_id"]] = (
                group["frames"].shape[0], a["onset"], a["apex"], a["offset"], a["label_name"],
                a["onset_frame"], a["apex_frame"], a["offset_frame"],
            )  # fmt: skip
    # the cache holds each clip's emotion; the dataset's default grouping gives its class
    classes = {c.sample_id: c.label_name for c in grouped_cache(cache, "default").clips}
    assert {k: (*v[:4], classes[k], *v[5:]) for k, v in got.items()} == EXPECTED[name]
    assert {k: v[4] for k, v in got.items()} == EMOTIONS[name]
    (qc,) = (work / "qc").glob(f"{name}-*/qc.json")
    summary = json.loads(qc.read_text())["summary"]
    assert (summary["n_written"], summary["n_failed"], summary["face_fallbacks"]) == (
        len(EXPECTED[name]),
        0,
        [],
    )


@pytest.mark.parametrize(
    ("name", "fps", "band"), [("casme_sq", 30, (5.0, 12.0)), ("smic-nir", 25, (5.0, 10.0))]
)
def test_below_50_fps_the_shipped_band_gives_way_to_the_specs_band(tmp_path, face_writer, name, fps, band):
    from tasks.cache import BuildDatasetCache

    root = tmp_path / "data"
    tree(name, root, face_writer)
    task = BuildDatasetCache(
        dataset=name, root=str(root), workdir=str(tmp_path / "work")
    )  # the shipped 5-25 Hz
    assert (
        task.params.magnify.f_low,
        task.params.magnify.f_high,
    ) == band  # in the cache's parameters and name
    with pytest.raises(ValueError, match=r"Nyquist frequency of synthetic \(200 fps / 2 = 100 Hz\)"):
        BuildDatasetCache(dataset="synthetic", workdir=str(tmp_path / "work"), f_low=1.0, f_high=150.0)
    result = luigi("BuildDatasetCache", "--dataset", name, "--root", str(root), "--workdir", str(tmp_path / "w"),
                   "--face-size", "32", "--processes", "1", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, output(result)
    assert f"{name} ({fps} fps): the band 5-25 Hz is not below its Nyquist frequency" in output(result)
    (cache,) = (tmp_path / "w" / "cache").glob("*.h5")
    with h5py.File(cache, "r") as f:
        magnify = json.loads(f.attrs["params"])["magnify"]
    assert (magnify["f_low"], magnify["f_high"]) == band
