"""Class groupings chosen at training time: a cache holds every clip with its emotion (grouping
:data:`~pipeline.datasets.spec.EMOTIONS`), and a run maps the emotions to its grouping's classes.

One cache build thus serves every grouping of its dataset: ``default`` (the spec's default grouping),
``paper`` (the AKMNet paper's, the spec's ``paper_grouping``), or any grouping named in the spec.
A cache of a dataset without a spec (e.g. written by hand with `pipeline.store.CacheWriter`) is read
with its own classes (grouping :data:`CACHE`).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass

from .records import ManifestError
from .spec import EMOTIONS, Grouping, SpecError, list_datasets, load_spec

DEFAULT = "default"
PAPER = "paper"
CACHE = "cache"  # the cache's own classes, as stored (no mapping)


@dataclass(frozen=True)
class TrainGrouping:
    """A resolved grouping: its name, classes and, per part of the cache (its dataset, or a composite's
    parts), the `Grouping` that maps an emotion to a class (None for :data:`CACHE`)."""

    name: str
    classes: tuple[str, ...]
    parts: dict[str, Grouping] | None

    def identity(self) -> dict:
        """What determines the labels (part of a run's name): name, classes, every mapping."""
        if self.parts is None:
            return {"name": self.name}
        return {
            "name": self.name,
            "classes": list(self.classes),
            "parts": {
                p: {"members": {c: list(g.members.get(c, (c,))) for c in g.classes}, "drop": list(g.drop)}
                for p, g in sorted(self.parts.items())
            },
        }


def grouping_name(dataset: str, name: str) -> str:
    """``name`` with ``default``/``paper`` replaced by the dataset spec's grouping of that role (a spec
    without a ``paper_grouping`` uses its default); :data:`CACHE` for a dataset without a spec (whose
    cache's own classes are its only grouping)."""
    if dataset not in list_datasets():
        if name not in (DEFAULT, PAPER, CACHE):
            raise SpecError(f"dataset {dataset!r} has no spec in data_manifests/: only grouping {CACHE!r}")
        return CACHE
    spec = load_spec(dataset)
    if name == DEFAULT:
        return spec.default_grouping
    if name == PAPER:
        return spec.paper_grouping or spec.default_grouping
    if name not in spec.groupings:
        raise SpecError(
            f"dataset {dataset!r} has no grouping {name!r}; choose one of "
            f"{[DEFAULT, PAPER, *sorted(spec.groupings)]}"
        )
    return name


def resolve_grouping(dataset: str, name: str) -> TrainGrouping:
    """The :class:`TrainGrouping` ``name`` (see :func:`grouping_name`) of ``dataset``."""
    name = grouping_name(dataset, name)
    if name == CACHE:
        return TrainGrouping(CACHE, (), None)
    spec = load_spec(dataset)
    group = spec.grouping(name)
    if spec.kind == "composite":
        return TrainGrouping(name, group.classes, dict(spec.part_groupings[name]))
    return TrainGrouping(name, group.classes, {spec.name: group})


def regroup(info, grouping: TrainGrouping):
    """``info`` (a `pipeline.store.CacheInfo` of an emotions cache) with its clips relabelled to
    ``grouping``'s classes; clips whose emotion the grouping drops are left out and counted in
    ``left_out`` (``{emotion: clips}``). An emotion the grouping does not know is a ``ManifestError``
    naming the cache, the clip and the grouping."""
    if grouping.parts is None:
        return dataclasses.replace(info, grouping=CACHE)
    if info.grouping != EMOTIONS:
        raise ManifestError(
            f"{info.path}: the cache's labels are grouping {info.grouping!r}, not {EMOTIONS!r}; "
            f"rebuild it with this version (BuildDatasetCache)"
        )
    kept, left_out = [], Counter()
    for clip in info.clips:
        group = grouping.parts.get(clip.part)
        if group is None:
            raise ManifestError(f"{info.path}: clip {clip.sample_id!r} is of part {clip.part!r}, unknown to "
                                f"grouping {grouping.name!r} (parts {sorted(grouping.parts)})")  # fmt: skip
        try:
            found = group.classify(clip.label_name)
        except KeyError:
            raise ManifestError(
                f"{info.path}: clip {clip.sample_id!r}: emotion {clip.label_name!r} is unknown to grouping "
                f"{grouping.name!r} (it knows {group.known_labels()})"
            ) from None
        if found is None:
            left_out[clip.label_name] += 1
            continue
        kept.append(dataclasses.replace(clip, label=found[0], label_name=found[1]))
    return dataclasses.replace(
        info, clips=kept, classes=list(grouping.classes), grouping=grouping.name, left_out=dict(left_out)
    )


def grouped_cache(path: str | os.PathLike, name: str):
    """Open cache ``path`` (`pipeline.store.open_cache`) and :func:`regroup` it by grouping ``name``."""
    from pipeline.store import open_cache

    info = open_cache(path)
    return regroup(info, resolve_grouping(info.dataset, name))
