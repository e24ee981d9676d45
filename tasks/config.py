"""Luigi parameters of the tasks, generated from the typed dataclasses (see ``tasks.params``).

``luigi.cfg`` sections: ``[paths]`` (workdir), ``[datasets]`` (roots), ``[faces]``, ``[magnify]``,
``[preprocess]``, ``[synthetic]``, ``[train]``. On the command line the same settings are
``--workdir``, ``--face-<field>``, ``--<magnify field>``, ``--<preprocess field>``,
``--synthetic-<field>`` and ``--<train field>`` (underscores written as dashes).
"""

from __future__ import annotations

import dataclasses

import luigi

from model.config import NESTED, TrainConfig, option_names
from model.protocols import PROTOCOLS
from model.recipes import RECIPES, recipe_config
from model.registry import INPUTS, MODELS
from pipeline.datasets import list_datasets
from pipeline.faces import FaceParams
from pipeline.faces.registry import BACKENDS
from pipeline.magnify import MAGNIFIERS
from pipeline.params import PreprocessParams
from pipeline.synthetic import SyntheticParams
from tasks.configfile import describe_configuration
from tasks.params import (
    build_dataclass,
    entry_options,
    given_options,
    mixin,
    parameters_of,
    register_options,
    with_options,
)

PREPROCESS_RENAME = {"frame_set": "frames"}


class WorkdirMixin:
    """``--workdir``; building any task first checks the toolkit's luigi.cfg sections for unknown keys
    (``tasks.configkeys``)."""

    workdir = luigi.Parameter(
        default="./work",
        config_path={"section": "paths", "name": "workdir"},
        description="work directory (caches, QC, runs, logs, report)",
    )

    def __init__(self, *args, **kwargs) -> None:
        from tasks.configkeys import check_config_keys

        check_config_keys()
        super().__init__(*args, **kwargs)


#: ``--face-<field>`` of `FaceParams` and of every face backend's options (`pipeline.faces.registry`)
FaceMixin = mixin("FaceMixin", parameters_of(FaceParams, "faces", prefix="face_", skip=("backend_options",)))
register_options(FaceMixin, BACKENDS, "faces", prefix="face_")


#: `FaceMixin`, ``--<field>`` of every magnifier's options (`pipeline.magnify.registry`) and the build's
#: own (``--variant`` is the model's key-frame selection; the release's frame set is ``--frames``)
PreprocessMixin = mixin(
    "PreprocessMixin",
    parameters_of(PreprocessParams, "preprocess", skip=("faces", "magnify"), rename=PREPROCESS_RENAME),
    bases=(FaceMixin,),
)

register_options(PreprocessMixin, MAGNIFIERS, "magnify")

SyntheticMixin = mixin(
    "SyntheticMixin",
    parameters_of(SyntheticParams, "synthetic", prefix="synthetic_"),
    {
        "synthetic_seed": luigi.IntParameter(
            default=0, config_path={"section": "synthetic", "name": "seed"}, description="generator seed"
        )
    },
)

NESTED_FIELDS = tuple(name for name, _ in NESTED)

TrainMixin = mixin(
    "TrainMixin",
    {
        "recipe": luigi.ChoiceParameter(
            choices=tuple(RECIPES),
            default="default",
            config_path={"section": "train", "name": "recipe"},
            description="training recipe (model.recipes): "
            + ", ".join(RECIPES)
            + "; every other option overrides it",
        )
    },
    parameters_of(
        TrainConfig, "train", skip=("recipe", "init_checkpoint_sha256", *NESTED_FIELDS), given_only=True
    ),
)


for _registry in (MODELS, INPUTS, PROTOCOLS):
    register_options(TrainMixin, _registry, "train")


def train_options() -> dict[str, str]:
    """Every training option a task takes, with the class that defines it: the shared `TrainConfig`
    fields and every registered model's, input kind's and protocol's options."""
    skip = ("recipe", "init_checkpoint_sha256", *NESTED_FIELDS)
    shared = {f.name: "TrainConfig" for f in dataclasses.fields(TrainConfig) if f.name not in skip}
    return shared | {name: cls.__name__ for name, cls in option_names().items()}


def face_params(task: luigi.Task) -> FaceParams:
    """The validated ``FaceParams`` of a task carrying ``FaceMixin``, its backend's options included."""
    backend = BACKENDS.get(task.face_backend) if task.face_backend in BACKENDS else None
    options = entry_options(task, backend.options, "face_") if backend else None
    spelling = {backend.options.__name__: ("face_", None)} if backend and backend.options else {}
    return build_dataclass(task, FaceParams, prefix="face_", nested=spelling, backend_options=options)


def preprocess_params(task: luigi.Task) -> PreprocessParams:
    """The validated ``PreprocessParams`` of a task carrying ``PreprocessMixin``: the faces and the
    chosen magnifier's options."""
    magnifier = MAGNIFIERS.get(task.magnifier) if task.magnifier in MAGNIFIERS else None
    options = entry_options(task, magnifier.options) if magnifier else None
    nested = {"FaceParams": ("face_", None)}
    if magnifier and magnifier.options:
        nested[magnifier.options.__name__] = ("", None)
    return build_dataclass(
        task,
        PreprocessParams,
        rename=PREPROCESS_RENAME,
        nested=nested,
        faces=face_params(task),
        magnify=options,
    )


def train_config(task: luigi.Task, recipe: str | None = None, shrink: dict | None = None) -> TrainConfig:
    """The validated ``TrainConfig`` of a task carrying ``TrainMixin``: its recipe (or ``recipe``),
    changed by ``shrink`` (`model.recipes.BUILTIN_SHRINK`), with every option given on the command line
    or in ``[train]`` applied on top, merged by `model.recipes.recipe_config`."""
    given = given_options(task, train_options())
    return with_options(task, lambda: recipe_config(recipe or task.recipe, **{**(shrink or {}), **given}))


def synthetic_params(task: luigi.Task) -> SyntheticParams:
    """The validated ``SyntheticParams`` of a task carrying ``SyntheticMixin``."""
    return build_dataclass(task, SyntheticParams, prefix="synthetic_")


def dataset_roots() -> dict[str, str]:
    """``[datasets]`` of luigi.cfg: ``{dataset: root}`` for every entry with a value.

    Read from the configuration file itself (not as Luigi parameters, whose ``--datasets-*`` names
    made ``--dataset`` ambiguous on the command line), so that any spec in ``data_manifests/`` can
    be named there. A name without a spec is an error listing the known ones.
    """
    config = luigi.configuration.get_config()
    if not config.has_section("datasets"):
        return {}
    known = list_datasets()
    roots = {}
    for name, value in config.items("datasets"):
        if name not in known:
            raise ValueError(
                f"luigi.cfg [datasets]: {name!r} is not a dataset spec in data_manifests/; "
                f"known: {', '.join(known)} ({describe_configuration()})"
            )
        if value.strip():
            roots[name] = value.strip()
    return {name: roots[name] for name in known if name in roots}


def dataset_root(name: str) -> str | None:
    """The root of ``name`` in ``[datasets]``, or None."""
    return dataset_roots().get(name)


def check_device(device: str, option: str = "--device") -> str:
    """The device ``option`` names (``auto`` resolved), when this machine has it; else a ValueError
    naming the option (checked when a task is built, before any work)."""
    from model.train import resolve_device

    try:
        return str(resolve_device(device))
    except (ValueError, RuntimeError) as err:
        reason = str(err).removeprefix(f"device {device!r}: ")
        raise ValueError(f"{option} {device!r}: {reason}") from None


def check_processes(processes: int) -> int:
    """``--processes`` when >= 1, else a ValueError naming the option."""
    if processes < 1:
        raise ValueError(f"--processes must be >= 1, got {processes}")
    return processes


def check_source(source: str, cache, hdf5: str) -> str:
    """``--source`` when ``cache`` (a `pipeline.store.CacheInfo`) holds those frames, else a ValueError
    naming the option and the file."""
    if source == "raw" and not cache.has_raw:
        raise ValueError(f"--source raw: {hdf5} was built without --keep-raw (valid: magnified)")
    return source
