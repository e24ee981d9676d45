"""A fold's progress and status file: shown and written, without changing what it trains."""

from __future__ import annotations

import io
import json
import logging

import pytest

from model.config import TrainConfig
from model.loso import fold_name, train_fold
from model.progress import EpochProgress
from model.status import FoldProgress, run_estimate

TINY = dict(epochs=2, lr=0.01, batch_size=4, input_size=64, max_frames=4, width=4, seed=0, threads=1)
SUBJECTS = ["sub00", "sub01", "sub02"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_and_status_leave_the_fold_byte_identical(blob_cache, tmp_path):
    cfg = TrainConfig.from_flat(dict(**TINY))
    plain = tmp_path / "plain" / fold_name("sub01")
    train_fold(blob_cache, "sub01", cfg, plain)
    run, console = tmp_path / "watched", io.StringIO()
    reports = []
    progress = FoldProgress(run, "sub01", SUBJECTS, epochs=2, name="blobs/paper", stream=console,
                            report=lambda p, m: reports.append((p, m)))  # fmt: skip
    train_fold(blob_cache, "sub01", cfg, run / fold_name("sub01"), progress=progress)
    for name in ("predictions.json", "epoch_predictions.json", "fold.json", "predictions.csv"):
        assert (run / fold_name("sub01") / name).read_bytes() == (plain / name).read_bytes(), name

    lines = console.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "blobs/paper fold 2/3 sub01 epoch 1/2",
        "blobs/paper fold 2/3 sub01 epoch 2/2",
    ]
    history = json.loads((plain / "fold.json").read_text())["history"]
    assert f"ce {history[1]['loss_ce']:.3f} sep {history[1]['loss_separation']:.3f}" in lines[1]
    assert [p for p, _ in reports] == [50, 100, 100] and reports[1][1] == lines[1]
    assert reports[2][1].startswith("blobs/paper fold 2/3 sub01: done, 2 epochs, ")

    fold = json.loads((run / fold_name("sub01") / "status.json").read_text())
    assert (fold["state"], fold["epoch"], fold["epochs"], fold["timed_epochs"], fold["error"]) == (
        "done",
        2,
        2,
        2,
        None,
    )
    assert fold["loss"]["loss_ce"] == history[1]["loss_ce"] and fold["lr"] == history[1]["lr"]
    status = json.loads((run / "status.json").read_text())
    assert status["format"] == "akmnet-run-status-1" and status["subjects"] == SUBJECTS
    assert status["counts"] == {"done": 1, "running": 0, "failed": 0, "killed": 0, "pending": 2}
    assert status["state"] == "pending" and status["last_epoch"]["subject"] == "sub01"
    # two folds of two epochs left, at the pace measured, one at a time
    assert status["eta_seconds"] == pytest.approx(4 * fold["seconds_per_epoch"])


def test_the_run_estimate_shares_the_epochs_left_among_the_running_folds():
    folds = {
        "a": {"state": "done", "epoch": 10, "epochs": 10, "seconds_per_epoch": 2.0, "timed_epochs": 10},
        "b": {"state": "running", "epoch": 4, "epochs": 10, "seconds_per_epoch": 4.0, "timed_epochs": 4},
        "c": {"state": "running", "epoch": 0, "epochs": 10, "seconds_per_epoch": None, "timed_epochs": 0},
        "d": {"state": "killed", "epoch": 3, "epochs": 10, "seconds_per_epoch": 3.0, "timed_epochs": 3},
        "e": {"state": "pending"},
    }
    spe, left = run_estimate(folds, epochs=10)
    assert spe == pytest.approx((2.0 * 10 + 4.0 * 4 + 3.0 * 3) / 17)
    assert left == pytest.approx(spe * (6 + 10 + 7 + 10) / 2)
    assert run_estimate({"e": {"state": "pending"}}, epochs=10) == (None, None)


def test_an_epoch_bar_on_a_terminal_and_the_line_in_the_log(caplog):
    terminal = Terminal()
    progress = EpochProgress("pretrain", stream=terminal)
    with caplog.at_level(logging.INFO, logger="model.progress"):
        progress.begin(3, 1)  # resumed after one epoch
        line = progress.epoch({"epoch": 2, "lr": 0.01, "loss_ce": 0.5}, 2.0)
        progress.close()
    assert line == "pretrain epoch 2/3: ce 0.500 lr 0.01, 2 s/epoch, left 2s"
    drawn = terminal.getvalue()
    assert "\r" in drawn and "pretrain" in drawn and "2/3" in drawn and "ce 0.5 lr 0.01" in drawn
    assert line not in drawn  # the bar, not the plain line
    assert caplog.messages == [line]
