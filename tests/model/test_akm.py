import pytest
import torch

from model import akm


def test_binarize_values_and_gradient_rule():
    scores = torch.tensor(
        [
            [0.2, 0.8, 0.5, 0.1],  # mean 0.4 in (0, 1): gradient passes unchanged
            [1.0, 1.0, 0.0, 0.0],  # 2 valid frames, mean 1.0: gradient blocked
            [-0.5, -0.1, 0.3, 0.0],  # 3 valid frames, mean -0.1: gradient blocked
        ],
        requires_grad=True,
    )
    valid = akm.valid_mask(torch.tensor([4, 2, 3]), 4)
    mask = akm.binarize_keyframes(scores, valid)
    assert mask.tolist() == [[0, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]]
    upstream = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]])
    mask.backward(upstream)
    assert scores.grad.tolist() == [[1.0, 2.0, 3.0, 4.0], [0.0] * 4, [0.0] * 4]


def test_binarize_gradient_masks_padding():
    scores = torch.tensor([[0.9, 0.3, 0.7]], requires_grad=True)
    valid = akm.valid_mask(torch.tensor([2]), 3)
    akm.binarize_keyframes(scores, valid).sum().backward()
    assert scores.grad.tolist() == [[1.0, 1.0, 0.0]]


def test_frame_scores_are_cosines_to_weighted_descriptor():
    pooled = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    weights = torch.tensor([[0.75, 0.25, 0.5]])
    valid = akm.valid_mask(torch.tensor([2]), 3)
    b = akm.frame_scores(pooled, weights, valid)
    d = torch.tensor([0.75, 0.25]) / torch.tensor([0.75, 0.25]).norm()
    torch.testing.assert_close(b, torch.tensor([[d[0].item(), d[1].item(), 0.0]]))


def test_separation_and_count_losses():
    scores = torch.tensor([[0.9, 0.1, 0.8, 0.2], [0.5, 0.0, 0.0, 0.0], [0.4, 0.4, 0.0, 0.0]])
    valid = akm.valid_mask(torch.tensor([4, 1, 2]), 4)
    sep = akm.separation_loss(scores, valid)
    # clip 0: above mean 0.5 -> {0.9, 0.8}, below -> {0.1, 0.2}: 2 - (0.85 - 0.15) = 1.3
    # clips 1 and 2: one side empty -> gap 0 -> loss 2
    torch.testing.assert_close(sep, torch.tensor([1.3, 2.0, 2.0]))
    keymask = torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert akm.count_loss(keymask).tolist() == [2.0, 0.0, 0.0]


def test_index_helpers():
    select = torch.tensor([[False, True, False, True], [True, False, False, False]])
    index, counts = akm.compact_indices(select)
    assert index.tolist() == [[1, 3], [0, 0]] and counts.tolist() == [2, 1]
    assert akm.uniform_indices(torch.tensor([5, 2, 1]), 3).tolist() == [[0, 2, 4], [0, 0, 1], [0, 0, 0]]


def test_random_selection_keeps_count_and_stays_in_clip():
    g = torch.Generator().manual_seed(0)
    valid = akm.valid_mask(torch.tensor([6, 3]), 6)
    keymask = torch.tensor([[1.0, 1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    seen = torch.zeros(2, 6)
    for _ in range(50):
        chosen = akm.random_selection(keymask, valid, generator=g)
        assert chosen.sum(dim=1).tolist() == [3, 2]
        assert not (chosen & ~valid).any()
        seen += chosen
    assert (seen[0] > 0).all()  # every frame of the long clip gets drawn at some point


@pytest.mark.parametrize("lengths", [[1], [2, 1], [7, 3, 5]])
def test_valid_mask(lengths):
    mask = akm.valid_mask(torch.tensor(lengths), max(lengths))
    assert mask.sum(dim=1).tolist() == lengths
