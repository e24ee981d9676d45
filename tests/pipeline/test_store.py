"""CacheWriter / open_cache / ClipDataset / collate_clips / info CLI."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from pipeline.identity import digest as params_hash
from pipeline.store import (
    FORMAT,
    CacheError,
    CacheWriter,
    ClipDataset,
    collate_clips,
    open_cache,
    subsample_indices,
)
from pipeline.store.__main__ import main as store_main

CLASSES = ["negative", "positive", "surprise"]
PARAMS = {"faces": {"size": 32}, "magnify": {"alpha": 10.0}, "keep_raw": True}


def clip_spec(i: int) -> dict:
    """Deterministic clip i: length 5 + i, subject s{i % 3}, label i % 3."""
    rng = np.random.default_rng(i)
    t = 5 + i
    frames = rng.integers(0, 256, size=(t, 24, 24), dtype=np.uint8)
    return {
        "sample_id": f"toy/s{i % 3}/clip{i:02d}",
        "frames": frames,
        "raw": (255 - frames).astype(np.uint8),
        "subject": f"s{i % 3}",
        "label": i % 3,
        "label_name": CLASSES[i % 3],
        "onset": 0,
        "apex": (t // 2) if i != 1 else -1,
        "offset": t - 1,
        "fps": 100.0,
        "source": f"s{i % 3}/clip{i:02d}",
        "onset_frame": 100 + i,
        "apex_frame": 100 + i + t // 2,
        "offset_frame": 100 + i + t - 1,
    }


def write_cache(path, n=6, compression="gzip"):
    specs = [clip_spec(i) for i in range(n)]
    with CacheWriter(path, dataset="toy", params=PARAMS, classes=CLASSES, compression=compression) as w:
        for s in specs:
            s = dict(s)
            w.add_clip(s.pop("sample_id"), s.pop("frames"), **s)
    return specs


@pytest.fixture
def cache(tmp_path):
    path = tmp_path / "toy.h5"
    return path, write_cache(path)


@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_round_trip_frames_and_attributes(tmp_path, compression):
    path = tmp_path / "toy.h5"
    specs = write_cache(path, compression=compression)
    info = open_cache(path)
    assert info.dataset == "toy" and info.classes == CLASSES and info.params == PARAMS
    assert info.params_hash == params_hash(PARAMS) and info.format_version == 3
    assert info.subjects == ["s0", "s1", "s2"] and info.has_raw
    by_id = {c.sample_id: c for c in info.clips}
    assert sorted(by_id) == sorted(s["sample_id"] for s in specs)
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] and f.attrs["format"] == FORMAT
        for s in specs:
            c = by_id[s["sample_id"]]
            assert (c.subject, c.label, c.label_name, c.length) == (
                s["subject"],
                s["label"],
                s["label_name"],
                len(s["frames"]),
            )
            assert (c.onset, c.apex, c.offset, c.fps, c.source) == (
                s["onset"],
                s["apex"],
                s["offset"],
                s["fps"],
                s["source"],
            )
            g = f["clips"][s["sample_id"].replace("/", "%2F")]
            np.testing.assert_array_equal(g["frames"][()], s["frames"])
            np.testing.assert_array_equal(g["raw"][()], s["raw"])
            assert g["frames"].chunks == (1, 24, 24)
            assert g["frames"].compression == compression
            assert g.attrs["onset_frame"] == s["onset_frame"] and g.attrs["offset_frame"] == s["offset_frame"]
    assert not list(tmp_path.glob("*.partial"))


def test_exception_inside_writer_leaves_nothing(tmp_path):
    path = tmp_path / "toy.h5"
    with pytest.raises(RuntimeError, match="boom"):
        with CacheWriter(path, dataset="toy", params=PARAMS, classes=CLASSES) as w:
            s = clip_spec(0)
            w.add_clip(s.pop("sample_id"), s.pop("frames"), **s)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "change, match",
    [
        ({"frames": np.zeros((3, 4, 4), np.float32)}, "uint8"),
        ({"frames": np.zeros((4, 4), np.uint8)}, r"\(T, H, W\)"),
        ({"label": 3}, "outside classes"),
        ({"label_name": "happy"}, "label_name"),
        ({"offset": 99}, "offset=99"),
        ({"apex": -2}, "apex=-2"),
        ({"sample_id": ""}, "non-empty string"),
    ],
)
def test_writer_rejects_bad_clips(tmp_path, change, match):
    s = {**clip_spec(0), **change}
    with pytest.raises(ValueError, match=match):
        with CacheWriter(tmp_path / "x.h5", dataset="toy", params=PARAMS, classes=CLASSES) as w:
            w.add_clip(s.pop("sample_id"), s.pop("frames"), **s)
    assert not (tmp_path / "x.h5").exists()


def test_truncated_file_rejected(cache):
    path, _ = cache
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match=r"toy\.h5.*not a readable HDF5"):
        open_cache(path)


def test_non_hdf5_and_missing_file_rejected(tmp_path):
    bogus = tmp_path / "bogus.h5"
    bogus.write_text("hello")
    with pytest.raises(CacheError, match="bogus.h5"):
        open_cache(bogus)
    with pytest.raises(CacheError, match="no such cache file"):
        open_cache(tmp_path / "missing.h5")


def test_foreign_hdf5_rejected(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(CacheError, match=r"foreign\.h5: not an 'akmnet-clips' cache"):
        open_cache(path)


def edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def test_missing_complete_rejected(cache):
    path, _ = cache
    edit(path, lambda f: f.attrs.__delitem__("complete"))
    with pytest.raises(CacheError, match="incomplete cache"):
        open_cache(path)


def test_unsupported_version_rejected(cache):
    path, _ = cache
    edit(path, lambda f: f.attrs.__setitem__("format_version", 99))
    with pytest.raises(CacheError, match="unsupported format_version 99"):
        open_cache(path)


def test_missing_file_attribute_rejected(cache):
    path, _ = cache
    edit(path, lambda f: f.attrs.__delitem__("params_hash"))
    with pytest.raises(CacheError, match=r"missing file attributes \['params_hash'\]"):
        open_cache(path)


def test_missing_clip_attribute_names_clip(cache):
    path, _ = cache
    edit(path, lambda f: f["clips/toy%2Fs1%2Fclip04"].attrs.__delitem__("fps"))
    with pytest.raises(CacheError, match=r"clip 'toy/s1/clip04': missing attributes \['fps'\]"):
        open_cache(path)


def test_wrong_dtype_and_rank_rejected(cache):
    path, _ = cache

    def float_frames(f):
        del f["clips/toy%2Fs2%2Fclip02/frames"]
        f["clips/toy%2Fs2%2Fclip02/frames"] = np.zeros((7, 24, 24), np.float32)

    edit(path, float_frames)
    with pytest.raises(CacheError, match=r"clip 'toy/s2/clip02': 'frames' has dtype float32"):
        open_cache(path)

    def flat_frames(f):
        del f["clips/toy%2Fs2%2Fclip02/frames"]
        f["clips/toy%2Fs2%2Fclip02/frames"] = np.zeros((7, 24), np.uint8)

    edit(path, flat_frames)
    with pytest.raises(CacheError, match=r"clip 'toy/s2/clip02': 'frames' has shape \(7, 24\)"):
        open_cache(path)


def test_label_outside_classes_rejected(cache):
    path, _ = cache
    edit(path, lambda f: f["clips/toy%2Fs0%2Fclip03"].attrs.__setitem__("label", 5))
    with pytest.raises(CacheError, match=r"clip 'toy/s0/clip03': label 5 outside classes"):
        open_cache(path)


def test_info_cli_prints_counts(cache, capsys):
    path, specs = cache
    assert store_main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"params_hash: {params_hash(PARAMS)}" in out
    assert '"alpha": 10.0' in out
    # 6 clips: labels i % 3 -> 2 per class; subjects i % 3 -> 2 per subject
    assert " 0 negative     2" in out and " 2 surprise     2" in out
    assert "  s1     2" in out
    bad = path.with_name("bad.h5")
    bad.write_text("x")
    assert store_main(["info", str(bad)]) == 1
    assert "bad.h5" in capsys.readouterr().err


# ----------------------------------------------------------------------------- ClipDataset


def test_subject_selection(cache):
    path, specs = cache
    test = ClipDataset(path, subjects=["s1"])
    train = ClipDataset(path, exclude_subjects=["s1"])
    assert sorted(c.sample_id for c in test.clips) == ["toy/s1/clip01", "toy/s1/clip04"]
    assert len(train) == 4 and {c.subject for c in train.clips} == {"s0", "s2"}
    with pytest.raises(ValueError, match=r"unknown subjects \['s9'\]"):
        ClipDataset(path, subjects=["s9"])


def test_eval_item_is_resized_exact_frames(cache):
    path, specs = cache
    ds = ClipDataset(path, subjects=["s0"], input_size=24)  # same size: no resampling
    item = ds[0]
    spec = next(s for s in specs if s["sample_id"] == item["sample_id"])
    assert item["frames"].shape == (len(spec["frames"]), 1, 24, 24)
    torch.testing.assert_close(item["frames"][:, 0], torch.from_numpy(spec["frames"]).float() / 255)
    raw = ClipDataset(path, subjects=["s0"], input_size=24, source="raw")[0]
    torch.testing.assert_close(raw["frames"][:, 0], torch.from_numpy(spec["raw"]).float() / 255)
    assert ClipDataset(path, input_size=16)[0]["frames"].shape[-2:] == (16, 16)


def test_train_transform_is_one_crop_and_flip_per_clip(tmp_path):
    # every frame is the same horizontal ramp, so a shared crop/flip keeps all frames identical
    ramp = np.tile(np.linspace(0, 255, 36).astype(np.uint8), (36, 1))
    frames = np.stack([ramp] * 6)
    path = tmp_path / "ramp.h5"
    with CacheWriter(path, dataset="toy", params={}, classes=["a"]) as w:
        attrs = dict(subject="s", label=0, label_name="a", onset=0, apex=2, offset=5, fps=1, source="")
        w.add_clip("c", frames, **attrs)
    ds = ClipDataset(path, train=True, input_size=32, seed=3, flip=True)
    plain = ClipDataset(path, input_size=32)[0]["frames"]  # the test geometry
    flips, crops = set(), set()
    for epoch in range(24):
        ds.set_epoch(epoch)
        x = ds[0]["frames"]
        assert x.shape == (6, 1, 32, 32)
        assert torch.equal(x, x[:1].expand_as(x))
        flips.add(bool(x[0, 0, 0, 0] > x[0, 0, 0, -1]))
        # the reference's GroupScaleRandomCrop: a 36 -> 32 crop spans less of the ramp than the
        # whole-frame resize, which is the test geometry (flipped or not)
        whole = torch.equal(x, plain) or torch.equal(x, torch.flip(plain, dims=(-1,)))
        span = float((x[0, 0, 0] - x[0, 0, 0].min()).max())
        assert whole or span < float(plain[0, 0, 0].max() - plain[0, 0, 0].min()) - 0.05
        crops.add(not whole)
    assert flips == {True, False}  # both flipped and unflipped ramps occur
    assert crops == {True, False}  # cropped and plain-resized clips both occur
    never = ClipDataset(path, train=True, input_size=32, seed=3)  # the reference's: crop, no flip
    for epoch in range(12):
        never.set_epoch(epoch)
        x = never[0]["frames"]
        assert bool(x[0, 0, 0, 0] < x[0, 0, 0, -1])
    ds.set_epoch(5)
    a = ds[0]["frames"]
    assert torch.equal(a, ds[0]["frames"])  # seeded: reproducible per (seed, epoch, index)


def test_subtract_onset_gives_exact_differences(cache, tmp_path):
    path, specs = cache
    item = ClipDataset(path, subjects=["s0"], input_size=24, subtract_onset=True)[0]
    spec = next(s for s in specs if s["sample_id"] == item["sample_id"])
    frames = torch.from_numpy(spec["frames"]).float() / 255
    torch.testing.assert_close(item["frames"][:, 0], frames - frames[0])
    assert item["onset"] == 0 and not item["frames"][0].any()
    # training: the crop and flip are drawn once, so a clip of one still ramp differences to zero,
    # while a ramp that brightens by 10 grey levels differences to 10/255 in every pixel
    ramp = np.tile(np.linspace(0, 200, 36).astype(np.uint8), (36, 1))
    frames = np.stack([ramp, ramp, ramp + 10])
    still = tmp_path / "ramp.h5"
    with CacheWriter(still, dataset="toy", params={}, classes=["a"]) as w:
        attrs = dict(subject="s", label=0, label_name="a", onset=0, apex=2, offset=2, fps=1, source="")
        w.add_clip("c", frames, **attrs)
    x = ClipDataset(still, train=True, input_size=32, seed=1, subtract_onset=True)[0]["frames"]
    assert not x[:2].any()
    torch.testing.assert_close(x[2], torch.full_like(x[2], 10 / 255))


def test_max_frames_subsampling_keeps_key_indices(cache):
    path, specs = cache
    ds = ClipDataset(path, subjects=["s2"], max_frames=4, input_size=24)
    item = next(ds[i] for i in range(len(ds)) if ds[i]["sample_id"] == "toy/s2/clip05")
    spec = clip_spec(5)  # 10 frames, apex 5
    kept = subsample_indices(10, 4)
    assert kept.tolist() == [0, 3, 6, 9]
    assert item["length"] == 4 and item["frames"].shape[0] == 4
    assert (item["onset"], item["offset"]) == (0, 3)
    assert item["apex"] == 2  # frame 5 -> nearest kept frame 6 at position 2
    torch.testing.assert_close(item["frames"][:, 0], torch.from_numpy(spec["frames"][kept]).float() / 255)


def test_collate_pads_and_reports_lengths(cache):
    path, specs = cache
    ds = ClipDataset(path, input_size=16)
    batch = collate_clips([ds[0], ds[3]])
    lengths = [ds[0]["length"], ds[3]["length"]]
    assert batch["frames"].shape == (2, max(lengths), 1, 16, 16) and batch["frames"].dtype == torch.float32
    assert batch["lengths"].tolist() == lengths and batch["lengths"].dtype == torch.int64
    short = int(np.argmin(lengths))
    assert torch.count_nonzero(batch["frames"][short, lengths[short] :]) == 0
    torch.testing.assert_close(batch["frames"][short, : lengths[short]], [ds[0], ds[3]][short]["frames"])
    assert batch["labels"].tolist() == [ds[0]["label"], ds[3]["label"]]
    assert batch["apex"].tolist() == [ds[0]["apex"], ds[3]["apex"]]
    assert batch["sample_ids"] == [ds[0]["sample_id"], ds[3]["sample_id"]]


def test_dataloader_with_two_workers(cache):
    path, specs = cache
    ds = ClipDataset(path, train=True, input_size=16)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_clips)
    seen = []
    for batch in loader:
        assert batch["frames"].shape[2:] == (1, 16, 16)
        seen += batch["sample_ids"]
    assert sorted(seen) == sorted(s["sample_id"] for s in specs)


def test_info_matches_written_json(cache):
    path, _ = cache
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["classes"]) == CLASSES
        assert json.loads(f.attrs["params"]) == PARAMS


def test_keep_in_memory_serves_the_same_items_without_the_file(cache, tmp_path):
    path, _ = cache
    copy = tmp_path / "copy.h5"
    copy.write_bytes(Path(path).read_bytes())
    kept = ClipDataset(copy, max_frames=4, input_size=16, keep_in_memory=True)
    first = [kept[i]["frames"] for i in range(len(kept))]
    kept._file.close()
    kept._file = None
    copy.unlink()  # later reads must come from memory
    again = [kept[i]["frames"] for i in range(len(kept))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    plain = ClipDataset(path, max_frames=4, input_size=16)
    assert all(torch.equal(a, plain[i]["frames"]) for i, a in enumerate(first))


def test_ids_with_slashes_and_percent_signs_are_distinct_flat_groups(tmp_path):
    path = tmp_path / "ids.h5"
    ids = ["a/b", "a%2Fb", "a/frames", ".."]
    with CacheWriter(path, dataset="toy", params={}, classes=CLASSES) as w:
        for sid in ids:
            w.add_clip(sid, np.zeros((2, 4, 4), np.uint8), subject="s", label=0, label_name=CLASSES[0],
                       onset=0, apex=-1, offset=1, fps=100.0, source=sid)  # fmt: skip
    assert sorted(c.sample_id for c in open_cache(path).clips) == sorted(ids)
    with h5py.File(path, "r") as f:
        assert sorted(f["clips"]) == sorted(["a%2Fb", "a%252Fb", "a%2Fframes", ".."])
        assert all(isinstance(f["clips"][k], h5py.Group) and "frames" in f["clips"][k] for k in f["clips"])


def test_format_1_files_are_rejected_with_how_to_rebuild(cache):
    path, _ = cache
    edit(path, lambda f: f.attrs.__setitem__("format_version", 1))
    with pytest.raises(CacheError, match=r"unsupported format_version 1 .*rebuild the cache"):
        open_cache(path)


def test_content_hash_covers_the_frames_and_not_the_order(tmp_path):
    def write(path, order, bump=0):
        with CacheWriter(path, dataset="toy", params=PARAMS, classes=CLASSES) as w:
            for i in order:
                frames = np.full((2, 4, 4), i + (bump if i == 1 else 0), np.uint8)
                w.add_clip(f"c{i}", frames, subject=f"s{i}", label=0, label_name=CLASSES[0],
                           onset=0, apex=-1, offset=1, fps=100.0, source=f"c{i}")  # fmt: skip
        return open_cache(path).content_hash

    first = write(tmp_path / "a.h5", [0, 1, 2])
    assert write(tmp_path / "b.h5", [2, 0, 1]) == first
    assert write(tmp_path / "c.h5", [0, 1, 2], bump=1) != first
