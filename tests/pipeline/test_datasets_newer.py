"""The newer datasets (CAS(ME)^3 A and C, MMEW, 4DME, CAS(ME)^2, SMIC-VIS/NIR) on tiny trees in their
official layouts: exact manifests, and every correction and exclusion reported with its row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.datasets import ManifestError, list_groupings, load_manifest, load_spec
from pipeline.datasets.cli import main
from tests.pipeline.dataset_trees import write_frames
from tests.pipeline.newer_trees import (
    CASME3A_HEADER,
    CASME3A_ROWS,
    CASME3C_ROWS,
    CASME_SQ_ROWS,
    build_4dme,
    build_casme3a,
    build_casme3a_clips,
    build_casme3c,
    build_casme_sq,
    build_mmew,
    build_smic_e,
    write_rows,
)

A_SHEET = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
MOVED = "is not on disk; nearest existing frame"


def table(manifest) -> list[tuple]:
    """Each clip as (sample id, subject, class, onset, apex, offset, frames, first frame's file)."""
    return [
        (
            r.sample_id,
            r.subject,
            r.label_name,
            r.onset,
            r.apex,
            r.offset,
            len(r.frames),
            Path(r.frames[0]).name,
        )
        for r in manifest.rows
    ]


def excluded(manifest) -> list[tuple[str, str, str]]:
    return [(e.row, e.sample_id, e.kind) for e in manifest.excluded]


def test_names_groupings_and_rates():
    assert list_groupings("casme3a") == ["casme3-4class", "casme3-7class"]
    assert list_groupings("casme3c") == ["casme3-4class"]
    assert list_groupings("mmew") == ["mmew-4class", "mmew-6class"]
    assert list_groupings("4dme") == ["4dme-3class", "4dme-5class"]
    assert list_groupings("casme_sq") == ["casme_sq-3class", "casme_sq-4class"]
    assert list_groupings("smic-vis") == list_groupings("smic-nir") == ["smic-3class"]
    specs = {
        n: load_spec(n) for n in ("casme3a", "casme3c", "mmew", "4dme", "casme_sq", "smic-vis", "smic-nir")
    }
    assert {n: s.fps for n, s in specs.items()} == {
        "casme3a": 30, "casme3c": 30, "mmew": 90, "4dme": 60, "casme_sq": 30, "smic-vis": 25, "smic-nir": 25,
    }  # fmt: skip
    assert specs["casme3a"].default_grouping == specs["casme3c"].default_grouping == "casme3-4class"


def test_casme3a_official_sheet_gaps_case_and_known_errors(tmp_path):
    build_casme3a(tmp_path)
    m = load_manifest("casme3a", tmp_path)
    assert m.sources["clips"] == str(tmp_path / "part_A_split/part_A")
    assert m.sources["annotation"] == str(tmp_path / "annotation" / A_SHEET)
    assert m.sources["layout"] == "{subject}/{filename}/color"
    assert m.classes == ("positive", "negative", "surprise", "others")
    assert table(m) == [
        ("spNO.1/a_10", "spNO.1", "positive", 10, 12, 14, 5, "10.jpg"),
        ("spNO.1/a_30", "spNO.1", "negative", 30, 31, 33, 4, "30.jpg"),  # the same video
        ("spNO.1/b_2", "spNO.1", "surprise", 5, 5, 7, 3, "5.jpg"),  # frames 1-4 lost: onset/apex 2 -> 5
        ("spNO.2/c_15", "spNO.2", "negative", 15, 18, 36, 8, "15.jpg"),  # 15-19 and 34-36
        ("spNO.2/J_5", "spNO.2", "negative", 5, 6, 8, 4, "5.jpg"),  # sheet J, folder j
        ("spNO.3/d_3", "spNO.3", "others", 3, 5, 6, 4, "3.jpg"),  # Others; folder spNo.3
        ("spNO.3/d_40", "spNO.3", "negative", 40, 42, 44, 4, "40.jpg"),  # apex 43 missing -> 42
        ("spNO.4/f_112", "spNO.4", "negative", 112, 160, 170, 59, "112.jpg"),  # apex 83 -> 160
        ("spNO.5/h_3647", "spNO.5", "surprise", 2647, 2668, 2690, 44, "2647.jpg"),  # onset -> 2647
        ("spNO.5/i_0", "spNO.5", "positive", 1, 1, 6, 6, "1.jpg"),  # onset = apex = 0 -> 1
        ("spNO.6/k_1830", "spNO.6", "negative", 1830, 1840, 1845, 16, "1830.jpg"),  # offset 0 -> 1845
        ("spNO.6/l_2395", "spNO.6", "negative", 2395, 2399, 2403, 9, "2395.jpg"),  # offset 0 -> 2403
    ]
    rows = {r.sample_id: r for r in m.rows}
    assert rows["spNO.2/c_15"].frame_numbers == (15, 16, 17, 18, 19, 34, 35, 36)
    assert rows["spNO.2/J_5"].frames[0] == "part_A_split/part_A/spNO.2/j/color/5.jpg"
    assert rows["spNO.3/d_3"].frames[0] == "part_A_split/part_A/spNo.3/d/color/3.jpg"
    assert rows["spNO.3/d_3"].emotion == "Others"
    assert rows["spNO.1/a_30"].action_units == ("AU4", "AU15", "AU10")
    assert not any("depth" in f for r in m.rows for f in r.frames)  # depth is not read
    assert excluded(m) == [
        (f"{A_SHEET} row 9", "spNO.3/e_50", "invalid"),
        (f"{A_SHEET} row 710", "spNO.4/g_30", "known-error"),
    ]
    reasons = [e.reason for e in m.excluded]
    assert reasons[0] == (
        f"{A_SHEET} row 9: 0 frame(s) of onset..offset 50..52 exist in "
        f"{(tmp_path / 'part_A_split/part_A/spNo.3/e/color').as_posix()} (found 40..59); a clip needs at least 2"
    )
    assert reasons[1] == (
        f"{A_SHEET} row 710, column 'Offset': offset 3460 is a known sheet error with no verified fix "
        "(data row 708: offset 3460 is wrong and the true offset is not known)"
    )
    row = f"{A_SHEET} row"
    assert m.corrections == [
        f"{row} 4 (spNO.1/b_2): frame(s) 2-4 of onset..offset 2..7 missing on disk: the clip is the 3 frame(s) "
        "that exist",
        f"{row} 4 (spNO.1/b_2): onset 2 -> 5 (frame 2 {MOVED})",
        f"{row} 4 (spNO.1/b_2): apex 2 -> 5 (frame 2 {MOVED})",
        f"{row} 5 (spNO.2/c_15): frame(s) 20-33 of onset..offset 15..36 missing on disk: the clip is the 8 "
        "frame(s) that exist",
        f"{row} 8 (spNO.3/d_40): frame(s) 43 of onset..offset 40..44 missing on disk: the clip is the 4 frame(s) "
        "that exist",
        f"{row} 8 (spNO.3/d_40): apex 43 -> 42 (frame 43 {MOVED})",
        f"{row} 130 (spNO.4/f_112): apex 83 -> 160 (data row 128: apex 83 is before onset 112; the full "
        "annotation sheet gives 160)",
        f"{row} 751 (spNO.5/h_3647): onset 3647 -> 2647 (data row 749: onset 3647 is after apex 2668; digits "
        "swapped, 2647)",
        f"{row} 752 (spNO.5/i_0): onset 0 -> 1 (data row 750: frame 0 does not exist, the video starts at frame 1)",
        f"{row} 752 (spNO.5/i_0): apex 0 -> 1 (data row 750: frame 0 does not exist, the video starts at frame 1)",
        f"{row} 798 (spNO.6/k_1830): offset 0 -> 1845 (data row 796: offset 0; the offset is 1845)",
        f"{row} 800 (spNO.6/l_2395): offset 0 -> 2403 (data row 798: offset 0; the offset is 2403)",
    ]
    seven = load_manifest("casme3a", tmp_path, grouping="casme3-7class")
    assert [r.label_name for r in seven.rows] == [
        "happy", "disgust", "surprise", "sad", "fear", "others", "anger", "disgust", "surprise", "happy", "anger",
        "sad",
    ]  # fmt: skip
    with pytest.raises(
        ManifestError, match=r"1 row\(s\) failed validation \(strict\):\n  \S+ row 9: 0 frame"
    ):
        load_manifest("casme3a", tmp_path, strict=True)  # the known error (row 710) is listed, not a failure


@pytest.mark.parametrize("release", ["part_A", "part_A_split/part_A", "RGB", None])
def test_casme3a_clip_folders_are_found_under_each_release_folder(tmp_path, release):
    rows = {2: CASME3A_ROWS[2], 3: CASME3A_ROWS[3]}
    build_casme3a(tmp_path, rows, {("spNO.1", "a"): list(range(1, 41))}, release=release, depth=False)
    m = load_manifest("casme3a", tmp_path, strict=True)
    assert m.sources["clips"] == str(tmp_path / release if release else tmp_path)
    assert [r.sample_id for r in m.rows] == ["spNO.1/a_10", "spNO.1/a_30"]


def test_casme3a_two_releases_are_refused_and_clips_chooses(tmp_path):
    rows = {2: CASME3A_ROWS[2]}
    build_casme3a(tmp_path, rows, {("spNO.1", "a"): list(range(1, 20))}, release="part_A", depth=False)
    build_casme3a(tmp_path, rows, {("spNO.1", "a"): list(range(1, 20))}, release="RGB", depth=False)
    with pytest.raises(ManifestError, match="several clip folders fit; choose one with --clips"):
        load_manifest("casme3a", tmp_path)
    m = load_manifest("casme3a", tmp_path, clips=tmp_path / "RGB")
    assert m.rows[0].frames[0] == "RGB/spNO.1/a/color/10.jpg"


def test_casme3a_official_clip_release(tmp_path):
    rows = {2: CASME3A_ROWS[2], 3: CASME3A_ROWS[3], 4: CASME3A_ROWS[4]}
    frames = {"spNo.1_a_10": [10, 11, 12, 13, 14], "spNO.1_a_30": [30, 31, 33], "spNO.1_b_2": [5, 6, 7]}
    build_casme3a_clips(tmp_path, rows, frames)
    m = load_manifest("casme3a", tmp_path)
    assert m.sources["clips"] == str(tmp_path / "Part_A_ME_clip")
    assert m.sources["layout"] == "frame/{subject}_{filename}_{onset}"
    assert table(m) == [
        ("spNO.1/a_10", "spNO.1", "positive", 10, 12, 14, 5, "10.jpg"),
        ("spNO.1/a_30", "spNO.1", "negative", 30, 31, 33, 3, "30.jpg"),
        ("spNO.1/b_2", "spNO.1", "surprise", 5, 5, 7, 3, "5.jpg"),
    ]
    assert m.rows[0].frames[0] == "Part_A_ME_clip/frame/spNo.1_a_10/10.jpg"
    assert [c.split(": ", 1)[1] for c in m.corrections] == [
        "frame(s) 32 of onset..offset 30..33 missing on disk: the clip is the 3 frame(s) that exist",
        "frame(s) 2-4 of onset..offset 2..7 missing on disk: the clip is the 3 frame(s) that exist",
        f"onset 2 -> 5 (frame 2 {MOVED})",
        f"apex 2 -> 5 (frame 2 {MOVED})",
    ]


def test_casme3a_known_errors_are_checked_against_the_row_they_name(tmp_path):
    # another sheet version: rows 130 and 710 hold other, valid rows
    rows = {
        130: ("spNO.4", "f", 112, 115, 170, "4", "II", "disgust"),
        710: ("spNO.4", "g", 30, 33, 36, "4", "II", "sad"),
    }
    build_casme3a(
        tmp_path, rows, {("spNO.4", "f"): list(range(100, 176)), ("spNO.4", "g"): list(range(25, 40))}
    )
    m = load_manifest("casme3a", tmp_path, strict=True)
    assert [(r.sample_id, r.apex, r.offset) for r in m.rows] == [
        ("spNO.4/f_112", 115, 170),
        ("spNO.4/g_30", 33, 36),
    ]
    assert m.corrections == [
        f"{A_SHEET} row 130 (spNO.4/f_112): NOT applied: apex holds 115, the known correction expects 83 -> 160 "
        "(data row 128: apex 83 is before onset 112; the full annotation sheet gives 160)",
        f"{A_SHEET} row 710 (spNO.4/g_30): known error NOT found: offset holds '36', the spec expects '3460' "
        "(data row 708: offset 3460 is wrong and the true offset is not known)",
    ]


def test_casme3a_sheet_without_its_worksheet_names_the_file_and_the_worksheets(tmp_path):
    build_casme3a(tmp_path, {2: CASME3A_ROWS[2]}, {("spNO.1", "a"): [10, 11]})
    write_rows(tmp_path / "annotation" / A_SHEET, CASME3A_HEADER, {2: CASME3A_ROWS[2]}, title="Sheet1")
    with pytest.raises(ManifestError, match=r"no worksheet named 'label'; the workbook has \['Sheet1'\]"):
        load_manifest("casme3a", tmp_path)


def test_casme3c_chosen_layout_quirky_aus_and_renumbered_folder(tmp_path):
    build_casme3c(tmp_path)
    m = load_manifest("casme3c", tmp_path, strict=True)
    assert m.sources["layout"] == "{subject}/{filename}/color"
    assert m.sources["clips"] == str(tmp_path / "part_C")
    assert table(m) == [
        ("01/1_100", "01", "negative", 100, -1, 106, 7, "100.jpg"),
        ("01/2_300", "01", "positive", 300, -1, 304, 5, "1.jpg"),  # files 1..5 are frames 300..304
        ("02/1_50", "02", "surprise", 50, -1, 55, 5, "50.jpg"),  # frame 52 missing
        ("31/1_7", "31", "others", 7, -1, 9, 3, "7.jpg"),
    ]
    assert m.rows[1].frame_numbers == (300, 301, 302, 303, 304)
    assert [(r.action_units, r.au_text) for r in m.rows] == [
        (("AU4", "AU7"), "4，7,"), (("AU12",), "12"), (("AU13",), "13?"), (("AU1", "AU2"), "1+2,"),
    ]  # fmt: skip
    sheet = "CAS(ME)3_part_C_ME.xlsx"
    assert m.corrections == [
        f"{sheet} row 3 (01/2_300): files numbered 1..5 in {(tmp_path / 'part_C/01/2/color').as_posix()}: "
        "file k is sheet frame 300 + k - 1",
        f"{sheet} row 4 (02/1_50): frame(s) 52 of onset..offset 50..55 missing on disk: the clip is the 5 frame(s) "
        "that exist",
    ]
    assert m.excluded == []


def test_casme3c_one_recording_per_subject_and_an_overriding_spec(tmp_path, monkeypatch):
    rows = [CASME3C_ROWS[0], (1, 2, 300, 304, "12", "positive")]
    build_casme3c(tmp_path, rows, {("01", ""): [*range(100, 107), *range(300, 305)]}, release=None)
    m = load_manifest("casme3c", tmp_path, strict=True)
    assert m.sources["layout"] == "{subject}/color"
    assert [(r.sample_id, r.frames[0], len(r.frames)) for r in m.rows] == [
        ("01/1_100", "01/color/100.jpg", 7), ("01/2_300", "01/color/300.jpg", 5),
    ]  # fmt: skip
    # any other layout: a spec of the same name in $AKMNET_DATA_MANIFESTS extends the shipped one
    other = tmp_path / "other"
    build_casme3c(other, rows[:1], {}, release=None)
    write_frames(other / "ME_C" / "S01-1", [f"{n}.jpg" for n in range(100, 107)])
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "casme3c.toml").write_text('extends = "casme3c"\nclip_template = "ME_C/S{subject}-{filename}"\n')
    monkeypatch.setenv("AKMNET_DATA_MANIFESTS", str(specs))
    assert load_spec("casme3c").path == specs / "casme3c.toml"
    m = load_manifest("casme3c", other, strict=True)
    assert (m.sources["layout"], m.rows[0].frames[0]) == ("ME_C/S{subject}-{filename}", "ME_C/S01-1/100.jpg")
    assert (m.grouping, m.rows[0].fps, len(m.rows[0].frames)) == ("casme3-4class", 30.0, 7)


@pytest.mark.parametrize("subject_level", [False, True])
def test_mmew_layouts_repression_folder_and_groupings(tmp_path, subject_level):
    build_mmew(tmp_path, subject_level=subject_level)
    m = load_manifest("mmew", tmp_path)
    level = "{subject}/" if subject_level else ""
    assert m.sources["layout"] == f"{level}{{emotion}}/{{filename}}"
    assert m.sources["clips"] == str(tmp_path / "MMEW_Final/Micro_Expression")
    assert table(m) == [
        ("S01/S01_01", "S01", "happiness", 1, 5, 9, 9, "1.jpg"),
        ("S01/S01_02", "S01", "others", 1, 3, 6, 6, "1.jpg"),
        ("S02/S02_01", "S02", "surprise", 1, 4, 8, 8, "1.jpg"),
        ("S02/S02_02", "S02", "disgust", 1, 2, 5, 5, "1.jpg"),
    ]
    sub = "S01/" if subject_level else ""
    assert m.rows[1].clip == f"MMEW_Final/Micro_Expression/{sub}repression/S01_02"  # the sheet's others
    assert excluded(m) == [
        ("MMEW_Micro_Exp.xlsx row 6", "S03/S03_01", "grouping"),
        ("MMEW_Micro_Exp.xlsx row 7", "S03/S03_02", "grouping"),
        ("MMEW_Micro_Exp.xlsx row 8", "S03/S03_03", "grouping"),
    ]
    six = load_manifest("mmew", tmp_path, grouping="mmew-6class")
    assert table(six) == [
        ("S01/S01_01", "S01", "happiness", 1, 5, 9, 9, "1.jpg"),
        ("S02/S02_01", "S02", "surprise", 1, 4, 8, 8, "1.jpg"),
        ("S02/S02_02", "S02", "disgust", 1, 2, 5, 5, "1.jpg"),
        ("S03/S03_01", "S03", "fear", 1, 2, 4, 4, "1.jpg"),
        ("S03/S03_02", "S03", "sadness", 40, 42, 45, 6, "1.jpg"),  # files 1..6 are frames 40..45
    ]
    folder = (tmp_path / "MMEW_Final/Micro_Expression").as_posix() + ("/S03/" if subject_level else "/")
    assert six.corrections == [
        f"MMEW_Micro_Exp.xlsx row 7 (S03/S03_02): files numbered 1..6 in {folder}sadness/S03_02: "
        "file k is sheet frame 40 + k - 1"
    ]
    assert excluded(six) == [
        ("MMEW_Micro_Exp.xlsx row 3", "S01/S01_02", "grouping"),
        ("MMEW_Micro_Exp.xlsx row 8", "S03/S03_03", "invalid"),
    ]
    assert six.excluded[1].reason == (
        f"MMEW_Micro_Exp.xlsx row 8: frames missing on disk in {folder}anger/S03_03: 9-12 "
        "(annotated onset..offset 1..12, found 1..8)"
    )


def test_4dme_compound_labels_are_left_out_and_grey_frames_read(tmp_path):
    build_4dme(tmp_path)
    m = load_manifest("4dme", tmp_path, strict=True)
    sheet = "4DME_Labelling_Micro_release v1.xlsx"
    assert m.classes == ("positive", "negative", "surprise", "repression", "others")
    assert table(m) == [
        ("S01/S01_1st_001_01", "S01", "positive", 120, 125, 130, 11, "Frame_000000120.jpg"),
        ("S02/S02_2nd_001_01", "S02", "negative", 300, 302, 305, 6, "Frame_000000300.jpg"),
        ("S02/S02_2nd_003_02", "S02", "repression", 10, 12, 14, 5, "Frame_000000010.jpg"),
        ("S03/S03_1st_004_01", "S03", "others", 500, 503, 505, 6, "Frame_000000001.jpg"),
    ]
    assert m.rows[1].action_units == ("AU4", "AU7")  # "AU4(k)+L7"
    assert excluded(m) == [
        (f"{sheet} row 3", "S01/S01_1st_002_01", "multi-label"),
        (f"{sheet} row 7", "S03/S03_1st_005_01", "multi-label"),
    ]
    assert m.excluded[0].reason == (
        "multi-label emotion 'Surprise+Positive': rows with several labels are left out (single-label classes)"
    )
    assert m.corrections == [
        f"{sheet} row 6 (S03/S03_1st_004_01): files numbered 1..6 in "
        f"{(tmp_path / 'gray_micro/S03/S03_1st_004_01').as_posix()}: file k is sheet frame 500 + k - 1"
    ]
    three = load_manifest("4dme", tmp_path, grouping="4dme-3class")
    assert [r.sample_id for r in three.rows] == ["S01/S01_1st_001_01", "S02/S02_2nd_001_01"]
    assert [k for _, _, k in excluded(three)] == ["multi-label", "grouping", "grouping", "multi-label"]
    build_4dme(tmp_path, release="gray_micro_crop")
    cropped = load_manifest("4dme", tmp_path, frame_set="cropped")
    assert cropped.rows[0].frames[0] == "gray_micro_crop/S01/S01_1st_001_01/Frame_000000120.jpg"


def test_casme_sq_naming_rule_sheets_macro_rows_and_missing_values(tmp_path):
    build_casme_sq(tmp_path)
    m = load_manifest("casme_sq", tmp_path)
    sheet = "CAS(ME)^2code_final.xlsx"
    assert m.sources["header_row"] == "none"
    assert m.sources["clips"] == str(tmp_path / "rawpic")
    assert table(m) == [
        ("s15/disgust1_1", "s15", "negative", 30, 35, 40, 11, "img030.jpg"),
        ("s15/disgust1_2", "s15", "negative", 100, 104, 104, 5, "img100.jpg"),  # offset 0 -> the apex
        ("s16/happy1_1", "s16", "positive", 55, 57, 60, 6, "img055.jpg"),
        ("s16/anger1_2", "s16", "others", 10, -1, 14, 5, "img010.jpg"),  # apex 0: unknown
    ]
    assert [r.clip for r in m.rows] == [
        "rawpic/s15/15_0101disgustingteeth", "rawpic/s15/15_0101disgustingteeth", "rawpic/s16/16_0502funnyerrors",
        "rawpic/s16/16_0401girlcrashing",
    ]  # fmt: skip
    assert excluded(m) == [
        (f"{sheet} row 3", "s15/anger1_1", "filter"),
        (f"{sheet} row 6", "s16/sad9_1", "invalid"),
        (f"{sheet} row 7", "s16/happy1_2", "invalid"),
    ]
    assert [e.reason for e in m.excluded] == [
        "expression_type 'macro-expression': macro-expression row of the long videos: only the micro-expressions "
        "are read",
        f"{sheet} row 6: filename key 'sad9' is not in {sheet} worksheet 'naming rule2' (key column B) "
        "(it has: disgust1, anger1, happy1)",
        f"{sheet} row 7, column 'E': offset 0 means missing in this sheet and there is no apex to end the clip at",
    ]
    assert m.corrections == [f"{sheet} row 2 (s15/disgust1_2): offset 0 (missing in this sheet) -> 104 (the apex "
                             "ends the clip)"]  # fmt: skip
    three = load_manifest("casme_sq", tmp_path, grouping="casme_sq-3class")
    assert [r.sample_id for r in three.rows] == ["s15/disgust1_1", "s15/disgust1_2", "s16/happy1_1"]


def test_casme_sq_copy_with_a_header_row_and_an_ambiguous_video_folder(tmp_path):
    rows = {1: ("subject", "clip", "onset", "apex", "offset", "AU", "emotion", "type", "self-report")}
    rows.update({i + 2: row for i, row in enumerate([*CASME_SQ_ROWS[:2], CASME_SQ_ROWS[3]])})
    videos = {
        "s15/15_0101disgustingteeth": [30],
        "s15/15_0101copy": [30],
        "s16/16_0502x": list(range(55, 61)),
    }
    build_casme_sq(tmp_path, videos=videos)
    write_rows(
        tmp_path / "CAS(ME)^2code_final.xlsx", None, rows, title="CASMEcode_final",
        extra={"naming rule1": [(15, "s15", 1), (16, "s16", 2)], "naming rule2": [("0101", "disgust1"), (502, "happy1")]},
    )  # fmt: skip
    m = load_manifest("casme_sq", tmp_path)
    assert m.sources["header_row"] == "1"
    assert table(m) == [("s16/happy1_1", "s16", "positive", 55, 57, 60, 6, "img055.jpg")]
    assert [e.reason for e in m.excluded] == [
        f"CAS(ME)^2code_final.xlsx row {n}: several folders (15_0101copy, 15_0101disgustingteeth) matching "
        f"'15_0101*' (case ignored) in {(tmp_path / 'rawpic/s15').as_posix()}"
        for n in (2, 3)
    ]


def test_casme_sq_needs_the_workbook_of_its_naming_rules(tmp_path):
    build_casme_sq(tmp_path)
    csv = tmp_path / "code.csv"
    csv.write_text("1,disgust1_1,30,35,40,4+9,negative,micro-expression,disgust\n")
    with pytest.raises(ManifestError, match=r"code.csv: this dataset's names come from the worksheets "
                       r"'naming rule1', 'naming rule2': give the .xlsx"):  # fmt: skip
        load_manifest("casme_sq", tmp_path, annotation=csv)
    wb = tmp_path / "CAS(ME)^2code_final.xlsx"
    write_rows(
        wb, None, {1: CASME_SQ_ROWS[0]}, title="CASFEcode_final", extra={"naming rule1": [(15, "s15", 1)]}
    )
    with pytest.raises(ManifestError, match=r"no worksheet named 'naming rule2'; the workbook has "
                       r"\['CASFEcode_final', 'naming rule1'\]"):  # fmt: skip
        load_manifest("casme_sq", tmp_path)


def test_casme_sq_sheet_without_numbers_is_refused_naming_the_columns(tmp_path):
    build_casme_sq(tmp_path)
    write_rows(tmp_path / "CAS(ME)^2code_final.xlsx", None, {1: ("a", "b", "c", "d", "e")}, title="x")
    with pytest.raises(ManifestError, match=r"no row holds whole numbers where the spec expects them \(onset in "
                       r"column C, offset in column E\)"):  # fmt: skip
        load_manifest("casme_sq", tmp_path)


@pytest.mark.parametrize(("name", "modality"), [("smic-vis", "VIS"), ("smic-nir", "NIR")])
def test_smic_vis_and_nir_read_like_smic_hs(tmp_path, name, modality):
    build_smic_e(tmp_path, modality)
    m = load_manifest(name, tmp_path, strict=True)
    assert m.sources["clips"] == str(tmp_path / modality)
    assert table(m) == [
        ("s1/s1_ne_01", "s1", "negative", 501, -1, 506, 5, "image000501.bmp"),
        ("s1/s1_po_01", "s1", "positive", 40, -1, 42, 3, "image000040.bmp"),
        ("s2/s2_sur_01", "s2", "surprise", 7, -1, 10, 4, "image000007.bmp"),
    ]
    assert {r.fps for r in m.rows} == {25.0}


@pytest.mark.parametrize(
    ("name", "build", "clips", "excluded_rows"),
    [
        ("casme3a", build_casme3a, 12, 2),
        ("casme3c", build_casme3c, 4, 0),
        ("mmew", build_mmew, 4, 3),
        ("4dme", build_4dme, 4, 2),
        ("casme_sq", build_casme_sq, 4, 3),
        ("smic-vis", lambda root: build_smic_e(root, "VIS"), 3, 0),
        ("smic-nir", lambda root: build_smic_e(root, "NIR"), 3, 0),
    ],
)
def test_inspection_command_of_each_new_dataset(tmp_path, capsys, name, build, clips, excluded_rows):
    build(tmp_path / "data")
    out = tmp_path / f"{name}.csv"
    assert main(["--dataset", name, "--root", str(tmp_path / "data"), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + clips
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["dataset"] == name and len(meta["excluded"]) == excluded_rows
    assert f"wrote {clips} clip(s) to {out}" in capsys.readouterr().out
