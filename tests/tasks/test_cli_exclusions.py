"""Nothing left out in silence: every sheet row and clip folder a build leaves out is summarised on the
console and in the task log, listed in qc.json, and fails ``--strict`` unless it is an expected kind.

Through the installed ``luigi`` (helpers of ``tests.tasks.test_cli``) on tiny CASME II trees
(16x16 frames; ``--face-mode none --alpha 0`` so that the valid clips build in seconds).
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from pipeline.datasets import load_manifest
from pipeline.datasets.exclusions import EXPECTED, strict_problem, unexpected
from pipeline.datasets.records import Excluded
from tests.pipeline.dataset_trees import CASME2_HEADER, CASME2_ROWS, build_casme2, write_frames, write_sheet
from tests.tasks.test_cli import FAILED, REFUSED, casme2_build, luigi, output

SHEET = "CASME2-coding-20140508.xlsx"
CLIPS = "CASME2_RAW_selected"


def _frames(root: Path, subject: int, name: str, numbers) -> Path:
    folder = root / CLIPS / f"sub{subject:02d}" / name
    write_frames(folder, [f"img{n}.jpg" for n in numbers])
    return folder


#: one bad row of each kind the issue lists: (row, how its folder is made, what the reason says)
BAD_ROWS = {
    "missing frame": ((1, "BAD_missing", 10, 11, 14, "4", "others"), "frames missing on disk"),
    "duplicate frame numbers": ((1, "BAD_dupnum", 10, 11, 13, "4", "others"), "frame numbers carried by"),
    "stray frames past a gap": ((1, "BAD_stray", 10, 11, 13, "4", "others"), "outside the clip's contiguous"),
    "missing clip folder": ((1, "BAD_nofolder", 10, 11, 13, "4", "others"), "clip folder not found"),
    "onset after offset": ((2, "BAD_order", 13, 11, 10, "4", "others"), "onset"),
    "apex outside onset..offset": ((2, "BAD_apex", 10, 20, 13, "4", "others"), "apex"),
    "non-numeric onset": ((2, "BAD_nonnum", "ten", 11, 13, "4", "others"), "'ten'"),
    "unknown emotion label": ((3, "BAD_label", 10, 11, 13, "4", "grumpy"), "unknown emotion label 'grumpy'"),
    "path with ..": ((3, "../sub01/EP02_01f", 46, 48, 50, "4", "others"), ".."),
    "absolute path": ((3, "/etc", 10, 11, 13, "4", "others"), "absolute"),
    "symlink leaving the root": ((3, "BAD_link", 10, 11, 13, "4", "others"), "symlink"),
    "duplicate row": ((1, "EP02_01f", 46, 48, 50, "12", "happiness"), "duplicate sample id"),
}


def build_bad_tree(root: Path, kinds=tuple(BAD_ROWS)) -> list[tuple]:
    """CASME II tree: the six valid rows plus one bad row of each of ``kinds``; returns the sheet rows."""
    build_casme2(root)
    rows = list(CASME2_ROWS)
    for kind in kinds:
        row, _ = BAD_ROWS[kind]
        rows.append(row)
        subject, name = row[0], row[1]
        if "/" in name:
            continue
        if kind == "missing frame":
            (_frames(root, subject, name, range(10, 15)) / "img12.jpg").unlink()
        elif kind == "duplicate frame numbers":
            write_frames(_frames(root, subject, name, range(10, 14)), ["img011.jpg"])
        elif kind == "stray frames past a gap":
            write_frames(_frames(root, subject, name, range(10, 14)), ["img40.jpg"])
        elif kind == "symlink leaving the root":
            outside = _frames(root.parent / "outside", subject, name, range(10, 14))
            os.symlink(outside, root / CLIPS / f"sub{subject:02d}" / name)
        elif kind not in ("missing clip folder", "duplicate row"):
            _frames(root, subject, name, range(10, 14))
    write_sheet(root / SHEET, CASME2_HEADER, rows)
    return rows


def _qc(work: Path) -> dict:
    (path,) = (work / "qc").glob("*/qc.json")
    return json.loads(path.read_text())["summary"]


@pytest.fixture
def bad_root(tmp_path) -> Path:
    root = tmp_path / "CASME2"
    build_bad_tree(root)
    return root


def test_strict_fails_on_every_left_out_row_naming_each(tmp_path, bad_root):
    work = tmp_path / "work"
    result = luigi(*casme2_build(bad_root, work, "--strict", "true"), cwd=tmp_path)
    text = output(result)
    assert result.returncode == FAILED, text
    assert f"{len(BAD_ROWS)} sheet row(s) or clip folder(s) of casme2 left out (strict" in text
    for n in range(len(CASME2_ROWS) + 2, len(CASME2_ROWS) + 2 + len(BAD_ROWS)):  # every bad sheet row named
        assert f"{SHEET} row {n}" in text
    summary = _qc(work)
    assert summary["status"] == "failed" and summary["n_written"] == 0
    assert summary["n_excluded"] == summary["n_excluded_unexpected"] == len(BAD_ROWS)
    assert summary["excluded_by_kind"] == {"invalid": len(BAD_ROWS)}
    reasons = [item["reason"] for item in summary["excluded"]]
    for (_, says), reason in zip(BAD_ROWS.values(), reasons):
        assert says in reason
    assert not list((work / "cache").glob("*.h5")) and not list((work / "cache").glob("*.manifest.csv"))


def test_without_strict_the_rows_left_out_are_summarised_logged_and_listed(tmp_path, bad_root):
    work = tmp_path / "work"
    result = luigi(*casme2_build(bad_root, work), cwd=tmp_path)
    text = output(result)
    assert result.returncode == 0, text
    headline = f"casme2: {len(BAD_ROWS)} sheet row(s) or clip folder(s) left out (invalid {len(BAD_ROWS)})"
    assert (
        headline in text
        and "1 x [invalid] column 'Estimated Emotion': unknown emotion label 'grumpy'" in text
    )
    assert f"[invalid] sub01/BAD_missing: {SHEET} row 8: frames missing on disk" in text  # first rows named
    log = "".join(p.read_text() for p in (work / "logs").glob("BuildDatasetCache*.log"))
    assert headline in log
    summary = _qc(work)
    assert summary["status"] == "complete" and summary["n_written"] == len(CASME2_ROWS)
    assert [e["row"] for e in summary["excluded"]] == [
        f"{SHEET} row {n}" for n in range(8, 8 + len(BAD_ROWS))
    ]
    assert all(e["kind"] == "invalid" and not e["expected"] for e in summary["excluded"])


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_each_kind_alone_is_a_strict_failure(tmp_path, kind):
    """The check ``--strict`` applies (above through luigi with every kind at once), one kind at a time."""
    root = tmp_path / "CASME2"
    build_bad_tree(root, (kind,))
    manifest = load_manifest("casme2", root, grouping="emotions")
    (item,) = manifest.excluded
    assert BAD_ROWS[kind][1] in item.reason and item.row == f"{SHEET} row 8"
    problem = strict_problem("casme2", manifest.excluded)
    assert problem is not None and "row 8" in problem


def test_expected_kinds_are_listed_but_not_strict_failures():
    items = [Excluded(f"sheet row {i}", f"s/{k}", "declared", k) for i, k in enumerate(EXPECTED)]
    assert unexpected(items) == [] and strict_problem("x", items) is None
    assert strict_problem("x", [*items, Excluded("sheet row 9", "s/9", "bad")]) is not None


def test_conflicting_duplicate_rows_are_an_error_naming_both_rows(tmp_path):
    root = tmp_path / "CASME2"
    build_casme2(root)
    write_sheet(root / SHEET, CASME2_HEADER, [*CASME2_ROWS, (1, "EP02_01f", 46, 48, 50, "12", "disgust")])
    work = tmp_path / "work"
    result = luigi(*casme2_build(root, work), cwd=tmp_path)
    assert result.returncode == REFUSED, output(result)
    assert (
        f"conflicting duplicate rows for clip 'sub01/EP02_01f': {SHEET} row 2 says 'happiness', "
        f"{SHEET} row 8 says 'disgust'" in output(result)
    )
    assert not (work / "cache").exists() or not list((work / "cache").iterdir())


def test_a_clip_folder_in_nfd_matches_its_nfc_sheet_name(tmp_path):
    """macOS writes names decomposed (NFD); the sheet has them composed (NFC)."""
    name = unicodedata.normalize("NFC", "EPé_01")
    root = tmp_path / "CASME2"
    rows = [*CASME2_ROWS, (1, name, 10, 11, 13, "4", "others")]
    build_casme2(root, rows)
    folder = root / CLIPS / "sub01"
    (folder / name).rename(folder / unicodedata.normalize("NFD", name))
    work = tmp_path / "work"
    result = luigi(*casme2_build(root, work, "--strict", "true"), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    summary = _qc(work)
    assert summary["n_excluded"] == 0 and summary["n_written"] == len(rows)
    assert "casme2: no sheet row or clip folder left out" in output(result)
