"""Pretraining the frame CNN on labelled face images, the AKMNet paper's AffectNet step (wiring only).

``PretrainCNN`` -> ``work/pretrain/<faces>-<digest>.pt``, a checkpoint of AKMNet's ``cnn.*`` tensors
that ``--init-checkpoint`` (and FullBenchmark's ``paper`` method, when ``[pretrain] images`` is set)
starts from. It requires ``PretrainFaces`` (N images per class through the face stage) and, for
``--pretrain-images builtin``, ``BuiltinPretrainSet`` (macro expressions made by the synthetic generator).
"""

from __future__ import annotations

import os
from pathlib import Path

import luigi

from model.pretrain import PretrainParams, pretrain
from model.progress import EpochProgress
from pipeline.faceimages import (
    LAYOUTS,
    load_image_spec,
    read_face_file,
    read_image_set,
    sample_per_class,
    write_face_file,
)
from pipeline.identity import digest, file_sha256
from pipeline.synthetic.macro import write_pretrain_set
from tasks.config import FaceMixin, WorkdirMixin, check_processes, face_params
from tasks.logs import quiet, running
from tasks.params import build_dataclass, mixin, parameters_of

BUILTIN = "builtin"

PretrainMixin = mixin(
    "PretrainMixin",
    {
        "pretrain_images": luigi.OptionalParameter(
            default=None,
            config_path={"section": "pretrain", "name": "images"},
            description="labelled face images to pretrain the frame CNN on: a folder, or 'builtin' (empty: none)",
        ),
        "pretrain_layout": luigi.ChoiceParameter(
            choices=LAYOUTS,
            default="folders",
            config_path={"section": "pretrain", "name": "layout"},
            description="affectnet (its CSV manifests) or folders (one folder per class or expression code)",
        ),
        "pretrain_imagenet": luigi.OptionalParameter(
            default=None,
            config_path={"section": "pretrain", "name": "imagenet"},
            description="a torchvision-layout ResNet-18 state dict to start from (never downloaded)",
        ),
    },
    parameters_of(PretrainParams, "pretrain", prefix="pretrain_"),
    bases=(FaceMixin,),
)


def pretrain_params(task: luigi.Task) -> PretrainParams:
    return build_dataclass(task, PretrainParams, prefix="pretrain_")


def pretraining_configured(task: luigi.Task) -> bool:
    return bool(task.pretrain_images and str(task.pretrain_images).strip())


class BuiltinPretrainSet(WorkdirMixin, luigi.Task):
    """``work/data/pretrain-builtin-<digest>/<category>/*.jpg``: macro expressions of the four categories
    on synthetic identities other than the built-in ME subjects (`pipeline.synthetic.macro`)."""

    n_per_class = luigi.IntParameter(default=100, description="images per category")
    seed = luigi.IntParameter(default=0, description="generator seed")

    def output(self) -> luigi.LocalTarget:
        name = f"pretrain-builtin-{digest({'n': self.n_per_class, 'seed': self.seed, 'version': 1})}"
        return luigi.LocalTarget(str(Path(self.workdir) / "data" / name))

    def run(self) -> None:
        with running(self, "built-in pretraining set"):
            write_pretrain_set(self.output().path, self.n_per_class, seed=self.seed)


class PretrainFaces(WorkdirMixin, PretrainMixin, luigi.Task):
    """``work/pretrain/<collection>-<digest>/faces.h5``: ``--pretrain-n-per-class`` images per class drawn
    with ``--pretrain-seed``, aligned and cropped by the face stage (``--face-*``)."""

    processes = luigi.IntParameter(
        default=2,
        config_path={"section": "preprocess", "name": "processes"},
        description="face-stage processes",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not pretraining_configured(self):
            raise ValueError("--pretrain-images: give a folder of labelled face images, or 'builtin'")
        check_processes(self.processes)
        self.params = pretrain_params(self)
        self.faces = face_params(self)
        self.spec = load_image_spec("affectnet")
        self.selection = None
        if not self.builtin:
            if not Path(self.pretrain_images).is_dir():
                raise ValueError(f"--pretrain-images {self.pretrain_images!r}: not a folder")
            self.selection = self.select(self.pretrain_images)
            data = [(i.path, *_stat(Path(self.pretrain_images) / i.path)) for i in self.selection[1]]
        else:
            data = self.clone(BuiltinPretrainSet, n_per_class=self.params.n_per_class).output().path
        self.name = f"{self.collection}-" + digest(
            {
                "data": data,
                "layout": self.pretrain_layout,
                "spec": file_sha256(self.spec.path),
                "n_per_class": self.params.n_per_class,
                "seed": self.params.seed,
                "faces": self.faces.__dict__,
            }
        )

    @property
    def builtin(self) -> bool:
        return str(self.pretrain_images).strip() == BUILTIN

    @property
    def collection(self) -> str:
        return (
            BUILTIN if self.builtin else (self.spec.name if self.pretrain_layout == "affectnet" else "images")
        )

    def select(self, root: str):
        layout = "folders" if self.builtin else self.pretrain_layout
        image_set = read_image_set(root, layout, self.spec)
        return image_set, sample_per_class(image_set.images, self.params.n_per_class, self.params.seed)

    def requires(self):
        return self.clone(BuiltinPretrainSet, n_per_class=self.params.n_per_class) if self.builtin else []

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "pretrain" / self.name / "faces.h5"))

    def run(self) -> None:
        with running(self, "pretraining faces"):
            image_set, chosen = self.selection or self.select(self.input().path)
            Path(self.output().path).parent.mkdir(parents=True, exist_ok=True)
            write_face_file(
                image_set, chosen, self.output().path, self.faces, self.processes,
                meta={"collection": self.collection, "n_per_class": self.params.n_per_class, "excluded": len(image_set.excluded)},
            )  # fmt: skip


class PretrainCNN(WorkdirMixin, PretrainMixin, luigi.Task):
    """``work/pretrain/<faces>-<digest>.pt``: AKMNet's frame CNN trained as a classifier of the faces of
    ``PretrainFaces`` (from ``--pretrain-imagenet`` weights when given); resumes per epoch."""

    processes = PretrainFaces.processes
    pretrain_threads = luigi.OptionalIntParameter(
        default=None, config_path={"section": "train", "name": "threads"}, description="torch CPU threads"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.faces_task = self.clone(PretrainFaces)
        self.params = pretrain_params(self)
        imagenet = self.pretrain_imagenet
        if imagenet and not Path(imagenet).is_file():
            raise ValueError(f"--pretrain-imagenet {imagenet!r}: no such file")
        self.imagenet_sha = file_sha256(imagenet) if imagenet else None
        self.name = f"{self.faces_task.name}-" + digest(
            {"params": self.params.__dict__, "imagenet": self.imagenet_sha}
        )

    def requires(self) -> PretrainFaces:
        return self.faces_task

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "pretrain" / f"{self.name}.pt"))

    def run(self) -> None:
        with running(self, "pretraining") as report:
            images, labels, classes, meta = read_face_file(self.input().path)
            start = (
                f"ImageNet weights {Path(self.pretrain_imagenet).name}"
                if self.pretrain_imagenet
                else "scratch"
            )
            description = (
                f"pretrained (PretrainCNN) on {meta['collection']} ({meta['layout']} layout), {len(classes)} classes, "
                f"{meta['n_images']} face images ({', '.join(f'{c} {n}' for c, n in meta['per_class'].items())}), "
                f"{self.params.epochs} epochs, from {start}"
            )
            out = Path(self.output().path)
            pretrain(
                images, labels, classes, self.params, out, description=description, imagenet=self.pretrain_imagenet,
                state_path=out.with_suffix(".state.pt"), threads=self.pretrain_threads,
                progress=EpochProgress("pretrain", quiet=quiet(), report=report),
            )  # fmt: skip
            out.with_suffix(".state.pt").unlink(missing_ok=True)


def _stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
