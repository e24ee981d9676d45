"""Atomic writes: the target appears whole or not at all."""

import os
import stat

import pytest

from pipeline.atomic import atomic_path, write_bytes, write_text


def test_write_text_round_trip_and_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "report.md"
    write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert os.listdir(target.parent) == ["report.md"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "data.bin"
    write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_temporary_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "figure.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path and tmp.name.startswith(".figure.png.")
        tmp.write_bytes(b"x")
    assert (tmp_path / "figure.png").read_bytes() == b"x"


def test_dir_mode_matches_an_ordinary_mkdir(tmp_path):
    from pipeline.atomic import DIR_MODE

    (tmp_path / "plain").mkdir()
    assert DIR_MODE == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_atomic_dir_replaces_the_old_folder_only_when_complete(tmp_path):
    from pipeline.atomic import DIR_MODE, atomic_dir

    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["export"] and (out / "old.txt").read_text() == "old"
    with atomic_dir(out) as tmp:
        assert tmp.parent == tmp_path and stat.S_IMODE(tmp.stat().st_mode) == 0o700
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"] and [p.name for p in tmp_path.iterdir()] == [
        "export"
    ]
    assert stat.S_IMODE(out.stat().st_mode) == DIR_MODE
