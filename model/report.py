"""Markdown report of a LOSO run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from model.protocols import PROTOCOLS
from model.registry import MODELS

if TYPE_CHECKING:
    from model.results import RunMetrics


def render_report(metrics: RunMetrics) -> str:
    """Markdown summary: headline scores, protocol, per-class and per-subject tables, apex localisation."""
    classes = metrics.classes
    protocol = metrics.protocol
    label = f" ({protocol}, test-selected epochs)" if PROTOCOLS[protocol].optimistic else ""
    config = metrics.config
    model = config["model"]
    key_frames = MODELS[model].frame_scores
    shape = input_text(config)
    lines = [
        f"# {model} LOSO run{label}",
        "",
        f"- dataset: {metrics.dataset}, cache `{metrics.cache}`",
        f"- protocol: `{protocol}`: {PROTOCOLS[protocol].note}",
        f"- model `{model}`, recipe `{config.get('recipe', 'paper')}`{overrides_text(config)}",
        f"- {shape}, {config['epochs']} epochs",
        f"- {metrics.n_samples} clips, {metrics.n_subjects} subjects, {len(classes)} classes "
        f"(grouping `{metrics.grouping}`{left_out_text(metrics.left_out)})",
        f"- network initialised {metrics.init}",
        f"- configuration: {configuration_text(metrics.configuration)}",
        "",
        "| accuracy | UF1 | UAR |",
        "|---:|---:|---:|",
        f"| {metrics.accuracy:.4f} | {metrics.uf1:.4f} | {metrics.uar:.4f} |",
    ]
    lines += reading_lines(metrics)
    lines += part_lines(metrics.parts)
    lines += [
        "",
        "## Per class",
        "",
        "| class | support | F1 | recall |",
        "|---|---:|---:|---:|",
    ]
    for i, name in enumerate(classes):
        support = sum(metrics.confusion[i])
        f1, recall = metrics.per_class["f1"][i], metrics.per_class["recall"][i]
        lines.append(f"| {name} | {support} | {_fmt(f1)} | {_fmt(recall)} |")
    lines += [
        "",
        "![confusion](confusion.png)",
        "",
        "## Per subject",
        "",
        "| subject | clips | accuracy | UF1 | epoch |",
    ]
    lines.append("|---|---:|---:|---:|---:|")
    for subject, row in metrics.per_subject.items():
        epoch = metrics.fold_epochs.get(subject, "")
        lines.append(f"| {subject} | {row['n']} | {row['accuracy']:.3f} | {row['uf1']:.3f} | {epoch} |")
    lines += ["", "![per subject](per_subject.png)", "", "## Apex localisation", ""]
    apex = metrics.apex_localisation
    if not key_frames:
        lines.append(f"Not applicable: `{model}` scores no frames.")
    elif apex["n"]:
        lines.append(
            f"Highest-b_t frame vs annotated apex over {apex['n']} clips: mean |error| "
            f"{apex['mean_abs']:.2f} "
            f"frames, median {apex['median_abs']:.1f}, within 1 frame {apex['within_1']:.2%}, "
            f"within 3 frames {apex['within_3']:.2%}."
        )
    else:
        lines.append("No clip has an annotated apex.")
    if key_frames:
        lines += ["", "![key frames](keyframes.png)"]
    lines += ["", "## Training", ""]
    lines += [
        "Per-epoch training losses, key frames per clip and learning rate of every fold (grey) and "
        "their mean (blue), from each fold's `fold.json`:",
        "",
        "![training curves](training.png)",
        "",
    ]
    return "\n".join(lines)


def part_lines(parts: dict[str, dict]) -> list[str]:
    """A composite's "Per dataset" table (the same pooled predictions, each dataset's own rows), or []."""
    if not parts:
        return []
    lines = [
        "",
        "## Per dataset",
        "",
        "| dataset | clips | accuracy | UF1 | UAR |",
        "|---|---:|---:|---:|---:|",
    ]
    for part, row in parts.items():
        lines.append(f"| {part} | {row['n']} | {row['accuracy']:.4f} | {row['uf1']:.4f} | {row['uar']:.4f} |")
    return lines


def input_text(config: dict) -> str:
    """``input `clip` of the `magnified` frames at 64 px; variant akm, ...``: what the model read and
    its options, for reports."""
    spec = MODELS[config["model"]]
    options = {**(config.get("model_options") or {}), **(config.get("input_options") or {})}
    text = f"input `{spec.input}` of the `{config['source']}` frames at {config['input_size']} px"
    return text + ("; " + ", ".join(f"{k} {v}" for k, v in options.items()) if options else "")


def overrides_text(config: dict) -> str:
    """`` with a=1, b=2`` for the fields where ``config`` departs from its recipe."""
    from model.config import TrainConfig
    from model.recipes import overrides_of
    from pipeline.identity import SPEED_ONLY

    try:
        changed = overrides_of(TrainConfig.from_dict(config))
    except (TypeError, ValueError):  # a configuration of an older run
        return ""
    changed = {k: v for k, v in changed.items() if k not in (*SPEED_ONLY, "device")}
    return " with " + ", ".join(f"{k}={v}" for k, v in changed.items()) if changed else ""


def left_out_text(left_out: dict[str, int]) -> str:
    """``; left out: fear 2, sadness 7`` (the emotions a grouping drops, with their clips), or ``""``."""
    return "; left out: " + ", ".join(f"{k} {v}" for k, v in sorted(left_out.items())) if left_out else ""


def configuration_text(files: list[str] | None) -> str:
    """The configuration files a run used, for reports (``None``: not recorded, e.g. the Python API)."""
    if files is None:
        return "not recorded (run outside the Luigi tasks)"
    return ", ".join(f"`{f}`" for f in files) if files else "built-in defaults (no luigi.cfg)"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def reading_lines(metrics: RunMetrics) -> list[str]:
    """The ``fixed`` and ``reference-optimistic`` readings, or a line saying a one-fit run has one."""
    if metrics.one_fit:
        return ["", "One fit per fold (one epoch): there is no epoch to pick, so no optimistic reading."]
    lines = [
        "",
        "Both readings of this training (every fold evaluated its test subject after every epoch; that never "
        "influenced training):",
        "",
        "| reading | accuracy | UF1 | UAR |",
        "|---|---:|---:|---:|",
    ]
    for name, note in (
        ("fixed", "last epoch"),
        (
            "reference-optimistic",
            f"best epoch on the test subject from epoch {metrics.selection['from_epoch']}, LEAKS",
        ),
    ):
        s = metrics.selection[name]
        lines.append(f"| `{name}` ({note}) | {s['accuracy']:.4f} | {s['uf1']:.4f} | {s['uar']:.4f} |")
    return lines
