"""Pretraining the frame CNN (the paper's AffectNet step): image collections, ImageNet mapping, the task."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch

from model.akmnet import AKMNet
from model.pretrain import FrameClassifier, map_torchvision_resnet
from model.train import initialise_from
from pipeline.faceimages import load_image_spec, read_image_set, sample_per_class
from pipeline.identity import file_sha256
from pipeline.synthetic.macro import write_pretrain_set
from tests.model.conftest import write_blob_cache
from tests.tasks.test_cli import luigi, output

AFFECTNET_HEADER = [
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
    "expression", "valence", "arousal",
]  # fmt: skip
# built-in category folder -> the AffectNet code its faces are filed under in the fixture
CODES = {"positive": 1, "negative": 5, "surprise": 3, "others": 0}


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Real face content: the built-in macro-expression images, 3 per category."""
    return write_pretrain_set(tmp_path_factory.mktemp("macro") / "set", 3, identities=3)


def affectnet_tree(faces, root):
    """AffectNet's release layout: ``Manually_Annotated_Images/<n>/<file>`` + ``training.csv``, with rows
    of codes the grouping drops (8 none, 10 no-face) and a row whose image is missing."""
    rows = []
    for k, image in enumerate(sorted(faces.rglob("*.jpg"))):
        rel = f"{100 + k % 2}/{image.name}"
        (root / "Manually_Annotated_Images" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(image, root / "Manually_Annotated_Images" / rel)
        rows.append([rel, 10, 10, 100, 100, "1;2", CODES[image.parent.name], 0.1, 0.2])
    rows += [[rows[0][0], 0, 0, 9, 9, "", 8, 0, 0], [rows[1][0], 0, 0, 9, 9, "", 10, 0, 0]]
    rows.append(["999/gone.jpg", 0, 0, 9, 9, "", 1, 0, 0])
    with open(root / "training.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([AFFECTNET_HEADER, *rows])
    return root


def test_affectnet_layout_maps_codes_and_reports_every_row_left_out(faces, tmp_path):
    image_set = read_image_set(affectnet_tree(faces, tmp_path), "affectnet", load_image_spec("affectnet"))
    assert image_set.classes == ("positive", "negative", "surprise", "others")
    assert image_set.class_counts() == {"positive": 3, "negative": 3, "surprise": 3, "others": 3}
    assert {i.expression for i in image_set.images} == {"happy", "disgust", "surprise", "neutral"}
    assert image_set.excluded == [
        "training.csv row 14, column 'expression': expression 'none' is left out by grouping 'akmnet-4class'",
        "training.csv row 15, column 'expression': expression 'no-face' is left out by grouping 'akmnet-4class'",
        "training.csv row 16, column 'subDirectory_filePath': image not found: 999/gone.jpg",
    ]
    two = sample_per_class(image_set.images, 2, seed=5)
    assert len(two) == 8 and two == sample_per_class(image_set.images, 2, seed=5)
    assert sample_per_class(image_set.images, 9, seed=5) == sorted(
        image_set.images, key=lambda i: (i.label, i.path)
    )


def test_class_folders_named_by_code_or_category(faces, tmp_path):
    for category, code in CODES.items():
        shutil.copytree(faces / category, tmp_path / "codes" / str(code))
    (tmp_path / "codes" / "7").mkdir()  # contempt, no images
    shutil.copy(next((faces / "negative").iterdir()), tmp_path / "codes" / "7" / "c.jpg")
    by_code = read_image_set(tmp_path / "codes", "folders", load_image_spec())
    assert by_code.class_counts() == {"positive": 3, "negative": 4, "surprise": 3, "others": 3}
    by_name = read_image_set(faces, "folders", load_image_spec())
    assert by_name.class_counts() == {"positive": 3, "negative": 3, "surprise": 3, "others": 3}


def torchvision_resnet18_state(width: int = 64) -> dict[str, torch.Tensor]:
    """A state dict in torchvision's ResNet-18 layout (RGB 7x7 conv1, 1000-way fc), random values."""
    own = FrameClassifier(4, width).cnn.state_dict()
    state = {
        k: torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v for k, v in own.items()
    }
    state["conv1.weight"] = torch.randn(width, 3, 7, 7)
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 8 * width), torch.randn(1000)
    return state


def test_imagenet_weights_map_onto_the_trunk_except_the_first_layer_and_classifier(tmp_path):
    state = torchvision_resnet18_state()
    torch.save(state, tmp_path / "resnet18.pth")
    model = FrameClassifier(4)
    before = model.cnn.conv1.weight.clone()
    mapped = map_torchvision_resnet(model, tmp_path / "resnet18.pth")
    assert mapped["skipped"] == ["conv1.weight", "fc.bias", "fc.weight"]
    assert len(mapped["loaded"]) == len(state) - 3
    torch.testing.assert_close(model.cnn.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
    torch.testing.assert_close(model.cnn.bn1.running_var, state["bn1.running_var"])
    torch.testing.assert_close(model.cnn.conv1.weight, before)  # grayscale 5x5: kept


@pytest.mark.slow
def test_pretrain_cnn_through_the_cli_and_trainloso_starts_from_it(faces, tmp_path):
    root = affectnet_tree(faces, tmp_path / "affectnet")
    torch.save(torchvision_resnet18_state(16), tmp_path / "resnet18.pth")
    work = tmp_path / "work"
    common = ["--workdir", str(work), "--pretrain-images", str(root), "--pretrain-layout", "affectnet",
              "--pretrain-n-per-class", "2", "--pretrain-epochs", "1", "--pretrain-input-size", "64",
              "--pretrain-width", "16", "--processes", "1"]  # fmt: skip
    result = luigi(
        "PretrainCNN", *common, "--pretrain-imagenet", str(tmp_path / "resnet18.pth"), cwd=tmp_path
    )
    assert result.returncode == 0, output(result)
    (checkpoint,) = (work / "pretrain").glob("*.pt")
    saved = torch.load(checkpoint, weights_only=True)
    meta = saved["meta"]
    assert meta["per_class"] == {"positive": 2, "negative": 2, "surprise": 2, "others": 2}
    assert meta["imagenet"]["sha256"] == file_sha256(tmp_path / "resnet18.pth")
    assert "affectnet (affectnet layout), 4 classes, 8 face images" in meta["description"]
    assert all(k.startswith("cnn.") for k in saved["model"])
    loaded = initialise_from(AKMNet(3, width=16, input_size=64), checkpoint)
    assert loaded["loaded"] == sorted(
        k for k in AKMNet(3, width=16, input_size=64).state_dict() if k.startswith("cnn.")
    )

    cache = tmp_path / "blobs.h5"
    write_blob_cache(cache, subjects=2, per_subject=3, size=64)
    train = ["TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), "--epochs", "1", "--width", "16"]
    first = luigi(*train, "--init-checkpoint", str(checkpoint), cwd=tmp_path)
    assert first.returncode == 0, output(first)
    logs = "".join(p.read_text() for p in (work / "logs").rglob("*.log")) + output(first)
    assert f"{len(saved['model'])} of " in logs and "tensors loaded" in logs
    (metrics,) = (work / "runs").glob("*/metrics.json")
    assert json.loads(metrics.read_text())["init"].startswith("pretrained (PretrainCNN) on affectnet")
    folders = [*common[:2], "--pretrain-images", str(faces), "--pretrain-layout", "folders", *common[6:]]
    other = luigi("PretrainCNN", *folders, cwd=tmp_path)  # the class-folder layout: another checkpoint
    assert other.returncode == 0, output(other)
    (second,) = set((work / "pretrain").glob("*.pt")) - {checkpoint}
    assert (
        "on images (folders layout), 4 classes, 8 face images"
        in torch.load(second, weights_only=True)["meta"]["description"]
    )
    again = luigi(*train, "--init-checkpoint", str(second), cwd=tmp_path)
    assert again.returncode == 0, output(again)
    assert len(list((work / "runs").glob("*/metrics.json"))) == 2  # a new run name for another checkpoint


@pytest.mark.slow
def test_full_benchmark_paper_method_starts_from_the_pretrained_cnn(tmp_path):
    work = tmp_path / "work"
    options = ["--workdir", str(work), "--face-size", "64", "--synthetic-subjects", "2", "--synthetic-clips-per-class",
               "1", "--synthetic-clip-length", "[14, 16]", "--synthetic-blink-frames", "6", "--epochs", "1",
               "--input-size", "64", "--max-frames", "4", "--batch-size", "4", "--width", "16",
               "--methods", "default, paper", "--pretrain-images", "builtin", "--pretrain-n-per-class", "3",
               "--pretrain-epochs", "1", "--pretrain-input-size", "64", "--pretrain-width", "16"]  # fmt: skip
    result = luigi("FullBenchmark", *options, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    (checkpoint,) = (work / "pretrain").glob("builtin-*.pt")
    rows = {r["method"]: r for r in json.loads((work / "report.json").read_text())}
    assert rows["paper"]["init"].startswith("pretrained (PretrainCNN) on builtin (folders layout), 4 classes")
    assert file_sha256(checkpoint)[:12] in rows["paper"]["init"]
    assert rows["default"]["init"] == "from scratch (seed 0)"  # only the paper method is pretrained
    report = (work / "report.md").read_text()
    assert "- synthetic, paper: initialised pretrained (PretrainCNN) on builtin" in report
    again = luigi("FullBenchmark", *options, cwd=tmp_path)
    assert again.returncode == 0 and "complete ones were encountered" in output(again)
