"""``pipeline.store.verify``: a cache's ``content_hash`` recomputed from what the file holds now."""

from __future__ import annotations

import h5py
import pytest

from pipeline.store import CacheError, open_cache
from pipeline.store.verify import content_hash, verify_cache
from tests.model.conftest import write_blob_cache, write_motion_cache


@pytest.mark.parametrize("writer", [write_blob_cache, write_motion_cache])
def test_the_recomputed_hash_is_the_writer_s(tmp_path, writer):
    path = tmp_path / "c.h5"
    writer(path, subjects=2)
    assert content_hash(path) == open_cache(path).content_hash
    verify_cache(path, open_cache(path).content_hash)


def test_a_frame_overwritten_in_place_is_detected(tmp_path):
    path = tmp_path / "c.h5"
    write_blob_cache(path, subjects=2, per_subject=2, size=64)
    recorded = open_cache(path).content_hash
    verify_cache(path, recorded)
    with h5py.File(path, "r+") as f:
        frames = f["clips"][next(iter(f["clips"]))]["frames"]
        frames[0, 0, 0] = (int(frames[0, 0, 0]) + 1) % 256
    with pytest.raises(CacheError, match=r"c\.h5: its content no longer matches its content_hash"):
        verify_cache(path, recorded)
