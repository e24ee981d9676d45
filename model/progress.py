"""Per-epoch progress of a training (`model.train.fit`): console, log and a ``report`` callback.

``fit(..., progress=EpochProgress(...))`` calls :meth:`EpochProgress.begin` once (the epochs to train,
those already done by a resumed run) and :meth:`EpochProgress.epoch` after every epoch (its history
record and its wall time, evaluation included). Nothing here touches the training: it only reads the
record. A fold's progress, with its status file, is `model.status.FoldProgress`.
"""

from __future__ import annotations

import logging
from typing import TextIO

from pipeline.progress import Progress, Report, duration

log = logging.getLogger(__name__)

#: loss parts of a history record as the console shows them
LOSS_NAMES = {"loss_ce": "ce", "loss_separation": "sep", "loss_count": "cnt"}


def losses_text(record: dict, digits: str = ".3f") -> str:
    """``ce 0.912 sep 1.231 cnt 0.000`` (and ``val_uf1`` under ``inner-val``), from a history record;
    the test subject's accuracy is not shown (reading it while training invites choosing by it)."""
    parts = [f"{short} {record[key]:{digits}}" for key, short in LOSS_NAMES.items() if key in record]
    if "val_uf1" in record:
        parts.append(f"val_uf1 {record['val_uf1']:{digits}}")
    return " ".join(parts)


class EpochProgress:
    """One line per epoch (a tqdm bar on a terminal), in the log too, and ``report(percent, line)``.

    ``label`` starts every line (``pretrain``, ``casme2/paper fold 3/26 sub03``); ``quiet``: nothing
    on the console (the log and ``report`` still get every epoch).
    """

    def __init__(
        self, label: str, *, quiet: bool = False, report: Report | None = None, stream: TextIO | None = None
    ) -> None:
        self.label, self.quiet, self.report, self.stream = label, quiet, report, stream
        self.stage = ""  # e.g. "inner-val" while a fold chooses its number of epochs
        self.epochs, self.seconds = 0, []
        self.progress: Progress | None = None

    def begin(self, epochs: int, done: int) -> None:
        """Training of ``epochs`` epochs starts, ``done`` of them already trained (resumed)."""
        self.close()
        self.epochs, self.seconds = epochs, []
        self.progress = Progress(
            self.title(), epochs, initial=done, unit="epoch", quiet=self.quiet, report=self.report,
            lines=None, stream=self.stream,
        )  # fmt: skip

    def title(self) -> str:
        return f"{self.label} ({self.stage})" if self.stage else self.label

    def seconds_per_epoch(self) -> float | None:
        """Mean wall time of the epochs trained here (None before the first)."""
        return sum(self.seconds) / len(self.seconds) if self.seconds else None

    def fold_left(self, epoch: int) -> float | None:
        spe = self.seconds_per_epoch()
        return None if spe is None else spe * (self.epochs - epoch)

    def epoch(self, record: dict, seconds: float) -> str:
        """Epoch ``record["epoch"]`` took ``seconds``: show it; returns the line."""
        self.seconds.append(seconds)
        return self.show(record)

    def left_text(self, epoch: int) -> str:
        return f"left {duration(self.fold_left(epoch))}"

    def bar_note(self, losses: str) -> str:
        """The bar's postfix (tqdm shows the epochs, their pace and the time left itself)."""
        return losses

    def show(self, record: dict) -> str:
        epoch = record["epoch"]
        losses = f"{losses_text(record)} lr {record['lr']:.3g}".strip()
        spe, left = self.seconds_per_epoch(), self.left_text(epoch)
        line = f"{self.title()} epoch {epoch}/{self.epochs}: {losses}, {spe:.3g} s/epoch, {left}"
        log.info(line)
        if self.progress is not None:
            brief = f"{losses_text(record, '.3g')} lr {record['lr']:.3g}".strip()
            self.progress.update(1, note=self.bar_note(brief), line=line)
        return line

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None
