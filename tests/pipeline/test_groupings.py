"""Class groupings at training time: one emotions cache serves every grouping of its dataset."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pipeline.datasets import ManifestError, list_datasets, load_manifest, load_spec
from pipeline.datasets.regroup import grouped_cache, grouping_name, resolve_grouping
from pipeline.datasets.spec import EMOTIONS
from pipeline.store import CacheWriter, open_cache
from tests.pipeline.dataset_trees import build_casme1, build_casme2, build_megc2019, build_samm

# the AKMNet paper, section IV: positive = happiness; negative = disgust, sadness, contempt, anger, fear;
# surprise; others = tense, repression and the sheets' others / Other
PAPER = {
    "happiness": "positive",
    "disgust": "negative",
    "sadness": "negative",
    "contempt": "negative",
    "anger": "negative",
    "fear": "negative",
    "surprise": "surprise",
    "tense": "others",
    "repression": "others",
    "others": "others",
    "other": "others",
}
CASME2_EMOTIONS = ["others", "disgust", "happiness", "repression", "surprise", "sadness", "fear"]
CASME1_EMOTIONS = ["disgust", "surprise", "tense", "repression", "happiness", "sadness", "fear", "contempt"]
SAMM_EMOTIONS = [
    "Anger",
    "Other",
    "Others",
    "Happiness",
    "Surprise",
    "Contempt",
    "Disgust",
    "Fear",
    "Sadness",
]


def _casme2_rows(emotions):
    return [(1 + i % 3, f"EP{i:02d}_01", 10, 11, 12, "4", e) for i, e in enumerate(emotions)]


def _casme1_rows(emotions):
    return [(1 + i % 3, f"EP{i:02d}_9", 10, 11, "", 12, "4", e) for i, e in enumerate(emotions)]


def _samm_rows(emotions):
    return [
        (6 + i % 3, f"{6 + i % 3:03d}_1_{i}", 1, 100, 101, 102, 3, "Micro - 1/2", "4", e, "I", "")
        for i, e in enumerate(emotions)
    ]


@pytest.mark.parametrize(
    ("dataset", "build", "rows", "emotions"),
    [
        ("casme2", build_casme2, _casme2_rows, CASME2_EMOTIONS),
        ("casme1", build_casme1, _casme1_rows, CASME1_EMOTIONS),
        ("samm", build_samm, _samm_rows, SAMM_EMOTIONS),
    ],
)
def test_akmnet_4class_is_the_papers_mapping_over_every_clip(tmp_path, dataset, build, rows, emotions):
    build(tmp_path, rows(emotions))
    m = load_manifest(dataset, tmp_path, grouping="akmnet-4class", strict=True)
    assert m.classes == ("positive", "negative", "surprise", "others")
    assert [r.label_name for r in m.rows] == [PAPER[e.lower()] for e in emotions]
    assert [m.classes[r.label] for r in m.rows] == [r.label_name for r in m.rows]
    assert m.excluded == []  # every clip of the sheet, as Table I counts them
    assert load_spec(dataset).paper_grouping == "akmnet-4class"


def test_paper_grouping_of_each_dataset():
    assert {d: grouping_name(d, "paper") for d in ("casme1", "casme2", "samm", "smic", "synthetic")} == {
        "casme1": "akmnet-4class",
        "casme2": "akmnet-4class",
        "samm": "akmnet-4class",
        "smic": "smic-3class",  # the paper keeps SMIC's 3 classes
        "synthetic": "akmnet-4class",  # its emotions are CASME II's
    }
    assert grouping_name("casme2", "default") == "casme2-5class"
    assert grouping_name("megc2019", "paper") == "megc2019-3class"  # no paper grouping: its default
    assert grouping_name("toy", "default") == "cache"  # no spec: the cache's own classes
    with pytest.raises(
        ManifestError, match=r"no grouping 'nope'; choose one of \['default', 'paper', 'akmnet"
    ):
        grouping_name("casme2", "nope")


def test_every_grouping_knows_every_emotion_its_default_grouping_knows():
    """A sheet label the default grouping accepts is kept or dropped, never unknown, by every grouping
    of the dataset: any grouping can be chosen for a cache of that sheet."""
    for name in list_datasets():
        spec = load_spec(name)
        labels = set(spec.grouping(None).known_labels())
        for grouping in spec.groupings.values():
            assert labels <= set(grouping.known_labels()), (name, grouping.name)


def write_emotions_cache(manifest, path):
    """An emotions cache of ``manifest`` as BuildDatasetCache writes it (tiny frames, labels, parts)."""
    with CacheWriter(
        path, dataset=manifest.dataset, params={}, classes=manifest.classes, grouping=manifest.grouping
    ) as w:
        for r in manifest.rows:
            w.add_clip(
                r.sample_id, np.zeros((3, 8, 8), np.uint8), subject=r.subject, label=r.label,
                label_name=r.label_name, onset=0, apex=1, offset=2, fps=r.fps, source=r.clip, part=r.dataset,
            )  # fmt: skip
    return path


def test_one_emotions_cache_serves_every_grouping(tmp_path):
    build_casme2(tmp_path, _casme2_rows(CASME2_EMOTIONS))
    manifest = load_manifest("casme2", tmp_path, grouping=EMOTIONS)
    assert len(manifest) == len(CASME2_EMOTIONS)  # every clip kept, labelled by its emotion
    path = write_emotions_cache(manifest, tmp_path / "c.h5")
    info = open_cache(path)
    assert info.grouping == EMOTIONS and {c.part for c in info.clips} == {"casme2"}
    five = grouped_cache(path, "default")
    assert five.grouping == "casme2-5class" and five.classes == [
        "happiness",
        "disgust",
        "repression",
        "surprise",
        "others",
    ]
    assert len(five.clips) == 5 and five.left_out == {"fear": 1, "sadness": 1}
    four = grouped_cache(path, "paper")
    assert four.grouping == "akmnet-4class" and four.left_out == {}
    by_id = {c.sample_id: c for c in four.clips}
    for row in manifest.rows:
        clip = by_id[row.sample_id]
        assert clip.label_name == PAPER[row.emotion] and four.classes[clip.label] == clip.label_name


def test_composite_groups_each_part_by_its_own_mapping(tmp_path):
    build_megc2019(tmp_path)
    manifest = load_manifest("megc2019", tmp_path, grouping=EMOTIONS)
    path = write_emotions_cache(manifest, tmp_path / "m.h5")
    three = grouped_cache(path, "default")
    direct = load_manifest("megc2019", tmp_path)  # the same grouping applied while reading the sheets
    assert sorted((c.sample_id, c.label_name) for c in three.clips) == sorted(
        (r.sample_id, r.label_name) for r in direct.rows
    )
    dropped = Counter(r.emotion.lower() for r in manifest.rows) - Counter(
        r.emotion.lower() for r in direct.rows
    )
    assert three.left_out == dict(dropped)


def test_an_emotion_the_grouping_does_not_know_is_an_error_naming_the_clip(tmp_path):
    path = tmp_path / "c.h5"
    with CacheWriter(path, dataset="casme2", params={}, classes=["anger", "disgust"]) as w:
        for i, name in enumerate(["anger", "disgust"]):
            w.add_clip(f"sub01/EP0{i}", np.zeros((2, 8, 8), np.uint8), subject="sub01", label=i,
                       label_name=name, onset=0, apex=1, offset=1, fps=200.0, source="x")  # fmt: skip
    assert [c.label_name for c in grouped_cache(path, "paper").clips] == ["negative", "negative"]
    with pytest.raises(
        ManifestError, match=r"clip 'sub01/EP00': emotion 'anger' is unknown to grouping 'casme2-5class'"
    ):
        grouped_cache(path, "default")


def test_a_cache_of_another_grouping_is_refused(tmp_path):
    path = tmp_path / "c.h5"
    with CacheWriter(path, dataset="casme2", params={}, classes=["happiness"], grouping="casme2-5class") as w:
        w.add_clip("sub01/EP01", np.zeros((2, 8, 8), np.uint8), subject="sub01", label=0,
                   label_name="happiness", onset=0, apex=1, offset=1, fps=200.0, source="x")  # fmt: skip
    with pytest.raises(ManifestError, match=r"labels are grouping 'casme2-5class', not 'emotions'; rebuild"):
        grouped_cache(path, "default")
    assert resolve_grouping("toy", "default").parts is None
