"""Tiny dataset trees in the official layouts, for tests (16x16 frames, real sheet columns).

Each ``build_*`` writes a tree under ``root`` and returns the clips it wrote. Rows are tuples in the
sheet's column order; frames are written for every number from onset to offset unless a clip's
``frames`` are given. Reusable by any test: ``from tests.pipeline.dataset_trees import build_casme2``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openpyxl

CASME2_HEADER = [
    "Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion",
]  # fmt: skip
CASME1_HEADER = ["Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF", "AU", "Emotion"]
SAMM_HEADER = [
    "Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
    "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes",
]  # fmt: skip
SAMM_PREAMBLE = 13  # free-text rows above SAMM's header row

# (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion)
CASME2_ROWS: list[tuple[Any, ...]] = [
    (1, "EP02_01f", 46, 48, 50, "12", "happiness"),
    (1, "EP03_02", 10, "/", 13, "L10", "disgust"),
    (2, "EP09_01", 100, 101, 103, "AU4 + R12C", "repression"),
    (2, "EP11_01f", 5, 6, 8, "1+2", "surprise"),
    (3, "EP01_02", 20, 22, 23, "4", "others"),
    (3, "EP13_04", 30, 31, 33, "4+7", "fear"),
]

# (Subject, Filename, OnsetF, ApexF1, ApexF2, OffsetF, AU, Emotion); frames written per clip below
CASME1_ROWS: list[tuple[Any, ...]] = [
    (1, "EP01_5", 8, 9, 10, 11, "4", "disgust"),
    (1, "EP07_1", 98, 99, "", 101, "1+2", "surprise"),
    (2, "EP03_2", 7, 9, "", 12, "14", "tense"),
    (2, "EP05_4", 50, "", "", 52, "12", "amusement"),
]
# early clips unpadded, later ones 3-digit padded, one clip mixing both
CASME1_FRAME_NAMES = {
    "EP01_5": ["EP01_5-8.jpg", "EP01_5-9.jpg", "EP01_5-10.jpg", "EP01_5-11.jpg"],
    "EP07_1": ["EP07_1-098.jpg", "EP07_1-099.jpg", "EP07_1-100.jpg", "EP07_1-101.jpg"],
    "EP03_2": [
        "EP03_2-7.jpg",
        "EP03_2-8.jpg",
        "EP03_2-9.jpg",
        "EP03_2-010.jpg",
        "EP03_2-011.jpg",
        "EP03_2-12.jpg",
    ],
    "EP05_4": ["EP05_4-050.jpg", "EP05_4-051.jpg", "EP05_4-052.jpg"],
}

# (Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration, Micro, AUs, Emotion, Objective, Notes)
SAMM_ROWS: list[tuple[Any, ...]] = [
    ("006", "006_1_2", 1, 5562, 5564, 5566, 5, "Micro - 1/2", "R12", "Happiness", "I", ""),
    ("006", "006_1_3", 1, 3912, -1, 3915, 4, "Micro - 1/2", "4 or 7", "Anger", "II", ""),
    (7, "007_3_1", 3, 1200, 1201, 1203, 4, "Micro - 1/2", "14", "Contempt", "III", ""),
    (7, "007_5_2", 5, 700, 702, 702, 3, "Micro - 1/2", "A1+2", "Other", "VII", ""),
    ("011", "011_2_1", 2, 80, 81, 82, 3, "Micro - 1/2", "1+2+5", "Surprise", "V", ""),
    ("011", "011_2_4", 2, 90, 91, 92, 3, "Micro - 1/2", "9", "Disgust", "IV", ""),
    ("011", "011_2_5", 2, 95, 96, 97, 3, "Micro - 1/2", "4", "Others", "VII", ""),
]

# (subject, emotion folder, clip, frame numbers) for SMIC-HS (frame numbers may have gaps)
SMIC_CLIPS: list[tuple[str, str, str, list[int]]] = [
    ("s1", "negative", "s1_ne_01", [3201, 3202, 3204, 3205]),
    ("s1", "positive", "s1_po_01", [100, 101, 102]),
    ("s2", "surprise", "s2_sur_01", [7, 8, 9]),
    ("s3", "negative", "s3_ne_02", [55, 56, 57]),
]


def write_frames(folder: Path, names: Iterable[str], *, color: bool = True) -> list[Path]:
    """Write one 16x16 image per file name (intensity follows the order written)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        img = np.full((16, 16, 3) if color else (16, 16), (10 * i) % 256, dtype=np.uint8)
        path = folder / name
        if not cv2.imwrite(str(path), img):
            raise OSError(f"could not write {path}")
        paths.append(path)
    return paths


def write_sheet(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, preamble: int = 0
) -> Path:
    """An .xlsx with ``preamble`` free-text rows, then the header row, then ``rows`` (None = empty cell)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for i in range(preamble):
        sheet.append([f"Free text line {i + 1} about the coding"] if i % 3 != 2 else [])
    if preamble:
        sheet.cell(row=preamble, column=1, value="Notes: see the paper")
    sheet.append(list(header) + [None, None])  # blank trailing columns, as in the released sheets
    for row in rows:
        sheet.append([None if v == "" else v for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _frame_range(onset: Any, offset: Any) -> list[int]:
    return list(range(int(onset), int(offset) + 1))


def build_casme2(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(CASME2_ROWS),
    *,
    clip_dir: str | None = "CASME2_RAW_selected",
    sheet_name: str = "CASME2-coding-20140508.xlsx",
    prefix: str = "",
) -> dict[str, list[Path]]:
    """CASME II: ``clip_dir/sub{SS}/{Filename}/{prefix}img{N}.jpg`` + the coding sheet at ``root``."""
    base = root / clip_dir if clip_dir else root
    clips = {}
    for subject, filename, onset, _apex, offset, *_ in rows:
        names = [f"{prefix}img{n}.jpg" for n in _frame_range(onset, offset)]
        clips[f"sub{int(subject):02d}/{filename}"] = write_frames(
            base / f"sub{int(subject):02d}" / filename, names
        )
    write_sheet(root / sheet_name, CASME2_HEADER, rows)
    return clips


def build_casme1(
    root: Path, rows: Sequence[tuple[Any, ...]] = tuple(CASME1_ROWS), *, sheet_name: str = "CASME_coding.xlsx"
) -> dict[str, list[Path]]:
    """CASME I: ``sub{SS}/{Filename}/{Filename}-{N}.jpg`` with mixed zero padding + the sheet."""
    clips = {}
    for subject, filename, onset, *_rest in rows:
        offset = _rest[2]
        names = CASME1_FRAME_NAMES.get(filename) or [
            f"{filename}-{n}.jpg" for n in _frame_range(onset, offset)
        ]
        clips[f"sub{int(subject):02d}/{filename}"] = write_frames(
            root / f"sub{int(subject):02d}" / filename, names
        )
    write_sheet(root / sheet_name, CASME1_HEADER, rows)
    return clips


def build_samm(
    root: Path,
    rows: Sequence[tuple[Any, ...]] = tuple(SAMM_ROWS),
    *,
    clip_dir: str | None = "SAMM",
    sheet_name: str = "SAMM_Micro_FACS_Codes_v2.xlsx",
) -> dict[str, list[Path]]:
    """SAMM: ``SAMM/{Subject}/{Filename}/{Subject}_{N:05d}.jpg`` (grayscale) + the sheet with preamble."""
    base = root / clip_dir if clip_dir else root
    clips = {}
    for subject, filename, _code, onset, _apex, offset, *_ in rows:
        sid = f"{int(subject):03d}"
        names = [f"{sid}_{n:05d}.jpg" for n in _frame_range(onset, offset)]
        clips[f"{sid}/{filename}"] = write_frames(base / sid / filename, names, color=False)
    write_sheet(root / sheet_name, SAMM_HEADER, rows, preamble=SAMM_PREAMBLE)
    return clips


def build_smic(
    root: Path,
    clips: Sequence[tuple[str, str, str, list[int]]] = tuple(SMIC_CLIPS),
    *,
    clip_dir: str | None = "HS",
    writer=write_frames,
) -> dict[str, list[Path]]:
    """SMIC-HS: ``HS/{subject}/micro/{emotion}/{clip}/image{N:06d}.bmp`` (no sheet); ``writer`` writes
    the frames (as :func:`write_frames`)."""
    base = root / clip_dir if clip_dir else root
    out = {}
    for subject, emotion, clip, numbers in clips:
        names = [f"image{n:06d}.bmp" for n in numbers]
        out[f"{subject}/{clip}"] = writer(base / subject / "micro" / emotion / clip, names)
    return out


# The official CASME II sheet's quirks around the MEGC2019 list: of the rows in its four classes it
# leaves out exactly sub04/EP12_01f (apex '/') and sub05/EP09_05f (apex = onset = 69); sub05/EP12_03f is
# in it, and so is sub01/EP03_02 above (apex '/' too).
MEGC_CASME2_ROWS: list[tuple[Any, ...]] = [
    *CASME2_ROWS,
    (4, "EP12_01f", 60, "/", 62, "4", "disgust"),
    (5, "EP09_05f", 69, 69, 72, "4", "repression"),
    (5, "EP12_03f", 70, 71, 72, "1+2", "surprise"),
]

#: the official list's rows of `build_megc2019`'s tree, in its own names (dataset, subject, filename, label)
MEGC_LIST: list[tuple[str, str, str, int]] = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("casme2", "sub01", "EP03_02", 0),
    ("casme2", "sub02", "EP09_01", 0),
    ("casme2", "sub02", "EP11_01f", 2),
    ("casme2", "sub05", "EP12_03f", 2),
    ("samm", "6", "006_1_2", 1),
    ("samm", "6", "006_1_3", 0),
    ("samm", "7", "007_3_1", 0),
    ("samm", "11", "011_2_1", 2),
    ("samm", "11", "011_2_4", 0),
    ("smic", "s01", "s01_ne_01", 0),
    ("smic", "s01", "s01_po_01", 1),
    ("smic", "s02", "s02_sur_01", 2),
    ("smic", "s03", "s03_ne_02", 0),
]


def build_megc2019(root: Path) -> None:
    """A composite root: ``CASME2/``, ``SAMM/`` and ``SMIC/`` each in its own official layout."""
    build_casme2(root / "CASME2", MEGC_CASME2_ROWS)
    build_samm(root / "SAMM")
    build_smic(root / "SMIC")
