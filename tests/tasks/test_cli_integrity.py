"""Frame integrity and failed builds through the installed ``luigi``: a JPEG whose entropy-coded data is
overwritten is an unreadable frame naming the file; a build that cannot write an output leaves qc.json
``failed`` with the path, and nothing complete-looking."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import cv2
import numpy as np

from tests.pipeline.dataset_trees import build_casme2
from tests.tasks.test_cli import BIN, FAILED, casme2_build, luigi, output, run

CLIP = "CASME2_RAW_selected/sub02/EP09_01"


def corrupt_entropy_data(path: Path, seed: int = 0) -> None:
    """Overwrite the middle of a JPEG's entropy-coded data (after the SOS header, before the end marker)
    with random bytes without 0xFF: the headers and the end marker stay intact, so the file still ends
    with EOI and OpenCV decodes it without an error."""
    data = bytearray(path.read_bytes())
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    end = len(data) - 2
    assert data[end:] == b"\xff\xd9" and end - start > 100
    lo, hi = start + (end - start) // 3, start + 2 * (end - start) // 3
    data[lo:hi] = np.random.default_rng(seed).integers(0, 255, hi - lo, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    assert cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_GRAYSCALE) is not None


def noisy_clip(folder: Path) -> list[Path]:
    """Replace every frame of ``folder`` by a 64x64 noisy JPEG (enough entropy-coded data to damage)."""
    rng = np.random.default_rng(1)
    paths = sorted(folder.glob("img*.jpg"))
    for path in paths:
        assert cv2.imwrite(str(path), rng.integers(0, 256, (64, 64), dtype=np.uint8))
    return paths


def _summary(work: Path) -> dict:
    (path,) = (work / "qc").glob("*/qc.json")
    return json.loads(path.read_text())["summary"]


def test_a_jpeg_with_overwritten_entropy_data_is_an_unreadable_frame(tmp_path):
    root = tmp_path / "CASME2"
    build_casme2(root)
    frames = noisy_clip(root / CLIP)
    corrupt_entropy_data(frames[1])
    work = tmp_path / "work"
    strict = luigi(*casme2_build(root, work / "strict", "--strict", "true"), cwd=tmp_path)
    assert strict.returncode == FAILED, output(strict)
    assert (
        f"cannot read frame {frames[1]}: corrupt JPEG data (the decoder warned: Corrupt JPEG data"
        in output(strict)
    )
    assert not list((work / "strict" / "cache").glob("*.h5"))
    lenient = luigi(*casme2_build(root, work / "lenient"), cwd=tmp_path)
    assert lenient.returncode == 0, output(lenient)
    assert "casme2: 1 clip(s) failed and were left out (qc.json 'failed'); by reason:" in output(lenient)
    summary = _summary(work / "lenient")
    assert summary["status"] == "complete" and list(summary["failed"]) == ["sub02/EP09_01"]
    assert (
        frames[1].name in summary["failed"]["sub02/EP09_01"]
        and "corrupt JPEG" in summary["failed"]["sub02/EP09_01"]
    )


def test_a_build_that_cannot_write_an_output_says_failed_and_names_the_path(tmp_path):
    root = tmp_path / "CASME2"
    build_casme2(root)
    work = tmp_path / "work"
    args = casme2_build(root, work)
    first = luigi(*args, cwd=tmp_path)
    assert first.returncode == 0, output(first)
    (cache,) = (work / "cache").glob("*.h5")
    cache.unlink()
    (qc_dir,) = (work / "qc").iterdir()
    montage = qc_dir / "reference_montage.png"
    montage.unlink()
    montage.mkdir()  # written after qc.json, before the cache is renamed into place: cannot be written
    second = luigi(*args, cwd=tmp_path)
    assert second.returncode == FAILED, output(second)
    assert f"could not write {montage}" in output(second)
    summary = _summary(work)
    assert summary["status"] == "failed" and summary["n_written"] == 0
    assert summary["unwritable_path"] == str(montage) and str(montage) in summary["problem"]
    assert not list((work / "cache").glob("*.h5")) and not list((work / "cache").glob(".*partial"))
    shutil.rmtree(montage)
    third = luigi(*args, cwd=tmp_path)  # the rerun completes
    assert third.returncode == 0 and _summary(work)["status"] == "complete", output(third)


def test_a_full_disk_while_packing_the_cache_leaves_qc_failed_naming_the_file(tmp_path):
    """``ulimit -f 16`` (16 KiB per file: the 16x16 clips' staged files, qc.json and logs fit, the
    ~21 KiB cache does not): the HDF5 write fails with EFBIG, as on a full disk."""
    root = tmp_path / "CASME2"
    build_casme2(root)
    work = tmp_path / "work"
    command = shlex.join(
        [str(BIN / "luigi"), "--module", "tasks", *casme2_build(root, work), "--local-scheduler"]
    )
    result = run(["bash", "-c", f"ulimit -f 16; exec {command}"], tmp_path)
    text = output(result)
    assert result.returncode == FAILED, text
    summary = _summary(work)
    (cache,) = [p for p in (work / "cache").iterdir() if p.name.endswith(".h5.staging")]
    target = str(cache).removesuffix(".staging")
    assert f"could not write {target}" in text and "too large" in text
    assert summary["status"] == "failed" and summary["unwritable_path"] == target
    assert not list((work / "cache").glob("*.h5")) and not list((work / "cache").glob(".*partial"))
