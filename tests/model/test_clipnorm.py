import copy

import pytest
import torch
import torch.nn.functional as F

from model.akmnet import AKMNet
from model.clipnorm import ClipBatchNorm2d, sequential_running_update
from model.config import TrainConfig
from model.train import clip_losses


def frames_of(lengths: list[int], channels: int = 3, size: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    # clips differ in offset and scale, so pooled statistics would be far from per-clip ones
    offsets = torch.arange(len(lengths), dtype=torch.float32).repeat_interleave(torch.tensor(lengths))
    return (
        torch.randn(n, channels, size, size, generator=g) * (1 + offsets[:, None, None, None])
        + 3 * offsets[:, None, None, None]
    )


@pytest.mark.parametrize("momentum", [0.1, None])
def test_layer_equals_one_clip_at_a_time(momentum):
    lengths = [3, 1, 4]
    x = frames_of(lengths).requires_grad_()
    clips = torch.arange(3).repeat_interleave(torch.tensor(lengths))
    bn = ClipBatchNorm2d(3, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([2.0, 0.5, 1.0]))
        bn.num_batches_tracked.fill_(4)
    sequential = copy.deepcopy(bn)
    y = bn(x, clips, 3)
    assert int(bn.num_batches_tracked) == 7
    grad_out = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    (y * grad_out).sum().backward()

    xs = x.detach().clone().requires_grad_()
    start = 0
    for n in lengths:
        part = slice(start, start + n)
        y1 = sequential(xs[part])  # plain BatchNorm2d on one clip's frames
        torch.testing.assert_close(y[part], y1, atol=1e-5, rtol=1e-5)
        (y1 * grad_out[part]).sum().backward()
        # per-clip normalised output: zero mean, unit (biased) variance per channel before the affine map
        z = (y[part] - bn.bias[:, None, None]) / bn.weight[:, None, None]
        torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
        start += n
    torch.testing.assert_close(x.grad, xs.grad, atol=1e-5, rtol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(bn, name), getattr(sequential, name), atol=1e-6, rtol=1e-6)
    # eval mode without clip indices: ordinary batch norm with the running statistics
    bn.eval()
    expected = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    torch.testing.assert_close(bn(x), expected)
    # with them: each clip by its own statistics, as in training, and nothing updated
    before = {
        name: getattr(bn, name).clone() for name in ("running_mean", "running_var", "num_batches_tracked")
    }
    start = 0
    per_clip = bn(x, clips, 3)
    for n in lengths:
        part = slice(start, start + n)
        alone = F.batch_norm(x[part], None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
        torch.testing.assert_close(per_clip[part], alone, atol=1e-5, rtol=1e-5)
        start += n
    for name, value in before.items():
        assert torch.equal(getattr(bn, name), value), name


def test_sequential_running_update_closed_form():
    r0, s = torch.tensor([1.0]), torch.tensor([[2.0], [4.0]])
    # (1 - m)^2 r0 + m (1 - m) s1 + m s2 with m = 0.5: 0.25 + 0.5 + 2
    assert sequential_running_update(r0, s, 0.5, 0).item() == pytest.approx(2.75)
    assert sequential_running_update(r0, s, None, 2).item() == pytest.approx((2 * 1 + 6) / 4)


def test_single_value_per_channel_is_refused():
    bn = ClipBatchNorm2d(2)
    with pytest.raises(ValueError, match="more than 1 value"):
        bn(torch.randn(3, 2, 1, 1), torch.tensor([0, 0, 1]), 2)


def padded(lengths: list[int], size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(len(lengths), max(lengths), 1, size, size, generator=g)
    for i, n in enumerate(lengths):
        frames[i, n:] = 0
        frames[i, :n] = frames[i, :n] * (0.3 + 0.4 * i) + 0.1 * i  # clips differ in brightness/contrast
    return frames, torch.tensor(lengths)


def grads_and_stats(model: AKMNet) -> tuple[dict, dict]:
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    return grads, {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "tracked" in k}


@pytest.mark.parametrize("channels_last", [False, True])
def test_batched_step_equals_accumulated_batch1_steps(channels_last):
    """One batched training step (3 clips) == the reference's 3 one-clip steps with loss / 3 each."""
    cfg = TrainConfig.from_flat(dict(variant="all", dropout=0.0, width=16, input_size=64, batch_size=3))
    torch.manual_seed(0)
    model = AKMNet(3, variant="all", dropout=0.0, width=16, batch_norm="clip").train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    reference = copy.deepcopy(model)
    pooled = copy.deepcopy(model)
    pooled.batch_norm = "batch"
    frames, lengths = padded([3, 5, 2])
    labels = torch.tensor([0, 2, 1])

    def step(m: AKMNet, f, n, y, scale: float) -> None:
        total, _ = clip_losses(m(f, n), y, n, cfg)
        (total.sum() * scale).backward()

    step(model, frames, lengths, labels, 1 / 3)
    for i, n in enumerate(lengths.tolist()):
        step(reference, frames[i : i + 1, :n], lengths[i : i + 1], labels[i : i + 1], 1 / 3)
    step(pooled, frames, lengths, labels, 1 / 3)

    grads, stats = grads_and_stats(model)
    ref_grads, ref_stats = grads_and_stats(reference)
    assert grads.keys() == ref_grads.keys() and "cnn.conv1.weight" in grads
    for name, g in grads.items():  # float rounding: within 1e-4 of each tensor's largest gradient
        scale = float(ref_grads[name].abs().max())
        torch.testing.assert_close(g, ref_grads[name], atol=1e-4 * scale, rtol=1e-4, msg=name)
    for name, value in stats.items():
        torch.testing.assert_close(value, ref_stats[name], atol=1e-5, rtol=1e-5, msg=name)
    assert int(stats["cnn.bn1.num_batches_tracked"]) == 3

    # statistics pooled over the batch give another model: gradients and running statistics differ
    pooled_grads, pooled_stats = grads_and_stats(pooled)
    assert (pooled_grads["cnn.conv1.weight"] - grads["cnn.conv1.weight"]).abs().max() > 1e-3
    assert (pooled_stats["cnn.bn1.running_mean"] - stats["cnn.bn1.running_mean"]).abs().max() > 1e-3


def test_eval_mode_ignores_batch_norm_option():
    torch.manual_seed(2)
    model = AKMNet(2, width=16, batch_norm="clip")
    frames, lengths = padded([4, 2])
    model.train()(frames, lengths)  # moves the running statistics away from their initial values
    model.eval()
    out_clip = model(frames, lengths)["logits"]
    model.batch_norm = "batch"
    torch.testing.assert_close(model(frames, lengths)["logits"], out_clip, rtol=0, atol=0)


def test_batch_norm_option_is_validated():
    with pytest.raises(ValueError, match="batch_norm"):
        TrainConfig.from_flat(dict(batch_norm="frame"))
    with pytest.raises(ValueError, match="batch_norm"):
        AKMNet(2, batch_norm="group")
    assert TrainConfig().model_options.batch_norm == "clip"
