"""Dataset adapters: official dataset trees + annotation sheets -> validated manifests.

Each dataset is described by a spec file in ``data_manifests/`` (see :mod:`.spec`); the code holds no
dataset names. ``load_manifest("casme2", root)`` returns a :class:`Manifest` of :class:`ClipRecord`.
"""

from .adapters import load_manifest
from .records import ClipRecord, Excluded, Manifest, ManifestError, read_manifest_csv
from .spec import (
    DatasetSpec,
    Grouping,
    SpecError,
    frame_rates,
    list_datasets,
    list_groupings,
    load_spec,
    spec_files,
)

__all__ = [
    "ClipRecord",
    "DatasetSpec",
    "Excluded",
    "Grouping",
    "Manifest",
    "ManifestError",
    "SpecError",
    "frame_rates",
    "list_datasets",
    "list_groupings",
    "load_manifest",
    "load_spec",
    "read_manifest_csv",
    "spec_files",
]
