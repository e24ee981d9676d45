"""Dataset adapters: every validation message, strict mode, candidate conflicts, corrections."""

from __future__ import annotations

import os
import shutil

import pytest

from pipeline.datasets import ManifestError, load_manifest
from pipeline.datasets.frames import contiguous_run
from tests.pipeline.dataset_trees import (
    CASME2_HEADER,
    CASME2_ROWS,
    build_casme2,
    build_samm,
    build_smic,
    write_frames,
    write_sheet,
)

SHEET = "CASME2-coding-20140508.xlsx"
GOOD = CASME2_ROWS[0]  # (1, "EP02_01f", 46, 48, 50, "12", "happiness"), sheet row 2


def reasons(manifest) -> dict[str, str]:
    return {e.row: e.reason for e in manifest.excluded if e.kind == "invalid"}


def test_missing_columns_list_expected_and_found(tmp_path):
    build_casme2(tmp_path)
    header = [
        "Subject",
        "Filename",
        "StartFrame",
        "ApexFrame",
        "OffsetFrame",
        "Action Units",
        "Estimated Emotion",
    ]
    write_sheet(tmp_path / SHEET, header, CASME2_ROWS)
    with pytest.raises(ManifestError) as err:
        load_manifest("casme2", tmp_path)
    text = str(err.value)
    assert SHEET in text
    assert "Expected: Subject, Filename, OnsetFrame | Onset Frame | Onset" in text
    assert "Closest is row 1, which has: Subject, Filename, StartFrame, ApexFrame" in text
    assert text.endswith("Missing: OnsetFrame | Onset Frame | Onset")


def test_row_problems_are_excluded_with_row_column_and_value(tmp_path):
    rows = [
        GOOD,  # row 2
        (1, "EP03_02", "abc", 11, 13, "4", "disgust"),  # row 3: non-numeric onset
        (2, "EP09_01", 103, 101, 100, "4", "repression"),  # row 4: onset after offset
        (2, "EP11_01f", 5, 9, 8, "4", "surprise"),  # row 5: apex outside onset..offset
        (3, "EP01_02", 20, 22, 23, "4", "happy"),  # row 6: unknown label
        (1, "EP02_01f", 46, 48, 50, "12", "happiness"),  # row 7: duplicate of row 2
        (3, "../../outside", 20, 21, 22, "4", "others"),  # row 8: escapes the root
        (3, "/etc", 20, 21, 22, "4", "others"),  # row 9: absolute
        (3, "EP05_05", 1, 2, 3, "4", "others"),  # row 10: clip folder absent
    ]
    build_casme2(tmp_path, [rows[0]])
    write_sheet(tmp_path / SHEET, CASME2_HEADER, rows)
    m = load_manifest("casme2", tmp_path)
    assert [r.sample_id for r in m.rows] == ["sub01/EP02_01f"]
    got = reasons(m)
    assert list(got) == [f"{SHEET} row {n}" for n in range(3, 11)]
    assert (
        got[f"{SHEET} row 3"]
        == f"{SHEET} row 3, column 'OnsetFrame': onset value 'abc' is not a whole number"
    )
    assert got[f"{SHEET} row 4"] == (
        f"{SHEET} row 4, columns 'OnsetFrame'/'OffsetFrame': onset 103 is after offset 100"
    )
    assert got[f"{SHEET} row 5"] == f"{SHEET} row 5, column 'ApexFrame': apex 9 is outside onset..offset 5..8"
    assert got[f"{SHEET} row 6"].startswith(
        f"{SHEET} row 6, column 'Estimated Emotion': unknown emotion label 'happy' (grouping 'casme2-5class'"
    )
    assert got[f"{SHEET} row 7"] == f"{SHEET} row 7: duplicate sample id 'sub01/EP02_01f' (first at row 2)"
    assert got[f"{SHEET} row 8"] == (
        f"{SHEET} row 8, column 'Filename': clip path '../../outside' contains '..' or '.' "
        "and would escape the dataset root"
    )
    assert got[f"{SHEET} row 9"] == (
        f"{SHEET} row 9, column 'Filename': clip path '/etc' is absolute and would escape the dataset root"
    )
    clips = (tmp_path / "CASME2_RAW_selected").as_posix()
    assert got[f"{SHEET} row 10"] == f"{SHEET} row 10: clip folder not found: {clips}/sub03/EP05_05"


def test_missing_apex_spellings_are_minus_one_not_errors(tmp_path):
    rows = [
        (1, "EP01_01", 10, "/", 12, "4", "disgust"),
        (1, "EP01_02", 10, None, 12, "4", "disgust"),
        (1, "EP01_03", 10, -1, 12, "4", "disgust"),
        (1, "EP01_04", 10, "-1", 12, "4", "disgust"),
        (1, "EP01_05", 10, 11.0, 12, "4", "disgust"),
    ]
    build_casme2(tmp_path, rows)
    m = load_manifest("casme2", tmp_path, strict=True)
    assert [r.apex for r in m.rows] == [-1, -1, -1, -1, 11]
    assert m.excluded == []


def test_frames_missing_on_disk(tmp_path):
    clips = build_casme2(tmp_path, [GOOD, CASME2_ROWS[2]])
    clips["sub01/EP02_01f"][2].unlink()  # img48
    clips["sub01/EP02_01f"][3].unlink()  # img49
    m = load_manifest("casme2", tmp_path)
    assert [r.sample_id for r in m.rows] == ["sub02/EP09_01"]
    folder = (tmp_path / "CASME2_RAW_selected/sub01/EP02_01f").as_posix()
    assert reasons(m) == {
        f"{SHEET} row 2": f"{SHEET} row 2: frames missing on disk in {folder}: 48-49 "
        "(annotated onset..offset 46..50, found 46..50)"
    }


def test_duplicate_frame_numbers_reject_the_clip_naming_both_files(tmp_path):
    clips = build_casme2(tmp_path, [GOOD, CASME2_ROWS[2]])
    folder = clips["sub01/EP02_01f"][0].parent
    write_frames(folder, ["img047.jpg"])  # 47 again, beside img47.jpg
    m = load_manifest("casme2", tmp_path)
    assert [r.sample_id for r in m.rows] == ["sub02/EP09_01"]
    assert reasons(m) == {
        f"{SHEET} row 2": f"{SHEET} row 2: frame numbers carried by several files in {folder.as_posix()} "
        "(47: img047.jpg, img47.jpg): remove or rename the extra files"
    }
    with pytest.raises(ManifestError, match=r"img047\.jpg, img47\.jpg"):
        load_manifest("casme2", tmp_path, strict=True)


def test_a_stray_frame_past_a_gap_rejects_the_clip_naming_it(tmp_path):
    clips = build_casme2(tmp_path, [GOOD, CASME2_ROWS[2]])
    folder = clips["sub01/EP02_01f"][0].parent
    write_frames(folder, ["img51.jpg", "img9999.jpg"])  # 51 continues the clip; 9999 does not
    m = load_manifest("casme2", tmp_path)
    assert [r.sample_id for r in m.rows] == ["sub02/EP09_01"]
    assert reasons(m) == {
        f"{SHEET} row 2": f"{SHEET} row 2: frame files in {folder.as_posix()} lie outside the clip's "
        "contiguous frames 46..51: img9999.jpg (stray or misnumbered: remove or rename them)"
    }
    with pytest.raises(ManifestError, match=r"img9999\.jpg"):
        load_manifest("casme2", tmp_path, strict=True)
    (folder / "img9999.jpg").unlink()
    kept = load_manifest("casme2", tmp_path)
    assert kept.rows[0].frame_numbers == (46, 47, 48, 49, 50, 51)


def test_header_only_sheet_says_it_has_no_rows(tmp_path):
    build_casme2(tmp_path, [GOOD])
    write_sheet(tmp_path / SHEET, CASME2_HEADER, [])
    with pytest.raises(ManifestError, match=r"the sheet has no rows below its header \(row 1\)"):
        load_manifest("casme2", tmp_path)


def test_contiguous_run_holds_the_annotated_span():
    assert contiguous_run([1, 2, 3, 7, 8, 9, 10], (7, 9), max_gap=0) == (7, 10)
    assert contiguous_run([1, 2, 3, 7, 8], None, max_gap=0) == (1, 3)
    assert contiguous_run([1, 2, 3, 7, 8], None, max_gap=3) == (1, 8)  # 4-6 missing: tolerated
    assert contiguous_run([1, 2, 3, 7, 8], None, max_gap=2) == (1, 3)
    assert contiguous_run([46, 47, 48, 9999], (46, 48)) == (46, 48)
    assert contiguous_run([5], (5, 5)) == (5, 5)


def test_empty_clip_folder(tmp_path):
    clips = build_casme2(tmp_path, [GOOD, CASME2_ROWS[2]])
    for path in clips["sub01/EP02_01f"]:
        path.unlink()
    (clips["sub01/EP02_01f"][0].parent / "Thumbs.db").write_text("x")
    m = load_manifest("casme2", tmp_path)
    folder = (tmp_path / "CASME2_RAW_selected/sub01/EP02_01f").as_posix()
    assert reasons(m)[f"{SHEET} row 2"] == (
        f"{SHEET} row 2: empty clip folder: {folder} has no frame files matching '' + /^img\\d+\\.jpg$/"
    )


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_out_of_the_root_are_refused(tmp_path):
    root = tmp_path / "root"
    build_casme2(root, [GOOD, CASME2_ROWS[2], CASME2_ROWS[3]])
    outside = tmp_path / "outside"
    write_frames(outside / "clip", [f"img{n}.jpg" for n in range(100, 104)])
    target = root / "CASME2_RAW_selected/sub02/EP09_01"
    shutil.rmtree(target)
    target.symlink_to(outside / "clip")
    frame = root / "CASME2_RAW_selected/sub02/EP11_01f/img6.jpg"
    frame.unlink()
    frame.symlink_to(outside / "clip/img100.jpg")
    m = load_manifest("casme2", root)
    assert [r.sample_id for r in m.rows] == ["sub01/EP02_01f"]
    got = reasons(m)
    assert got[f"{SHEET} row 3"] == (
        f"{SHEET} row 3: clip folder {target.as_posix()} is a symlink that points outside "
        f"the dataset root {root}"
    )
    assert got[f"{SHEET} row 4"] == (
        f"{SHEET} row 4: frame files in {frame.parent.as_posix()} are symlinks outside the dataset root: "
        "img6.jpg"
    )


def test_strict_turns_row_problems_into_one_error(tmp_path):
    rows = [GOOD, (1, "EP03_02", 10, 11, "x", "4", "disgust"), (2, "EP09_01", 1, 2, 3, "4", "smile")]
    build_casme2(tmp_path, [GOOD])
    write_sheet(tmp_path / SHEET, CASME2_HEADER, rows)
    assert len(load_manifest("casme2", tmp_path)) == 1
    with pytest.raises(ManifestError) as err:
        load_manifest("casme2", tmp_path, strict=True)
    text = str(err.value)
    assert text.startswith("casme2: 2 row(s) failed validation (strict):")
    assert f"{SHEET} row 3, column 'OffsetFrame': offset value 'x' is not a whole number" in text
    assert f"{SHEET} row 4, column 'Estimated Emotion': unknown emotion label 'smile'" in text


def test_grouping_drops_are_not_strict_errors(tmp_path):
    build_casme2(tmp_path)
    m = load_manifest("casme2", tmp_path, strict=True)
    assert [e.kind for e in m.excluded] == ["grouping"]


def test_several_sheets_or_clip_folders_stop_and_list(tmp_path):
    build_casme2(tmp_path)
    shutil.copy(tmp_path / SHEET, tmp_path / "CASME2-coding-20130128.xlsx")
    with pytest.raises(ManifestError, match="several annotation sheets fit") as err:
        load_manifest("casme2", tmp_path)
    assert "CASME2-coding-20130128.xlsx" in str(err.value) and SHEET in str(err.value)
    m = load_manifest("casme2", tmp_path, annotation=tmp_path / SHEET)
    assert m.sources["annotation"] == str(tmp_path / SHEET)

    shutil.copytree(tmp_path / "CASME2_RAW_selected", tmp_path / "CASME2-RAW")
    with pytest.raises(ManifestError, match="several clip folders fit") as err:
        load_manifest("casme2", tmp_path, annotation=tmp_path / SHEET)
    assert str(tmp_path / "CASME2-RAW") in str(err.value)
    m = load_manifest("casme2", tmp_path, annotation=tmp_path / SHEET, clips=tmp_path / "CASME2-RAW")
    assert m.rows[0].clip == "CASME2-RAW/sub01/EP02_01f"


def test_clips_outside_the_root_become_the_manifest_root(tmp_path):
    build_casme2(tmp_path / "sheet-only", clip_dir=None)
    (tmp_path / "elsewhere").mkdir()
    m = load_manifest(
        "casme2",
        tmp_path / "elsewhere",
        annotation=tmp_path / "sheet-only" / SHEET,
        clips=tmp_path / "sheet-only",
    )
    assert m.root == tmp_path / "sheet-only"
    assert m.rows[0].frames[0] == "sub01/EP02_01f/img46.jpg"


def test_no_sheet_and_no_clips_name_where_they_looked(tmp_path):
    with pytest.raises(ManifestError, match=r"no annotation sheet matching \['CASME2-coding-\*.xlsx'\]"):
        load_manifest("casme2", tmp_path)
    write_sheet(tmp_path / SHEET, CASME2_HEADER, [GOOD])
    with pytest.raises(ManifestError, match="no clip folders of frame set 'full' found"):
        load_manifest("casme2", tmp_path)


def test_known_corrections_are_applied_and_reported(tmp_path):
    build_casme2(tmp_path, [GOOD, CASME2_ROWS[2]])
    rows = [(1, "EP02_01f", 46, 48, 5, "12", "happiness"), (2, "EP09_01", 100, 101, 103, "4", "repression")]
    write_sheet(tmp_path / SHEET, CASME2_HEADER, rows)
    spec = tmp_path / "casme2-fixed.toml"
    spec.write_text(
        'extends = "casme2"\nname = "casme2"\npaper_grouping = ""\n'
        '[groupings.casme2-5class]\nclasses = ["happiness", "disgust", "repression", "surprise", "others"]\n'
        'drop = ["fear", "sadness"]\n'
        '[[corrections]]\nsubject = "sub01"\nfilename = "EP02_01f"\ncolumn = "offset"\nold = 5\nnew = 50\n'
        'reason = "offset digit lost"\n'
        '[[corrections]]\nsubject = "sub02"\nfilename = "EP09_01"\ncolumn = "onset"\nold = 99\nnew = 98\n'
        'reason = "stale"\n'
    )
    assert reasons(load_manifest("casme2", tmp_path))  # unfixed: offset 5 < onset 46
    m = load_manifest(spec, tmp_path, strict=True)
    assert [r.offset for r in m.rows] == [50, 103]
    assert m.corrections == [
        f"{SHEET} row 2 (sub01/EP02_01f): offset 5 -> 50 (offset digit lost)",
        f"{SHEET} row 3 (sub02/EP09_01): NOT applied: onset holds 100, "
        "the known correction expects 99 -> 98 (stale)",
    ]


def test_samm_unknown_label_reports_the_excel_row(tmp_path):
    rows = [
        ("006", "006_1_2", 1, 10, 11, 12, 3, "Micro - 1/2", "12", "Happiness", "I", ""),
        ("006", "006_1_3", 1, 20, 21, 22, 3, "Micro - 1/2", "4", "Angry", "II", ""),
    ]
    build_samm(tmp_path, rows)
    m = load_manifest("samm", tmp_path)
    sheet = "SAMM_Micro_FACS_Codes_v2.xlsx"
    assert list(reasons(m)) == [f"{sheet} row 16"]  # 13 free-text rows, header on row 14
    assert "column 'Estimated Emotion': unknown emotion label 'Angry'" in reasons(m)[f"{sheet} row 16"]


def test_smic_unknown_emotion_folder_and_empty_clip(tmp_path):
    build_smic(tmp_path, [("s1", "negative", "s1_ne_01", [1, 2]), ("s1", "happy", "s1_ha_01", [3, 4])])
    (tmp_path / "HS/s2/micro/surprise/s2_sur_01").mkdir(parents=True)
    m = load_manifest("smic", tmp_path)
    assert [r.sample_id for r in m.rows] == ["s1/s1_ne_01"]
    hs = (tmp_path / "HS").as_posix()
    got = reasons(m)
    assert got[f"{hs}/s1/micro/happy/s1_ha_01"].startswith(
        f"{hs}/s1/micro/happy/s1_ha_01: unknown emotion label 'happy' in the folder name"
    )
    assert got[f"{hs}/s2/micro/surprise/s2_sur_01"] == (
        f"empty clip folder: {hs}/s2/micro/surprise/s2_sur_01 "
        "has no frame files matching '' + /^image\\d+\\.bmp$/"
    )
    with pytest.raises(ManifestError, match="2 row"):
        load_manifest("smic", tmp_path, strict=True)


def test_unknown_grouping_and_frame_set(tmp_path):
    build_casme2(tmp_path)
    with pytest.raises(
        ManifestError, match=r"no grouping 'samm-5class'; choose one of \['akmnet-4class', 'casme2-5class'\]"
    ):
        load_manifest("casme2", tmp_path, grouping="samm-5class")
    with pytest.raises(ManifestError, match="no frame set 'crop'"):
        load_manifest("casme2", tmp_path, frame_set="crop")
