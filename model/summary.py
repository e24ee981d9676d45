"""Cross-dataset summary of LOSO runs (``work/report.md``), with the AKMNet paper's Table III."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from model.report import configuration_text
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


def benchmark_table(runs: Sequence[tuple[str, Path]]) -> list[dict]:
    """One row per ``(dataset, metrics.json path)``: our pooled scores beside the paper's accuracy."""
    rows = []
    for dataset, metrics_path in runs:
        m = RunMetrics.read(metrics_path)
        paper = PAPER_TABLE_III.get(dataset)
        rows.append(
            {
                "dataset": dataset,
                "run": Path(metrics_path).parent.name,
                "protocol": m.protocol,
                "n_samples": m.n_samples,
                "n_subjects": m.n_subjects,
                "n_classes": len(m.classes),
                "accuracy": m.accuracy,
                "uf1": m.uf1,
                "uar": m.uar,
                "paper_accuracy": paper[0] if paper else None,
                "paper_clips": paper[1] if paper else None,
            }
        )
    return rows


def write_benchmark_report(
    runs: Sequence[tuple[str, Path]], out_path: str | Path, configuration: list[str] | None = None
) -> list[dict]:
    """Write ``report.md`` (and ``report.json`` beside it) for the given runs; returns the rows.

    ``configuration``: the configuration files used, named in the report."""
    rows = benchmark_table(runs)
    lines = [
        "# AKMNet LOSO benchmark",
        "",
        "Metrics pooled over all folds (one fold per subject). UF1 = macro-F1, UAR = mean per-class recall.",
        "Paper: Peng et al., Table III (accuracy only, best epoch chosen on the test subject:",
        "`reference-optimistic`). Compare like with like: protocol `fixed` does not look at the test subject.",
        f"Configuration: {configuration_text(configuration)}.",
        "",
        "| dataset | protocol | clips | subjects | classes | accuracy | UF1 | UAR | paper accuracy (clips) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = "-" if r["paper_accuracy"] is None else f"{r['paper_accuracy']:.4f} ({r['paper_clips']})"
        lines.append(
            f"| {r['dataset']} | {r['protocol']} | {r['n_samples']} | {r['n_subjects']} | {r['n_classes']} "
            f"| {_fmt(r['accuracy'])} | {_fmt(r['uf1'])} | {_fmt(r['uar'])} | {paper} |"
        )
    lines += ["", "Runs (per-fold outputs, figures and per-subject tables):", ""]
    lines += [f"- {r['dataset']}: `runs/{r['run']}/report.md`" for r in rows]
    out_path = Path(out_path)
    write_text(out_path.with_suffix(".json"), json.dumps(rows, indent=1))
    write_text(out_path, "\n".join(lines) + "\n")
    return rows
