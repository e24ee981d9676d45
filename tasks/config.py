"""Luigi parameters of the tasks, generated from the typed dataclasses (see ``tasks.params``).

``luigi.cfg`` sections: ``[paths]`` (workdir), ``[datasets]`` (roots), ``[faces]``, ``[magnify]``,
``[preprocess]``, ``[synthetic]``, ``[train]``. On the command line the same settings are
``--workdir``, ``--face-<field>``, ``--<magnify field>``, ``--<preprocess field>``,
``--synthetic-<field>`` and ``--<train field>`` (underscores written as dashes).
"""

from __future__ import annotations

import luigi

from model.config import TrainConfig
from pipeline.datasets import list_datasets
from pipeline.faces import FaceParams
from pipeline.magnify import MagnifyParams
from pipeline.params import PreprocessParams
from pipeline.synthetic import SyntheticParams
from tasks.params import build_dataclass, mixin, parameters_of

PREPROCESS_RENAME = {"variant": "frames"}

WorkdirMixin = mixin(
    "WorkdirMixin",
    {
        "workdir": luigi.Parameter(
            default="./work",
            config_path={"section": "paths", "name": "workdir"},
            description="work directory (caches, QC, runs, logs, report)",
        )
    },
)

PreprocessMixin = mixin(
    "PreprocessMixin",
    parameters_of(FaceParams, "faces", prefix="face_"),
    # the magnification reference frame is each clip's onset, chosen by the build per clip
    parameters_of(MagnifyParams, "magnify", skip=("reference",)),
    # ``--variant`` is the model's key-frame variant; the frame variant of the release is ``--frames``
    parameters_of(PreprocessParams, "preprocess", skip=("faces", "magnify"), rename=PREPROCESS_RENAME),
)

SyntheticMixin = mixin(
    "SyntheticMixin",
    parameters_of(SyntheticParams, "synthetic", prefix="synthetic_"),
    {
        "synthetic_seed": luigi.IntParameter(
            default=0, config_path={"section": "synthetic", "name": "seed"}, description="generator seed"
        )
    },
)

TrainMixin = mixin("TrainMixin", parameters_of(TrainConfig, "train"))


def preprocess_params(task: luigi.Task) -> PreprocessParams:
    """The validated ``PreprocessParams`` of a task carrying ``PreprocessMixin``."""
    return build_dataclass(
        task,
        PreprocessParams,
        rename=PREPROCESS_RENAME,
        faces=build_dataclass(task, FaceParams, prefix="face_"),
        magnify=build_dataclass(task, MagnifyParams),
    )


def train_config(task: luigi.Task) -> TrainConfig:
    """The validated ``TrainConfig`` of a task carrying ``TrainMixin``."""
    return build_dataclass(task, TrainConfig)


def synthetic_params(task: luigi.Task) -> SyntheticParams:
    """The validated ``SyntheticParams`` of a task carrying ``SyntheticMixin``."""
    return build_dataclass(task, SyntheticParams, prefix="synthetic_")


class datasets(luigi.Config):  # noqa: N801 - Luigi names config sections after the class
    """``[datasets]`` in luigi.cfg: the root folder of each licensed dataset a user has."""

    casme1 = luigi.OptionalParameter(default=None, description="CASME I root")
    casme2 = luigi.OptionalParameter(default=None, description="CASME II root")
    samm = luigi.OptionalParameter(default=None, description="SAMM root")
    smic = luigi.OptionalParameter(default=None, description="SMIC root (with HS/)")
    megc2019 = luigi.OptionalParameter(
        default=None, description="folder holding CASME2/, SAMM/ and SMIC/ for the MEGC2019 composite"
    )

    def root(self, dataset: str) -> str | None:
        value = getattr(self, dataset, None)
        return value or None

    def configured(self) -> list[str]:
        """Datasets with a root set, in a fixed order."""
        return [name for name in list_datasets() if self.root(name)]
