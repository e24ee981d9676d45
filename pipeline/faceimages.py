"""Labelled face images for pretraining the frame CNN (the AKMNet paper's AffectNet step).

A collection is described by a spec in ``data_manifests/pretrain/`` (expression codes, class groupings,
where the CSV manifests and images lie) and read from one of two layouts:

- ``affectnet``: the original release, CSV manifests of (image path, face box, landmarks, expression
  code, valence, arousal) beside the image folder;
- ``folders``: one folder per class or expression (``train/0 .. train/7`` of redistributed copies, or
  folders named by expression or by class).

:func:`read_image_set` lists the images with their classes, :func:`sample_per_class` draws N per class
with a seed, and :func:`write_face_file` puts each through the face stage (detection, 68 landmarks,
similarity alignment, crop, grayscale: `pipeline.faces.align_clip` on a one-frame clip) into one HDF5
file, atomically.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from pipeline.atomic import atomic_path
from pipeline.datasets.records import ManifestError
from pipeline.datasets.spec import Grouping, SpecError, _grouping, normalise_label
from pipeline.faces import FaceParams, align_clip
from pipeline.faces.errors import FaceNotFoundError

if TYPE_CHECKING:
    import pandas as pd

LAYOUTS = ("affectnet", "folders")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
FACE_FORMAT = "akmnet-face-images"


@dataclass(frozen=True)
class ImageSetSpec:
    """One parsed ``data_manifests/pretrain/<name>.toml``."""

    name: str
    path: Path
    csv_globs: tuple[str, ...]
    image_dirs: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]
    codes: dict[str, str]
    groupings: dict[str, Grouping]
    default_grouping: str

    def grouping(self, name: str | None = None) -> Grouping:
        name = name or self.default_grouping
        if name not in self.groupings:
            raise SpecError(f"{self.path}: no grouping {name!r}; choose one of {sorted(self.groupings)}")
        return self.groupings[name]

    def expression(self, value: object) -> str:
        """An expression code (``3``, ``"3"``, ``3.0``) as its name; any other text normalised."""
        text = normalise_label(value)
        try:
            code = str(int(float(text)))
        except ValueError:
            return text
        return self.codes.get(code, text)


def load_image_spec(name: str = "affectnet") -> ImageSetSpec:
    """Parse ``data_manifests/pretrain/<name>.toml`` (or a ``.toml`` path)."""
    path = (
        Path(name)
        if str(name).endswith(".toml")
        else Path(__file__).resolve().parents[1] / "data_manifests" / "pretrain" / f"{name}.toml"
    )
    if not path.is_file():
        raise SpecError(f"image-set spec not found: {path}")
    with open(path, "rb") as fh:
        toml = tomllib.load(fh)
    columns = {k: tuple([v] if isinstance(v, str) else v) for k, v in toml.get("columns", {}).items()}
    return ImageSetSpec(
        name=str(toml.get("name", path.stem)),
        path=path,
        csv_globs=tuple(toml.get("csv_globs", ())),
        image_dirs=tuple(toml.get("image_dirs", (".",))),
        columns=columns,
        codes={str(k): normalise_label(v) for k, v in toml.get("codes", {}).items()},
        groupings={g: _grouping(g, t, path) for g, t in toml.get("groupings", {}).items()},
        default_grouping=str(toml.get("default_grouping", "")),
    )


@dataclass(frozen=True)
class LabelledImage:
    """One image: ``path`` relative to the collection's root, its expression and class."""

    path: str
    expression: str
    label: int
    label_name: str


@dataclass
class ImageSet:
    """The usable images of a collection under one grouping, and what was left out (row: reason)."""

    root: Path
    layout: str
    grouping: str
    classes: tuple[str, ...]
    images: list[LabelledImage] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def class_counts(self) -> dict[str, int]:
        counts = Counter(i.label_name for i in self.images)
        return {c: counts.get(c, 0) for c in self.classes}


def _classify(group: Grouping, expression: str, where: str, out: ImageSet, path: str) -> None:
    try:
        found = group.classify(expression)
    except KeyError:
        out.excluded.append(f"{where}: expression {expression!r} unknown to grouping {group.name!r}")
        return
    if found is None:
        out.excluded.append(f"{where}: expression {expression!r} is left out by grouping {group.name!r}")
        return
    out.images.append(LabelledImage(path, expression, found[0], found[1]))


def _column(frame: pd.DataFrame, names: tuple[str, ...], field_name: str, csv: Path) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise ManifestError(
        f"{csv}: no {field_name} column (looked for {list(names)}; found {list(frame.columns)})"
    )


def _read_affectnet(root: Path, spec: ImageSetSpec, group: Grouping, out: ImageSet) -> None:
    csvs = sorted({p for g in spec.csv_globs for p in root.glob(g) if p.is_file()})
    if not csvs:
        raise ManifestError(f"{root}: no CSV manifest ({list(spec.csv_globs)}) for the affectnet layout")
    dirs = [root / d for d in spec.image_dirs if (root / d).is_dir()]
    import pandas as pd  # here, not at the top: pandas adds 0.3 s to every command's start

    for csv in csvs:
        try:
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
            raise ManifestError(f"{csv}: not a readable CSV ({err})") from err
        path_col = _column(frame, spec.columns["path"], "image path", csv)
        code_col = _column(frame, spec.columns["expression"], "expression", csv)
        for row, (rel, code) in enumerate(zip(frame[path_col], frame[code_col]), start=2):
            where = f"{csv.name} row {row}"
            if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
                out.excluded.append(f"{where}, column {path_col!r}: not a relative image path: {rel!r}")
                continue
            found = next((d for d in dirs if (d / rel).is_file()), None)
            if found is None:
                out.excluded.append(f"{where}, column {path_col!r}: image not found: {rel}")
                continue
            _classify(
                group,
                spec.expression(code),
                f"{where}, column {code_col!r}",
                out,
                (found / rel).relative_to(root).as_posix(),
            )


def _read_folders(root: Path, spec: ImageSetSpec, group: Grouping, out: ImageSet) -> None:
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise ManifestError(f"{root}: no class folders for the folders layout")
    for folder in folders:
        expression = spec.expression(folder.name)
        for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            _classify(group, expression, f"{folder.name}/", out, image.relative_to(root).as_posix())


def read_image_set(
    root: str | os.PathLike, layout: str, spec: ImageSetSpec, grouping: str | None = None
) -> ImageSet:
    """Every image of the collection at ``root`` in ``layout`` (:data:`LAYOUTS`) with its class."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not root.is_dir():
        raise ManifestError(f"image collection root is not a folder: {root}")
    group = spec.grouping(grouping)
    out = ImageSet(root=root, layout=layout, grouping=group.name, classes=group.classes)
    (_read_affectnet if layout == "affectnet" else _read_folders)(root, spec, group, out)
    if not out.images:
        raise ManifestError(f"{root}: no usable image in the {layout} layout ({len(out.excluded)} left out)")
    return out


def sample_per_class(images: list[LabelledImage], n: int, seed: int) -> list[LabelledImage]:
    """Up to ``n`` images of each class, drawn without replacement with ``seed`` (all when fewer), in
    class then path order."""
    rng = np.random.default_rng([int(seed), 0xFACE])
    chosen = []
    for label in sorted({i.label for i in images}):
        members = sorted((i for i in images if i.label == label), key=lambda i: i.path)
        picks = rng.choice(len(members), size=min(n, len(members)), replace=False)
        chosen += [members[k] for k in sorted(picks)]
    return chosen


def _align_one(job: tuple[str, dict]) -> tuple[np.ndarray | None, str]:
    path, params = job
    try:
        return align_clip([path], FaceParams(**params)).frames[0], ""
    except FaceNotFoundError as err:
        return None, f"no face: {err}"
    except (OSError, ValueError) as err:
        return None, f"unreadable: {err}"


def write_face_file(
    image_set: ImageSet,
    images: list[LabelledImage],
    out_path: str | os.PathLike,
    faces: FaceParams,
    processes: int = 1,
    meta: dict | None = None,
) -> dict:
    """Align and crop each of ``images`` (one-frame clips through the face stage) and write them to
    ``out_path`` atomically: ``/images`` uint8 ``(N, S, S)``, ``/labels`` int64 ``(N,)``, attrs
    ``format``, ``classes``, ``paths``, ``left_out`` (image: reason) and ``meta`` (JSON). Images
    without a face are left out and listed. Returns a summary dict."""
    jobs = [(str(image_set.root / i.path), asdict(faces)) for i in images]
    with ProcessPoolExecutor(processes) if processes > 1 else _Serial() as pool:
        results = list(pool.map(_align_one, jobs, chunksize=16) if processes > 1 else map(_align_one, jobs))
    kept = [(i, crop) for i, (crop, _) in zip(images, results) if crop is not None]
    left_out = {i.path: why for i, (_, why) in zip(images, results) if why}
    if not kept:
        raise ManifestError(f"{image_set.root}: the face stage found no face in any of {len(images)} images")
    summary = {
        "root": str(image_set.root),
        "layout": image_set.layout,
        "grouping": image_set.grouping,
        "classes": list(image_set.classes),
        "n_images": len(kept),
        "per_class": dict(Counter(image_set.classes[i.label] for i, _ in kept)),
        "left_out_no_face": len(left_out),
        **(meta or {}),
    }
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("images", data=np.stack([c for _, c in kept]), compression="gzip")
        f.create_dataset("labels", data=np.array([i.label for i, _ in kept], np.int64))
        f.attrs.update(
            format=FACE_FORMAT,
            classes=json.dumps(list(image_set.classes)),
            paths=json.dumps([i.path for i, _ in kept]),
            left_out=json.dumps(left_out),
            meta=json.dumps(summary, sort_keys=True),
        )
    return summary


def read_face_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """``(images (N, S, S) uint8, labels (N,), classes, meta)`` of a file written by :func:`write_face_file`."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FACE_FORMAT:
                raise ManifestError(f"{path}: not a face-image file (format {FACE_FORMAT!r} expected)")
            return (
                f["images"][()],
                f["labels"][()],
                json.loads(f.attrs["classes"]),
                json.loads(f.attrs["meta"]),
            )
    except (OSError, KeyError) as err:
        raise ManifestError(f"{path}: not a readable face-image file: {err}") from err


class _Serial:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
