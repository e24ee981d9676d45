"""Dataset specs: the declarative TOML files in ``data_manifests/``, parsed and checked.

A spec says where a dataset's clips and annotation sheet live and how to read them; the adapters
(:mod:`pipeline.datasets.adapters`) hold no dataset names. Three kinds exist:

- ``sheet``: one annotation sheet row per clip (CASME I, CASME II, SAMM, synthetic);
- ``folders``: labels come from the folder layout (SMIC-HS);
- ``composite``: several datasets pooled under one grouping (MEGC2019).

A spec may ``extends = "other"``: tables are merged key by key, except ``groupings`` which the
child replaces as a whole (a child names its own classes).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .options import SheetOptions, parse_sheet_options
from .records import ManifestError

SPEC_ENV = "AKMNET_DATA_MANIFESTS"
"""Environment variable naming an extra folder of spec files (searched before the built-in one)."""

FIELDS = ("subject", "filename", "onset", "apex", "offset", "action_units", "emotion", "expression_type")
REQUIRED_FIELDS = ("subject", "filename", "onset", "apex", "offset", "emotion")
OPTIONAL_REQUIRED = ("apex",)  # a sheet without apex declares ``apex = []`` (apex -1 on every row)
KINDS = ("sheet", "folders", "composite")
#: the grouping every cache is built with: one class per emotion label the spec's groupings know, so
#: that one build serves every grouping (chosen at training time, `pipeline.datasets.regroup`)
EMOTIONS = "emotions"


class SpecError(ManifestError):
    """A spec file is missing, malformed or names something unknown."""


def spec_dirs() -> list[Path]:
    """Folders searched for ``<name>.toml``: ``$AKMNET_DATA_MANIFESTS`` first, then the repository's."""
    dirs = []
    if os.environ.get(SPEC_ENV):
        dirs.append(Path(os.environ[SPEC_ENV]))
    dirs.append(Path(__file__).resolve().parents[2] / "data_manifests")
    return dirs


def _find_spec_file(name_or_path: str | os.PathLike, skip: Path | None = None) -> Path:
    """The spec file of a name (the first of :func:`spec_dirs` holding it, passing over ``skip``) or
    a path."""
    text = str(name_or_path)
    if text.endswith(".toml") or os.sep in text or "/" in text:
        path = Path(text)
        if not path.is_file():
            raise SpecError(f"dataset spec file not found: {path}")
        return path
    for folder in spec_dirs():
        path = folder / f"{text}.toml"
        if path.is_file() and (skip is None or path.resolve() != skip.resolve()):
            return path
    raise SpecError(f"unknown dataset {text!r}; known datasets: {', '.join(list_datasets())}")


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if key != "groupings" and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.resolve() in seen:
        raise SpecError(f"{path}: 'extends' loops back to itself")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from err
    parent = data.pop("extends", None)
    if parent is None:
        return data
    # by name: a spec may extend the built-in spec of its own name (an override in $AKMNET_DATA_MANIFESTS)
    parent_path = (
        _find_spec_file(parent, skip=path) if not str(parent).endswith(".toml") else path.parent / parent
    )
    base = _read_raw(parent_path, (*seen, path.resolve()))
    base.pop("name", None)
    return _merge(base, data)


@dataclass(frozen=True)
class Grouping:
    """A named mapping from emotion labels as written to class indices.

    ``members`` maps each class to the sheet's labels (lower case) that fall in it; ``drop`` lists sheet
    labels that are known but left out. Any other label is unknown (a validation problem).
    """

    name: str
    classes: tuple[str, ...]
    members: dict[str, tuple[str, ...]]
    drop: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.classes:
            raise SpecError(f"grouping {self.name!r}: classes must not be empty")
        if len(set(self.classes)) != len(self.classes):
            raise SpecError(f"grouping {self.name!r}: classes repeat: {list(self.classes)}")
        unknown = set(self.members) - set(self.classes)
        if unknown:
            raise SpecError(f"grouping {self.name!r}: members name unknown classes {sorted(unknown)}")
        seen: dict[str, str] = {}
        for cls in self.classes:
            for label in self.members.get(cls, (cls,)):
                if label in seen:
                    raise SpecError(
                        f"grouping {self.name!r}: label {label!r} is in {seen[label]!r} and {cls!r}"
                    )
                seen[label] = cls
        clash = set(seen) & set(self.drop)
        if clash:
            raise SpecError(f"grouping {self.name!r}: labels both kept and dropped: {sorted(clash)}")

    def classify(self, emotion: str) -> tuple[int, str] | None:
        """``(label, class name)`` for a label label, ``None`` when dropped; ``KeyError`` when unknown."""
        key = normalise_label(emotion)
        for index, cls in enumerate(self.classes):
            if key in self.members.get(cls, (cls,)):
                return index, cls
        if key in self.drop:
            return None
        raise KeyError(emotion)

    def known_labels(self) -> list[str]:
        kept = [label for cls in self.classes for label in self.members.get(cls, (cls,))]
        return kept + list(self.drop)


def normalise_label(text: str) -> str:
    """Lower case, trimmed, inner whitespace collapsed (``" Other "`` -> ``"other"``)."""
    return " ".join(str(text).split()).lower()


def _grouping(name: str, table: dict[str, Any], where: Path) -> Grouping:
    classes = table.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise SpecError(f"{where}: groupings.{name}.classes must be a list of strings")
    members = {
        cls: tuple(normalise_label(label) for label in labels)
        for cls, labels in table.get("members", {}).items()
    }
    return Grouping(
        name=name,
        classes=tuple(classes),
        members=members,
        drop=tuple(normalise_label(label) for label in table.get("drop", [])),
        description=str(table.get("description", "")),
    )


@dataclass(frozen=True)
class FrameSet:
    """One set of frame files of a release: the full frames, or the cropped/registered ``reg_`` ones."""

    prefix: str = ""
    release_dirs: tuple[str, ...] | None = None  # overrides the spec's when set


@dataclass(frozen=True)
class Correction:
    """A known annotation error, fixed when the sheet row still holds ``old``.

    The row is named by ``subject`` and ``filename``, or by ``sheet_row`` (the Excel row number, for
    sheets where one video holds several rows), or by both; empty/None keys match any row.
    """

    subject: str
    filename: str
    column: str
    old: int | str
    new: int | str
    reason: str
    sheet_row: int | None = None

    def names(self, subject: str, filename: str, sheet_row: int) -> bool:
        """Whether this correction is about the row ``sheet_row`` of ``subject``/``filename``."""
        return (
            (not self.subject or self.subject == subject)
            and (not self.filename or self.filename == filename)
            and (self.sheet_row is None or self.sheet_row == sheet_row)
        )


@dataclass(frozen=True)
class DatasetSpec:
    """One parsed ``data_manifests/<name>.toml``. See the module docstring and the spec files."""

    name: str
    kind: str
    path: Path
    title: str = ""
    fps: float = 0.0
    clip_template: str = ""
    clip_templates: tuple[str, ...] = ()  # a sheet dataset's layouts; the first that fits is used
    subject_template: str = "{number}"
    subject_regex: str = ".+"
    frame_regex: str = r".+"
    release_dirs: tuple[str, ...] = ()
    frame_sets: dict[str, FrameSet] = field(default_factory=dict)
    annotation_globs: tuple[str, ...] = ()
    header_search_rows: int = 30
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groupings: dict[str, Grouping] = field(default_factory=dict)
    default_grouping: str = ""
    paper_grouping: str = ""  # the grouping the AKMNet paper used on this dataset ("" = none)
    magnify_band: tuple[float, float] | None = (
        None  # [magnify] f_low, f_high: the band this dataset's fps allows
    )
    corrections: tuple[Correction, ...] = ()
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # composite: part -> root dir names
    part_groupings: dict[str, dict[str, Grouping]] = field(default_factory=dict)
    exclude: tuple[dict[str, str], ...] = ()
    options: SheetOptions = SheetOptions()

    @property
    def required_fields(self) -> tuple[str, ...]:
        """The sheet fields every row must have (apex is not one where the spec says ``apex = []``)."""
        absent = {f for f in OPTIONAL_REQUIRED if f in self.columns and not self.columns[f]}
        return tuple(f for f in REQUIRED_FIELDS if f not in absent)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"{self.path}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind != "composite":
            if self.fps <= 0:
                raise SpecError(f"{self.path}: fps must be > 0, got {self.fps!r}")
            try:
                re.compile(self.frame_regex)
                re.compile(self.subject_regex)
            except re.error as err:
                raise SpecError(f"{self.path}: bad regular expression: {err}") from err
            if "full" not in self.frame_sets:
                raise SpecError(f"{self.path}: frame_sets must define 'full'")
        if self.kind == "sheet":
            given = self.options.positions if self.options.headerless else self.columns
            missing = [f for f in REQUIRED_FIELDS if f not in given and f not in self.columns]
            if missing:
                where = "annotation.positions" if self.options.headerless else "annotation.columns"
                raise SpecError(f"{self.path}: {where} lacks {missing}")
            empty = [f for f, names in self.columns.items() if not names and f not in OPTIONAL_REQUIRED]
            if empty and not self.options.headerless:
                raise SpecError(f"{self.path}: annotation.columns.{empty[0]} must name at least one column")
            if not self.annotation_globs:
                raise SpecError(f"{self.path}: annotation.globs must not be empty")
        if self.kind == "composite" and not self.parts:
            raise SpecError(f"{self.path}: a composite spec needs [parts]")
        for key in ("default_grouping", "paper_grouping"):
            name = getattr(self, key)
            if (name or key == "default_grouping") and name not in self.groupings:
                raise SpecError(f"{self.path}: {key} {name!r} is not one of {sorted(self.groupings)}")
        if EMOTIONS in self.groupings:
            raise SpecError(
                f"{self.path}: the grouping name {EMOTIONS!r} is reserved (one class per emotion)"
            )

    def emotion_grouping(self, part: str | None = None) -> Grouping:
        """The :data:`EMOTIONS` grouping: one class per label known to any of the spec's groupings
        (of composite ``part`` only, when given), sorted; it drops nothing."""
        if part is None and self.kind != "composite":
            groups = list(self.groupings.values())
        elif part is None:
            groups = [g for p in self.part_groupings.values() for g in p.values()]
        else:
            groups = [p[part] for p in self.part_groupings.values() if part in p]
        labels = sorted({label for g in groups for label in g.known_labels()})
        return Grouping(name=EMOTIONS, classes=tuple(labels), members={}, description="one class per emotion")

    def grouping(self, name: str | None) -> Grouping:
        """The named grouping (the default when ``name`` is None; :data:`EMOTIONS`: one class per
        emotion); ``SpecError`` lists the choices."""
        name = name or self.default_grouping
        if name == EMOTIONS:
            return self.emotion_grouping()
        if name not in self.groupings:
            raise SpecError(
                f"dataset {self.name!r} has no grouping {name!r}; choose one of {sorted(self.groupings)}"
            )
        return self.groupings[name]

    def frame_set(self, name: str) -> FrameSet:
        if name not in self.frame_sets:
            raise SpecError(
                f"dataset {self.name!r} has no frame set {name!r}; choose one of {sorted(self.frame_sets)}"
            )
        return self.frame_sets[name]


def load_spec(name_or_path: str | os.PathLike) -> DatasetSpec:
    """Parse a spec by dataset name (``"casme2"``) or by path to a ``.toml`` file."""
    path = _find_spec_file(name_or_path)
    toml = _read_raw(path)
    where = path
    try:
        name = str(toml.get("name") or path.stem)
        annotation = toml.get("annotation", {})
        columns = {
            key: tuple([value] if isinstance(value, str) else value)
            for key, value in annotation.get("columns", {}).items()
        }
        unknown = set(columns) - set(FIELDS)
        if unknown:
            raise SpecError(
                f"{where}: annotation.columns has unknown fields {sorted(unknown)}; known: {FIELDS}"
            )
        groupings: dict[str, Grouping] = {}
        part_groupings: dict[str, dict[str, Grouping]] = {}
        for gname, table in toml.get("groupings", {}).items():
            groupings[gname] = _grouping(gname, table, where)
            for part, ptable in table.get("parts", {}).items():
                part_groupings.setdefault(gname, {})[part] = _grouping(
                    gname, {"classes": table["classes"], **ptable}, where
                )
        frame_sets = {
            vname: FrameSet(
                prefix=str(v.get("prefix", "")),
                release_dirs=tuple(v["release_dirs"]) if "release_dirs" in v else None,
            )
            for vname, v in toml.get("frame_sets", {}).items()
        }
        corrections = tuple(
            Correction(
                subject=str(c.get("subject", "")),
                filename=str(c.get("filename", "")),
                column=str(c["column"]),
                old=c["old"],
                new=c["new"],
                reason=str(c.get("reason", "")),
                sheet_row=int(c["sheet_row"]) if "sheet_row" in c else None,
            )
            for c in toml.get("corrections", [])
        )
        for c in corrections:
            if not (c.subject and c.filename) and c.sheet_row is None:
                raise SpecError(f"{where}: a correction needs subject and filename, or sheet_row: {c}")
        templates = toml.get("clip_template", "")
        templates = tuple([templates] if isinstance(templates, str) else templates)
        return DatasetSpec(
            name=name,
            kind=str(toml.get("kind", "")),
            path=path,
            title=str(toml.get("title", name)),
            fps=float(toml.get("fps", 0.0)),
            clip_template=str(templates[0] if templates else ""),
            clip_templates=templates,
            subject_template=str(toml.get("subject_template", "{number}")),
            subject_regex=str(toml.get("subject_regex", ".+")),
            frame_regex=str(toml.get("frame_regex", ".+")),
            release_dirs=tuple(toml.get("release_dirs", ())),
            frame_sets=frame_sets,
            annotation_globs=tuple(annotation.get("globs", ())),
            header_search_rows=int(annotation.get("header_search_rows", 30)),
            columns=columns,
            groupings=groupings,
            default_grouping=str(toml.get("default_grouping", "")),
            paper_grouping=str(toml.get("paper_grouping", "")),
            magnify_band=_band(toml.get("magnify"), where),
            corrections=corrections,
            parts={p: tuple(t.get("dirs", ())) for p, t in toml.get("parts", {}).items()},
            part_groupings=part_groupings,
            exclude=tuple({k: str(v) for k, v in e.items()} for e in toml.get("exclude", [])),
            options=parse_sheet_options(toml, path, FIELDS),
        )
    except KeyError as err:
        raise SpecError(f"{where}: missing key {err}") from err


def _band(table: dict | None, where: Path) -> tuple[float, float] | None:
    """``[magnify] f_low, f_high`` of a spec: the temporal band used when the configured one does not fit
    the dataset's frame rate (`pipeline.magnify.registry.phase_for_dataset`)."""
    if table is None:
        return None
    try:
        low, high = float(table["f_low"]), float(table["f_high"])
    except (KeyError, TypeError, ValueError) as err:
        raise SpecError(f"{where}: [magnify] needs numbers f_low and f_high ({err})") from None
    if not 0 <= low < high:
        raise SpecError(f"{where}: [magnify] needs 0 <= f_low < f_high, got {low}, {high}")
    return low, high


def list_datasets() -> list[str]:
    """Names of every dataset with a spec file, sorted."""
    names: set[str] = set()
    for folder in spec_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def spec_files(dataset: str) -> list[Path]:
    """The spec file of ``dataset`` and, for a composite, those of its parts (what a manifest read)."""
    spec = load_spec(dataset)
    return [spec.path] + ([load_spec(part).path for part in spec.parts] if spec.kind == "composite" else [])


def frame_rates(dataset: str) -> dict[str, float]:
    """``{dataset or part: fps}`` of a dataset (a composite's parts each have their own)."""
    spec = load_spec(dataset)
    if spec.kind == "composite":
        return {part: load_spec(part).fps for part in spec.parts}
    return {spec.name: spec.fps}


def list_groupings(dataset: str) -> list[str]:
    """Names of the class groupings a dataset offers, sorted (``SpecError`` for an unknown dataset)."""
    return sorted(load_spec(dataset).groupings)
