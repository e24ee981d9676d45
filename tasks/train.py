"""Luigi tasks for leave-one-subject-out training on a prebuilt HDF5 cache (wiring only)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import luigi

from model.config import TrainConfig
from model.loso import aggregate, train_fold
from model.protocols import PROTOCOLS
from model.registry import INPUTS, MODELS
from model.status import FoldProgress
from pipeline import identity
from pipeline.datasets import ManifestError
from pipeline.datasets.regroup import regroup, resolve_grouping
from pipeline.store import CacheInfo, open_cache
from pipeline.store.verify import verify_cache
from tasks.config import TrainMixin, WorkdirMixin, check_device, check_source, train_config
from tasks.configfile import files_read
from tasks.flow import ComputeFlow
from tasks.logs import WAIT_FOR_OTHER, quiet, running


def prepare_run(hdf5: str, cfg: TrainConfig) -> tuple[TrainConfig, CacheInfo, str]:
    """``cfg`` with its grouping resolved for cache ``hdf5`` (``default``/``paper`` -> the spec's name),
    the cache as that grouping labels it, and the run folder name (``pipeline.identity.run_name``: the
    cache's content hash, the grouping's mapping and the result-affecting training settings)."""
    info = open_cache(hdf5)  # validates the file (CacheError names it)
    verify_cache(hdf5, info.content_hash)  # before a run named by content_hash is reused
    grouping = resolve_grouping(info.dataset, cfg.grouping)
    cfg = dataclasses.replace(cfg, grouping=grouping.name)
    cache = regroup(info, grouping)
    return (
        cfg,
        cache,
        identity.run_name(cache.dataset, cache.content_hash, cfg.to_dict(), grouping.identity()),
    )


class _RunMixin(WorkdirMixin, TrainMixin):
    """An HDF5 cache + training configuration; the run folder is named after both."""

    hdf5 = luigi.Parameter(description="prebuilt HDF5 cache (BuildDatasetCache output)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cfg = train_config(self)
        check_device(cfg.device)
        if not Path(self.hdf5).is_file():
            raise ValueError(f"--hdf5 {self.hdf5!r}: no such file")
        try:
            self.cfg, self.cache, self.run_id = prepare_run(self.hdf5, cfg)
        except ManifestError as err:  # an unknown grouping, or one that does not fit the cache
            raise ValueError(f"--grouping {cfg.grouping!r}: {err}") from None
        check_source(self.cfg.source, self.cache, self.hdf5)

    def run_dir(self) -> Path:
        return Path(self.workdir) / "runs" / self.run_id


class TrainFold(_RunMixin, luigi.Task):
    """One fold: train on every other subject, predict the fold's (``subject``: a subject, or a dataset
    of a composite under ``--protocol hold-out-dataset``: `model.protocols.ProtocolSpec.folds`)."""

    subject = luigi.Parameter(description="the fold: its test subject (or dataset, hold-out-dataset)")

    @property
    def resources(self) -> dict:
        # limit concurrent GPU folds per machine with [resources] gpu = N in luigi.cfg
        return {"gpu": 1} if self.cfg.device.startswith("cuda") else {}

    def requires(self) -> list[ComputeFlow]:
        # a flow model reads the cache's flow file, computed once per cache by its own task
        if INPUTS[MODELS[self.cfg.model].input].artifact != "flow":
            return []
        return [
            ComputeFlow(
                hdf5=self.hdf5,
                workdir=self.workdir,
                source=self.cfg.source,
                flow_method=self.cfg.input_options.flow_method,
            )
        ]

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.run_dir() / identity.fold_name(self.subject) / "fold.json"))

    def run(self) -> None:
        flow = self.input()[0].path if self.requires() else None
        with running(self, "fold", wait=WAIT_FOR_OTHER) as report:  # reuses fold.json when it waited
            progress = FoldProgress(
                self.run_dir(), self.subject, list(PROTOCOLS[self.cfg.protocol].folds(self.cache)), epochs=self.cfg.epochs,
                name=f"{self.cache.dataset}/{self.cfg.recipe}", quiet=quiet(), report=report,
            )  # fmt: skip
            fold_dir = self.run_dir() / identity.fold_name(self.subject)
            train_fold(self.hdf5, self.subject, self.cfg, fold_dir, flow, progress)


class TrainLOSO(_RunMixin, luigi.Task):
    """Every fold of the cache (one per subject; one per dataset of a composite under
    ``--protocol hold-out-dataset``), then pooled metrics, figures and report in ``work/runs/<run>/``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cache = self.cache
        self.subjects = cache.subjects
        if len(cache.clips) == 0:
            raise ValueError(
                f"--hdf5 {self.hdf5!r}: no clips under grouping {cache.grouping!r} (LOSO needs >= 2 subjects)"
            )
        if len(self.subjects) < 2:
            raise ValueError(
                f"--hdf5 {self.hdf5!r}: the cache holds {len(cache.clips)} clip(s) of one subject "
                f"({self.subjects[0]}); LOSO needs >= 2 subjects"
            )
        try:
            self.folds = list(PROTOCOLS[self.cfg.protocol].folds(cache))
        except ValueError as err:
            raise ValueError(f"--protocol {self.cfg.protocol}: {err}") from None

    def requires(self) -> list[TrainFold]:
        return [self.clone(TrainFold, subject=fold) for fold in self.folds]

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.run_dir() / "metrics.json"))

    def run(self) -> None:
        with running(self, "run", wait=WAIT_FOR_OTHER):
            aggregate(self.run_dir(), configuration=files_read())
