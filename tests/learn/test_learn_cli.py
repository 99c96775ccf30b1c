"""`hrtem learn exit-waves / train / evaluate` end to end on a tiny sheet (the verbs the rules call)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")


@pytest.mark.slow
def test_learn_verbs_end_to_end(tmp_path):
    from hrtem.cli import main
    from hrtem.io.tables import read_table
    from hrtem.learn.train import read_history, read_model_info

    params = {
        "simulate": {"sampling_a": 0.1},
        "learn": {
            "data": {"crop_px": 32, "sampling_a": 0.2},
            "network": {"width": 2, "depth": 1},
            "train": {"steps": 3, "batch": 2, "crop_px": 16, "checkpoint_every": 2, "log_every": 1,
                      "validate_every": 3, "validation_images": 1, "threads": 1},
            "postprocess": {"mode": "peaks", "threshold": 0.5},
            "evaluation": {"cell_cells": [2, 4], "ideal_structures": 1, "realisations": 1,
                           "doses_e_per_a2": [1000], "pr_doses_e_per_a2": [1000], "defoci_a": [84],
                           "thresholds": [0.1, 0.9]},
        },
    }
    p = json.dumps(params)
    waves = tmp_path / "ideal.zarr"
    assert main(["learn", "exit-waves", "ideal", "-o", str(waves), "--params", p, "--seed", "1"]) == 0
    model = tmp_path / "m.keras"
    hist = tmp_path / "h.csv"
    assert main(["learn", "train", str(waves), "-o", str(model), "--history", str(hist),
                 "--workdir", str(tmp_path / "ck"), "--params", p, "--seed", "1", "-q"]) == 0
    info = read_model_info(model)
    assert info["sampling_a"] == 0.2 and info["n_classes"] == 1 and info["steps"] == 3
    rows = read_history(hist)
    assert [r["step"] for r in rows] == [1, 2, 3] and rows[-1]["recall"] is not None
    out = tmp_path / "e.csv"
    assert main(["learn", "evaluate", str(model), "--set", f"ideal={waves}", "-o", str(out), "--params", p, "--seed", "1", "-q"]) == 0
    t = read_table(out)
    # two sweeps (dose, defocus) x thresholds {0.1, 0.5, 0.9} x groups x kinds (ideal, all)
    assert set(t["sweep"]) == {"dose", "defocus"} and set(t["threshold"]) == {0.1, 0.5, 0.9}
    # every true atom is ideal on the ideal sheet: the defect group is empty
    defect = t["group"] == "defect"
    assert np.all(t["tp"][~defect] + t["fn"][~defect] > 0)
    assert np.all(t["tp"][defect] + t["fn"][defect] == 0)
