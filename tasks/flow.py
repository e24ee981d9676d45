"""``ComputeFlow``: the onset -> apex flow file of a cache, for flow models (wiring only)."""

from __future__ import annotations

from pathlib import Path

import luigi

from pipeline import identity
from pipeline.flow import FlowParams, compute_flow_file
from pipeline.flow.qc import plot_flow_examples
from pipeline.store import open_cache
from pipeline.store.verify import verify_cache
from tasks.cache import BuildDatasetCache
from tasks.config import WorkdirMixin, check_processes, check_source
from tasks.logs import quiet, running


class ComputeFlow(WorkdirMixin, luigi.Task):
    """``work/flow/<dataset>-<digest>.h5``: named after the cache's content, the flow parameters and
    the frames used; computed once per cache, in resumable shards, by ``--processes`` processes. A QC
    figure of a few clips' flow goes beside it (``<name>.png``)."""

    hdf5 = luigi.Parameter(description="the HDF5 cache (BuildDatasetCache output)")
    source = luigi.ChoiceParameter(
        choices=("magnified", "raw"), default="magnified", description="frames the flow is computed on"
    )
    processes = BuildDatasetCache.processes

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_processes(self.processes)
        if not Path(self.hdf5).is_file():
            raise ValueError(f"--hdf5 {self.hdf5!r}: no such file")
        cache = open_cache(self.hdf5)
        verify_cache(self.hdf5, cache.content_hash)  # before a flow file named by it is reused
        check_source(self.source, cache, self.hdf5)
        self.name = identity.flow_name(cache.dataset, cache.content_hash, FlowParams().to_dict(), self.source)

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "flow" / f"{self.name}.h5"))

    def run(self) -> None:
        with running(self, "flow") as report:
            compute_flow_file(
                self.hdf5, self.output().path, source=self.source, processes=self.processes,
                progress=not quiet(), report=report,
            )  # fmt: skip
            plot_flow_examples(self.output().path, self.hdf5, Path(self.output().path).with_suffix(".png"))
