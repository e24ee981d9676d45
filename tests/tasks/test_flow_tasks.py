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
    flow = TrainConfig(model="flow-cnn", input_size=28, flow_method="farneback")
    assert flow.flow_method == "farneback"
    assert TrainConfig(flow_method="farneback").flow_method == "tvl1"  # akmnet reads clips: default kept
