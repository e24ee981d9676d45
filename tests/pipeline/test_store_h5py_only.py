"""A cache file is readable with h5py and numpy alone.

This module imports nothing from the project: the file is produced by a subprocess and read
back here following only the documented layout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np

WRITE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from pipeline.store import CacheWriter

    with CacheWriter(sys.argv[1], dataset="toy", params={"alpha": 8.0}, classes=["neg", "pos"]) as w:
        for i in range(3):
            frames = (np.arange(4 * 6 * 5).reshape(4, 6, 5) + 10 * i).astype(np.uint8)
            w.add_clip(f"toy/s{i}/c{i}", frames, subject=f"s{i}", label=i % 2,
                       label_name=["neg", "pos"][i % 2], onset=0, apex=2, offset=3, fps=200.0,
                       source=f"s{i}/c{i}", onset_frame=40 + i)
    """
)


def test_read_with_h5py_only(tmp_path):
    path = tmp_path / "toy.h5"
    subprocess.run([sys.executable, "-c", WRITE, str(path)], check=True, timeout=120)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "akmnet-clips"
        assert f.attrs["format_version"] == 3
        assert bool(f.attrs["complete"]) is True
        assert f.attrs["dataset"] == "toy"
        assert json.loads(f.attrs["params"]) == {"alpha": 8.0}
        assert len(f.attrs["params_hash"]) > 0 and len(f.attrs["created"]) > 0
        assert len(f.attrs["content_hash"]) == 16 and f.attrs["data_fingerprint"] == ""
        classes = json.loads(f.attrs["classes"])
        assert classes == ["neg", "pos"]
        # the contract: one group per clip directly under /clips, each with its frames
        groups = {f["clips"][key].attrs["sample_id"]: f["clips"][key] for key in f["clips"]}
        assert sorted(groups) == [f"toy/s{i}/c{i}" for i in range(3)]
        assert all("frames" in group for group in groups.values())
        for i in range(3):
            group = groups[f"toy/s{i}/c{i}"]
            frames = group["frames"][()]
            assert frames.dtype == np.uint8 and frames.shape == (4, 6, 5)
            np.testing.assert_array_equal(frames, (np.arange(120).reshape(4, 6, 5) + 10 * i).astype(np.uint8))
            a = group.attrs
            assert a["sample_id"] == f"toy/s{i}/c{i}" and a["subject"] == f"s{i}"
            assert classes[a["label"]] == a["label_name"] == ["neg", "pos"][i % 2]
            assert (a["onset"], a["apex"], a["offset"], a["fps"]) == (0, 2, 3, 200.0)
            assert a["source"] == f"s{i}/c{i}" and a["onset_frame"] == 40 + i
