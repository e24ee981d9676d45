import pytest
import torch

from model.akmnet import AKMNet


def padded_batch(lengths: list[int], size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(len(lengths), max(lengths), 1, size, size, generator=g)
    for i, n in enumerate(lengths):
        frames[i, n:] = 0
    return frames, torch.tensor(lengths)


@pytest.mark.parametrize("variant", ["akm", "all", "random", "uniform-3", "apex", "max-key"])
def test_output_shapes_and_padding(variant):
    torch.manual_seed(0)
    model = AKMNet(num_classes=4, variant=variant).eval()
    lengths = [1, 2, 5, 3]
    frames, lens = padded_batch(lengths)
    out = model(frames, lens, apex=torch.tensor([0, -1, 3, 1]))
    assert out["logits"].shape == (4, 4)
    for key in ("scores", "keymask", "weights", "selected"):
        assert out[key].shape == (4, 5)
        for i, n in enumerate(lengths):
            assert torch.all(out[key][i, n:] == 0), (key, i)
    assert set(out["keymask"].unique().tolist()) <= {0.0, 1.0}
    # a single frame is its own descriptor: cosine 1, and it is the key frame
    assert out["scores"][0, 0].item() == pytest.approx(1.0, abs=1e-5)
    assert out["keymask"][0, 0].item() == 1.0
    selected = out["selected"].sum(dim=1)
    keys = out["keymask"].sum(dim=1)
    if variant == "all":
        assert selected.tolist() == lengths
    elif variant in ("apex", "max-key"):
        assert selected.tolist() == [1, 1, 1, 1]
    elif variant in ("akm", "random"):
        assert torch.equal(selected, keys)
    if variant == "akm":
        assert torch.equal(out["selected"], out["keymask"])
        b = out["scores"]
        for i, n in enumerate(lengths):  # B_t = [b_t >= mean b]
            assert torch.equal(out["keymask"][i, :n] > 0, b[i, :n] >= b[i, :n].mean())
    if variant == "apex":
        assert out["selected"][2, 3] == 1 and out["selected"][1, 0] == 1  # apex 3; unknown -> middle (0)
    if variant == "max-key":
        assert torch.equal(out["selected"][2].argmax(), out["scores"][2].argmax())


@pytest.mark.parametrize(
    "variant,channels_last",
    [("akm", False), ("akm", True), ("all", False), ("uniform-4", False), ("max-key", True)],
)
def test_batched_equals_per_clip(variant, channels_last):
    torch.manual_seed(1)
    model = AKMNet(num_classes=3, variant=variant).eval()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    lengths = [6, 1, 2, 4]
    frames, lens = padded_batch(lengths, seed=3)
    batched = model(frames, lens)
    for i, n in enumerate(lengths):
        single = model(frames[i : i + 1, :n], lens[i : i + 1])
        torch.testing.assert_close(batched["logits"][i : i + 1], single["logits"], atol=1e-5, rtol=1e-5)
        for key in ("scores", "weights", "keymask"):
            torch.testing.assert_close(batched[key][i : i + 1, :n], single[key], atol=1e-5, rtol=1e-5)


def test_input_size_96_and_gradients_reach_frame_weights():
    torch.manual_seed(0)
    model = AKMNet(num_classes=2).train()
    frames, lens = padded_batch([5, 3], size=96)
    out = model(frames, lens)
    (out["logits"].sum() + out["scores"].sum()).backward()
    assert model.alpha.weight.grad is not None and model.alpha.weight.grad.abs().sum() > 0
    assert model.cnn.conv1.weight.grad.abs().sum() > 0


def test_rejects_bad_lengths():
    model = AKMNet(num_classes=2)
    frames, _ = padded_batch([3, 3])
    with pytest.raises(ValueError, match="lengths"):
        model(frames, torch.tensor([3, 0]))
    with pytest.raises(ValueError, match="variant"):
        AKMNet(num_classes=2, variant="uniform-0")
