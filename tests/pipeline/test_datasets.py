"""Dataset adapters on tiny trees in each official layout: the exact manifests."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline.datasets import (
    ClipRecord,
    Manifest,
    ManifestError,
    list_datasets,
    list_groupings,
    load_manifest,
    read_manifest_csv,
)
from pipeline.datasets.cli import main
from tests.pipeline.dataset_trees import (
    build_casme1,
    build_casme2,
    build_megc2019,
    build_samm,
    build_smic,
)


def by_id(manifest: Manifest) -> dict[str, ClipRecord]:
    return {r.sample_id: r for r in manifest.rows}


def test_registry_lists_datasets_and_groupings():
    assert list_datasets() == [
        "4dme", "casme1", "casme2", "casme3a", "casme3c", "casme_sq", "megc2019", "mmew", "samm", "smic",
        "smic-nir", "smic-vis", "synthetic",
    ]  # fmt: skip
    assert list_groupings("casme2") == ["akmnet-4class", "casme2-5class"]
    assert list_groupings("megc2019") == ["megc2019-3class"]
    assert list_groupings("casme1") == ["akmnet-4class", "casme1-4class"]
    with pytest.raises(ManifestError, match="unknown dataset 'casme3'"):
        list_groupings("casme3")


def test_casme2_manifest(tmp_path):
    build_casme2(tmp_path)
    m = load_manifest("casme2", tmp_path)
    assert m.classes == ("happiness", "disgust", "repression", "surprise", "others")
    assert m.root == tmp_path
    assert m.sources["clips"] == str(tmp_path / "CASME2_RAW_selected")
    assert m.sources["annotation"] == str(tmp_path / "CASME2-coding-20140508.xlsx")
    rows = by_id(m)
    assert list(rows) == [
        "sub01/EP02_01f",
        "sub01/EP03_02",
        "sub02/EP09_01",
        "sub02/EP11_01f",
        "sub03/EP01_02",
    ]
    assert [r.label for r in m.rows] == [0, 1, 2, 3, 4]
    first = rows["sub01/EP02_01f"]
    assert first.clip == "CASME2_RAW_selected/sub01/EP02_01f"
    assert first.frames == tuple(f"CASME2_RAW_selected/sub01/EP02_01f/img{n}.jpg" for n in range(46, 51))
    assert (first.onset, first.apex, first.offset, first.fps) == (46, 48, 50, 200.0)
    assert (first.index_of(46), first.index_of(48), first.index_of(50)) == (0, 2, 4)
    assert all(p.is_file() for p in m.frame_paths(first))
    assert rows["sub01/EP03_02"].apex == -1  # "/" in the sheet
    assert rows["sub02/EP09_01"].action_units == ("AU4", "AU12")
    assert rows["sub02/EP09_01"].au_text == "AU4 + R12C"
    assert rows["sub01/EP03_02"].action_units == ("AU10",)
    assert rows["sub02/EP11_01f"].action_units == ("AU1", "AU2")
    assert [(e.sample_id, e.kind) for e in m.excluded] == [("sub03/EP13_04", "grouping")]
    assert m.subject_counts() == {"sub01": 2, "sub02": 2, "sub03": 1}
    with pytest.raises(ValueError, match="frame number 45"):
        first.index_of(45)


def test_frames_sorted_by_number_not_lexically(tmp_path):
    build_casme2(tmp_path, [(1, "EP01_01", 8, 9, 12, "4", "disgust")])
    rec = load_manifest("casme2", tmp_path).rows[0]
    assert rec.frame_numbers == (8, 9, 10, 11, 12)
    assert [Path(f).name for f in rec.frames] == [
        "img8.jpg",
        "img9.jpg",
        "img10.jpg",
        "img11.jpg",
        "img12.jpg",
    ]


def test_casme2_cropped_frame_set_picks_the_cropped_folder(tmp_path):
    build_casme2(tmp_path, clip_dir="CASME2_RAW_selected")
    build_casme2(tmp_path, clip_dir="Cropped", prefix="reg_")
    raw = load_manifest("casme2", tmp_path, frame_set="full")
    reg = load_manifest("casme2", tmp_path, frame_set="cropped")
    assert raw.sources["clips"].endswith("CASME2_RAW_selected")
    assert reg.sources["clips"].endswith("Cropped")
    assert by_id(reg)["sub01/EP02_01f"].frames[0] == "Cropped/sub01/EP02_01f/reg_img46.jpg"
    assert len(reg) == len(raw) == 5


def test_casme1_mixed_zero_padding_and_groupings(tmp_path):
    build_casme1(tmp_path)
    m = load_manifest("casme1", tmp_path, grouping="casme1-4class")
    assert m.grouping == "casme1-4class"
    assert m.classes == ("disgust", "repression", "surprise", "tense")
    rows = by_id(m)
    assert list(rows) == ["sub01/EP01_5", "sub01/EP07_1", "sub02/EP03_2"]
    assert rows["sub01/EP01_5"].frame_numbers == (8, 9, 10, 11)
    assert rows["sub01/EP07_1"].frames[0] == "sub01/EP07_1/EP07_1-098.jpg"
    mixed = rows["sub02/EP03_2"]
    assert [Path(f).name for f in mixed.frames] == [
        "EP03_2-7.jpg", "EP03_2-8.jpg", "EP03_2-9.jpg", "EP03_2-010.jpg", "EP03_2-011.jpg", "EP03_2-12.jpg",
    ]  # fmt: skip
    assert mixed.frame_numbers == (7, 8, 9, 10, 11, 12)
    assert (mixed.apex, mixed.label_name, mixed.fps) == (9, "tense", 60.0)
    assert [(e.sample_id, e.kind) for e in m.excluded] == [("sub02/EP05_4", "grouping")]
    paper = load_manifest("casme1", tmp_path)  # the default: the AKMNet paper's classes, every clip
    assert paper.grouping == "akmnet-4class"
    assert [r.label_name for r in paper.rows] == ["negative", "surprise", "others", "positive"]
    assert by_id(paper)["sub02/EP05_4"].apex == -1  # empty ApexF1


def test_samm_header_below_free_text_and_labels(tmp_path):
    build_samm(tmp_path)
    m = load_manifest("samm", tmp_path)
    assert m.sources["header_row"] == "14"
    assert m.classes == ("anger", "contempt", "happiness", "surprise", "other")
    rows = by_id(m)
    assert list(rows) == [
        "006/006_1_2",
        "006/006_1_3",
        "007/007_3_1",
        "007/007_5_2",
        "011/011_2_1",
        "011/011_2_5",
    ]
    assert [r.label_name for r in m.rows] == ["happiness", "anger", "contempt", "other", "surprise", "other"]
    assert [r.emotion for r in m.rows][3:] == ["Other", "Surprise", "Others"]
    assert rows["006/006_1_3"].apex == -1
    assert rows["006/006_1_3"].action_units == ("AU4", "AU7")
    assert rows["006/006_1_2"].frames[0] == "SAMM/006/006_1_2/006_05562.jpg"
    assert rows["006/006_1_2"].frame_numbers == tuple(range(5562, 5567))
    assert rows["007/007_3_1"].subject == "007"  # integer cell formatted as the folder name
    assert [(e.sample_id, e.kind) for e in m.excluded] == [("011/011_2_4", "grouping")]


def test_smic_labels_from_folders(tmp_path):
    build_smic(tmp_path)
    m = load_manifest("smic", tmp_path)
    assert m.classes == ("negative", "positive", "surprise")
    rows = by_id(m)
    assert list(rows) == ["s1/s1_ne_01", "s1/s1_po_01", "s2/s2_sur_01", "s3/s3_ne_02"]
    assert [r.label for r in m.rows] == [0, 1, 2, 0]
    gap = rows["s1/s1_ne_01"]
    assert gap.frame_numbers == (3201, 3202, 3204, 3205)
    assert (gap.onset, gap.apex, gap.offset, gap.fps) == (3201, -1, 3205, 100.0)
    assert gap.clip == "HS/s1/micro/negative/s1_ne_01"
    assert gap.index_of(3204) == 2


def test_megc2019_composite_prefixes_and_exclusions(tmp_path):
    build_megc2019(tmp_path)
    m = load_manifest("megc2019", tmp_path)
    assert m.classes == ("negative", "positive", "surprise")
    assert m.root == tmp_path
    assert m.class_counts() == {"negative": 7, "positive": 3, "surprise": 4}
    assert m.subjects == [
        "casme2-sub01", "casme2-sub02", "casme2-sub05", "samm-006", "samm-007", "samm-011", "smic-s1", "smic-s2", "smic-s3",
    ]  # fmt: skip
    rows = by_id(m)
    assert rows["casme2/sub02/EP09_01"].label_name == "negative"  # repression
    assert rows["samm/007/007_3_1"].label_name == "negative"  # contempt
    assert rows["samm/011/011_2_4"].label_name == "negative"  # disgust (dropped in samm-5class)
    assert rows["casme2/sub01/EP02_01f"].frames[0] == "CASME2/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg"
    assert rows["smic/s2/s2_sur_01"].dataset == "smic"
    protocol = sorted(e.sample_id for e in m.excluded if e.kind == "protocol")
    assert protocol == ["casme2/sub04/EP12_01f", "casme2/sub05/EP09_05f"]
    dropped = sorted(e.sample_id for e in m.excluded if e.kind == "grouping")
    assert dropped == ["casme2/sub03/EP01_02", "casme2/sub03/EP13_04", "samm/007/007_5_2", "samm/011/011_2_5"]
    for part in ("casme2", "samm", "smic"):
        assert all(r.subject.startswith(f"{part}-") for r in m.rows if r.dataset == part)


def test_megc2019_per_dataset_roots(tmp_path):
    build_megc2019(tmp_path / "all")
    moved = tmp_path / "elsewhere" / "my-smic"
    shutil.move(tmp_path / "all" / "SMIC", moved)
    with pytest.raises(ManifestError, match="no folder for 'smic'"):
        load_manifest("megc2019", tmp_path / "all")
    m = load_manifest("megc2019", tmp_path / "all", roots={"smic": moved})
    assert m.root == tmp_path
    assert (
        by_id(m)["smic/s1/s1_ne_01"].frames[0]
        == "elsewhere/my-smic/HS/s1/micro/negative/s1_ne_01/image003201.bmp"
    )
    assert all((m.root / r.frames[0]).is_file() for r in m.rows)
    assert len(m) == 14


def test_synthetic_goes_through_the_casme2_path(tmp_path):
    build_casme2(tmp_path, clip_dir=None, sheet_name="CASME2-coding-synthetic.xlsx")
    synth = load_manifest("synthetic", tmp_path)
    casme2 = load_manifest("casme2", tmp_path)
    assert synth.grouping == "synthetic-5class"
    assert synth.classes == casme2.classes
    assert [r.frames for r in synth.rows] == [r.frames for r in casme2.rows]
    assert [(r.subject, r.onset, r.apex, r.offset, r.label) for r in synth.rows] == [
        (r.subject, r.onset, r.apex, r.offset, r.label) for r in casme2.rows
    ]
    assert {r.dataset for r in synth.rows} == {"synthetic"}
    assert synth.rows[0].clip == "sub01/EP02_01f"


def test_csv_round_trip(tmp_path):
    build_megc2019(tmp_path / "data")
    m = load_manifest("megc2019", tmp_path / "data")
    path = m.to_csv(tmp_path / "out" / "manifest.csv")
    back = read_manifest_csv(path)
    assert back == m
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.csv", "manifest.json"]


def test_manifest_csv_is_plain_for_any_csv_reader(tmp_path):
    build_casme2(tmp_path / "data")
    m = load_manifest("casme2", tmp_path / "data")
    path = m.to_csv(tmp_path / "casme2.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [f.name for f in dataclasses.fields(ClipRecord)]
    assert [r["sample_id"] for r in rows] == [r.sample_id for r in m.rows]
    assert rows[0]["frames"].split(";")[0] == m.rows[0].frames[0]
    frame = pd.read_csv(path)
    assert len(frame) == len(m.rows) and frame["onset"].tolist() == [r.onset for r in m.rows]
    meta = json.loads((tmp_path / "casme2.json").read_text())
    assert meta["dataset"] == "casme2" and meta["classes"] == list(m.classes)


def test_csv_rejects_foreign_file(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ManifestError, match=r"x\.csv: its metadata file x\.json is missing"):
        read_manifest_csv(tmp_path / "x.csv")
    (tmp_path / "x.json").write_text(json.dumps({"format_version": 2}))
    with pytest.raises(ManifestError, match=r"x\.csv: line 1: not a manifest header \(missing columns"):
        read_manifest_csv(tmp_path / "x.csv")
    (tmp_path / "x.json").write_text(json.dumps({"format_version": 1}))
    with pytest.raises(ManifestError, match=r"x\.json: format_version 1, expected 2"):
        read_manifest_csv(tmp_path / "x.csv")


def test_command_line_prints_summary_and_writes_csv(tmp_path, capsys):
    build_samm(tmp_path / "samm")
    out = tmp_path / "samm.csv"
    assert main(["--dataset", "samm", "--root", str(tmp_path / "samm"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "header_row: 14" in text
    assert re.search(r"^other +2$", text, re.M) and re.search(r"^total +6$", text, re.M)
    assert "[grouping] 011/011_2_4: emotion 'Disgust' is not used" in text
    assert len(read_manifest_csv(out)) == 6
    with pytest.raises(SystemExit):
        main(["--dataset", "samm", "--root", str(tmp_path / "samm"), "--grouping", "nope", "--out", str(out)])
    assert "choose one of ['akmnet-4class', 'samm-5class']" in capsys.readouterr().err


def test_generated_synthetic_dataset_loads_strictly(tmp_path):
    synthetic = pytest.importorskip("pipeline.synthetic")
    params = synthetic.SyntheticParams(
        subjects=2, clips_per_class=1, clip_length=(5, 6), blink_frames=3, verify_detection=False,
        missing_apex_fraction=0.2,
    )  # fmt: skip
    synthetic.write_dataset(tmp_path / "syn", params, seed=0)
    sheet = openpyxl.load_workbook(tmp_path / "syn" / synthetic.SHEET_NAME).worksheets[0]
    header, *body = list(sheet.iter_rows(values_only=True))
    apex_col = header.index("ApexFrame")
    m = load_manifest("synthetic", tmp_path / "syn", strict=True)
    assert len(m) == len(body) == 10
    assert m.class_counts() == {c: 2 for c in m.classes}
    assert m.subjects == ["sub01", "sub02"]
    assert sum(r.apex == -1 for r in m.rows) == sum(row[apex_col] == "/" for row in body) >= 1
    for rec in m.rows:
        assert rec.frame_numbers == tuple(range(rec.onset, rec.offset + 1))
        assert all(p.is_file() for p in m.frame_paths(rec))
