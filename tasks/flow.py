"""``ComputeFlow``: the onset -> apex flow file of a cache, for flow models; ``ExportFlow``: that flow as
images and a label list other code reads (wiring only)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import luigi

from pipeline import identity
from pipeline.datasets.regroup import grouped_cache, resolve_grouping
from pipeline.flow import FLOW_METHODS, compute_flow_file, flow_identity, flow_params
from pipeline.flow.export import EXPORT_FORMATS, ExportParams, export_flow
from pipeline.flow.qc import check_strict, flow_qc, plot_flow_examples
from pipeline.store import open_cache
from pipeline.store.verify import verify_cache
from tasks.cache import BuildDatasetCache
from tasks.config import WorkdirMixin, check_processes, check_source
from tasks.logs import quiet, running

log = logging.getLogger(__name__)


class ComputeFlow(WorkdirMixin, luigi.Task):
    """``work/flow/<dataset>-<digest>.h5``: named after the cache's content, the flow method and its
    pinned parameters, the apex rule and the frames used; computed once per cache, in resumable shards,
    by ``--processes`` processes. Beside it: a QC figure of a few clips' flow (``<name>.png``) and
    ``<name>.qc.json`` (clips whose flow goes to the middle frame because their apex is unknown or equal
    to their onset, clips with near-zero flow: `pipeline.flow.qc.flow_qc`). ``--strict`` fails before
    computing anything when a clip's apex equals its onset."""

    hdf5 = luigi.Parameter(description="the HDF5 cache (BuildDatasetCache output)")
    source = luigi.ChoiceParameter(
        choices=("magnified", "raw"), default="magnified", description="frames the flow is computed on"
    )
    flow_method = luigi.ChoiceParameter(
        choices=tuple(FLOW_METHODS),
        default="tvl1",
        config_path={"section": "flow", "name": "method"},
        description="optical flow: tvl1 (Dual TV-L1, the field's; default) or farneback",
    )
    strict = luigi.BoolParameter(
        default=False,
        config_path={"section": "flow", "name": "strict"},
        description="fail when a clip's apex equals its onset (else its flow goes to the middle frame, "
        "listed in <name>.qc.json)",
    )
    processes = BuildDatasetCache.processes

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_processes(self.processes)
        if not Path(self.hdf5).is_file():
            raise ValueError(f"--hdf5 {self.hdf5!r}: no such file")
        self.cache = open_cache(self.hdf5)
        verify_cache(self.hdf5, self.cache.content_hash)  # before a flow file named by it is reused
        check_source(self.source, self.cache, self.hdf5)
        self.params = flow_params(self.flow_method)
        self.name = identity.flow_name(
            self.cache.dataset, self.cache.content_hash, flow_identity(self.params), self.source
        )

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "flow" / f"{self.name}.h5"))

    def run(self) -> None:
        with running(self, "flow") as report:
            if self.strict:
                check_strict(self.cache)
            out = Path(self.output().path)
            compute_flow_file(
                self.hdf5, out, self.params, source=self.source, processes=self.processes,
                progress=not quiet(), report=report,
            )  # fmt: skip
            plot_flow_examples(out, self.hdf5, out.with_suffix(".png"))
            flow_qc(out, self.hdf5, out.with_suffix(".qc.json"))


class ExportFlow(WorkdirMixin, luigi.Task):
    """``work/export/<flow name>-<digest>/``: each clip's onset -> apex u, v and optical strain at the
    model's size as a 3-channel PNG, in folders per label or flat (``--format``), with ``labels.csv``
    (dataset, subject, clip, label: the MEGC2019 list's format), ``index.csv`` and ``export.json`` (the
    value scaling: `pipeline.flow.export`). Labels follow ``--grouping`` (the dataset's default)."""

    hdf5 = ComputeFlow.hdf5
    source = ComputeFlow.source
    flow_method = ComputeFlow.flow_method
    format = luigi.ChoiceParameter(
        choices=EXPORT_FORMATS, default="folders", description="folders: <label>/<clip>.png; flat: <clip>.png"
    )
    input_size = luigi.IntParameter(default=28, description="image side S (px; 28: STSTNet's)")
    grouping = luigi.Parameter(default="default", description="class grouping of the labels")
    flow_range = luigi.OptionalFloatParameter(
        default=None, description="px mapped to 0 / 255 for u and v (default: the export's largest |u|, |v|)"
    )
    strain_range = luigi.OptionalFloatParameter(
        default=None, description="strain mapped to 255 (default: the export's largest strain)"
    )
    processes = BuildDatasetCache.processes

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params = ExportParams(self.format, self.input_size, self.flow_range, self.strain_range)
        self.info = grouped_cache(self.hdf5, self.grouping)
        flow = self.requires().name
        grouping = resolve_grouping(self.info.dataset, self.grouping).identity()
        self.name = f"{flow}-{identity.digest({'export': asdict(self.params), 'grouping': grouping})}"

    def requires(self) -> ComputeFlow:
        return ComputeFlow(hdf5=self.hdf5, workdir=self.workdir, source=self.source,
                           flow_method=self.flow_method, processes=self.processes)  # fmt: skip

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "export" / self.name))

    def run(self) -> None:
        with running(self, "export"):
            meta = export_flow(self.input().path, self.hdf5, self.info, self.output().path, self.params)
            log.info("%s: %d clips, u/v range +-%.4g px, strain range %.4g", self.output().path,
                     meta["n_clips"], meta["flow_range"], meta["strain_range"])  # fmt: skip
