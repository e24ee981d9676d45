"""Manifest records: one :class:`ClipRecord` per clip, a :class:`Manifest` around them, CSV round trip."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pipeline.atomic import atomic_path, write_text

CSV_VERSION = 2  # 2: plain CSV + JSON sidecar (1 had a comment line of metadata)
LIST_SEP = ";"


class ManifestError(ValueError):
    """Bad dataset input: a structural problem, or (with ``strict``) any row-level problem."""


@dataclass(frozen=True)
class ClipRecord:
    """One clip. Paths are posix, relative to :attr:`Manifest.root`; frame numbers as in the sheet."""

    sample_id: str
    dataset: str
    subject: str
    clip: str
    frames: tuple[str, ...]
    frame_numbers: tuple[int, ...]
    onset: int
    apex: int  # -1 when unknown
    offset: int
    fps: float
    emotion: str
    label: int
    label_name: str
    action_units: tuple[str, ...]
    au_text: str

    def index_of(self, frame_number: int) -> int:
        """Position of the frame numbered ``frame_number`` in :attr:`frames` (``ValueError`` if absent)."""
        try:
            return self.frame_numbers.index(int(frame_number))
        except ValueError:
            raise ValueError(
                f"{self.sample_id}: frame number {frame_number} is not among the clip's frames "
                f"({self.frame_numbers[0] if self.frame_numbers else '-'}..."
                f"{self.frame_numbers[-1] if self.frame_numbers else '-'})"
            ) from None


@dataclass(frozen=True)
class Excluded:
    """A sheet row (or folder) left out of the manifest, and why.

    ``kind``: ``"invalid"`` (a validation problem; an error under ``strict``), ``"grouping"`` (its
    label is dropped by the grouping) or ``"protocol"`` (an official exclusion list).
    """

    row: str
    sample_id: str
    reason: str
    kind: str = "invalid"


@dataclass
class Manifest:
    """The validated clips of one dataset (or composite) under one grouping."""

    dataset: str
    root: Path
    grouping: str
    classes: tuple[str, ...]
    rows: list[ClipRecord] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def subjects(self) -> list[str]:
        return sorted({r.subject for r in self.rows})

    def frame_paths(self, record: ClipRecord) -> list[Path]:
        """Absolute frame paths of one record."""
        return [self.root / f for f in record.frames]

    def class_counts(self) -> dict[str, int]:
        counts = Counter(r.label_name for r in self.rows)
        return {c: counts.get(c, 0) for c in self.classes}

    def subject_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.subject for r in self.rows).items()))

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the manifest atomically: a plain CSV (header first, one row per clip) at ``path`` and
        its metadata (root, grouping, classes, sources, corrections, exclusions) in the JSON sidecar
        :func:`sidecar_path` (same stem, ``.json``)."""
        path = Path(path)
        meta = {
            "format_version": CSV_VERSION,
            "dataset": self.dataset,
            "root": str(self.root),
            "grouping": self.grouping,
            "classes": list(self.classes),
            "sources": self.sources,
            "corrections": self.corrections,
            "excluded": [asdict(e) for e in self.excluded],
        }
        names = [f.name for f in fields(ClipRecord)]
        write_text(sidecar_path(path), json.dumps(meta, sort_keys=True, indent=1) + "\n")
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=names)
            writer.writeheader()
            for rec in self.rows:
                row = asdict(rec)
                for key in ("frames", "frame_numbers", "action_units"):
                    row[key] = LIST_SEP.join(str(v) for v in row[key])
                writer.writerow(row)
        return path


def sidecar_path(path: str | os.PathLike) -> Path:
    """The metadata file of a manifest CSV: same folder and stem, ``.json``."""
    return Path(path).with_suffix(".json")


def _record_from_row(row: dict[str, str], where: str) -> ClipRecord:
    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(v) for v in text.split(LIST_SEP)) if text else ()

    def strs(text: str) -> tuple[str, ...]:
        return tuple(text.split(LIST_SEP)) if text else ()

    try:
        return ClipRecord(
            sample_id=row["sample_id"],
            dataset=row["dataset"],
            subject=row["subject"],
            clip=row["clip"],
            frames=strs(row["frames"]),
            frame_numbers=ints(row["frame_numbers"]),
            onset=int(row["onset"]),
            apex=int(row["apex"]),
            offset=int(row["offset"]),
            fps=float(row["fps"]),
            emotion=row["emotion"],
            label=int(row["label"]),
            label_name=row["label_name"],
            action_units=strs(row["action_units"]),
            au_text=row["au_text"],
        )
    except (KeyError, ValueError, TypeError) as err:
        raise ManifestError(f"{where}: bad manifest row: {err}") from err


def read_manifest_csv(path: str | os.PathLike) -> Manifest:
    """Read a CSV written by :meth:`Manifest.to_csv` (and its JSON sidecar) back into an identical
    :class:`Manifest`."""
    path = Path(path)
    meta_path = sidecar_path(path)
    if not meta_path.is_file():
        raise ManifestError(f"{path}: its metadata file {meta_path.name} is missing (written beside it)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ManifestError(f"{meta_path}: bad metadata JSON: {err}") from err
    if not isinstance(meta, dict) or meta.get("format_version") != CSV_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise ManifestError(f"{meta_path}: format_version {version!r}, expected {CSV_VERSION}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [f.name for f in fields(ClipRecord) if f.name not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{path}: line 1: not a manifest header (missing columns {missing})")
        rows = [_record_from_row(row, f"{path}: line {i}") for i, row in enumerate(reader, start=2)]
    return Manifest(
        dataset=meta["dataset"],
        root=Path(meta["root"]),
        grouping=meta["grouping"],
        classes=tuple(meta["classes"]),
        rows=rows,
        excluded=[Excluded(**e) for e in meta["excluded"]],
        corrections=list(meta["corrections"]),
        sources=dict(meta["sources"]),
    )
