"""``--init-checkpoint`` of another model (a flow-cnn checkpoint into AKMNet) through the installed
``luigi``: refused naming the counts, unless ``--init-partial true``."""

from __future__ import annotations

import torch

from model.recipes import recipe_config
from model.train import build_model
from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import FAILED, TINY_TRAIN, luigi, output


def test_a_checkpoint_of_another_model_is_refused_unless_partial(tmp_path):
    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=2, size=64)
    checkpoint = tmp_path / "flow.pt"
    flow = build_model(2, recipe_config("flow-cnn")).state_dict()
    donor = build_model(2, recipe_config("default")).state_dict()  # one tensor matches by chance
    torch.save({**flow, "cnn.conv1.weight": donor["cnn.conv1.weight"]}, checkpoint)
    work = tmp_path / "work"
    args = ["TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), *TINY_TRAIN, "--workers", "1",
            "--init-checkpoint", str(checkpoint)]  # fmt: skip
    refused = luigi(*args, cwd=tmp_path)
    text = output(refused)
    assert refused.returncode == FAILED, text
    assert f"{checkpoint}: --init-checkpoint: only" in text and "--init-partial true loads" in text
    assert not list(work.glob("runs/*/metrics.json")) and not list(work.glob("runs/*/fold-*/fold.json"))
    partial = luigi(*args, "--init-partial", "true", cwd=tmp_path)
    assert partial.returncode == 0, output(partial)
    assert len(list(work.glob("runs/*/metrics.json"))) == 1
