"""work/report.md: Table III stands only beside a like-for-like row."""

from dataclasses import replace

from model.recipes import recipe_config
from model.report import reading_lines
from model.results import RunMetrics
from model.summary import paper_comparison, write_benchmark_report

READING = {"accuracy": 0.5, "uf1": 0.4, "uar": 0.45, "fold_epochs": {"sub01": 10, "sub02": 10}}


def metrics(config, grouping="akmnet-4class", n=255, classes=4) -> RunMetrics:
    return RunMetrics(
        accuracy=0.5, uf1=0.4, uar=0.45, n_samples=n, n_subjects=26, classes=[f"c{i}" for i in range(classes)],
        per_subject={}, protocol="fixed", optimistic=False, confusion=[], per_class={}, apex_localisation={},
        fold_epochs={}, selection={"from_epoch": 10, "fixed": READING, "reference-optimistic": {**READING, "accuracy": 0.6}},
        grouping=grouping, left_out={}, init="from scratch (seed 0)", dataset="casme2", cache="c.h5",
        params_hash="p", content_hash="h", data_fingerprint="f", config=config.to_dict(),
    )  # fmt: skip


def test_table_iii_only_like_for_like():
    paper = recipe_config("paper", grouping="akmnet-4class")
    assert paper_comparison("casme2", "paper", metrics(paper)) == (0.6706, "")
    assert paper_comparison("casme2", "paper", metrics(paper, "casme2-5class", 246, 5)) == (
        None, "5 classes (casme2-5class); paper: akmnet-4class; 246 clips; paper: 255",
    )  # fmt: skip
    shrunk = replace(paper, epochs=10)
    assert paper_comparison("casme2", "paper", metrics(shrunk)) == (None, "recipe changed: epochs=10")
    default = recipe_config("default", grouping="akmnet-4class")
    assert paper_comparison("casme2", "default", metrics(default))[1] == "method default; paper: `paper`"
    assert paper_comparison("synthetic", "paper", metrics(paper)) == (None, "no Table III figure")


def test_report_rows_give_both_readings_and_why_not(tmp_path):
    paper = recipe_config("paper", grouping="akmnet-4class")
    for name, m in (("a", metrics(paper)), ("b", metrics(paper, "casme2-5class", 246, 5))):
        (tmp_path / name).mkdir()
        m.write(tmp_path / name / "metrics.json")
    rows = write_benchmark_report(
        [
            ("casme2", "paper", tmp_path / "a" / "metrics.json"),
            ("casme2", "paper", tmp_path / "b" / "metrics.json"),
        ],
        tmp_path / "report.md",
    )
    assert [r["paper_accuracy"] for r in rows] == [0.6706, None]
    text = (tmp_path / "report.md").read_text()
    assert (
        "| casme2 | paper | akmnet | akmnet-4class | 255 | 26 | 4 | 0.5000 | 0.4000 | 0.4500 | 0.6000 "
        in text
    )
    assert "| 0.6706 (255) |" in text
    assert "| - (5 classes (casme2-5class); paper: akmnet-4class; 246 clips; paper: 255) |" in text
    assert "- casme2, paper: initialised from scratch (seed 0)" in text


def test_one_fit_per_fold_has_no_optimistic_reading(tmp_path):
    """A model fitted once per fold (an SVM: one "epoch") has nothing to pick: no optimistic figures."""
    one = {**READING, "fold_epochs": {"sub01": 1, "sub02": 1}}
    m = replace(
        metrics(recipe_config("lbp-top")),
        selection={"from_epoch": 1, "fixed": one, "reference-optimistic": one},
    )
    m.write(tmp_path / "metrics.json")
    (row,) = write_benchmark_report(
        [("casme2", "lbp-top", tmp_path / "metrics.json")], tmp_path / "report.md"
    )
    assert row["one_fit"] and row["optimistic_uf1"] == 0.4  # report.json keeps the numbers
    line = next(
        t for t in (tmp_path / "report.md").read_text().splitlines() if t.startswith("| casme2 | lbp-top")
    )
    assert "| 0.5000 | 0.4000 | 0.4500 | - | - | - (one fit per fold: no epoch to pick) |" in line
    run_report = "\n".join(reading_lines(m))  # the run report's readings
    assert "no optimistic reading" in run_report and "reference-optimistic" not in run_report
