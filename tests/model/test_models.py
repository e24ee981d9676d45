"""The model registry and the flow baseline's network."""

from __future__ import annotations

import pytest
import torch

from model.akmnet import AKMNetOptions
from model.config import TrainConfig
from model.flowcnn import FlowCNN, FlowCNNOptions, pooled_side
from model.inputs import ClipOptions, FlowOptions
from model.recipes import recipe_config
from model.report import overrides_text
from model.train import build_model, optimizer_of
from pipeline.identity import run_name
from pipeline.validation import ParamError


def test_each_model_builds_from_its_own_options():
    flow = recipe_config("flow-cnn")
    assert flow.model_options == FlowCNNOptions(dropout=0.5) and flow.input_options == FlowOptions("tvl1")
    assert flow.to_dict()["model_options"] == {"dropout": 0.5}
    reference = TrainConfig()
    assert reference.model_options == AKMNetOptions(
        variant="akm", hidden=32, dropout=0.5, width=64, batch_norm="clip", eval_norm="running",
        loss_separation=1.0, loss_count=0.1,
    )  # fmt: skip
    assert reference.input_options == ClipOptions(max_frames=None, subtract_onset=False, flip=False)
    default = recipe_config("default", width=8, max_frames=3)
    assert (default.model_options.width, default.input_options.max_frames) == (8, 3)
    assert TrainConfig.from_dict(default.to_dict()) == default  # nested dicts round trip
    model = build_model(5, flow)
    again = build_model(5, flow)  # same seed, same weights
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert isinstance(model, FlowCNN)
    assert model(torch.randn(4, 3, 28, 28))["logits"].shape == (4, 5)
    assert isinstance(optimizer_of(model, flow), torch.optim.Adam)
    assert isinstance(optimizer_of(model, TrainConfig()), torch.optim.SGD)


def test_flow_cnn_shapes_and_input_checks():
    assert pooled_side(28) == 5 and pooled_side(64) == 11
    net = FlowCNN(3, input_size=64)
    assert net.fc.in_features == 16 * 11 * 11
    assert net(torch.randn(2, 3, 64, 64))["logits"].shape == (2, 3)
    with pytest.raises(ValueError, match=r"expected a flow image \(B, 3, S, S\)"):
        net(torch.randn(2, 5, 1, 64, 64))
    with pytest.raises(ParamError, match="input_size"):
        TrainConfig(model="flow-cnn", input_size=5)
    with pytest.raises(ParamError, match=r"an integer >= 64 \(model akmnet\)"):
        TrainConfig(input_size=28)
    with pytest.raises(ParamError, match="model"):
        TrainConfig(model="lstm")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['widht'\]; known: .*width"):
        recipe_config("default", widht=8)


def test_what_a_model_does_not_read_changes_neither_its_name_nor_its_report():
    given = recipe_config("flow-cnn", epochs=5, max_frames=4, variant="all", subtract_onset=True)
    assert "variant" not in given.flat() and "max_frames" not in given.flat()
    plain = recipe_config("flow-cnn", epochs=5)
    assert run_name("d", "hash", given.to_dict(), {}) == run_name("d", "hash", plain.to_dict(), {})
    assert overrides_text(given.to_dict()) == " with epochs=5"
    assert run_name("d", "hash", recipe_config("default", max_frames=4).to_dict(), {}) != run_name(
        "d", "hash", recipe_config("default").to_dict(), {}
    )
    assert (
        overrides_text(recipe_config("default", epochs=5, max_frames=4).to_dict())
        == " with epochs=5, max_frames=4"
    )
