"""Summary of LOSO runs, one row per (dataset, method) (``work/report.md``), with the AKMNet paper's
Table III."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from model.report import configuration_text, overrides_text
from model.results import RunMetrics
from pipeline.atomic import write_text

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


def benchmark_table(runs: Sequence[tuple[str, str, Path]]) -> list[dict]:
    """One row per ``(dataset, method, metrics.json path)``: our pooled scores, and the paper's accuracy
    beside the AKMNet ``paper`` rows."""
    rows = []
    for dataset, method, metrics_path in runs:
        m = RunMetrics.read(metrics_path)
        model = m.config.get("model", "akmnet")
        paper = PAPER_TABLE_III.get(dataset) if (model, method) == ("akmnet", "paper") else None
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "model": model,
                "run": Path(metrics_path).parent.name,
                "protocol": m.protocol,
                "n_samples": m.n_samples,
                "n_subjects": m.n_subjects,
                "n_classes": len(m.classes),
                "accuracy": m.accuracy,
                "uf1": m.uf1,
                "uar": m.uar,
                "overrides": overrides_text(m.config),
                "paper_accuracy": paper[0] if paper else None,
                "paper_clips": paper[1] if paper else None,
            }
        )
    return rows


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
        "the model it names. Paper: Peng et al., Table III (accuracy only, best epoch chosen on the test",
        "subject: `reference-optimistic`), beside the AKMNet `paper` rows. Compare like with like: protocol",
        "`fixed` does not look at the test subject.",
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
        "| dataset | method | model | protocol | clips | subjects | classes | accuracy | UF1 | UAR "
        "| paper accuracy (clips) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = "-" if r["paper_accuracy"] is None else f"{r['paper_accuracy']:.4f} ({r['paper_clips']})"
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['model']} | {r['protocol']} | {r['n_samples']} "
            f"| {r['n_subjects']} | {r['n_classes']} | {_fmt(r['accuracy'])} | {_fmt(r['uf1'])} "
            f"| {_fmt(r['uar'])} | {paper} |"
        )
    lines += ["", "Runs (per-fold outputs, figures, per-subject tables, training curves):", ""]
    lines += [f"- {r['dataset']}, {r['method']}{r['overrides']}: `runs/{r['run']}/report.md`" for r in rows]
    out_path = Path(out_path)
    write_text(out_path.with_suffix(".json"), json.dumps(rows, indent=1))
    write_text(out_path, "\n".join(lines) + "\n")
    return rows
