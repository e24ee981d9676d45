"""Luigi tasks that write the synthetic dataset and build HDF5 caches (wiring only)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import luigi

from pipeline.build import BuildError, build_cache
from pipeline.buildqc import clip_summary_lines, failed_qc, guarded_build, write_failed_qc
from pipeline.datasets import frame_rates, list_datasets, load_manifest, load_spec, spec_files
from pipeline.datasets.exclusions import qc_fields, strict_problem, summary_lines
from pipeline.datasets.spec import EMOTIONS
from pipeline.identity import cache_name, data_fingerprint, digest
from pipeline.synthetic import write_dataset
from tasks.config import (
    PreprocessMixin,
    SyntheticMixin,
    WorkdirMixin,
    check_device,
    check_processes,
    dataset_root,
    preprocess_params,
    synthetic_params,
)
from tasks.configfile import files_read
from tasks.logs import quiet, running

log = logging.getLogger("luigi-interface")


def dataset_band(dataset: str, magnify):
    """``magnify`` for ``dataset``: as it is when its temporal band lies below the Nyquist frequency of
    every frame rate of ``dataset``; else with the band the dataset's spec declares for its frame rate
    (``[magnify]``: CAS(ME)^2, CAS(ME)^3, SMIC-VIS/NIR), logged, and part of the cache's parameters;
    else a ValueError naming the option and the valid range."""
    if not magnify.bandpass or magnify.alpha == 0:
        return magnify
    for name, fps in frame_rates(dataset).items():
        try:
            magnify.check_fps(fps)
        except ValueError:
            band = load_spec(name).magnify_band
            if band is not None and name == dataset:
                log.warning(
                    "%s (%g fps): the band %g-%g Hz is not below its Nyquist frequency (%g Hz); using the "
                    "spec's band %g-%g Hz", dataset, fps, magnify.f_low, magnify.f_high, fps / 2, *band,
                )  # fmt: skip
                return dataclasses.replace(magnify, f_low=band[0], f_high=band[1])
            raise ValueError(
                f"--f-high {magnify.f_high}: must be below the Nyquist frequency of {name} "
                f"({fps:g} fps / 2 = {fps / 2:g} Hz) for dataset {dataset!r} (valid: 0 <= --f-low < --f-high "
                f"< {fps / 2:g})"
            ) from None
    return magnify


class SyntheticDataset(WorkdirMixin, SyntheticMixin, luigi.Task):
    """The built-in synthetic dataset in the CASME II layout: ``work/data/synthetic-<hash>/``."""

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "data" / self.name()))

    def name(self) -> str:
        """``synthetic-<digest of the generator's parameters and seed>``: what determines its files."""
        params = synthetic_params(self)
        return f"synthetic-{digest({'seed': self.synthetic_seed, **dataclasses.asdict(params)})}"

    def run(self) -> None:
        with running(self, "synthetic dataset") as report:
            # write_dataset builds in a temporary folder and renames it when complete
            write_dataset(self.output().path, synthetic_params(self), seed=self.synthetic_seed,
                          progress=not quiet(), report=report)  # fmt: skip


class BuildDatasetCache(WorkdirMixin, PreprocessMixin, SyntheticMixin, luigi.Task):
    """Manifest -> faces -> magnification -> ``work/cache/<dataset>-<hash>.h5``, QC in ``work/qc/``."""

    dataset = luigi.Parameter(default="synthetic", description="dataset name (a spec in data_manifests/)")
    root = luigi.OptionalParameter(
        default=None, description="dataset root (default: [datasets] in luigi.cfg)"
    )
    annotation = luigi.OptionalParameter(
        default=None, description="annotation sheet, instead of searching root"
    )
    clips = luigi.OptionalParameter(
        default=None, description="folder of the clip folders, instead of searching"
    )
    # --workers is Luigi's own (parallel tasks); this is the process pool of one cache build
    processes = luigi.IntParameter(
        default=2, config_path={"section": "preprocess", "name": "processes"}, description="build processes"
    )
    magnify_device = luigi.Parameter(
        default="cpu",
        config_path={"section": "magnify", "name": "device"},
        description="where magnification runs: cpu, cuda, cuda:N or auto",
    )
    strict = luigi.BoolParameter(
        default=False,
        parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        config_path={"section": "preprocess", "name": "strict"},
        description="fail the build on any clip that fails or that face QC flags, naming each",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        known = list_datasets()
        if self.dataset not in known:
            raise ValueError(f"--dataset {self.dataset!r} is unknown; known datasets: {', '.join(known)}")
        self.params = preprocess_params(self)
        check_processes(self.processes)
        self.params = dataclasses.replace(
            self.params, magnify=dataset_band(self.dataset, self.params.magnify)
        )
        self.magnifier_device = check_device(self.magnify_device, "--magnify-device")
        root = self.dataset_root()
        if self.dataset == "synthetic" and not root:
            synthetic_params(self)  # validate the generator's settings now, not after scheduling
        if self.dataset != "synthetic":
            if not root:
                raise ValueError(
                    f"--root is needed for dataset {self.dataset!r} "
                    f"(or set it in luigi.cfg: [datasets] {self.dataset} = PATH)"
                )
            if not Path(root).is_dir():
                raise ValueError(f"--root {root!r} for dataset {self.dataset!r} is not a folder")
        self.manifest, self.fingerprint = None, ""
        if root:  # the data is there: its fingerprint names the cache (errors in it stop the task now)
            self.manifest = self.load(root)
            self.fingerprint = data_fingerprint(self.manifest, spec_files(self.dataset))
        else:  # generated by SyntheticDataset, whose name covers what determines its files
            self.fingerprint = self.clone(SyntheticDataset).name()

    def load(self, root: str):
        return load_manifest(
            self.dataset,
            root,
            grouping=EMOTIONS,  # every clip with its emotion: the grouping is a training choice
            frame_set=self.params.frame_set,
            annotation=self.annotation,
            clips=self.clips,
        )

    def dataset_root(self) -> str | None:
        return self.root or dataset_root(self.dataset)

    def requires(self):
        if self.dataset == "synthetic" and not self.dataset_root():
            return self.clone(SyntheticDataset)
        return []

    def cache_name(self) -> str:
        """``<dataset>-<digest of the preprocessing parameters and the data fingerprint>``."""
        return cache_name(self.dataset, self.params.to_dict(), self.fingerprint, self.magnifier_device)

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.workdir) / "cache" / f"{self.cache_name()}.h5"))

    def run(self) -> None:
        with running(self, "cache") as report:
            manifest = self.manifest or self.load(self.input().path)
            fingerprint = data_fingerprint(manifest, spec_files(self.dataset))
            if self.manifest is not None and fingerprint != self.fingerprint:
                raise RuntimeError(
                    f"the files of {self.dataset} under {manifest.root} changed after this build was "
                    f"scheduled (data fingerprint {self.fingerprint} -> {fingerprint}); run the command again"
                )
            out, qc_dir = Path(self.output().path), Path(self.workdir) / "qc" / self.cache_name()
            provenance = {"configuration": files_read(), **qc_fields(manifest.excluded)}
            guarded_build(
                lambda: self.build(manifest, fingerprint, out, qc_dir, provenance, report),
                out_path=out, qc_dir=qc_dir, dataset=self.dataset, params=self.params, extra=provenance,
            )  # fmt: skip

    def build(self, manifest, fingerprint: str, out: Path, qc_dir: Path, provenance: dict, report) -> None:
        """Report what the manifest left out (console, task log, qc.json; fatal under ``--strict`` unless
        expected: `pipeline.datasets.exclusions`), then build the cache."""
        lines = summary_lines(self.dataset, manifest.excluded)
        (log.warning if manifest.excluded else log.info)("%s", "\n".join(lines))
        problem = strict_problem(self.dataset, manifest.excluded) if self.strict else None
        if problem:
            write_failed_qc(qc_dir, failed_qc(problem, self.dataset, self.params, provenance))
            raise BuildError(f"{problem}\n(also in {qc_dir / 'qc.json'})")
        manifest.to_csv(out.with_suffix(".manifest.csv"))
        build_cache(
            manifest,
            self.params,
            out,
            qc_dir,
            workers=self.processes,
            strict=self.strict,
            device=self.magnifier_device,
            data_fingerprint=fingerprint,
            provenance=provenance,
            progress=not quiet(),
            report=report,
        )
        for line in clip_summary_lines(self.dataset, qc_dir / "qc.json"):
            log.warning("%s", line)
