"""Tiny trees of the newer datasets in their official layouts, with the quirks DATASETS.md names.

CAS(ME)^3 part A and C, MMEW, 4DME, CAS(ME)^2 and SMIC-VIS/NIR. Each ``build_*`` writes a tree under
``root``; frames are 16x16 images unless a ``writer`` (``writer(folder, names, color=...)``, as
:func:`tests.pipeline.dataset_trees.write_frames`) writes others, e.g. real faces for a cache build.
The rows below are the fixtures the tests check exactly; a test may pass its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from tests.pipeline.dataset_trees import build_smic, write_frames

Writer = Callable[..., Any]

# --- CAS(ME)^3 part A ----------------------------------------------------------------------------
CASME3A_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]

#: sheet row -> (Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion). Rows 130-800
#: sit where the official sheet's known errors are (data index + 2); the rows between stay empty.
CASME3A_ROWS: dict[int, tuple[Any, ...]] = {
    2: ("spNO.1", "a", 10, 12, 14, "12", "I", "happy"),  # one video, two MEs
    3: ("spNO.1", "a", 30, 31, 33, "4+15+R10", "II", "disgust"),
    4: ("spNO.1", "b", 2, 2, 7, "1+2", "V", "surprise"),  # frames 1-4 lost at the start: onset = apex
    5: ("spNO.2", "c", 15, 18, 36, "4", "II", "sad"),  # frames 20-33 missing inside (a 14-frame gap)
    6: ("spNO.2", "J", 5, 6, 8, "7", "III", "fear"),  # upper-case J; the folder on disk is j
    7: ("spNO.3", "d", 3, 5, 6, "14", "VII", "Others"),  # capitalised; subject folder spNo.3 on disk
    8: ("spNO.3", "d", 40, 43, 44, "4+7", "II", "anger"),  # apex 43 is missing: nearest frame 42
    9: ("spNO.3", "e", 50, 51, 52, "12", "I", "happy"),  # frames 50-52 all missing: left out
    130: ("spNO.4", "f", 112, 83, 170, "4", "II", "disgust"),  # apex 83 < onset 112 -> 160
    710: ("spNO.4", "g", 30, 33, 3460, "4", "II", "disgust"),  # offset 3460: known error, left out
    751: ("spNO.5", "h", 3647, 2668, 2690, "1+2", "V", "surprise"),  # onset 3647 -> 2647
    752: ("spNO.5", "i", 0, 0, 6, "12", "I", "happy"),  # onset = apex = 0 -> 1
    798: ("spNO.6", "k", 1830, 1840, 0, "4", "II", "anger"),  # offset 0 -> 1845
    800: ("spNO.6", "l", 2395, 2399, 0, "4", "II", "sad"),  # offset 0 -> 2403
}

#: (subject folder, video folder) -> frame numbers on disk (the folder names as a copy writes them)
CASME3A_VIDEOS: dict[tuple[str, str], list[int]] = {
    ("spNO.1", "a"): list(range(1, 41)),
    ("spNO.1", "b"): list(range(5, 12)),
    ("spNO.2", "c"): [n for n in range(1, 41) if not 20 <= n <= 33],
    ("spNO.2", "j"): list(range(1, 11)),
    ("spNo.3", "d"): [n for n in range(1, 46) if n != 43],
    ("spNo.3", "e"): [*range(40, 50), *range(53, 60)],
    ("spNO.4", "f"): list(range(100, 176)),
    ("spNO.4", "g"): list(range(25, 40)),
    ("spNO.5", "h"): list(range(2640, 2700)),
    ("spNO.5", "i"): list(range(1, 11)),
    ("spNO.6", "k"): list(range(1825, 1850)),
    ("spNO.6", "l"): list(range(2390, 2410)),
}


def write_rows(
    path: Path,
    header: Sequence[Any] | None,
    rows: dict[int, Sequence[Any]],
    *,
    title: str = "label",
    extra: dict[str, Iterable[Sequence[Any]]] | None = None,
    first: str | None = None,
) -> Path:
    """An .xlsx whose worksheet ``title`` has ``header`` on row 1 (None: no header) and each row at
    its sheet row; ``extra`` worksheets follow (``first``: a worksheet written before ``title``)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if first is not None:
        sheet.title = first
        sheet.append(["notes"])
        sheet = workbook.create_sheet(title)
    else:
        sheet.title = title
    if header is not None:
        for col, name in enumerate(header, start=1):
            sheet.cell(row=1, column=col, value=name)
    for number, row in rows.items():
        for col, value in enumerate(row, start=1):
            if value is not None and value != "":
                sheet.cell(row=number, column=col, value=value)
    for name, table in (extra or {}).items():
        other = workbook.create_sheet(name)
        for row in table:
            other.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def build_casme3a(
    root: Path,
    rows: dict[int, tuple[Any, ...]] | None = None,
    videos: dict[tuple[str, str], list[int]] | None = None,
    *,
    release: str | None = "part_A_split/part_A",
    writer: Writer = write_frames,
    depth: bool = True,
) -> Path:
    """The raw part A release: ``release/{Subject}/{Filename}/color/{n}.jpg`` (+ ``depth/{n}.png``) and
    ``annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``. Returns the sheet's path."""
    rows = CASME3A_ROWS if rows is None else rows
    videos = CASME3A_VIDEOS if videos is None else videos
    base = root / release if release else root
    for (subject, video), numbers in videos.items():
        writer(base / subject / video / "color", [f"{n}.jpg" for n in numbers])
        if depth:
            write_frames(base / subject / video / "depth", [f"{n}.png" for n in numbers[:2]], color=False)
    return write_rows(root / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", CASME3A_HEADER, rows)


def build_casme3a_clips(
    root: Path,
    rows: dict[int, tuple[Any, ...]],
    frames: dict[str, list[int]],
    *,
    writer: Writer = write_frames,
) -> Path:
    """The official clip release: ``Part_A_ME_clip/frame/{Subject}_{Filename}_{Onset}/{n}.jpg``;
    ``frames`` maps each folder name (as the copy writes it) to its frame numbers."""
    for name, numbers in frames.items():
        writer(root / "Part_A_ME_clip" / "frame" / name, [f"{n}.jpg" for n in numbers])
    return write_rows(root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", CASME3A_HEADER, rows)


# --- CAS(ME)^3 part C ----------------------------------------------------------------------------
CASME3C_HEADER = ["sub", "count", "onset", "offset", "au", "emotion"]
#: (sub, count, onset, offset, au, emotion)
CASME3C_ROWS: list[tuple[Any, ...]] = [
    (1, 1, 100, 106, "4，7,", "negative"),  # full-width comma and a trailing comma
    (1, 2, 300, 304, "12", "positive"),  # its folder is numbered 1..5
    (2, 1, 50, 55, "13?", "surprise"),  # frame 52 is missing
    (31, 1, 7, 9, "1+2,", "others"),
]
#: (sub folder, count folder) -> frame numbers on disk
CASME3C_FRAMES: dict[tuple[str, str], list[int]] = {
    ("01", "1"): list(range(100, 107)),
    ("01", "2"): list(range(1, 6)),
    ("02", "1"): [50, 51, 53, 54, 55],
    ("31", "1"): list(range(7, 10)),
}


def build_casme3c(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(CASME3C_ROWS),
    frames: dict[tuple[str, str], list[int]] | None = None,
    *,
    release: str | None = "part_C",
    writer: Writer = write_frames,
) -> Path:
    """Part C in the layout we chose (``{sub:02d}/{count}/color/{n}.jpg``; a frames key
    ``(sub, "")`` writes ``{sub}/color/``) + ``CAS(ME)3_part_C_ME.xlsx`` (worksheet ``mockCrimeME``
    after a notes worksheet)."""
    frames = CASME3C_FRAMES if frames is None else frames
    base = root / release if release else root
    for (sub, count), numbers in frames.items():
        folder = base / sub / count / "color" if count else base / sub / "color"
        writer(folder, [f"{n}.jpg" for n in numbers])
    table = {i + 2: row for i, row in enumerate(rows)}
    return write_rows(
        root / "CAS(ME)3_part_C_ME.xlsx", CASME3C_HEADER, table, title="mockCrimeME", first="readme"
    )


# --- MMEW ----------------------------------------------------------------------------------------
MMEW_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
               "Estimated Emotion", "remarks"]  # fmt: skip
#: (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion, remarks)
MMEW_ROWS: list[tuple[Any, ...]] = [
    ("S01", "S01_01", 1, 5, 9, "12", "happiness", ""),
    ("S01", "S01_02", 1, 3, 6, "4+7", "others", "folder repression"),
    ("S02", "S02_01", 1, 4, 8, "1+2", "surprise", ""),
    ("S02", "S02_02", 1, 2, 5, "9", "disgust", ""),
    ("S03", "S03_01", 1, 2, 4, "4", "fear", ""),
    ("S03", "S03_02", 40, 42, 45, "4", "sadness", "sheet numbers from the recording"),
    ("S03", "S03_03", 1, 3, 12, "4", "anger", "offset past the last frame"),
]
#: (emotion folder, Filename) -> frame numbers on disk
MMEW_FRAMES: dict[tuple[str, str], list[int]] = {
    ("happiness", "S01_01"): list(range(1, 10)),
    ("repression", "S01_02"): list(range(1, 7)),
    ("surprise", "S02_01"): list(range(1, 9)),
    ("disgust", "S02_02"): list(range(1, 6)),
    ("fear", "S03_01"): list(range(1, 5)),
    ("sadness", "S03_02"): list(range(1, 7)),
    ("anger", "S03_03"): list(range(1, 9)),
}


def build_mmew(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(MMEW_ROWS),
    frames: dict[tuple[str, str], list[int]] | None = None,
    *,
    release: str | None = "MMEW_Final/Micro_Expression",
    subject_level: bool = False,
    writer: Writer = write_frames,
) -> Path:
    """MMEW: ``Micro_Expression/{emotion}/{Filename}/{n}.jpg`` (``subject_level``: the copies with
    ``{Subject}/{emotion}/{Filename}``) + ``MMEW_Micro_Exp.xlsx`` at the root."""
    frames = MMEW_FRAMES if frames is None else frames
    base = root / release if release else root
    subjects = {row[1]: row[0] for row in rows}
    for (emotion, name), numbers in frames.items():
        folder = base / subjects[name] / emotion / name if subject_level else base / emotion / name
        writer(folder, [f"{n}.jpg" for n in numbers])
    table = {i + 2: row for i, row in enumerate(rows)}
    return write_rows(root / "MMEW_Micro_Exp.xlsx", MMEW_HEADER, table, title="Sheet1")


# --- 4DME ----------------------------------------------------------------------------------------
FOURDME_HEADER = ["sub_ID", "fold_name", "Emotion", "Onset", "Apex", "Offset", "AUs", "Positive", "Negative",
                  "Surprise", "Repression", "Others", "AU1", "AU4", "AU12", "fold"]  # fmt: skip
#: (sub_ID, fold_name, Emotion, Onset, Apex, Offset, AUs) + one-hot emotion and AU columns, fold
FOURDME_ROWS: list[tuple[Any, ...]] = [
    ("S01", "S01_1st_001_01", "Positive", 120, 125, 130, "AU12", 1, 0, 0, 0, 0, 0, 0, 1, 1),
    ("S01", "S01_1st_002_01", "Surprise+Positive", 200, 203, 206, "AU1+AU12", 1, 0, 1, 0, 0, 1, 0, 1, 1),
    ("S02", "S02_2nd_001_01", "Negative", 300, 302, 305, "AU4(k)+L7", 0, 1, 0, 0, 0, 0, 1, 0, 2),
    ("S02", "S02_2nd_003_02", "Repression", 10, 12, 14, "AU14", 0, 0, 0, 1, 0, 0, 0, 0, 2),
    ("S03", "S03_1st_004_01", "Others", 500, 503, 505, "AU4", 0, 0, 0, 0, 1, 0, 1, 0, 3),
    ("S03", "S03_1st_005_01", "Negative+Surprise", 600, 601, 603, "AU4+AU1", 0, 1, 1, 0, 0, 1, 1, 0, 3),
]
#: (sub_ID, fold_name) -> frame numbers on disk
FOURDME_FRAMES: dict[tuple[str, str], list[int]] = {
    ("S01", "S01_1st_001_01"): list(range(118, 133)),  # a few frames around the ME
    ("S01", "S01_1st_002_01"): list(range(200, 207)),
    ("S02", "S02_2nd_001_01"): list(range(300, 306)),
    ("S02", "S02_2nd_003_02"): list(range(10, 15)),
    ("S03", "S03_1st_004_01"): list(range(1, 7)),  # numbered from 1
    ("S03", "S03_1st_005_01"): list(range(600, 604)),
}


def build_4dme(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(FOURDME_ROWS),
    frames: dict[tuple[str, str], list[int]] | None = None,
    *,
    release: str | None = "gray_micro",
    writer: Writer = write_frames,
) -> Path:
    """4DME: ``gray_micro/{sub_ID}/{fold_name}/Frame_{n:09d}.jpg`` (grey) + the release sheet."""
    frames = FOURDME_FRAMES if frames is None else frames
    base = root / release if release else root
    for (sub, fold), numbers in frames.items():
        writer(base / sub / fold, [f"Frame_{n:09d}.jpg" for n in numbers], color=False)
    table = {i + 2: row for i, row in enumerate(rows)}
    return write_rows(root / "4DME_Labelling_Micro_release v1.xlsx", FOURDME_HEADER, table, title="Sheet1")


# --- CAS(ME)^2 -----------------------------------------------------------------------------------
#: the coding worksheet, no header: (number, clip, onset, apex, offset, AUs, emotion, type, self-report)
CASME_SQ_ROWS: list[tuple[Any, ...]] = [
    (1, "disgust1_1", 30, 35, 40, "4+9", "negative", "micro-expression", "disgust"),
    (1, "disgust1_2", 100, 104, 0, "4", "negative", "micro-expression", "disgust"),  # offset 0 -> apex
    (1, "anger1_1", 200, 210, 260, "12", "positive", "macro-expression", "happy"),  # skipped
    (2, "happy1_1", 55, 57, 60, "12", "positive", "micro-expression", "happy"),
    (2, "anger1_2", 10, 0, 14, "4+5", "others", "micro-expression", "anger"),  # apex 0: unknown
    (2, "sad9_1", 10, 11, 12, "15", "negative", "micro-expression", "sad"),  # no code for sad9
    (2, "happy1_2", 70, 0, 0, "12", "positive", "micro-expression", "happy"),  # nothing ends the clip
]
#: naming rule1: (folder code, subject folder, number); naming rule2: (video code, clip prefix)
CASME_SQ_RULE1: list[tuple[Any, ...]] = [(15, "s15", 1), (16, "s16", 2), (19, "s19", 3)]
CASME_SQ_RULE2: list[tuple[Any, ...]] = [(101, "disgust1"), ("0401", "anger1"), (502, "happy1")]
#: video folder -> frame numbers on disk
CASME_SQ_VIDEOS: dict[str, list[int]] = {
    "s15/15_0101disgustingteeth": [*range(28, 43), *range(98, 106)],
    "s15/15_0401girlcrashing": list(range(198, 262)),
    "s16/16_0502funnyerrors": [*range(53, 62), *range(70, 72)],
    "s16/16_0401girlcrashing": list(range(8, 16)),
}


def build_casme_sq(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(CASME_SQ_ROWS),
    videos: dict[str, list[int]] | None = None,
    *,
    release: str | None = "rawpic",
    writer: Writer = write_frames,
) -> Path:
    """CAS(ME)^2: ``rawpic/s15/15_0101disgustingteeth/img{n:03d}.jpg`` + ``CAS(ME)^2code_final.xlsx``
    (worksheets ``CASFEcode_final`` without header, ``naming rule1``, ``naming rule2``)."""
    videos = CASME_SQ_VIDEOS if videos is None else videos
    base = root / release if release else root
    for video, numbers in videos.items():
        writer(base / video, [f"img{n:03d}.jpg" for n in numbers])
    table = {i + 1: row for i, row in enumerate(rows)}
    return write_rows(
        root / "CAS(ME)^2code_final.xlsx",
        None,
        table,
        title="CASFEcode_final",
        extra={"naming rule1": CASME_SQ_RULE1, "naming rule2": CASME_SQ_RULE2},
    )


# --- SMIC-VIS / SMIC-NIR -------------------------------------------------------------------------
SMIC_E_CLIPS: list[tuple[str, str, str, list[int]]] = [
    ("s1", "negative", "s1_ne_01", [501, 502, 503, 505, 506]),
    ("s1", "positive", "s1_po_01", [40, 41, 42]),
    ("s2", "surprise", "s2_sur_01", [7, 8, 9, 10]),
]


def build_smic_e(
    root: Path,
    modality: str,
    clips: Sequence[tuple[str, str, str, list[int]]] = tuple(SMIC_E_CLIPS),
    *,
    writer: Writer = write_frames,
) -> None:
    """SMIC-VIS or SMIC-NIR: ``{VIS,NIR}/s{N}/micro/{emotion}/{clip}/image{N:06d}.bmp``."""
    build_smic(root, clips, clip_dir=modality, writer=writer)
