"""``FullBenchmark``: every configured dataset, cache -> LOSO -> ``work/report.md`` (wiring only)."""

from __future__ import annotations

import json
from pathlib import Path

import luigi

from model.summary import write_benchmark_report
from pipeline.store import open_cache
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
from tasks.params import forward
from tasks.train import TrainLOSO, run_name


class FullBenchmark(WorkdirMixin, PreprocessMixin, SyntheticMixin, TrainMixin, luigi.Task):
    """Each dataset with a root in ``[datasets]`` (the built-in synthetic set when none has one)."""

    # the cache build's own parameters, passed on to BuildDatasetCache
    processes = BuildDatasetCache.processes
    strict = BuildDatasetCache.strict
    magnify_device = BuildDatasetCache.magnify_device

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cfg = train_config(self)
        check_device(self.cfg.device)
        self.names = list(dataset_roots()) or ["synthetic"]
        if self.names == ["synthetic"] and self.synthetic_subjects < 2:
            raise ValueError(
                f"--synthetic-subjects {self.synthetic_subjects}: LOSO needs >= 2 subjects (valid: 2..99)"
            )
        self.requires()  # every cache task validates its parameters now, before any work

    def requires(self) -> dict[str, BuildDatasetCache]:
        return {name: forward(self, BuildDatasetCache, dataset=name) for name in self.names}

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "report.md"))

    def expected_runs(self) -> list[str] | None:
        """The run names of these settings on the caches (None while a cache is not built)."""
        caches = [cache.output().path for cache in self.requires().values()]
        if not all(Path(path).is_file() for path in caches):
            return None
        return [run_name(open_cache(path), self.cfg) for path in caches]

    def complete(self) -> bool:
        # report.md is a fixed path: it is current only if it lists the runs of these settings
        index = Path(self.output().path).with_suffix(".json")
        if not (self.output().exists() and index.exists()):
            return False
        return [row["run"] for row in json.loads(index.read_text())] == self.expected_runs()

    def run(self):
        caches = self.input()
        loso = {name: forward(self, TrainLOSO, hdf5=caches[name].path) for name in self.names}
        yield list(loso.values())  # dynamic: TrainLOSO reads the subjects from each built cache
        with running(self, "report"):
            write_benchmark_report(
                [(name, Path(task.output().path)) for name, task in loso.items()],
                self.output().path,
                configuration=files_read(),
            )
