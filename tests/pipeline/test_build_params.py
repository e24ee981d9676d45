"""PreprocessParams: validation, canonical JSON, hash, round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline.faces import FaceParams
from pipeline.identity import digest as params_hash
from pipeline.magnify import MagnifyParams
from pipeline.params import PreprocessParams


def test_json_is_sorted_compact_and_round_trips():
    p = PreprocessParams(faces=FaceParams(size=64), keep_raw=True, frame_set="cropped")
    text = p.to_json()
    assert " " not in text
    assert json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")) == text
    assert PreprocessParams.from_json(text) == p
    assert json.loads(text)["faces"]["size"] == 64 and json.loads(text)["keep_raw"] is True
    assert p.hash() == params_hash(p.to_dict()) and len(p.hash()) == 10


def test_hash_changes_with_every_nested_parameter():
    base = PreprocessParams()
    seen = {base.hash()}
    changed = [
        dataclasses.replace(base, keep_raw=True),
        dataclasses.replace(base, frame_set="cropped"),
        dataclasses.replace(base, faces=dataclasses.replace(base.faces, size=base.faces.size + 16)),
        dataclasses.replace(base, faces=dataclasses.replace(base.faces, margin=0.1)),
        dataclasses.replace(base, magnify=dataclasses.replace(base.magnify, alpha=base.magnify.alpha + 1)),
    ]
    for p in changed:
        seen.add(p.hash())
    assert len(seen) == len(changed) + 1
    assert PreprocessParams().hash() == base.hash()  # equal parameters, equal hash


def test_validation_names_the_parameter():
    with pytest.raises(ValueError, match="PreprocessParams.frame_set"):
        PreprocessParams(frame_set="reg")
    with pytest.raises(ValueError, match="PreprocessParams.keep_raw"):
        PreprocessParams(keep_raw="yes")
    with pytest.raises(ValueError, match="PreprocessParams.faces"):
        PreprocessParams(faces={"size": 64})
    with pytest.raises(ValueError, match=r"PreprocessParams.magnify: unknown parameter\(s\) \['bogus'\]"):
        PreprocessParams.from_dict({"magnify": {"bogus": 1}})
    with pytest.raises(ValueError, match="FaceParams.size"):
        PreprocessParams.from_dict({"faces": {"size": 4}})
    with pytest.raises(ValueError, match="invalid JSON"):
        PreprocessParams.from_json("{")


def test_magnify_params_default_is_a_dataclass():
    assert dataclasses.is_dataclass(MagnifyParams())
