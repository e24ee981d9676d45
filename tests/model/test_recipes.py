"""Training recipes: the ``paper`` recipe trains as the AKMNet reference's loop, step for step; the
model starts from the reference's initialisation; ``--init-checkpoint`` semantics."""

import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model.akmnet import AKMNet, feature_side, grid_side
from model.config import TrainConfig
from model.recipes import RECIPES, overrides_of, recipe_config
from model.train import CheckpointError, build_model, fit, initialise_from, learning_rate, make_loader

# ------------------------------------------------------------------------------------------------
# the reference's main.py / util.py, written out (batch 1, 8-clip accumulation, its losses and its
# scheduler stepped with the epoch), for a model with AKMNet's outputs


def reference_separation(bw: torch.Tensor) -> torch.Tensor:
    """BwLoss of one clip: 2 - (mean of b_t above its mean - mean of b_t below it)."""
    return 2.0 - (bw[bw > bw.mean()].mean() - bw[bw < bw.mean()].mean())


def reference_epoch(model, clips, labels, optimizer, n_group=8):
    """util.tr_epoch: one clip per forward; loss / 8 (loss / remainder in the last short group)."""
    model.train()
    n = len(clips)
    full = (n // n_group) * n_group
    for i, (x, y) in enumerate(zip(clips, labels)):
        length = torch.tensor([x.shape[0]])
        out = model(x[None], length)
        ce = F.cross_entropy(out["logits"], torch.tensor([y]))
        bw = reference_separation(out["scores"][0])
        b = torch.max(torch.Tensor([0.0]), torch.sum(out["keymask"][0]) - torch.Tensor([1.0]))[0]
        loss = ce + 1.0 * bw + 0.1 * b
        if i + 1 > full:
            (loss / (n - full)).backward()
            if i + 1 == n:
                optimizer.step()
                optimizer.zero_grad()
        else:
            (loss / n_group).backward()
            if (i + 1) % n_group == 0:
                optimizer.step()
                optimizer.zero_grad()


class Clips(torch.utils.data.Dataset):
    def __init__(self, clips, labels):
        self.clips, self.labels = clips, labels

    def __len__(self):
        return len(self.clips)

    def __getitem__(self, i):
        n = len(self.clips[i])
        return {"frames": self.clips[i], "length": n, "label": self.labels[i], "onset": 0, "apex": n // 2,
                "offset": n - 1, "sample_id": f"c{i:02d}", "subject": "s"}  # fmt: skip


def test_paper_recipe_matches_the_reference_loop_step_for_step():
    torch.manual_seed(0)
    clips = [torch.rand(int(n), 1, 64, 64) for n in (3, 5, 4, 6, 3, 4, 5, 3, 4, 6, 5)]  # 11: 8 + 3
    labels = [i % 3 for i in range(len(clips))]
    data = Clips(clips, labels)
    # the paper recipe, at 64 px and a small width (fast); epochs 10 makes T_max = 2, so the learning
    # rate changes every epoch; no dropout (its masks would differ between batched and batch-1)
    # the reference's code trains on the clips as they come: the paper's oversampling is off here
    cfg = recipe_config(
        "paper", epochs=10, input_size=64, width=4, dropout=0.0, channels_last=False, seed=1, balance="none"
    )
    ours = build_model(3, cfg)
    theirs = copy.deepcopy(ours)
    optimizer = torch.optim.SGD(theirs.parameters(), cfg.lr, momentum=0.9, weight_decay=0.0005)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs / 5, eta_min=1e-8)
    epochs = 4
    for epoch in range(epochs):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(
            learning_rate(epoch, cfg), rel=1e-9, abs=1e-15
        )
        order = [
            int(s[1:]) for b in make_loader(data, cfg, shuffle=True, epoch=epoch) for s in b["sample_ids"]
        ]
        reference_epoch(theirs, [clips[i] for i in order], [labels[i] for i in order], optimizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # step(epoch) is deprecated, but it is what main.py calls
            scheduler.step(epoch + 1)
    history = fit(ours, data, cfg, epochs=epochs)
    assert [r["lr"] for r in history] == pytest.approx([learning_rate(e, cfg) for e in range(epochs)])
    assert len({round(r["lr"], 12) for r in history}) == 3  # 1e-3, 5e-4, 1e-8, 5e-4: periodic, as main.py
    for name, value in ours.state_dict().items():
        torch.testing.assert_close(value, theirs.state_dict()[name], rtol=2e-4, atol=2e-6, msg=name)
    moved = [n for n, p in ours.named_parameters() if not torch.equal(p, build_model(3, cfg).state_dict()[n])]
    assert "fc.weight" in moved and "cnn.conv1.weight" in moved


def test_fresh_model_has_the_reference_initialisation():
    torch.manual_seed(0)
    model = AKMNet(5, width=32, hidden=32).requires_grad_(False)  # values only
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
            std = float(module.weight.detach().std())
            assert std == pytest.approx(math.sqrt(2 / fan_out), rel=0.15), name  # Kaiming, fan-out
        elif isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0), name
    for linear in (model.alpha, model.fc):
        fan_out, fan_in = linear.weight.shape
        assert float(linear.weight.std()) == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.2)
        assert torch.all(linear.bias == 0)
    bound = 1 / math.sqrt(model.gru.hidden_size)
    for name, p in model.gru.named_parameters():
        if name.endswith("_reverse"):  # PyTorch's default: uniform(-1/sqrt(h), 1/sqrt(h))
            assert float(p.abs().max()) <= bound and float(p.min()) < -bound / 2, name
        elif name.startswith("weight"):  # orthogonal: orthonormal rows (3h <= input) or columns
            w = p.detach()
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            torch.testing.assert_close(gram, torch.eye(len(gram)), atol=1e-5, rtol=0, msg=name)
        else:  # uniform in [0, 1)
            assert (
                float(p.min()) >= 0 and float(p.max()) < 1 and float(p.mean()) == pytest.approx(0.5, abs=0.1)
            )


@pytest.mark.parametrize(("size", "side", "grid"), [(64, 2, 2), (96, 3, 3), (128, 4, 4), (160, 5, 4)])
def test_gru_runs_on_real_positions(size, side, grid):
    model = AKMNet(3, width=4, input_size=size)
    assert feature_side(size) == side and grid_side(size) == grid == model.grid
    assert model.cnn(torch.zeros(1, 1, size, size)).shape[-1] == side
    assert model.fc.in_features == grid * grid * 2 * 32
    out = model(torch.rand(1, 3, 1, size, size), torch.tensor([3]))
    assert out["logits"].shape == (1, 3)


def test_eval_norm_clip_normalises_each_clip_by_itself():
    torch.manual_seed(0)
    x = torch.rand(2, 4, 1, 64, 64)
    x[1] = x[1] * 3 + 1  # another contrast and brightness: its own statistics differ
    lengths = torch.tensor([4, 4])
    model = AKMNet(3, width=4, input_size=64, eval_norm="clip").eval()
    both = model(x, lengths)["logits"]
    alone = torch.cat([model(x[i : i + 1], lengths[:1])["logits"] for i in range(2)])
    torch.testing.assert_close(both, alone, rtol=1e-4, atol=1e-5)  # per-clip: no cross-talk
    train_mode = copy.deepcopy(model).train()
    train_mode.dropout.p = 0.0
    torch.testing.assert_close(train_mode(x, lengths)["logits"], both, rtol=1e-4, atol=1e-5)  # as in training
    running = AKMNet(3, width=4, input_size=64).eval()
    running.load_state_dict(model.state_dict())
    assert not torch.allclose(running(x, lengths)["logits"], both, atol=1e-3)


def test_recipes_and_overrides():
    # the dataclass defaults are the reference's code; the paper adds its classes and its oversampling
    assert recipe_config("paper") == TrainConfig.from_flat(dict(grouping="paper", balance="oversample"))
    assert (TrainConfig().grouping, TrainConfig().balance) == ("default", "none")
    paper = TrainConfig().flat()
    assert (paper["lr"], paper["epochs"], paper["input_size"], paper["max_frames"], paper["flip"]) == (
        1e-3,
        40,
        128,
        None,
        False,
    )
    assert TrainConfig().period == 8.0
    assert (paper["lr_schedule"], paper["eval_norm"], paper["width"]) == (
        "reference",
        "running",
        64,
    )
    cfg = recipe_config("default", epochs=8)
    assert cfg.recipe == "default" and cfg.epochs == 8 and cfg.lr == RECIPES["default"]["lr"]
    assert overrides_of(cfg) == {"epochs": 8}
    with pytest.raises(ValueError, match="recipe: must be one of"):
        recipe_config("fancy")
    # the default recipe's single cosine descends to lr_min after the last epoch
    assert learning_rate(0, cfg) == cfg.lr and learning_rate(cfg.epochs, cfg) == pytest.approx(cfg.lr_min)


def test_init_checkpoint_keeps_matching_tensors(tmp_path, caplog):
    cfg = recipe_config("default", width=4)
    donor = build_model(5, TrainConfig.from_flat(dict(width=4, input_size=64, seed=7)))
    torch.save(donor.state_dict(), tmp_path / "plain.pt")
    three = build_model(3, cfg)  # another class count: fc differs in shape
    with caplog.at_level("INFO"):
        report = initialise_from(three, tmp_path / "plain.pt")
    assert "fc.weight" in report["kept"] and "fc.bias" in report["kept"]
    assert "cnn.conv1.weight" in report["loaded"]
    assert torch.equal(three.state_dict()["cnn.conv1.weight"], donor.state_dict()["cnn.conv1.weight"])
    assert "kept at their initial value" in caplog.text
    # through the config: the file's hash joins the run's identity, the path does not
    a = recipe_config("default", width=4, init_checkpoint=str(tmp_path / "plain.pt"))
    assert a.init_checkpoint_sha256 and len(a.init_checkpoint_sha256) == 64
    assert torch.equal(
        build_model(5, a).state_dict()["gru.weight_hh_l0"], donor.state_dict()["gru.weight_hh_l0"]
    )
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        initialise_from(three, tmp_path / "junk.pt")
    torch.save({"x": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="no tensor matches"):
        initialise_from(three, tmp_path / "other.pt", partial=True)
    # a checkpoint of another model: a few tensors match by chance
    flow = build_model(3, recipe_config("flow-cnn"))
    mixed = {**flow.state_dict(), "cnn.conv1.weight": donor.state_dict()["cnn.conv1.weight"]}
    torch.save(mixed, tmp_path / "flow.pt")
    with pytest.raises(
        CheckpointError,
        match=r"only 2 of the model's 140 tensors \(0% of its values\) match .* under \['fc', 'streams'\]",
    ):
        initialise_from(three, tmp_path / "flow.pt")
    assert initialise_from(three, tmp_path / "flow.pt", partial=True)["loaded"] == [
        "cnn.conv1.weight",
        "fc.bias",
    ]
    with pytest.raises(ValueError, match="init_checkpoint"):
        recipe_config("default", init_checkpoint=str(tmp_path / "absent.pt"))


def test_fold_checkpoints_initialise_too(tmp_path):
    cfg = recipe_config("default", width=4, epochs=1, input_size=64)
    data = Clips([torch.rand(3, 1, 64, 64) for _ in range(4)], [0, 1, 0, 1])
    model = build_model(2, cfg)
    fit(model, data, cfg, checkpoint=tmp_path / "fold.pt")
    fresh = build_model(2, recipe_config("default", width=4, seed=5))
    report = initialise_from(fresh, tmp_path / "fold.pt")
    assert report["kept"] == []
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in fresh.state_dict().items())
    assert np.isfinite(float(fresh.fc.weight.detach().sum()))
