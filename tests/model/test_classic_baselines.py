"""The two classic baselines behind the model seam: OFF-ApexNet's shapes and size, LBP-TOP + SVM's
determinism and its trainer (`ModelSpec.fit`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model import lbptop_svm
from model.lbptop_svm import ABSENT, LBPTOPSVM, LBPTOPSVMOptions, fit_svm, stretch
from model.offapexnet import OFFApexNet
from model.recipes import recipe_config
from model.registry import MODELS
from model.train import build_model, load_checkpoint, predict, train_model
from tests.model.conftest import TensorClips, blob_clip


def test_off_apexnet_shapes_and_the_papers_size():
    model = OFFApexNet(3)
    # two 5x5 convolutions (6, 16 maps) per stream, 2 x 784 features, FC 1024, 1024, 3 outputs
    assert (
        sum(p.numel() for p in model.parameters())
        == 2 * (156 + 2416) + 1568 * 1024 + 1024 + 1024 * 1025 + 3075
    )
    flow = torch.randn(5, 3, 28, 28)
    assert model(flow)["logits"].shape == (5, 3)
    for size in (4, 32, 64):
        assert OFFApexNet(4, input_size=size)(torch.randn(2, 3, size, size))["logits"].shape == (2, 4)
    model.eval()
    changed = flow.clone()
    changed[:, 2] += 5  # the strain channel: not an OFF-ApexNet input
    assert torch.equal(model(flow)["logits"], model(changed)["logits"])
    changed[:, 1] += 1
    assert not torch.equal(model(flow)["logits"], model(changed)["logits"])
    with pytest.raises(ValueError, match="input_size"):
        OFFApexNet(3, input_size=3)
    cfg = recipe_config("off-apexnet", fc_units=64)
    assert (cfg.model, cfg.input_size, MODELS["off-apexnet"].input) == ("off-apexnet", 28, "flow")
    assert build_model(3, cfg).classifier[0].out_features == 64


def test_stretch_keeps_long_clips_and_interpolates_short_ones():
    volume = np.arange(3, dtype=np.float64)[:, None, None] * np.ones((3, 2, 2))
    assert stretch(volume, 3) is volume
    assert np.allclose(stretch(volume, 5)[:, 0, 0], [0, 0.5, 1, 1.5, 2])


def blob_set(seed: int, n: int = 12, size: int = 32) -> TensorClips:
    rng = np.random.default_rng(seed)
    labels = [i % 2 for i in range(n)]
    return TensorClips([blob_clip(c, int(rng.integers(5, 12)), size, rng) for c in labels], labels)


def test_lbp_top_svm_fits_once_learns_and_predicts_the_same_twice(tmp_path):
    cfg = recipe_config("lbp-top", input_size=32, batch_size=4, svm_c=10.0)
    train, test = blob_set(0), blob_set(1)
    runs = []
    for attempt in range(2):
        lbptop_svm._FEATURES.clear()  # computed anew each time: the features themselves are deterministic
        model = build_model(2, cfg)
        assert isinstance(model, LBPTOPSVM) and not list(model.parameters())  # nothing to train by gradient
        seen = []
        history = train_model(model, train, cfg, epochs=1, checkpoint=tmp_path / f"c{attempt}.pt",
                              on_epoch=lambda e, m, seen=seen: seen.append(e) or {"mark": e}, tag="t")  # fmt: skip
        assert seen == [1] and len(history) == 1 and history[0]["mark"] == 1
        assert history[0]["train_accuracy"] == 1.0 and history[0]["loss_ce"] > 0
        runs.append(predict(model, test, cfg, torch.device("cpu")))
    assert runs[0]["probs"] == runs[1]["probs"] and runs[0]["preds"] == runs[1]["preds"]
    assert np.mean(np.equal(runs[0]["preds"], runs[0]["labels"])) >= 0.9  # top vs bottom blob: separable
    one, two = (torch.load(tmp_path / f"c{i}.pt", weights_only=True)["model"] for i in range(2))
    assert all(torch.equal(one[k], two[k]) for k in one)  # the same bytes of SVM
    # a checkpoint of the same configuration is read back instead of refitting
    again = build_model(2, cfg)
    history = fit_svm(again, train, cfg, checkpoint=tmp_path / "c0.pt", tag="t",
                      on_epoch=lambda e, m: pytest.fail("refitted"))  # fmt: skip
    assert history[0]["mark"] == 1 and torch.equal(again.coef, one["coef"])
    assert load_checkpoint(tmp_path / "c0.pt")["epoch"] == 1


def test_lbp_top_svm_gives_a_class_without_training_clips_no_votes():
    cfg = recipe_config("lbp-top", input_size=32, batch_size=4)
    model = build_model(3, cfg)  # class 2 has no clip
    fit_svm(model, blob_set(2), cfg)
    assert torch.all(model.intercept[2] == ABSENT) and not torch.any(model.coef[2])
    assert 2 not in predict(model, blob_set(3), cfg, torch.device("cpu"))["preds"]


def test_lbp_top_svm_options_are_checked_and_passed_to_the_features():
    with pytest.raises(ValueError, match="svm_c"):
        LBPTOPSVMOptions(svm_c=0)
    with pytest.raises(ValueError, match="class_weight"):
        LBPTOPSVMOptions(class_weight="auto")
    options = LBPTOPSVMOptions(lbp_block_rows=2, lbp_block_cols=3, lbp_radius_t=2.0)
    params = options.lbptop()
    assert (params.blocks, params.radius_t, params.radius_x, params.radius_y) == ((2, 3), 2.0, 1.0, 1.0)
    model = LBPTOPSVM(2, options)
    clip = torch.rand(1, 6, 1, 16, 16)
    first = model.features(clip)
    assert first.shape == (1, 2 * 3 * 3 * 59)
    lbptop_svm._FEATURES.clear()
    assert model.features(clip).tobytes() == first.tobytes()  # the same bytes, computed twice
    assert len(lbptop_svm._FEATURES) == 1  # cached per clip and settings
