"""Content, not metadata (installed ``luigi``): the data fingerprint covers each frame's bytes, and a cache
edited in place after it was written is refused before any run named by its ``content_hash`` is reused."""

from __future__ import annotations

import json
import os

import h5py

from pipeline.store import open_cache
from pipeline.store.verify import content_hash
from tests.pipeline.dataset_trees import build_casme2
from tests.tasks.test_cli import REFUSED, TINY_TRAIN, casme2_build, luigi, output

FRAME = "CASME2_RAW_selected/sub02/EP09_01/img101.jpg"


def test_a_frame_changed_with_the_same_size_and_mtime_is_another_cache(tmp_path):
    root = tmp_path / "CASME2"
    build_casme2(root)
    work = tmp_path / "work"
    args = casme2_build(root, work)
    first = luigi(*args, cwd=tmp_path)
    assert first.returncode == 0, output(first)
    frame = root / FRAME
    before, stat = frame.read_bytes(), frame.stat()
    other = (root / "CASME2_RAW_selected/sub02/EP09_01/img100.jpg").read_bytes()
    assert len(other) == len(before) and other != before
    frame.write_bytes(other)  # another picture, same size ...
    os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and modification time (cp -p)
    assert (frame.stat().st_size, frame.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    second = luigi(*args, cwd=tmp_path)
    assert second.returncode == 0, output(second)
    assert len(list((work / "cache").glob("*.h5"))) == 2  # not the first cache reused


def test_a_cache_relabelled_in_place_is_refused_before_its_run_is_reused(tmp_path):
    root = tmp_path / "CASME2"
    build_casme2(root)
    work = tmp_path / "work"
    build = luigi(*casme2_build(root, work), cwd=tmp_path)
    assert build.returncode == 0, output(build)
    (cache,) = (work / "cache").glob("*.h5")
    assert content_hash(cache) == open_cache(cache).content_hash  # the check mirrors the writer
    train = ["TrainLOSO", "--hdf5", str(cache), "--workdir", str(work), *TINY_TRAIN, "--workers", "1"]
    first = luigi(*train, cwd=tmp_path)
    assert first.returncode == 0, output(first)
    (metrics,) = (work / "runs").glob("*/metrics.json")
    written = metrics.stat().st_mtime_ns
    with h5py.File(cache, "r+") as f:  # relabel one clip in place: happiness -> disgust
        clip = f["clips"]["sub01%2FEP02_01f"]
        classes = json.loads(f.attrs["classes"])
        clip.attrs["label"], clip.attrs["label_name"] = classes.index("disgust"), "disgust"
    again = luigi(*train, cwd=tmp_path)
    text = output(again)
    assert again.returncode == REFUSED, text
    assert f"{cache}: its content no longer matches its content_hash" in text
    assert metrics.stat().st_mtime_ns == written and len(list((work / "runs").iterdir())) == 1
