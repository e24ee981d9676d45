"""Onset -> apex flow, optical strain, the flow file and its dataset."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from scipy.ndimage import shift as nd_shift

from pipeline.flow import (
    APEX_AT_ONSET,
    APEX_UNKNOWN,
    FarnebackParams,
    FlowDataset,
    FlowError,
    TVL1Params,
    apex_rule,
    compute_flow_file,
    flow_apex,
    flow_identity,
    flow_params,
    onset_apex_flow,
    open_flow,
    optical_flow,
    optical_strain,
)
from pipeline.staging import prepare_staging, staging_dir, unit_path
from pipeline.store import CacheWriter, collate_clips


def texture(size: int = 96, seed: int = 0) -> np.ndarray:
    noise = gaussian_filter(np.random.default_rng(seed).normal(0, 1, (size, size)), 2.0, mode="wrap")
    return 128 + 40 * noise / noise.std()


@pytest.mark.parametrize("method", ["tvl1", "farneback"])
@pytest.mark.parametrize(
    "dy, dx", [(0.0, 0.25), (0.5, 0.0), (0.25, -0.5), (0.3, 0.2), (-0.4, 0.5), (0.7, -1.0)]
)
def test_flow_of_a_subpixel_translation(dy, dx, method):
    base = texture(128)
    first = np.clip(base, 0, 255).astype(np.uint8)
    second = np.clip(nd_shift(base, (dy, dx), order=3, mode="wrap"), 0, 255).astype(np.uint8)
    params = flow_params(method)
    u, v = optical_flow(first, second, params)
    inner = (slice(16, -16), slice(16, -16))
    assert abs(float(np.median(u[inner])) - dx) < 0.1 and abs(float(np.median(v[inner])) - dy) < 0.1
    assert float(np.percentile(np.hypot(u[inner] - dx, v[inner] - dy), 90)) < 0.1
    assert (
        np.abs(optical_flow(first, first, params)[(slice(None), *inner)]).max() < 1e-3
    )  # no motion, no flow


def test_flow_methods_default_and_identity():
    assert isinstance(flow_params(), TVL1Params) and isinstance(flow_params("farneback"), FarnebackParams)
    first = np.clip(texture(48), 0, 255).astype(np.uint8)
    second = np.roll(first, 1, axis=1)
    np.testing.assert_array_equal(optical_flow(first, second), optical_flow(first, second, TVL1Params()))
    assert not np.array_equal(optical_flow(first, second), optical_flow(first, second, FarnebackParams()))
    tvl1, farneback = flow_identity(TVL1Params()), flow_identity(FarnebackParams())
    assert tvl1["algorithm"] == "tvl1" and tvl1["lambda_"] == 0.15 and farneback["algorithm"] == "farneback"
    assert tvl1["apex_rule"] == farneback["apex_rule"]
    with pytest.raises(ValueError, match="flow method must be one of"):
        flow_params("lucas-kanade")


def test_strain_of_an_affine_field():
    a, b, c, d = 0.02, -0.01, 0.03, -0.015
    yy, xx = np.mgrid[0:40, 0:50].astype(np.float64)
    u, v = a * xx + b * yy + 0.7, c * xx + d * yy - 0.2
    strain = optical_strain(u, v)
    assert strain.shape == (40, 50)
    np.testing.assert_allclose(strain, np.sqrt(a**2 + d**2 + 0.5 * (b + c) ** 2), rtol=1e-5)
    assert np.abs(optical_strain(np.full((8, 8), 1.5), np.full((8, 8), -2.0))).max() == 0  # translation
    # a rotation (b = -c) has no strain
    assert np.abs(optical_strain(-0.01 * yy, 0.01 * xx)).max() < 1e-9


def test_apex_rule():
    assert flow_apex(0, 7, 20) == 7
    assert flow_apex(0, -1, 20) == 10  # unknown apex: the middle frame
    assert flow_apex(3, -1, 10) == 6
    assert apex_rule(0, 7, 20) == (7, "")
    assert apex_rule(3, -1, 10) == (6, APEX_UNKNOWN)
    assert apex_rule(3, 3, 10) == (6, APEX_AT_ONSET)  # onset -> onset would be no motion: the middle frame
    assert apex_rule(4, 4, 4) == (4, APEX_AT_ONSET)


def write_cache(path, n: int = 7, keep_raw: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = texture(48, seed)
    with CacheWriter(path, dataset="toy", params={"seed": seed}, classes=["a", "b"]) as w:
        for i in range(n):
            frames = np.stack(
                [nd_shift(base, (0, 0.25 * t * (i % 2)), order=1, mode="wrap") for t in range(6)]
            )
            frames = np.clip(frames + rng.normal(0, 1, frames.shape), 0, 255).astype(np.uint8)
            extra = {"raw": frames[:, ::-1].copy()} if keep_raw else {}
            w.add_clip(f"s{i % 3}/c{i}", frames, subject=f"s{i % 3}", label=i % 2, label_name="ab"[i % 2],
                       onset=0, apex={2: -1, 5: 0}.get(i, 4), offset=5, fps=30.0, source="", **extra)  # fmt: skip


def test_flow_file_content_processes_and_resume(tmp_path):
    cache = tmp_path / "toy.h5"
    write_cache(cache)
    one = compute_flow_file(cache, tmp_path / "one.h5", processes=1, shard_size=3)
    two = compute_flow_file(cache, tmp_path / "two.h5", processes=2, shard_size=3)  # TV-L1, the default
    assert (tmp_path / "one.h5").read_bytes() == (tmp_path / "two.h5").read_bytes()
    assert not staging_dir(tmp_path / "one.h5").exists()
    assert one.sample_ids == two.sample_ids and len(one.sample_ids) == 7 and one.source == "magnified"
    with h5py.File(cache, "r") as c, h5py.File(tmp_path / "one.h5", "r") as f:
        for key in c["clips"]:
            frames = c["clips"][key]["frames"][()]
            # c2 has no apex, c5's is its onset: both go to the middle frame (0 + 5) // 2, flagged
            apex, rule = {"c2": (2, APEX_UNKNOWN), "c5": (2, APEX_AT_ONSET)}.get(key[-2:], (4, ""))
            assert f["clips"][key].attrs["flow_apex"] == apex
            assert f["clips"][key].attrs["apex_rule"] == rule
            np.testing.assert_array_equal(f["clips"][key][()], onset_apex_flow(frames[0], frames[apex]))
        raw = c["clips"][next(iter(c["clips"]))]["raw"][()]
    compute_flow_file(cache, tmp_path / "raw.h5", source="raw")
    with h5py.File(tmp_path / "raw.h5", "r") as f:
        np.testing.assert_array_equal(f["clips"][next(iter(f["clips"]))][()], onset_apex_flow(raw[0], raw[4]))
    # resume: a finished shard (here one of zeros for clips 0-2) is taken as it is, the rest computed
    stamp = {"source_content_hash": one.source_content_hash, "params": flow_identity(TVL1Params()),
             "source": "magnified", "shard": 3}  # fmt: skip
    parts = prepare_staging(staging_dir(tmp_path / "resumed.h5"), stamp)
    with h5py.File(tmp_path / "one.h5", "r") as f:
        shapes = {i: f["clips"][k].shape for i, k in enumerate(f["clips"]) if i < 3}
    np.savez(unit_path(parts, "part-00000"), **{f"c{i}": np.zeros(s, np.float32) for i, s in shapes.items()})
    reports = []
    compute_flow_file(
        cache, tmp_path / "resumed.h5", shard_size=3, report=lambda p, m: reports.append((p, m))
    )
    assert [p for p, _ in reports] == [66, 100]  # 3 shards, the first found finished
    assert reports[-1][1] == "flow toy: 3/3 shards (100%)"
    with h5py.File(tmp_path / "resumed.h5", "r") as r, h5py.File(tmp_path / "one.h5", "r") as f:
        keys = list(f["clips"])
        assert all(not r["clips"][k][()].any() for k in keys[:3])
        assert all(np.array_equal(r["clips"][k][()], f["clips"][k][()]) for k in keys[3:])


def test_flow_file_errors_name_the_file(tmp_path):
    cache, other = tmp_path / "toy.h5", tmp_path / "other.h5"
    write_cache(cache)
    write_cache(other, seed=1)
    compute_flow_file(cache, tmp_path / "flow.h5")
    from pipeline.store import open_cache

    with pytest.raises(FlowError, match="flow.h5: computed from another cache"):
        open_flow(tmp_path / "flow.h5", open_cache(other))
    with pytest.raises(FlowError, match="flow.h5: computed from another cache"):
        FlowDataset(tmp_path / "flow.h5", other)
    (tmp_path / "cut.h5").write_bytes((tmp_path / "flow.h5").read_bytes()[:2000])
    with pytest.raises(FlowError, match="cut.h5: not a readable flow file"):
        open_flow(tmp_path / "cut.h5")
    with pytest.raises(FlowError, match="no such flow file"):
        open_flow(tmp_path / "absent.h5")
    noraw = tmp_path / "noraw.h5"
    write_cache(noraw, keep_raw=False)
    with pytest.raises(FlowError, match="noraw.h5: flow of the raw frames requested"):
        compute_flow_file(noraw, tmp_path / "x.h5", source="raw")


def test_flow_dataset_scales_the_flow_with_the_image(tmp_path):
    cache = tmp_path / "toy.h5"
    write_cache(cache)
    compute_flow_file(cache, tmp_path / "flow.h5")
    full = FlowDataset(tmp_path / "flow.h5", cache, input_size=48)
    half = FlowDataset(tmp_path / "flow.h5", cache, subjects=["s1"], input_size=24)
    assert len(full) == 7 and len(half) == 2 and half.labels == [1, 0]
    by_id = {full[i]["sample_id"]: full[i] for i in range(len(full))}
    item = by_id["s1/c1"]  # c1 moves 0.25 px per frame to the right: u = 1 px at the apex
    assert item["frames"].shape == (3, 48, 48) and item["apex"] == 4 and item["label"] == 1
    assert abs(float(item["frames"][0, 12:-12, 12:-12].median()) - 1.0) < 0.1
    small = half[0]  # the same clip at half the size: half the displacement, the same strain
    assert small["sample_id"] == "s1/c1"
    assert abs(float(small["frames"][0, 6:-6, 6:-6].median()) - 0.5) < 0.05
    torch.testing.assert_close(small["frames"][2].mean(), item["frames"][2].mean(), atol=2e-3, rtol=0.1)
    batch = collate_clips([by_id["s0/c0"], item])
    assert batch["frames"].shape == (2, 3, 48, 48) and batch["labels"].tolist() == [0, 1]
