"""``ComputeFlow`` through the installed ``luigi``: the flow method in the file's name, the apex rule
in its QC, ``--strict`` on a clip whose apex is its onset."""

from __future__ import annotations

import json

import h5py
import numpy as np

from model.config import TrainConfig
from pipeline.store import CacheWriter
from tests.pipeline.test_flow import texture
from tests.tasks.test_cli import FAILED, luigi, output


def write_apex_cache(path) -> None:
    """Three clips of a texture moving 1 px per frame: apex annotated, apex = onset, apex unknown."""
    base = texture(32)
    frames = np.stack([np.roll(base, t, axis=1) for t in range(7)]).clip(0, 255).astype(np.uint8)
    with CacheWriter(path, dataset="apex", params={}, classes=["a", "b"]) as w:
        for i, apex in enumerate([4, 0, -1]):
            w.add_clip(f"s{i}/c{i}", frames, subject=f"s{i}", label=i % 2, label_name="ab"[i % 2],
                       onset=0, apex=apex, offset=6, fps=30.0, source="")  # fmt: skip


def test_compute_flow_method_qc_and_strict(tmp_path):
    cache, work = tmp_path / "apex.h5", tmp_path / "work"
    write_apex_cache(cache)
    strict = luigi("ComputeFlow", "--hdf5", str(cache), "--workdir", str(work), "--strict", cwd=tmp_path)
    assert strict.returncode == FAILED
    assert "--strict: 1 clip(s) with apex = onset" in output(strict) and "s1/c1 (onset = apex = 0)" in output(
        strict
    )
    assert not list((work / "flow").glob("*.h5"))  # failed before computing: nothing complete-looking
    names = {}
    for method in ("tvl1", "farneback"):
        result = luigi("ComputeFlow", "--hdf5", str(cache), "--workdir", str(work), "--flow-method", method,
                       cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, output(result)
        (names[method],) = set((work / "flow").glob("*.h5")) - set(names.values())
    flow = names["tvl1"]
    qc = json.loads(flow.with_suffix(".qc.json").read_text())
    assert qc["params"]["algorithm"] == "tvl1" and qc["counts"] == {"apex = onset": 1, "apex unknown": 1}
    assert [(s["sample_id"], s["flow_apex"]) for s in qc["apex_substituted"]] == [("s1/c1", 3), ("s2/c2", 3)]
    assert qc["near_zero"] == []  # onset -> onset would have been no flow at all
    with h5py.File(flow, "r") as f:
        assert [f["clips"][k].attrs["flow_apex"] for k in sorted(f["clips"])] == [4, 3, 3]
        assert abs(float(np.median(f["clips"]["s1%2Fc1"][0])) - 3.0) < 0.1  # 1 px per frame, 3 frames
    farneback = json.loads(names["farneback"].with_suffix(".qc.json").read_text())
    assert farneback["params"]["algorithm"] == "farneback"


def test_flow_method_names_a_flow_run_only():
    flow = TrainConfig.from_flat({"model": "flow-cnn", "input_size": 28, "flow_method": "farneback"})
    assert flow.input_options.flow_method == "farneback"
    clips = TrainConfig.from_flat({"flow_method": "farneback"})  # akmnet reads clips: not its option
    assert "flow_method" not in clips.flat() and clips == TrainConfig()


def write_megc_cache(path) -> None:
    """A MEGC2019-like cache (dataset ``megc2019``, emotions as labels, parts): 4 clips in its classes,
    one (``others``) that its grouping drops; textures moving by different amounts."""
    clips = [
        ("casme2/sub01/EP02_01f", "casme2-sub01", "casme2", "happiness"),
        ("casme2/sub02/EP09_01", "casme2-sub02", "casme2", "disgust"),
        ("casme2/sub03/EP01_02", "casme2-sub03", "casme2", "others"),
        ("smic/s1/s1_ne_01", "smic-s1", "smic", "negative"),
        ("samm/006/006_1_2", "samm-006", "samm", "surprise"),
    ]
    emotions = sorted({c[3] for c in clips})
    with CacheWriter(path, dataset="megc2019", params={}, classes=emotions) as w:
        for i, (sample_id, subject, part, emotion) in enumerate(clips):
            base = texture(48, seed=i)
            frames = np.stack([np.roll(base, (t * (i % 3), t * (i % 2)), axis=(0, 1)) for t in range(6)])
            w.add_clip(sample_id, frames.clip(0, 255).astype(np.uint8), subject=subject, part=part,
                       label=emotions.index(emotion), label_name=emotion, onset=0, apex=3, offset=5, fps=100.0,
                       source="")  # fmt: skip


def test_export_reads_back_into_the_model_inputs(tmp_path):
    from pipeline.datasets.regroup import grouped_cache
    from pipeline.flow import FlowDataset
    from pipeline.flow.export import decode, read_png

    cache, work = tmp_path / "megc.h5", tmp_path / "work"
    write_megc_cache(cache)
    listed = [
        ["casme2", "sub01", "EP02_01f", "1"],
        ["casme2", "sub02", "EP09_01", "0"],
        ["smic", "s01", "s01_ne_01", "0"],
        ["samm", "6", "006_1_2", "2"],
    ]
    for fmt in ("folders", "flat"):
        result = luigi("ExportFlow", "--hdf5", str(cache), "--workdir", str(work), "--format", fmt,
                       "--input-size", "24", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, output(result)
    (flow,) = (work / "flow").glob("*.h5")
    info = grouped_cache(cache, "default")
    expected = FlowDataset(flow, cache, input_size=24, info=info)
    by_id = {expected[i]["sample_id"]: expected[i]["frames"].numpy() for i in range(len(expected))}
    exports = sorted(p for p in (work / "export").iterdir() if p.is_dir())
    assert len(exports) == 2 and not [
        p for p in exports if p.name.startswith(".")
    ]  # no temporary folder left
    layouts = set()
    for folder in exports:
        meta = json.loads((folder / "export.json").read_text())
        assert meta["classes"] == ["negative", "positive", "surprise"] and meta["channels"] == [
            "u",
            "v",
            "strain",
        ]
        labels = (folder / "labels.csv").read_text().splitlines()
        assert sorted(line.split(",") for line in labels) == sorted(listed)  # the MEGC2019 list's names
        index = (folder / "index.csv").read_text().splitlines()
        layouts.add(index[1].split(",")[0])
        f_range, e_range = meta["flow_range"], meta["strain_range"]
        assert f_range == max(float(np.abs(v[:2]).max()) for v in by_id.values()) > 0.5
        for line in index[1:]:
            path, *_, sample_id = line.split(",")
            back = decode(read_png(folder / path), f_range, e_range)
            assert back.shape == (3, 24, 24)
            want = by_id[sample_id]
            assert np.abs(back[:2] - want[:2]).max() <= f_range / 255 + 1e-6  # half a quantisation step
            assert np.abs(back[2] - want[2]).max() <= e_range / 510 + 1e-6
    assert layouts == {"positive/casme2_sub01_EP02_01f.png", "casme2_sub01_EP02_01f.png"}
