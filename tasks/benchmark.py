"""``FullBenchmark``: every configured dataset, cache -> LOSO -> ``work/report.md`` (wiring only)."""

from __future__ import annotations

import json
from pathlib import Path

import luigi

from model.summary import write_benchmark_report
from tasks.cache import BuildDatasetCache
from tasks.config import PreprocessMixin, SyntheticMixin, TrainMixin, WorkdirMixin, dataset_roots, train_config
from tasks.logs import task_log
from tasks.params import forward
from tasks.train import TrainLOSO, run_name


class FullBenchmark(WorkdirMixin, PreprocessMixin, SyntheticMixin, TrainMixin, luigi.Task):
    """Each dataset with a root in ``[datasets]`` (the built-in synthetic set when none has one)."""

    # --workers is Luigi's own (parallel tasks); this is the process pool of one cache build
    processes = luigi.IntParameter(
        default=2, config_path={"section": "preprocess", "name": "processes"}, description="build processes"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cfg = train_config(self)
        self.names = list(dataset_roots()) or ["synthetic"]

    def requires(self) -> dict[str, BuildDatasetCache]:
        return {name: forward(self, BuildDatasetCache, dataset=name) for name in self.names}

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "report.md"))

    def expected_runs(self) -> list[str]:
        return [run_name(cache.output().path, self.cfg) for cache in self.requires().values()]

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
        with task_log(self.workdir, self.task_id):
            write_benchmark_report(
                [(name, Path(task.output().path)) for name, task in loso.items()], self.output().path
            )
