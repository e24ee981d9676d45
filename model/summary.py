"""Summary of LOSO runs, one row per (dataset, method) (``work/report.md``), with the AKMNet paper's
Table III."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from model.report import configuration_text, overrides_text
from model.results import RunMetrics
from pipeline.atomic import write_text
from pipeline.datasets import load_spec

# Peng et al., arXiv 2009.09179, Table III: LOSO accuracy with the reference protocol
# (best epoch chosen on the test subject), as fractions of (clips) clips.
PAPER_TABLE_III = {
    "casme1": (0.7566, 189),
    "casme2": (0.6706, 255),
    "smic": (0.7256, 164),
    "samm": (0.7170, 159),
}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def paper_comparison(dataset: str, method: str, m: RunMetrics) -> tuple[float | None, str]:
    """Table III's accuracy when the run is like-for-like with the paper (the ``paper`` recipe as it
    is, the paper's grouping of the dataset, Table I's clip count), else None and why not."""
    if dataset not in PAPER_TABLE_III:
        return None, "no Table III figure"
    accuracy, clips = PAPER_TABLE_III[dataset]
    reasons = []
    if (m.config.get("model"), m.config.get("recipe"), method) != ("akmnet", "paper", "paper"):
        reasons.append(f"method {method}; paper: `paper`")
    elif overrides_text(m.config):
        reasons.append("recipe changed:" + overrides_text(m.config).removeprefix(" with"))
    wanted = load_spec(dataset).paper_grouping
    if m.grouping != wanted:
        reasons.append(f"{len(m.classes)} classes ({m.grouping}); paper: {wanted}")
    if m.n_samples != clips:
        reasons.append(f"{m.n_samples} clips; paper: {clips}")
    return (None, "; ".join(reasons)) if reasons else (accuracy, "")


def benchmark_table(runs: Sequence[tuple[str, str, Path]]) -> list[dict]:
    """One row per ``(dataset, method, metrics.json path)``: both readings of the run (``fixed``, the
    last epoch; ``reference-optimistic``, the best epoch on the test subject), and Table III's
    accuracy where the row is like-for-like (`paper_comparison`)."""
    rows = []
    for dataset, method, metrics_path in runs:
        m = RunMetrics.read(metrics_path)
        fixed, optimistic = m.selection["fixed"], m.selection["reference-optimistic"]
        paper, why_not = paper_comparison(dataset, method, m)
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "model": m.config.get("model", "akmnet"),
                "run": Path(metrics_path).parent.name,
                "protocol": m.protocol,
                "grouping": m.grouping,
                "n_samples": m.n_samples,
                "n_subjects": m.n_subjects,
                "n_classes": len(m.classes),
                "init": m.init,
                "accuracy": fixed["accuracy"],
                "uf1": fixed["uf1"],
                "uar": fixed["uar"],
                "optimistic_accuracy": optimistic["accuracy"],
                "optimistic_uf1": optimistic["uf1"],
                "optimistic_uar": optimistic["uar"],
                "optimistic_from_epoch": m.selection["from_epoch"],
                "one_fit": m.one_fit,
                "overrides": overrides_text(m.config),
                "paper_accuracy": paper,
                "paper_clips": PAPER_TABLE_III[dataset][1] if paper is not None else None,
                "paper_not_comparable": why_not,
                "parts": m.parts,
            }
        )
    return rows


def _part_table(rows: list[dict]) -> list[str]:
    """The composites' per-dataset scores (MEGC2019's columns: each dataset's rows of the same pooled
    predictions, as the run's protocol selected them), or [] when no row is of a composite."""
    composite = [r for r in rows if r["parts"]]
    if not composite:
        return []
    lines = [
        "",
        "Composites, per dataset (the same pooled predictions, each dataset's own clips):",
        "",
        "| composite | method | dataset | clips | accuracy | UF1 | UAR |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in composite:
        for part, p in r["parts"].items():
            lines.append(
                f"| {r['dataset']} | {r['method']} | {part} | {p['n']} | {_fmt(p['accuracy'])} "
                f"| {_fmt(p['uf1'])} | {_fmt(p['uar'])} |"
            )
    return lines


def write_benchmark_report(
    runs: Sequence[tuple[str, str, Path]],
    out_path: str | Path,
    configuration: list[str] | None = None,
    shrink: dict[str, dict] | None = None,
) -> list[dict]:
    """Write ``report.md`` (and ``report.json`` beside it) for the given ``(dataset, method, metrics
    path)`` runs; returns the rows.

    ``configuration``: the configuration files used, named in the report; ``shrink``: the recipes the
    built-in set ran shrunk (`model.recipes.BUILTIN_SHRINK`), stated in the report."""
    rows = benchmark_table(runs)
    lines = [
        "# Micro-expression LOSO benchmark",
        "",
        "Every method on the same caches and folds (one fold per subject); metrics pooled over all folds.",
        "UF1 = macro-F1, UAR = mean per-class recall. A method is a training recipe (`model.recipes`) and",
        "the model it names, trained on its class grouping. Each run is read twice: `fixed` (the last",
        "epoch; no test information used) and `optimistic` (each fold's best epoch on its own test subject",
        "from the epoch given on, as the AKMNet reference selects: it LEAKS the test subject; the gap is",
        "what that selection adds). Paper: Peng et al., Table III (accuracy, reference selection), shown",
        "only beside a like-for-like row (the `paper` recipe as it is, the paper's classes, Table I's clip",
        "count); elsewhere the column says why not.",
        f"Configuration: {configuration_text(configuration)}.",
    ]
    if shrink:
        what = "; ".join(
            f"`{m}`: " + ", ".join(f"{k} {v}" for k, v in fields.items()) for m, fields in shrink.items()
        )
        lines += [
            "",
            f"**Shrunk for the built-in synthetic set** (minutes on 2 CPU cores): {what}. "
            "A real dataset runs each recipe with its own settings.",
        ]
    lines += [
        "",
        "| dataset | method | model | grouping | clips | subjects | classes | accuracy | UF1 | UAR "
        "| optimistic accuracy | optimistic UF1 | optimistic UAR (from epoch) | paper accuracy (clips) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = (
            f"{r['paper_accuracy']:.4f} ({r['paper_clips']})"
            if r["paper_accuracy"] is not None
            else f"- ({r['paper_not_comparable']})"
        )
        optimistic = (
            "| - | - | - (one fit per fold: no epoch to pick)"
            if r["one_fit"]
            else f"| {_fmt(r['optimistic_accuracy'])} | {_fmt(r['optimistic_uf1'])} "
            f"| {_fmt(r['optimistic_uar'])} ({r['optimistic_from_epoch']})"
        )
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['model']} | {r['grouping']} | {r['n_samples']} "
            f"| {r['n_subjects']} | {r['n_classes']} | {_fmt(r['accuracy'])} | {_fmt(r['uf1'])} "
            f"| {_fmt(r['uar'])} {optimistic} | {paper} |"
        )
    lines += _part_table(rows)
    lines += ["", "Networks:", ""]
    lines += [f"- {r['dataset']}, {r['method']}: initialised {r['init']}" for r in rows]
    lines += ["", "Runs (per-fold outputs, figures, per-subject tables, training curves):", ""]
    lines += [f"- {r['dataset']}, {r['method']}{r['overrides']}: `runs/{r['run']}/report.md`" for r in rows]
    out_path = Path(out_path)
    write_text(out_path.with_suffix(".json"), json.dumps(rows, indent=1))
    write_text(out_path, "\n".join(lines) + "\n")
    return rows
