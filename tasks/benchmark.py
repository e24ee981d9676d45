"""``FullBenchmark``: every configured dataset x every method, cache -> LOSO -> ``work/report.md``
(wiring only)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import luigi

from model.recipes import BUILTIN_SHRINK, RECIPES
from model.summary import write_benchmark_report
from tasks.cache import BuildDatasetCache
from tasks.config import (
    PreprocessMixin,
    SyntheticMixin,
    TrainMixin,
    WorkdirMixin,
    check_device,
    dataset_roots,
    train_config,
)
from tasks.configfile import files_read
from tasks.logs import running
from tasks.pretrain import PretrainCNN, PretrainMixin, pretraining_configured
from tasks.train import TrainLOSO, prepare_run

BUILTIN = "synthetic"
PRETRAINED = "(pretrained frame CNN)"  # the PretrainCNN requirement's key beside the dataset names


def parse_methods(text: str) -> list[str]:
    """``"default, paper, flow-cnn"`` -> the recipe names; an unknown or repeated one is a ValueError
    listing the known."""
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in RECIPES]
    if unknown or not methods or len(set(methods)) < len(methods):
        what = f"unknown {unknown}" if unknown else "empty" if not methods else "a method named twice"
        raise ValueError(f"--methods {text!r}: {what}; known methods (recipes): {', '.join(RECIPES)}")
    return methods


class FullBenchmark(WorkdirMixin, PreprocessMixin, SyntheticMixin, TrainMixin, PretrainMixin, luigi.Task):
    """Each dataset with a root in ``[datasets]`` (the built-in synthetic set when none has one), each
    trained with every method of ``[benchmark] methods``; the ``paper`` method starts from the
    pretrained frame CNN (``PretrainCNN``) when ``[pretrain] images`` is set, as the paper does."""

    recipe = None  # not an option here: every method is a recipe (--methods)
    methods = luigi.Parameter(
        default="default, paper, flow-cnn, off-apexnet, lbp-top",
        config_path={"section": "benchmark", "name": "methods"},
        description="comma-separated training recipes (model.recipes), one report row each per dataset",
    )
    # the cache build's own parameters, passed on to BuildDatasetCache
    processes = BuildDatasetCache.processes
    strict = BuildDatasetCache.strict
    magnify_device = BuildDatasetCache.magnify_device

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.method_list = parse_methods(self.methods)
        self.names = list(dataset_roots()) or [BUILTIN]
        if self.names == [BUILTIN] and self.synthetic_subjects < 2:
            raise ValueError(
                f"--synthetic-subjects {self.synthetic_subjects}: LOSO needs >= 2 subjects (valid: 2..99)"
            )
        self.cfgs = {
            (name, method): train_config(self, method, self.shrink(name, method))
            for name in self.names
            for method in self.method_list
        }
        check_device(next(iter(self.cfgs.values())).device)
        self.requires()  # every cache task validates its parameters now, before any work

    def shrink(self, dataset: str, method: str) -> dict:
        """The built-in set's shrink of ``method`` (`model.recipes.BUILTIN_SHRINK`), less any field
        given on the command line or in ``[train]``."""
        if dataset != BUILTIN or dataset not in self.names:
            return {}
        return {k: v for k, v in BUILTIN_SHRINK.get(method, {}).items() if getattr(self, k) is None}

    def requires(self) -> dict[str, luigi.Task]:
        tasks = {
            name: self.clone(BuildDatasetCache, dataset=name, **self.raw_frames(name)) for name in self.names
        }
        if self.pretrained():
            tasks[PRETRAINED] = self.clone(PretrainCNN)
        return tasks

    def raw_frames(self, name: str) -> dict:
        """``keep_raw`` for dataset ``name``'s cache when one of its methods reads the un-magnified frames
        (``source`` raw, e.g. ``lbp-top``); nothing otherwise (the cache as configured)."""
        raw = any(cfg.source == "raw" for (dataset, _), cfg in self.cfgs.items() if dataset == name)
        return {"keep_raw": True} if raw else {}

    def pretrained(self) -> bool:
        """The ``paper`` method starts from ``PretrainCNN``'s checkpoint (``[pretrain] images`` is set)."""
        return "paper" in self.method_list and pretraining_configured(self) and self.init_checkpoint is None

    def config(self, name: str, method: str, checkpoint: str | None):
        """The training configuration of ``method`` on dataset ``name``, the pretrained checkpoint added
        to the ``paper`` method's (``checkpoint``: its path, once written)."""
        cfg = self.cfgs[name, method]
        return (
            dataclasses.replace(cfg, init_checkpoint=checkpoint) if method == "paper" and checkpoint else cfg
        )

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "report.md"))

    def expected_runs(self) -> list[str] | None:
        """The run names of these settings on the caches (None while a cache is not built)."""
        outputs = {name: task.output().path for name, task in self.requires().items()}
        if not all(Path(path).exists() for path in outputs.values()):
            return None
        checkpoint = outputs.get(PRETRAINED)
        return [prepare_run(outputs[n], self.config(n, m, checkpoint))[2] for n, m in self.cfgs]

    def complete(self) -> bool:
        # report.md is a fixed path: it is current only if it lists the runs of these settings
        index = Path(self.output().path).with_suffix(".json")
        if not (self.output().exists() and index.exists()):
            return False
        return [row["run"] for row in json.loads(index.read_text())] == self.expected_runs()

    def run(self):
        caches = self.input()
        checkpoint = caches[PRETRAINED].path if PRETRAINED in caches else None
        loso = {
            (name, method): self.clone(
                TrainLOSO,
                hdf5=caches[name].path,
                recipe=method,
                **self.shrink(name, method),
                **({"init_checkpoint": checkpoint} if method == "paper" and checkpoint else {}),
            )  # fmt: skip
            for name, method in self.cfgs
        }
        yield list(loso.values())  # dynamic: TrainLOSO reads the subjects from each built cache
        with running(self, "report"):
            write_benchmark_report(
                [(name, method, Path(task.output().path)) for (name, method), task in loso.items()],
                self.output().path,
                configuration=files_read(),
                shrink={m: fields for m in self.method_list if (fields := self.shrink(BUILTIN, m))},
            )
