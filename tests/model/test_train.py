import math

import pytest
import torch

from model.config import TrainConfig
from model.train import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    build_model,
    fit,
    learning_rate,
    load_checkpoint,
    predict,
    save_checkpoint,
)

CFG = dict(epochs=3, batch_size=4, micro_batch_size=2, input_size=64, lr=0.01, seed=3, width=16)


class Interrupt(Exception):
    pass


def stop_at(stop: int):
    """An ``on_epoch`` callback that interrupts training at 1-based epoch ``stop``."""

    def callback(epoch, model):
        if epoch == stop:
            raise Interrupt
        return {}

    return callback


def test_resume_matches_uninterrupted_run(blob_data, tmp_path):
    cfg = TrainConfig.from_flat(dict(**CFG))
    reference = build_model(2, cfg)
    fit(reference, blob_data, cfg, checkpoint=tmp_path / "a.pt")

    with pytest.raises(Interrupt):
        fit(build_model(2, cfg), blob_data, cfg, checkpoint=tmp_path / "b.pt", on_epoch=stop_at(3))
    assert load_checkpoint(tmp_path / "b.pt")["epoch"] == 2
    resumed = build_model(2, cfg)
    history = fit(resumed, blob_data, cfg, checkpoint=tmp_path / "b.pt")
    assert [r["epoch"] for r in history] == [1, 2, 3]
    ref_state = reference.state_dict()
    for name, value in resumed.state_dict().items():
        torch.testing.assert_close(value, ref_state[name], rtol=0, atol=0, msg=name)
    # training moved the weights away from their initial values
    assert not torch.equal(ref_state["fc.weight"], build_model(2, cfg).state_dict()["fc.weight"])


def test_checkpoint_of_other_config_is_refused(blob_data, tmp_path):
    cfg = TrainConfig.from_flat(dict(**CFG | {"epochs": 1}))
    fit(build_model(2, cfg), blob_data, cfg, checkpoint=tmp_path / "c.pt")
    other = TrainConfig.from_flat(dict(**CFG | {"epochs": 1, "lr": 0.02}))
    with pytest.raises(ValueError, match="another configuration"):
        fit(build_model(2, other), blob_data, other, checkpoint=tmp_path / "c.pt")


def test_predict_lists(blob_data):
    cfg = TrainConfig.from_flat(dict(**CFG))
    p = predict(build_model(2, cfg), blob_data, cfg, torch.device("cpu"))
    assert len(p["preds"]) == 8 and p["labels"] == blob_data.labels
    assert [len(s) for s in p["scores"]] == [len(c) for c in blob_data.clips]
    assert all(sum(row) == pytest.approx(1.0, abs=1e-5) for row in p["probs"])


def test_learning_rate_follows_reference_cosine():
    cfg = TrainConfig.from_flat(
        dict(epochs=40, lr=1e-3, lr_min=1e-8)
    )  # period 8 epochs, as T_max = epochs / 5
    assert learning_rate(0, cfg) == pytest.approx(1e-3)
    assert learning_rate(8, cfg) == pytest.approx(1e-8)
    assert learning_rate(4, cfg) == pytest.approx(1e-8 + (1e-3 - 1e-8) / 2)
    assert learning_rate(16, cfg) == pytest.approx(1e-3)  # rises again past T_max, as in the reference
    assert learning_rate(3, TrainConfig.from_flat(dict(lr_period=6.0))) == pytest.approx(
        1e-8 + (1e-3 - 1e-8) * (1 + math.cos(math.pi / 2)) / 2
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", 0),
        ("protocol", "best-on-test"),
        ("variant", "uniform-x"),
        ("input_size", 32),
        ("micro_batch_size", 3),
        ("device", "tpu"),
        ("lr", 0.0),
        ("source", "flow"),
        ("subtract_onset", "yes"),
    ],
)
def test_config_validation_names_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig.from_flat(dict(**{field: value}))


def test_config_round_trip():
    cfg = TrainConfig.from_flat(dict(epochs=5, variant="uniform-16", protocol="inner-val"))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})


def test_resume_with_other_speed_settings_reuses_the_checkpoint(blob_data, tmp_path):
    cfg = TrainConfig.from_flat(dict(**CFG, threads=1))

    with pytest.raises(Interrupt):
        fit(build_model(2, cfg), blob_data, cfg, checkpoint=tmp_path / "c.pt", on_epoch=stop_at(2))
    first = load_checkpoint(tmp_path / "c.pt")["history"]
    faster = TrainConfig.from_flat(dict(**CFG, threads=2, num_workers=0, keep_in_memory=False))
    history = fit(build_model(2, faster), blob_data, faster, checkpoint=tmp_path / "c.pt")
    assert [r["epoch"] for r in history] == [1, 2, 3] and history[0] == first[0]
    other = TrainConfig.from_flat(dict(**{**CFG, "lr": 0.02}))
    with pytest.raises(ValueError, match=r"c\.pt: checkpoint was written for another configuration"):
        fit(build_model(2, other), blob_data, other, checkpoint=tmp_path / "c.pt")


class _Executes:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_errors_name_the_file_and_never_unpickle_objects(tmp_path, capsys):
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"format": CHECKPOINT_FORMAT, "epoch": 3, "w": torch.zeros(2)})
    assert load_checkpoint(good)["epoch"] == 3
    tampered = tmp_path / "tampered.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "x": _Executes()}, tampered)
    with pytest.raises(CheckpointError, match=r"tampered\.pt: the checkpoint holds objects other") as err:
        load_checkpoint(tampered)
    assert "weights_only" not in str(err.value)
    assert "this must never run" not in capsys.readouterr().out
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt: the checkpoint file is empty"):
        load_checkpoint(empty)
    data = good.read_bytes()
    for name, content in (("half.pt", data[: len(data) // 2]), ("junk.pt", b"not a checkpoint")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(
            CheckpointError, match=rf"{name}: the checkpoint is truncated or not a PyTorch file"
        ):
            load_checkpoint(tmp_path / name)
        assert "weights_only" not in str(err.value)
    torch.save({"epoch": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not an AKMNet checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_a_failed_checkpoint_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "epoch": 1})

    def full_disk(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file"
        )

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(
        CheckpointError, match=r"ck\.pt: cannot write the checkpoint \(RuntimeError: .*MiB free"
    ):
        save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]
