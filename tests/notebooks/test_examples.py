"""The scientists' example notebooks run top to bottom on the sample data and get it right."""

from __future__ import annotations

import pytest


def test_quickstart_bias_levels_match_the_truth(run_notebook, sample_set):
    got = run_notebook("examples/01-quickstart.ipynb", ["bias_levels"])
    truth = sample_set.truth
    assert len(got["bias_levels"]) == len(truth["nights"]) * len(truth["chips"])
    for row in got["bias_levels"]:
        expected = truth["chips"][row["chip"]]["bias_level"][truth["nights"].index(row["night"])]
        assert row["level"] == pytest.approx(expected, abs=10)


def test_lineage_example_reaches_raw_data_and_runs_the_five_line_script(run_notebook):
    got = run_notebook("examples/02-target-processing-and-lineage.ipynb",
                       ["raw_types", "x", "y"])
    assert got["raw_types"] == ["BIAS", "DARK", "FLAT", "SCIENCE"]
    assert len(got["x"]) == len(got["y"]) >= 2 and len(set(got["y"])) == 1


def test_calibration_qc_timeline_shows_the_rejected_bias(run_notebook):
    got = run_notebook("examples/03-calibration-qc.ipynb", ["states"])
    assert {"in use", "invalid"} <= set(got["states"])


def test_group_sharing_makes_a_private_product_visible_to_the_group(run_notebook):
    got = run_notebook("examples/04-group-workspace-and-sharing.ipynb",
                       ["visible_before", "workspace_files"])
    assert got["visible_before"] is False
    assert any(name.startswith("notes-") for name in got["workspace_files"])
