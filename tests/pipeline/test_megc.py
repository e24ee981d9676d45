"""The MEGC2019 composite is the official list: the spec's rule on sheets with the official quirks, and
the list's own names (CASME II ``sub01``, SMIC ``s01``, SAMM ``6``) mapped to the toolkit's ids."""

from __future__ import annotations

import pytest

from pipeline.datasets import load_manifest
from pipeline.datasets.megc import (
    ListEntry,
    compare_with_list,
    list_names,
    names_of_sample,
    read_list,
    sample_id_of,
    write_list,
)
from tests.pipeline.dataset_trees import MEGC_LIST, build_megc2019


def test_the_rule_keeps_and_drops_exactly_the_official_clips(tmp_path):
    build_megc2019(tmp_path / "data")
    m = load_manifest("megc2019", tmp_path / "data")
    ids = {r.sample_id for r in m.rows}
    # the official list's two CASME II exclusions, each for its own quirk, and nothing else of the 4 classes
    protocol = {e.sample_id: e.reason for e in m.excluded if e.kind == "protocol"}
    assert sorted(protocol) == ["casme2/sub04/EP12_01f", "casme2/sub05/EP09_05f"]
    assert "apex '/'" in protocol["casme2/sub04/EP12_01f"]
    assert "apex = onset" in protocol["casme2/sub05/EP09_05f"]
    assert "casme2/sub05/EP12_03f" in ids  # in the official list (an old edited sheet dropped it)
    rows = {r.sample_id: r for r in m.rows}
    assert rows["casme2/sub01/EP03_02"].apex == -1  # another '/' apex: in the list, apex unknown
    official = write_list(tmp_path / "combined_3class_gt.csv", [ListEntry(*row) for row in MEGC_LIST])
    assert compare_with_list(m.rows, read_list(official)) == {"missing": [], "extra": [], "label": []}


def test_compare_names_each_difference(tmp_path):
    build_megc2019(tmp_path / "data")
    m = load_manifest("megc2019", tmp_path / "data")
    entries = [ListEntry(*row) for row in MEGC_LIST if row[2] != "EP12_03f"]
    entries.append(ListEntry("casme2", "sub05", "EP09_05f", 0))
    entries[0] = ListEntry("casme2", "sub01", "EP02_01f", 2)  # positive in the rows
    assert compare_with_list(m.rows, entries) == {
        "missing": ["casme2/sub05/EP09_05f"],
        "extra": ["casme2/sub05/EP12_03f"],
        "label": ["casme2/sub01/EP02_01f"],
    }


@pytest.mark.parametrize(
    ("sample_id", "part", "names"),
    [
        ("casme2/sub01/EP02_01f", "casme2", ("casme2", "sub01", "EP02_01f")),
        ("smic/s1/s1_ne_01", "smic", ("smic", "s01", "s01_ne_01")),
        ("smic/s12/s12_sur_03", "smic", ("smic", "s12", "s12_sur_03")),
        ("samm/006/006_1_2", "samm", ("samm", "6", "006_1_2")),
        ("samm/011/011_2_4", "samm", ("samm", "11", "011_2_4")),
        ("sub01/EP02_01f", "synthetic", ("synthetic", "sub01", "EP02_01f")),
    ],
)
def test_list_names_and_back(sample_id, part, names):
    assert names_of_sample(sample_id, part) == names
    if part != "synthetic":
        assert sample_id_of(ListEntry(*names, 0)) == sample_id
    assert list_names("samm", "007", "007_3_1") == ("samm", "7", "007_3_1")


def test_read_list_names_the_line_and_field(tmp_path):
    bad = tmp_path / "gt.csv"
    bad.write_text("casme2,sub01,EP02_01f,1\nsmic,s01,s01_ne_01,negative\n")
    with pytest.raises(ValueError, match=r"gt.csv: line 2: label 'negative'"):
        read_list(bad)
    bad.write_text("casme1,sub01,EP02_01f,1\n")
    with pytest.raises(ValueError, match=r"line 1: dataset 'casme1'"):
        read_list(bad)
