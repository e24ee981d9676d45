"""The MEGC2019 composite's own names: its ground-truth list's rows <-> the toolkit's sample ids.

The challenge's ground truth (``combined_3class_gt.csv``, 442 rows, no header) has the columns
``dataset`` (``casme2``, ``smic``, ``samm``), ``subject``, ``filename`` and ``label`` (0 negative,
1 positive, 2 surprise). Its names differ from the releases' folders, which the toolkit's ids follow:

======== ============================ ======================= ======================
part     toolkit sample id            list subject            list filename
======== ============================ ======================= ======================
casme2   ``casme2/sub01/EP02_01f``    ``sub01``               ``EP02_01f``
smic     ``smic/s1/s1_ne_01``         ``s01`` (zero-padded)   ``s01_ne_01``
samm     ``samm/006/006_1_2``         ``6`` (unpadded)        ``006_1_2``
======== ============================ ======================= ======================

The toolkit's subject ids prefix the part (``casme2-sub01``, ``smic-s1``, ``samm-006``). Which clips the
list holds is the spec's rule (``data_manifests/megc2019.toml``); `compare_with_list` checks a manifest
against a copy of the official file.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: the list's label codes, index = code
MEGC_CLASSES = ("negative", "positive", "surprise")
MEGC_PARTS = ("casme2", "smic", "samm")


@dataclass(frozen=True)
class ListEntry:
    """One row of the official list: ``dataset``, ``subject``, ``filename`` as it writes them and
    ``label`` (0 negative, 1 positive, 2 surprise)."""

    dataset: str
    subject: str
    filename: str
    label: int


def _smic_pad(name: str) -> str:
    """``s1`` -> ``s01``, ``s1_ne_01`` -> ``s01_ne_01`` (the list's zero-padded SMIC subject)."""
    match = re.fullmatch(r"s(\d+)(.*)", name)
    return f"s{int(match.group(1)):02d}{match.group(2)}" if match else name


def _smic_unpad(name: str) -> str:
    match = re.fullmatch(r"s0*(\d+)(.*)", name)
    return f"s{int(match.group(1))}{match.group(2)}" if match else name


def list_names(part: str, subject: str, clip: str) -> tuple[str, str, str]:
    """``(dataset, subject, filename)`` as the official list writes the clip ``clip`` (its folder
    name) of release subject ``subject`` (unprefixed: ``sub01``, ``s1``, ``006``) of ``part``. Parts
    other than the list's three keep their names."""
    if part == "smic":
        return part, _smic_pad(subject), _smic_pad(clip)
    if part == "samm" and subject.isdigit():
        return part, str(int(subject)), clip
    return part, subject, clip


def sample_id_of(entry: ListEntry) -> str:
    """The toolkit's composite sample id of an official list row (``casme2/sub01/EP02_01f``,
    ``smic/s1/s1_ne_01``, ``samm/006/006_1_2``)."""
    if entry.dataset == "smic":
        return f"smic/{_smic_unpad(entry.subject)}/{_smic_unpad(entry.filename)}"
    if entry.dataset == "samm" and entry.subject.isdigit():
        return f"samm/{int(entry.subject):03d}/{entry.filename}"
    return f"{entry.dataset}/{entry.subject}/{entry.filename}"


def names_of_sample(sample_id: str, part: str) -> tuple[str, str, str]:
    """`list_names` of a toolkit sample id (a composite's ``casme2/sub01/EP02_01f`` or a single
    dataset's ``sub01/EP02_01f``, with ``part`` its dataset): subject = the id's first folder, clip =
    its last."""
    rest = sample_id[len(part) + 1 :] if sample_id.startswith(f"{part}/") else sample_id
    subject, _, clip = rest.partition("/")
    return list_names(part, subject, clip.rsplit("/", 1)[-1] or subject)


def read_list(path: str | os.PathLike) -> list[ListEntry]:
    """Read the official ``combined_3class_gt.csv`` (no header; 4 columns). Raises ValueError naming
    the file, line and field of a malformed row."""
    entries = []
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 4:
                raise ValueError(f"{path}: line {line}: 4 columns expected, got {len(row)}: {row}")
            dataset, subject, filename, label = (v.strip() for v in row)
            if dataset not in MEGC_PARTS:
                raise ValueError(f"{path}: line {line}: dataset {dataset!r} not one of {MEGC_PARTS}")
            if label not in ("0", "1", "2"):
                raise ValueError(f"{path}: line {line}: label {label!r} not 0, 1 or 2")
            entries.append(ListEntry(dataset, subject, filename, int(label)))
    return entries


def write_list(path: str | os.PathLike, entries: Iterable[ListEntry]) -> Path:
    """Write ``entries`` in the official list's format (no header, 4 columns)."""
    path = Path(path)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for e in entries:
            writer.writerow([e.dataset, e.subject, e.filename, e.label])
    return path


def compare_with_list(rows: Iterable, entries: Iterable[ListEntry]) -> dict[str, list[str]]:
    """Differences between manifest ``rows`` (`ClipRecord`s of ``megc2019-3class``: ``sample_id``,
    ``label_name``) and the official list ``entries``: ``missing`` (in the list, not in the rows),
    ``extra`` (in the rows, not in the list), ``label`` (in both, other label). Empty lists: the same."""
    ours = {r.sample_id: r.label_name for r in rows}
    theirs = {sample_id_of(e): MEGC_CLASSES[e.label] for e in entries}
    return {
        "missing": sorted(set(theirs) - set(ours)),
        "extra": sorted(set(ours) - set(theirs)),
        "label": sorted(s for s in set(ours) & set(theirs) if ours[s] != theirs[s]),
    }
