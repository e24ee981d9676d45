"""Validation study on the built-in synthetic dataset: does each stage do what it claims?

Parts (see docs/STUDY.md for the results and their reading)::

    python benchmarks/study.py dev                      # choose the training configuration (seed 100)
    python benchmarks/study.py magnify   [--seeds 0 1]  # alpha x motion amplitude
    python benchmarks/study.py protocol  [--seeds 0 1]  # fixed vs reference-optimistic, identical runs
    python benchmarks/study.py keyframes [--seeds 0 1]  # AKMNet frame-selection variants, apex error
    python benchmarks/study.py alignment [--seeds 0 1]  # per-clip / per-frame / no alignment, 3 px drift
    python benchmarks/study.py flow-dev                 # choose the flow-cnn recipe (seed 100)
    python benchmarks/study.py methods   [--seeds 0 1]  # every benchmark method, as make run trains them
    python benchmarks/study.py paper     [--seeds 0 1]  # the paper's protocol: classes, oversampling, pretraining
    python benchmarks/study.py classic   [--seeds 0 1] [--methods ...]  # every benchmark method; TV-L1 vs Farneback

Each generator seed is also the training seed. Everything is kept under ``--work`` (default
``work/study``): datasets ``data/``, caches ``cache/`` (+ QC in ``qc/``), LOSO runs ``runs/``; a rerun
reuses whatever exists, so an interrupted study resumes. Tables (Markdown, CSV, JSON) go to ``--out``
(default ``docs/study``): ``<part>.md`` (summary with the command), ``<part>-runs.csv`` (one row per run).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from study_probe.probe import probe_cache

from model.config import TrainConfig
from model.loso import run_loso
from model.pretrain import PretrainParams, pretrain
from model.recipes import BUILTIN_SHRINK, recipe_config
from pipeline.build import build_cache
from pipeline.datasets import load_manifest
from pipeline.datasets.spec import EMOTIONS
from pipeline.faceimages import (
    load_image_spec,
    read_face_file,
    read_image_set,
    sample_per_class,
    write_face_file,
)
from pipeline.faces import FaceParams
from pipeline.faces.geometry import drift
from pipeline.identity import cache_name
from pipeline.magnify import MagnifyParams
from pipeline.params import PreprocessParams
from pipeline.store import clip_key, open_cache
from pipeline.store.dataset import subsample_indices
from pipeline.synthetic import TRUTH_NAME, SyntheticParams, write_dataset
from pipeline.synthetic.macro import write_pretrain_set
from tasks.train import prepare_run

DEV_SEED = 100
PRETRAIN_EPOCHS = 15
#: The one training configuration of the whole study, chosen on the development seed (``dev`` part).
TRAIN = TrainConfig.from_flat(
    dict(
        epochs=30,
        lr=1e-2,
        lr_period=30.0,
        batch_size=8,
        input_size=64,
        max_frames=8,
        width=16,
        batch_norm="clip",
        subtract_onset=True,
        threads=2,
    )
)
#: Candidates compared by the ``dev`` part (changes to :data:`TRAIN`), on the folds ``DEV_FOLDS``.
FRAMES = {"subtract_onset": False}
SHORT = {"epochs": 10, "lr_period": 10.0}
DEV_CANDIDATES: dict[str, dict] = {
    "frames, lr 1e-3, 10 epochs": FRAMES | SHORT | {"lr": 1e-3},
    "frames, lr 1e-2, 30 epochs": FRAMES,
    "frames, lr 1e-2, 30 epochs, 128 px": FRAMES | {"input_size": 128},
    "difference, lr 1e-3, 10 epochs": SHORT | {"lr": 1e-3},
    "difference, lr 3e-3, 30 epochs": {"lr": 3e-3},
    "difference, lr 1e-2, 30 epochs (chosen)": {},
    "difference, lr 1e-2, 40 epochs": {"epochs": 40, "lr_period": 40.0},
    "difference, lr 1e-2, 30 epochs, pooled BN": {"batch_norm": "batch"},
}
DEV_FOLDS = ["sub01", "sub02"]
ALPHAS = (0.0, 5.0, 10.0, 15.0, 20.0)
#: the magnifier without its shipped temporal band and phase bound (the earlier default)
BARE = {"f_low": None, "f_high": None, "phase_bound": None}
#: magnify part: (alpha, bare) settings AKMNet is trained on (the probe sees every setting)
TRAINED = ((0.0, False), (15.0, False))
AMPLITUDES = (0.5, 1.0)
VARIANTS = ("akm", "all", "random", "uniform-4", "apex", "max-key")
ALIGNMENTS = ("clip", "track", "none")
METRICS = ("uf1", "uar", "accuracy")


@dataclass(frozen=True)
class Study:
    """Where the study keeps its work and writes its tables."""

    work: Path
    out: Path
    workers: int = 2

    # ----------------------------------------------------------------------------------------------
    def dataset(self, seed: int, amplitude: float = 1.0, drift: float = 0.8) -> Path:
        """Synthetic dataset folder for (seed, amplitude, drift), generated when absent."""
        folder = self.work / "data" / f"syn-s{seed}-a{amplitude}-d{drift}"
        if not (folder / TRUTH_NAME).exists():
            log(f"generating {folder.name}")
            write_dataset(
                folder, SyntheticParams(amplitude=amplitude, drift=drift), seed=seed, overwrite=True
            )
        return folder

    def cache(
        self, data: Path, alpha: float, mode: str = "clip", bare: bool = False, keep_raw: bool = False
    ) -> Path:
        """HDF5 cache of ``data`` with magnification ``alpha`` and face mode ``mode``, built when absent;
        every other magnification setting at its default, or with ``bare`` the bare method (no
        temporal band, no phase bound: the defaults before the band and bound were shipped);
        ``keep_raw``: with the un-magnified frames too (a method reading ``source`` raw)."""
        magnify = MagnifyParams(alpha=alpha)
        if bare:
            magnify = replace(magnify, **BARE)
        params = PreprocessParams(faces=FaceParams(mode=mode), magnify=magnify, keep_raw=keep_raw)
        # the folder name covers what determines the generated files (seed, amplitude, drift)
        name = cache_name(data.name, params.to_dict(), data.name)
        out = self.work / "cache" / f"{name}.h5"
        if not out.exists():
            log(f"building {out.name} (alpha {alpha}, faces {mode})")
            manifest = load_manifest("synthetic", data, grouping=EMOTIONS)
            summary = build_cache(
                manifest, params, out, self.work / "qc" / name, workers=self.workers, progress=False
            )
            if summary.failed:
                log(f"  {len(summary.failed)} clips failed: {sorted(summary.failed)}")
        return out

    def pretrained(self, seed: int, input_size: int, width: int = 64, n_per_class: int = 100) -> Path:
        """The frame CNN pretrained on the built-in macro-expression set of ``seed`` (as ``PretrainCNN
        --pretrain-images builtin`` makes it), built when absent."""
        folder = self.work / "pretrain" / f"builtin-s{seed}-n{n_per_class}"
        params = PretrainParams(
            n_per_class=n_per_class, epochs=PRETRAIN_EPOCHS, input_size=input_size, width=width, seed=seed
        )
        out = folder / f"cnn-{input_size}px-w{width}-e{params.epochs}.pt"
        if out.exists():
            return out
        log(f"pretraining {out}")
        if not (folder / "images").exists():
            write_pretrain_set(folder / "images", n_per_class, seed=seed)
        faces = folder / "faces.h5"
        if not faces.exists():
            image_set = read_image_set(folder / "images", "folders", load_image_spec())
            write_face_file(image_set, sample_per_class(image_set.images, n_per_class, seed), faces, FaceParams(),
                            self.workers, meta={"collection": "builtin", "n_per_class": n_per_class})  # fmt: skip
        images, labels, classes, meta = read_face_file(faces)
        start = time.perf_counter()
        info = pretrain(images, labels, classes, params, out, description=f"pretrained on the built-in macro set "
                        f"(seed {seed}, {meta['n_images']} images)", state_path=folder / "state.pt", threads=2)  # fmt: skip
        log(f"  {time.perf_counter() - start:.0f} s, training CE {info['history'][0]['loss_ce']:.3f} -> "
            f"{info['history'][-1]['loss_ce']:.3f}")  # fmt: skip
        return out

    def run(self, h5: Path, cfg: TrainConfig, subjects: list[str] | None = None) -> dict:
        """LOSO metrics of ``cfg`` on ``h5`` (``metrics.json`` of a finished run is reused); ``subjects``:
        only these test folds."""
        run_dir = run_dir_of(self, h5, cfg, subjects)
        done = run_dir / "metrics.json"
        if done.exists():
            return json.loads(done.read_text())
        log(f"LOSO {run_dir.name}: model {cfg.model}, protocol {cfg.protocol}, seed {cfg.seed}")
        start = time.perf_counter()
        metrics = run_loso(h5, cfg, run_dir, subjects).to_dict()
        log(
            f"  {time.perf_counter() - start:.0f} s: UF1 {metrics['uf1']:.3f}, accuracy {metrics['accuracy']:.3f}"
        )
        return metrics

    # ----------------------------------------------------------------------------------------------
    def write(
        self, part: str, rows: list[dict], keys: list[str], command: str, note: str = ""
    ) -> pd.DataFrame:
        """Per-run CSV, summary (mean, sample std, n over seeds) as CSV/JSON and a Markdown table."""
        self.out.mkdir(parents=True, exist_ok=True)
        runs = pd.DataFrame(rows)
        runs.to_csv(self.out / f"{part}-runs.csv", index=False, float_format="%.4f")
        values = [c for c in runs.columns if c not in keys and c != "seed" and runs[c].dtype.kind in "fi"]
        summary = runs.groupby(keys, sort=False)[values].agg(["mean", "std", "count"])
        (self.out / f"{part}.json").write_text(
            json.dumps({"command": command, "runs": rows}, indent=1, default=float)
        )
        lines = [f"`{command}`", ""]
        if note:
            lines += [note, ""]
        n = runs.groupby(keys, sort=False)["seed"].apply(lambda s: ", ".join(str(v) for v in s))
        header = keys + ["seeds"] + values
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for index, row in summary.iterrows():
            index = index if isinstance(index, tuple) else (index,)
            cells = [str(v) for v in index] + [n[index if len(index) > 1 else index[0]]]
            for value in values:
                mean, std, count = row[(value, "mean")], row[(value, "std")], row[(value, "count")]
                cells.append(fmt(mean, std, count))
            lines.append("| " + " | ".join(cells) + " |")
        (self.out / f"{part}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return runs


def fmt(mean: float, std: float, count: int) -> str:
    if count == 0 or math.isnan(mean):
        return "-"
    if count < 2 or math.isnan(std):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {std:.3f}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def scores(metrics: dict) -> dict:
    """The headline scores and the same run's reference-optimistic reading (best epoch per test subject)."""
    optimistic = metrics["selection"]["reference-optimistic"]
    return {key: metrics[key] for key in METRICS} | {f"optimistic_{key}": optimistic[key] for key in METRICS}


def training_curve(run_dir: Path) -> tuple[float, float]:
    """Mean over folds of the first and last epoch's training cross-entropy."""
    histories = [json.loads(p.read_text())["history"] for p in sorted(run_dir.glob("fold-*/fold.json"))]
    return (
        float(np.mean([h[0]["loss_ce"] for h in histories])),
        float(np.mean([h[-1]["loss_ce"] for h in histories])),
    )


def run_dir_of(study: Study, h5: Path, cfg: TrainConfig, subjects: list[str] | None = None) -> Path:
    """The run folder of ``cfg`` on ``h5``: named as the tasks name it (`tasks.train.prepare_run`)."""
    folds = "" if subjects is None else "-" + "+".join(subjects)
    return study.work / "runs" / (prepare_run(str(h5), cfg)[2] + folds)


def command(part: str, seeds: Iterable[int], train: bool = True) -> str:
    flag = "" if train else " --no-train"
    return f"python benchmarks/study.py {part} --seeds {' '.join(str(s) for s in seeds)}{flag}"


# --------------------------------------------------------------------------------------------------
def part_dev(study: Study, seeds: list[int]) -> None:
    """Training configuration candidates on the development seed (never a study seed)."""
    rows = []
    h5 = study.cache(study.dataset(DEV_SEED), alpha=0.0)
    for name, change in DEV_CANDIDATES.items():
        cfg = replace(TRAIN, seed=DEV_SEED, **change)
        metrics = study.run(h5, cfg, DEV_FOLDS)
        first, last = training_curve(run_dir_of(study, h5, cfg, DEV_FOLDS))
        rows.append(
            {
                "candidate": name,
                "seed": DEV_SEED,
                **scores(metrics),
                "train_ce_first": first,
                "train_ce_last": last,
            }
        )
    note = f"alpha 0, amplitude 1 px, seed {DEV_SEED}, test folds {', '.join(DEV_FOLDS)} only; chance CE ln 5 = 1.609"
    study.write("dev", rows, ["candidate"], "python benchmarks/study.py dev", note)


def part_magnify(
    study: Study, seeds: list[int], train: bool = True, drift: float = 0.8, variant: str = "akm"
) -> None:
    rows = []
    settings = [(alpha, False) for alpha in ALPHAS] + [(15.0, True)]
    for seed in seeds:
        for amplitude in AMPLITUDES:
            data = study.dataset(seed, amplitude, drift)
            for alpha, bare in settings:
                h5 = study.cache(data, alpha, bare=bare)
                row = {
                    "amplitude_px": amplitude,
                    "magnifier": "bare (no band, no bound)" if bare else "shipped",
                    "alpha": alpha,
                    "seed": seed,
                    **probe_cache(h5, data),
                    "ssim_median": ssim_of(study, h5),
                }
                if train and (alpha, bare) in TRAINED:
                    row |= scores(study.run(h5, replace(TRAIN, seed=seed, variant=variant)))
                rows.append(row)
    part, cmd, note = "magnify", command("magnify", seeds, train), "head drift 0.8 px (generator default)"
    if variant != "akm":
        part, cmd, note = (
            f"magnify-{variant}",
            f"{cmd} --variant {variant}",
            f"{note}, AKMNet variant {variant}",
        )
    if drift != 0.8:
        part, cmd, note = (
            f"magnify-drift{drift}",
            f"{cmd} --drift {drift}",
            f"head drift {drift} px (diagnostic)",
        )
    runs = study.write(part, rows, ["amplitude_px", "magnifier", "alpha"], cmd, note)
    shipped = runs[runs["magnifier"] == "shipped"]
    plot_lines(shipped, "alpha", "amplitude_px", "probe_uf1", study.out / f"{part}.png", note)


def ssim_of(study: Study, h5: Path) -> float:
    """Median over the cache's clips of their median SSIM (magnified vs un-magnified), from qc.json."""
    qc = json.loads((study.work / "qc" / h5.stem / "qc.json").read_text())
    return float(np.median([c["magnify"]["ssim_median"] for c in qc["clips"].values() if c["magnify"]]))


def plot_lines(runs: pd.DataFrame, x: str, group: str, y: str, path: Path, title: str) -> None:
    """Mean of ``y`` against ``x``, one line per value of ``group``, sample-std error bars over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for value, part in runs.groupby(group, sort=False):
        stats = part.groupby(x)[y].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(
            stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label=f"{group} {value}"
        )
    ax.axhline(0.2, color="grey", linestyle=":", label="chance")
    ax.set(xlabel=x, ylabel=y, title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def optimistic(cfg: TrainConfig) -> TrainConfig:
    """The same run evaluated on the test subject every epoch, best epoch from a quarter of the training
    on (the reference's 10 of 40)."""
    return replace(cfg, protocol="reference-optimistic", optimistic_min_epoch=max(1, cfg.epochs // 4))


def part_protocol(study: Study, seeds: list[int], alphas: tuple[float, ...] = (0.0,)) -> None:
    rows = []
    for seed in seeds:
        data = study.dataset(seed, 1.0)
        for alpha in alphas:
            h5 = study.cache(data, alpha)
            cfg = replace(TRAIN, seed=seed)
            fixed = scores(study.run(h5, cfg))
            best = study.run(h5, optimistic(cfg))
            row = {"alpha": alpha, "seed": seed}
            for key in METRICS:
                row |= {f"{key}_fixed": fixed[key], f"{key}_optimistic": best[key]}
                row[f"{key}_inflation"] = best[key] - fixed[key]
            row["mean_selected_epoch"] = float(np.mean(list(best["fold_epochs"].values())))
            row["last_epoch_accuracy_check"] = last_epoch_accuracy(run_dir_of(study, h5, optimistic(cfg)))
            rows.append(row)
    study.write("protocol", rows, ["alpha"], command("protocol", seeds), "amplitude 1 px")
    curves = [
        {"epoch": epoch, "seed": seed, "alpha": alpha, "test_accuracy": accuracy}
        for seed in seeds
        for alpha in alphas
        for epoch, accuracy in enumerate(
            epoch_accuracies(
                run_dir_of(
                    study, study.cache(study.dataset(seed, 1.0), alpha), optimistic(replace(TRAIN, seed=seed))
                )
            ),
            start=1,
        )
    ]
    title = "pooled test accuracy per epoch (the optimistic run's history)"
    plot_lines(pd.DataFrame(curves), "epoch", "alpha", "test_accuracy", study.out / "protocol.png", title)


def epoch_accuracies(run_dir: Path) -> list[float]:
    """Pooled test accuracy of every epoch of a ``reference-optimistic`` run (from the folds' histories)."""
    folds = [json.loads(p.read_text()) for p in sorted(run_dir.glob("fold-*/fold.json"))]
    total = sum(fold["n_test"] for fold in folds)
    epochs = len(folds[0]["history"])
    return [sum(f["history"][e]["test_accuracy"] * f["n_test"] for f in folds) / total for e in range(epochs)]


def last_epoch_accuracy(run_dir: Path) -> float:
    """Pooled test accuracy of the last epoch of a ``reference-optimistic`` run: equals the ``fixed``
    run's accuracy when the two runs train identically."""
    return epoch_accuracies(run_dir)[-1]


def true_apex_errors(study: Study, h5: Path, cfg: TrainConfig, data: Path) -> dict:
    """Argmax-b_t frame vs the generator's true apex, in original frames (every clip, '/' rows too)."""
    truth = {c["sample"]: c for c in json.loads((data / TRUTH_NAME).read_text())["clips"]}
    errors = []
    for path in sorted(run_dir_of(study, h5, cfg).glob("fold-*/predictions.json")):
        preds = json.loads(path.read_text())
        for sample, curve in zip(preds["sample_ids"], preds["scores"]):
            clip = truth[sample]
            kept = subsample_indices(clip["n_frames"], cfg.input_options.max_frames)
            if len(kept) != len(curve):
                raise ValueError(f"{path}: {sample} has {len(curve)} scores, expected {len(kept)}")
            errors.append(int(kept[int(np.argmax(curve))]) - (clip["apex_frame"] - clip["onset_frame"]))
    absolute = np.abs(errors)
    return {
        "apex_mae_frames": float(absolute.mean()),
        "apex_within_3": float((absolute <= 3).mean()),
        "apex_median_frames": float(np.median(absolute)),
    }


def key_frame_stats(run_dir: Path) -> dict:
    """Mean number of key frames (B_t = 1) per test clip, and the share of clips whose onset frame is one."""
    counts, onset = [], []
    for path in sorted(run_dir.glob("fold-*/predictions.json")):
        preds = json.loads(path.read_text())
        for mask, first in zip(preds["keymask"], preds["onset"]):
            counts.append(sum(mask))
            onset.append(mask[first] > 0.5)
    return {"key_frames_per_clip": float(np.mean(counts)), "onset_is_key": float(np.mean(onset))}


def baseline_apex_errors(data: Path, cfg: TrainConfig, draws: int = 200) -> dict:
    """Mean |error| in original frames of two no-skill apex guesses among the kept frames: a uniformly
    random one, and always the middle one (the generator puts the apex at 30-60 % of the clip)."""
    rng = np.random.default_rng(0)
    random, middle = [], []
    for clip in json.loads((data / TRUTH_NAME).read_text())["clips"]:
        kept = subsample_indices(clip["n_frames"], cfg.input_options.max_frames)
        apex = clip["apex_frame"] - clip["onset_frame"]
        random.append(np.abs(rng.choice(kept, draws) - apex).mean())
        middle.append(abs(int(kept[(len(kept) - 1) // 2]) - apex))
    return {"apex_mae_random_frame": float(np.mean(random)), "apex_mae_middle_frame": float(np.mean(middle))}


def part_keyframes(
    study: Study, seeds: list[int], variants: Iterable[str] = VARIANTS, alpha: float = 0.0
) -> None:
    rows = []
    for seed in seeds:
        data = study.dataset(seed, 1.0)
        h5 = study.cache(data, alpha)
        for variant in variants:
            cfg = replace(TRAIN, seed=seed, variant=variant)
            metrics = study.run(h5, cfg)
            row = {"variant": variant, "seed": seed, **scores(metrics)}
            if variant in ("akm", "max-key"):
                row["apex_mae_sheet_model_frames"] = metrics["apex_localisation"]["mean_abs"]
                row |= true_apex_errors(study, h5, cfg, data)
                row |= key_frame_stats(run_dir_of(study, h5, cfg))
                row |= baseline_apex_errors(data, cfg)
            rows.append(row)
    cmd = command("keyframes", seeds) + (
        "" if tuple(variants) == VARIANTS else f" --variants {' '.join(variants)}"
    )
    study.write("keyframes", rows, ["variant"], cmd, f"alpha {alpha}, amplitude 1 px")


def part_alignment(
    study: Study, seeds: list[int], train: bool = True, drift: float = 3.0, alpha: float = 0.0
) -> None:
    rows = []
    for seed in seeds:
        data = study.dataset(seed, 1.0, drift)
        for mode in ALIGNMENTS:
            h5 = study.cache(data, alpha, mode)
            qc = json.loads((study.work / "qc" / h5.stem / "qc.json").read_text())
            row = {
                "faces": mode,
                "seed": seed,
                **residual_motion(qc),
                **crop_drift(h5),
                **probe_cache(h5, data),
            }
            if train:
                row |= scores(study.run(h5, replace(TRAIN, seed=seed)))
            rows.append(row)
    note = f"head drift {drift} px, alpha {alpha}, amplitude 1 px"
    part, cmd = "alignment", command("alignment", seeds, train)
    if drift != 3.0:
        part, cmd = f"alignment-drift{drift}", f"{cmd} --drift {drift}"
    study.write(part, rows, ["faces"], cmd, note)


def residual_motion(qc: dict) -> dict:
    """Mean over clips of the face stage's residual inter-frame motion of the crops (px)."""
    clips = qc.get("clips", qc)
    means = [
        c["face"]["residual_motion_px"]["mean"]
        for c in clips.values()
        if isinstance(c, dict) and c.get("face")
    ]
    return {"residual_motion_px": float(np.mean(means)) if means else float("nan")}


def crop_drift(h5: Path) -> dict:
    """Median over clips of the shift of the last stored crop against the first (px; offset vs onset, where
    the expression has returned to neutral), measured on the cache like the QC's ``drift_px.last``."""
    with h5py.File(h5, "r") as f:
        last = [
            drift(f["clips"][clip_key(clip.sample_id)]["frames"][()])[-1] for clip in open_cache(h5).clips
        ]
    return {"drift_px": float(np.median(last))}


#: flow-dev part: flow-cnn recipe candidates on the development seed (changes to the flow-cnn recipe)
FLOW_CANDIDATES: dict[str, dict] = {
    "adam 1e-3, 100 epochs": {"epochs": 100},
    "adam 1e-3, 50 epochs (chosen)": {},
    "adam 5e-5 (STSTNet's), 100 epochs": {"epochs": 100, "lr": 5e-5},
}
METHODS = ("default", "paper", "flow-cnn")


def part_flow_dev(study: Study, seeds: list[int]) -> None:
    """flow-cnn recipe candidates on the development seed, every fold, the shipped magnification."""
    h5 = study.cache(study.dataset(DEV_SEED), MagnifyParams().alpha)
    rows = []
    for name, change in FLOW_CANDIDATES.items():
        cfg = recipe_config("flow-cnn", seed=DEV_SEED, threads=1, **change)
        rows.append({"candidate": name, "seed": DEV_SEED, **scores(study.run(h5, cfg))})
    note = f"shipped magnification, amplitude 1 px, seed {DEV_SEED}, all 8 folds"
    study.write("flow-dev", rows, ["candidate"], "python benchmarks/study.py flow-dev", note)


def method_config(method: str, seed: int, **change) -> TrainConfig:
    """``method``'s recipe as the built-in run trains it (`BUILTIN_SHRINK`), on ``seed``."""
    return recipe_config(method, **{**BUILTIN_SHRINK.get(method, {}), "seed": seed, "threads": 1, **change})


def part_methods(study: Study, seeds: list[int]) -> None:
    """Every method of the benchmark on the built-in set (the shipped magnification), as ``make run``
    trains them; the AKMNet default recipe with per-clip vs running batch-norm statistics at evaluation
    and initialised from a checkpoint of another seed; flow-cnn on un-magnified and on unaligned caches."""
    alpha = MagnifyParams().alpha
    rows = []
    for seed in seeds:
        data = study.dataset(seed)
        h5 = study.cache(data, alpha)
        runs = {}
        for method in METHODS:
            runs[method] = run_dir_of(study, h5, method_config(method, seed))
            rows.append(method_row(study, h5, method, method_config(method, seed), "shipped", "clip"))
            copy_curves(study, runs[method], f"methods-s{seed}-{method}-training.png")
        rows.append(method_row(study, h5, "default, eval_norm running", method_config("default", seed, eval_norm="running"), "shipped", "clip"))  # fmt: skip
        rows.append(method_row(study, study.cache(data, 0.0), "flow-cnn", method_config("flow-cnn", seed), "none (alpha 0)", "clip"))  # fmt: skip
        rows.append(method_row(study, study.cache(data, alpha, "none"), "flow-cnn", method_config("flow-cnn", seed), "shipped", "none"))  # fmt: skip
    for seed, other in zip(seeds, seeds[1:] + seeds[:1]):
        if other == seed:
            continue
        h5 = study.cache(study.dataset(other), alpha)  # a default-recipe checkpoint of the other seed
        checkpoint = run_dir_of(study, h5, method_config("default", other)) / "fold-sub01" / "checkpoint.pt"
        cfg = method_config("default", seed, init_checkpoint=str(checkpoint))
        name = f"default, init from seed {other} (fold sub01)"
        rows.append(method_row(study, study.cache(study.dataset(seed), alpha), name, cfg, "shipped", "clip"))
    note = (
        f"amplitude 1 px, head drift 0.8 px; `paper` shrunk as in `make run` ({BUILTIN_SHRINK['paper']}); "
        "ce_first / ce_last: training cross-entropy of the first and last epoch, mean over folds"
    )
    study.write("methods", rows, ["method", "magnification", "faces"], command("methods", seeds), note)


def part_paper(study: Study, seeds: list[int]) -> None:
    """The `paper` recipe as make run trains it (shrunk) on the built-in set: the reference's code on the
    dataset's default 5 classes, then the paper's classes, its oversampling and its pretraining added one
    by one; and the leakage gap (reference-optimistic minus fixed) of every method, read from one run."""
    alpha = MagnifyParams().alpha
    rows = []
    for seed in seeds:
        h5 = study.cache(study.dataset(seed), alpha)
        shrink = BUILTIN_SHRINK["paper"]
        checkpoint = study.pretrained(seed, shrink["input_size"])
        steps = {
            "reference code: 5 classes, as they come": {"grouping": "default", "balance": "none"},
            "paper classes (akmnet-4class), as they come": {"balance": "none"},
            "paper classes + oversampling (= recipe paper)": {},
            "paper classes + oversampling + pretrained (built-in macro set)": {
                "init_checkpoint": str(checkpoint)
            },
        }
        for name, change in steps.items():
            rows.append(
                method_row(
                    study, h5, f"paper: {name}", method_config("paper", seed, **change), "shipped", "clip"
                )
            )
        for method in ("default", "flow-cnn"):
            rows.append(method_row(study, h5, method, method_config(method, seed), "shipped", "clip"))
    for row in rows:
        row["leak_uf1"] = row["optimistic_uf1"] - row["uf1"]
    note = (
        f"amplitude 1 px, head drift 0.8 px; `paper` shrunk as in `make run` ({BUILTIN_SHRINK['paper']}); "
        f"pretraining: {PRETRAIN_EPOCHS} epochs on 100 images per category of the built-in macro-expression set "
        "(other identities than the ME subjects); uf1 etc.: the last epoch (`fixed`); optimistic_*: the same runs "
        "read at each fold's best test epoch (from a quarter of the epochs on); leak_uf1 = the difference"
    )
    study.write("paper", rows, ["method", "magnification", "faces"], command("paper", seeds), note)


#: classic part: every method of the benchmark (`[benchmark] methods`)
CLASSIC = ("default", "paper", "flow-cnn", "off-apexnet", "lbp-top")
FLOW_METHODS = ("flow-cnn", "off-apexnet")


def part_classic(study: Study, seeds: list[int], methods: tuple[str, ...] = CLASSIC) -> None:
    """Every method of the benchmark as ``make run`` trains it (`BUILTIN_SHRINK`) on the built-in set
    (shipped magnification, a cache that keeps the raw frames); the flow models on TV-L1 (their default)
    and on Farneback flow; LBP-TOP on its raw frames (the recipe) and on the magnified ones."""
    alpha = MagnifyParams().alpha
    rows = []
    for seed in seeds:
        h5 = study.cache(study.dataset(seed), alpha, keep_raw=True)
        for method in methods:
            cfg = method_config(method, seed)
            frames = cfg.source if cfg.model == "lbp-top" else "-"
            flow = cfg.input_options.flow_method if method in FLOW_METHODS else "-"
            rows.append(classic_row(study, h5, method, cfg, flow, frames))
            if method in FLOW_METHODS:
                other = method_config(method, seed, flow_method="farneback")
                rows.append(classic_row(study, h5, method, other, "farneback", frames))
            if cfg.model == "lbp-top":
                other = method_config(method, seed, source="magnified")
                rows.append(classic_row(study, h5, method, other, flow, "magnified"))
    note = (
        "amplitude 1 px, head drift 0.8 px, shipped magnification; every method as `make run` trains it "
        f"(built-in shrink: {BUILTIN_SHRINK}); uf1 etc.: the last epoch (`fixed`); optimistic_*: the same "
        "runs read at each fold's best test epoch; seconds: wall time of the run's 8 folds, one process, "
        "one thread"
    )
    chosen = "" if methods == CLASSIC else " --methods " + " ".join(methods)
    study.write("classic", rows, ["method", "flow", "frames"], command("classic", seeds) + chosen, note)


def classic_row(study: Study, h5: Path, method: str, cfg: TrainConfig, flow: str, frames: str) -> dict:
    start = time.perf_counter()
    fresh = not (run_dir_of(study, h5, cfg) / "metrics.json").exists()
    metrics = study.run(h5, cfg)
    row = {"method": method, "flow": flow, "frames": frames, "seed": cfg.seed} | scores(metrics)
    return row | {"seconds": time.perf_counter() - start if fresh else float("nan")}


def method_row(study: Study, h5: Path, method: str, cfg: TrainConfig, magnification: str, faces: str) -> dict:
    metrics = study.run(h5, cfg)
    first, last = training_curve(run_dir_of(study, h5, cfg))
    row = {"method": method, "magnification": magnification, "faces": faces, "seed": cfg.seed}
    return row | scores(metrics) | {"ce_first": first, "ce_last": last}


def copy_curves(study: Study, run_dir: Path, name: str) -> None:
    study.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "training.png", study.out / name)


PARTS: dict[str, Callable[..., None]] = {
    "dev": part_dev,
    "flow-dev": part_flow_dev,
    "methods": part_methods,
    "paper": part_paper,
    "classic": part_classic,
    "magnify": part_magnify,
    "protocol": part_protocol,
    "keyframes": part_keyframes,
    "alignment": part_alignment,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="generator = training seeds")
    parser.add_argument("--work", type=Path, default=Path("work/study"))
    parser.add_argument("--out", type=Path, default=Path("docs/study"))
    parser.add_argument("--workers", type=int, default=2, help="processes of a cache build")
    parser.add_argument(
        "--drift", type=float, default=None, help="magnify, alignment: head drift of the dataset, px (0.8, 3)"
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), help="keyframes: AKMNet variants")
    parser.add_argument("--methods", nargs="+", default=list(CLASSIC), help="classic: the methods trained")
    parser.add_argument("--variant", default="akm", help="magnify: the AKMNet variant trained on every cache")
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="magnify, alignment: caches and the linear probe only, no AKMNet",
    )
    args = parser.parse_args(argv)
    if args.part not in ("dev", "flow-dev") and DEV_SEED in args.seeds:
        parser.error(f"seed {DEV_SEED} is the development seed; the study uses other seeds")
    study = Study(args.work, args.out, args.workers)
    if args.part == "magnify":
        part_magnify(
            study,
            args.seeds,
            train=not args.no_train,
            drift=0.8 if args.drift is None else args.drift,
            variant=args.variant,
        )
    elif args.part == "alignment":
        part_alignment(
            study, args.seeds, train=not args.no_train, drift=3.0 if args.drift is None else args.drift
        )
    elif args.part == "classic":
        part_classic(study, args.seeds, tuple(args.methods))
    elif args.part == "keyframes":
        part_keyframes(study, args.seeds, args.variants)
    else:
        PARTS[args.part](study, args.seeds)


if __name__ == "__main__":
    main()
