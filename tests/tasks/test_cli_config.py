"""Unknown keys in the toolkit's own luigi.cfg sections fail when the task is built (installed ``luigi``)."""

from __future__ import annotations

from tests.tasks.test_cli import REFUSED, luigi, output


def test_a_misspelt_config_key_fails_listing_the_known_keys(tmp_path):
    (tmp_path / "luigi.cfg").write_text("[magnify]\nalfa = 0\nf-low = 4\n\n[core]\nno_lock = true\n")
    result = luigi("BuildDatasetCache", "--workdir", str(tmp_path / "work"), cwd=tmp_path)
    text = output(result)
    assert result.returncode == REFUSED, text
    assert "[magnify] alfa: unknown key(s); known: alpha, attenuate," in text
    assert "f-low" not in text.split("unknown key(s)")[0].rsplit("[magnify]", 1)[-1]  # Luigi reads dashes too
    assert not (tmp_path / "work").exists()


def test_the_shipped_configuration_has_only_known_keys():
    import tasks  # noqa: F401 (registers the tasks; loads the shipped luigi.cfg from here)
    from tasks.configkeys import toolkit_keys, unknown_keys

    assert {"magnify", "faces", "train", "preprocess", "progress", "paths"} <= set(toolkit_keys())
    assert unknown_keys() == {}
