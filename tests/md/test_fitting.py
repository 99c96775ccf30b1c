"""The random-walk fitter: a synthetic problem is recovered; a killed walk resumes exactly."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.md.fitting import FAILED_OBJECTIVE, Target, WalkSettings, objective, random_walk, read_targets

TRUE = np.array([2.0, 0.5, 1.5])
NAMES = ["a", "b", "c"]


def model(x: np.ndarray) -> dict[str, float]:
    a, b, c = x
    if a <= 0:
        raise HrtemError("a must be positive")  # a failed evaluation
    return {"p1": a * b, "p2": b / c, "p3": a + c**2, "p4": np.exp(-c) * a, "p5": a * b * c}


TARGETS = [Target(k, v, 0.01 * abs(v), fitted=k != "p5") for k, v in model(TRUE).items()]


def test_objective_counts_fitted_rows_and_fails_huge():
    assert objective(model(TRUE), TARGETS) == 0.0
    p = model(TRUE)
    p["p1"] *= 1.01
    assert objective(p, TARGETS) == pytest.approx(1.0)
    p["p5"] = 99.0  # a check row does not count
    assert objective(p, TARGETS) == pytest.approx(1.0)
    p["p2"] = float("nan")
    assert objective(p, TARGETS) == FAILED_OBJECTIVE


def test_synthetic_problem_is_recovered(tmp_path):
    x0 = TRUE * np.array([1.15, 0.88, 1.1])
    res = random_walk(
        model, x0, NAMES, TARGETS, WalkSettings(steps=6, nm_max_evaluations=300, nm_tolerance=1e-8), seed=1
    )
    assert res.history[0]["objective"] > 100
    assert res.e_best < 1e-3
    assert np.allclose(res.x_best, TRUE, rtol=1e-3)
    assert len(res.history) == 7 and res.evaluations > 6


def test_polished_start_is_minimised_before_the_first_jump():
    x0 = TRUE * np.array([1.15, 0.88, 1.1])
    plain = random_walk(model, x0, NAMES, TARGETS, WalkSettings(steps=0))
    res = random_walk(model, x0, NAMES, TARGETS, WalkSettings(steps=0, polish_evaluations=200))
    assert plain.e_current > 100 and plain.evaluations == 1
    assert res.e_current < 0.01 * plain.e_current
    assert res.history[0]["evaluations"] == res.evaluations > 20
    assert np.allclose(res.x_current, TRUE, rtol=1e-3)
    assert res.x_current == res.x_best and res.step == 0


def test_failed_evaluations_score_huge():
    res = random_walk(model, [-1.0, 0.5, 1.5], NAMES, TARGETS, WalkSettings(steps=0))
    assert res.e_current == FAILED_OBJECTIVE


@pytest.mark.parametrize("walker", [0, 2])
def test_killed_walk_resumes_exactly(tmp_path, walker):
    settings = WalkSettings(steps=5, nm_max_evaluations=25)
    x0 = TRUE * 1.2
    ref = random_walk(model, x0, NAMES, TARGETS, settings, seed=3, walker=walker)

    calls = [0]

    def dying(x):
        calls[0] += 1
        if calls[0] == 70:  # in the middle of step 3's Nelder–Mead
            raise KeyboardInterrupt
        return model(x)

    ck, hist = tmp_path / "w.json", tmp_path / "w.csv"
    with pytest.raises(KeyboardInterrupt):
        random_walk(dying, x0, NAMES, TARGETS, settings, seed=3, walker=walker, checkpoint=ck, history_csv=hist)
    done = len(__import__("json").loads(ck.read_text())["history"]) - 1
    assert 0 < done < 5
    res = random_walk(model, x0, NAMES, TARGETS, settings, seed=3, walker=walker, checkpoint=ck, history_csv=hist)
    assert res.history == ref.history
    assert res.x_best == ref.x_best and res.evaluations == ref.evaluations
    assert hist.read_text().count("\n") == 7  # header + steps 0..5
    # walkers start at different points
    if walker:
        assert res.history[0]["param_a"] != pytest.approx(x0[0])


def test_package_targets_table():
    rows = read_targets(table="tab5_2")
    keys = {r["key"]: r for r in rows}
    assert keys["a0_A"]["target"] == 3.91 and keys["a0_A"]["comb3_thesis"] == 3.93 and keys["a0_A"]["fitted"]
    assert not keys["dE_sc_eV"]["fitted"]
    assert sum(r["fitted"] for r in rows) == 10  # the ten starred rows of Table 5.2
    assert len(read_targets(table="tab5_1")) == 16
    assert {r["table"] for r in read_targets()} == {f"tab5_{i}" for i in range(1, 8)}


def test_gauss_newton_polish_recovers_the_synthetic_problem_cheaply():
    """The damped Gauss-Newton polish reaches the minimum in far fewer evaluations than Nelder-Mead."""
    x0 = TRUE * np.array([1.15, 0.88, 1.1])
    gn = random_walk(model, x0, NAMES, TARGETS, WalkSettings(steps=0, polish_evaluations=40, polish_method="gauss-newton"))
    nm = random_walk(model, x0, NAMES, TARGETS, WalkSettings(steps=0, polish_evaluations=40))
    assert gn.history[0]["evaluations"] <= 41
    assert gn.e_current < 1e-4 < nm.e_current
    assert np.allclose(gn.x_current, TRUE, rtol=1e-3)
    with pytest.raises(HrtemError, match="polish_method"):
        random_walk(model, x0, NAMES, TARGETS, WalkSettings(steps=0, polish_evaluations=5, polish_method="bfgs"))


@pytest.mark.parametrize("method", ["gauss-newton", "nelder-mead"])
def test_polish_evaluates_the_start_point_once(method):
    """The walk passes the start's properties to the polish, so no evaluation is repeated there."""
    x0 = TRUE * np.array([1.15, 0.88, 1.1])
    seen: list[tuple[float, ...]] = []

    def counted(x: np.ndarray) -> dict[str, float]:
        seen.append(tuple(np.asarray(x, float)))
        return model(x)

    res = random_walk(counted, x0, NAMES, TARGETS, WalkSettings(steps=0, polish_evaluations=12, polish_method=method))
    assert seen.count(tuple(x0)) == 1
    assert res.evaluations == len(seen)
