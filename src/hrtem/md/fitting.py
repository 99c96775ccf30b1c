"""Potential fitting by a random walk with local minimisation (thesis §5.2.1).

Objective (Eq. 5.14): E(Θ) = Σ_n ((p_n(Θ) − p̃_n)/δp_n)² over the fitted
properties. A walker repeats:

1. jump: Θ' = Θ_n + N(0, (jump·s)²) per parameter, with s = |Θ_n| (or the
   parameter's ``scale`` where Θ_n is ~0), jump = 5 %;
2. local minimisation of E from Θ' by Nelder–Mead (scipy), in coordinates
   scaled by s, at most ``nm_max_evaluations`` evaluations;
3. Metropolis acceptance, Eq. 5.15: P = min(1, exp(−(E' − E_n)/(E_n·T))),
   T = 0.014.

A failed evaluation (LAMMPS error, non-finite property) scores
:data:`FAILED_OBJECTIVE`. After every step the walker writes a JSON
checkpoint (current and best point, the numpy bit-generator state, the whole
history) and the history CSV, atomically: a killed walk resumes from the
last completed step and, evaluations being deterministic, continues exactly
as if it had not stopped. Walker 0 starts at the initial parameters, walker
k > 0 at a Gaussian perturbation of them (``start_spread``), drawn from
``hrtem.seeding.rng(seed, "fit", name, "start", k)``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from hrtem.errors import HrtemError
from hrtem.io.stores import atomic_path
from hrtem.io.tables import write_table
from hrtem.seeding import rng

__all__ = [
    "FAILED_OBJECTIVE",
    "Target",
    "WalkSettings",
    "WalkResult",
    "objective",
    "random_walk",
    "read_targets",
    "gauss_newton",
]

#: objective of an evaluation that failed
FAILED_OBJECTIVE = 1e12


@dataclass(frozen=True)
class Target:
    """One property of the training set.

    Attributes
    ----------
    key
        Property name as returned by the evaluator (e.g. ``a0_A``).
    value
        Target p̃.
    delta
        Target accuracy δp (same unit as the value).
    fitted
        Included in the objective (starred in the thesis's tables); check
        rows are only reported.
    """

    key: str
    value: float
    delta: float
    fitted: bool = True


def read_targets(
    path: str | os.PathLike | None = None, table: str | None = None, system: str | None = None
) -> list[dict[str, Any]]:
    """Rows of a target table CSV (default: the package's ``comb3_targets.csv``).

    Numeric columns are floats (empty → nan); ``fitted`` is a bool.
    """
    import csv  # noqa: PLC0415

    if path is None:
        from importlib import resources  # noqa: PLC0415

        text = (resources.files("hrtem") / "data" / "comb3_targets.csv").read_text()
    else:
        p = Path(path)
        if not p.is_file():
            raise HrtemError(f"target table {p} does not exist (give potentials.targets_file)")
        text = p.read_text()
    rows = list(csv.DictReader(text.splitlines()))
    out = []
    for r in rows:
        if table and r["table"] != table:
            continue
        if system and r["system"] != system:
            continue
        row: dict[str, Any] = dict(r)
        for k in ("target", "eam_thesis", "reaxff_thesis", "comb3_thesis", "delta"):
            row[k] = float(r[k]) if r.get(k, "").strip() else float("nan")
        row["fitted"] = r["fitted"].strip() in ("1", "true", "True", "*")
        out.append(row)
    return out


def objective(properties: Mapping[str, float], targets: Sequence[Target]) -> float:
    """E = Σ ((p − p̃)/δp)² over fitted targets; :data:`FAILED_OBJECTIVE` if any is missing or not finite."""
    total = 0.0
    for t in targets:
        if not t.fitted:
            continue
        p = properties.get(t.key, float("nan"))
        if p is None or not math.isfinite(p):
            return FAILED_OBJECTIVE
        total += ((p - t.value) / t.delta) ** 2
    return min(total, FAILED_OBJECTIVE)


@dataclass(frozen=True)
class WalkSettings:
    """Random-walk settings (defaults: thesis §5.3 except the step count).

    Attributes
    ----------
    steps
        Random-walk steps (thesis: 400 for the metals, ~100 for cross terms).
    jump
        Relative standard deviation of a jump (thesis: 5 %).
    temperature
        Fictitious temperature T of Eq. 5.15 (thesis: 0.014).
    nm_max_evaluations
        Evaluation budget of each Nelder–Mead minimisation.
    nm_tolerance
        Nelder–Mead ``xatol`` (scaled parameters) and ``fatol`` (relative to E).
    start_spread
        Relative spread of the starting points of walkers k > 0.
    polish_evaluations
        Nelder–Mead evaluations spent on the starting point itself before
        the first jump (0 = none, the thesis's walk). A start far from a
        local minimum otherwise costs many rejected steps: with 8 free
        parameters and 24 evaluations per step, Nelder–Mead cannot even
        return to the start's objective after a 5 % jump (measured on Pt:
        start 31.5, first two trials 39.2 and 61.2, both rejected).
    polish_method
        ``nelder-mead`` (default) or ``gauss-newton`` (:func:`gauss_newton`,
        a damped Gauss–Newton polish; far fewer evaluations on the cross
        terms' few residuals). Neither polish is in the thesis.
    """

    steps: int = 4
    jump: float = 0.05
    temperature: float = 0.014
    nm_max_evaluations: int = 30
    nm_tolerance: float = 1e-4
    start_spread: float = 0.05
    polish_evaluations: int = 0
    polish_method: str = "nelder-mead"


@dataclass
class WalkResult:
    """Outcome of a walk (also the content of the checkpoint)."""

    names: list[str]
    x_current: list[float]
    e_current: float
    x_best: list[float]
    e_best: float
    step: int
    evaluations: int
    rng_state: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WalkResult:
        d = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def _evaluate(
    func: Callable[[np.ndarray], Mapping[str, float]], x: np.ndarray, targets: Sequence[Target]
) -> tuple[float, dict[str, float]]:
    try:
        props = dict(func(np.asarray(x, float)))
    except (HrtemError, ArithmeticError, ValueError, RuntimeError) as err:
        return FAILED_OBJECTIVE, {"error": str(err)[:200]}  # type: ignore[dict-item]
    return objective(props, targets), props


def random_walk(
    func: Callable[[np.ndarray], Mapping[str, float]],
    x0: Sequence[float],
    names: Sequence[str],
    targets: Sequence[Target],
    settings: WalkSettings,
    *,
    seed: int = 0,
    name: str = "fit",
    walker: int = 0,
    scales: Sequence[float] | None = None,
    checkpoint: str | os.PathLike | None = None,
    history_csv: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = None,
) -> WalkResult:
    """Run (or resume) one walker.

    Parameters
    ----------
    func
        Parameters → properties (a mapping containing every target key).
    x0
        Initial parameters (walker 0 starts here).
    names
        Parameter names (history columns).
    targets
        Training set.
    settings
        See :class:`WalkSettings`.
    seed, name, walker
        Random streams: ``rng(seed, "fit", name, "walk", walker)`` for jumps
        and acceptance.
    scales
        Typical magnitude of each parameter, used for the jump and the
        Nelder–Mead scaling where a parameter is ~0; default: the absolute
        initial value (1 where that is 0).
    checkpoint
        JSON file written after every step; if it exists the walk resumes.
    history_csv
        History table written after every step (one row per step).
    log
        Called with a one-line message per step.
    """
    x0 = np.asarray(x0, float)
    n = len(x0)
    if len(names) != n:
        raise HrtemError(f"{len(names)} parameter names for {n} parameters")
    scale0 = np.where(np.abs(x0) > 0, np.abs(x0), 1.0) if scales is None else np.asarray(scales, float)
    ckpt = Path(checkpoint) if checkpoint else None
    t_start = time.perf_counter()
    c_start = time.process_time()
    gen = rng(seed, "fit", name, "walk", walker)
    if ckpt is not None and ckpt.is_file():
        res = WalkResult.from_json(ckpt.read_text())
        if res.names != list(names):
            raise HrtemError(f"checkpoint {ckpt} is for parameters {res.names}, not {list(names)}; delete it")
        gen.bit_generator.state = res.rng_state
    else:
        start = x0.copy()
        if walker > 0:
            g0 = rng(seed, "fit", name, "start", walker)
            start = x0 + settings.start_spread * scale0 * g0.standard_normal(n)
        e0, props0 = _evaluate(func, start, targets)
        n_eval = 1
        if settings.polish_evaluations > 0 and e0 < FAILED_OBJECTIVE:
            polish = {"nelder-mead": _nelder_mead, "gauss-newton": gauss_newton}.get(settings.polish_method)
            if polish is None:
                raise HrtemError(f"polish_method must be nelder-mead or gauss-newton, not {settings.polish_method!r}")
            start, e0, props0, used = polish(
                func, start, e0, targets, np.where(np.abs(start) > 0, np.abs(start), scale0),
                settings.polish_evaluations, settings.nm_tolerance, props0,
            )
            n_eval += used
        res = WalkResult(
            names=list(names),
            x_current=start.tolist(),
            e_current=e0,
            x_best=start.tolist(),
            e_best=e0,
            step=0,
            evaluations=n_eval,
            rng_state=gen.bit_generator.state,
            history=[_row(0, start, e0, e0, True, e0, n_eval, props0, names)],
            seconds=time.perf_counter() - t_start,
            cpu_seconds=time.process_time() - c_start,
        )
        t_start, c_start = time.perf_counter(), time.process_time()
        _save(res, ckpt, history_csv)
    while res.step < settings.steps:
        x = np.asarray(res.x_current)
        s = np.where(np.abs(x) > 1e-12 * scale0, np.abs(x), scale0)
        trial = x + settings.jump * s * gen.standard_normal(n)
        e_trial, _ = _evaluate(func, trial, targets)
        count = [1]

        def scaled(u: np.ndarray, s=s) -> float:
            count[0] += 1
            return _evaluate(func, u * s, targets)[0]

        if settings.nm_max_evaluations > 0:
            opt = minimize(
                scaled,
                trial / s,
                method="Nelder-Mead",
                options={
                    "maxfev": settings.nm_max_evaluations,
                    "xatol": settings.nm_tolerance,
                    "fatol": settings.nm_tolerance * max(res.e_current, 1e-12),
                    "adaptive": n > 4,
                },
            )
            x_new = np.asarray(opt.x) * s
        else:
            x_new = trial
        e_new, props = _evaluate(func, x_new, targets)
        count[0] += 1
        e_cur = max(res.e_current, 1e-300)
        p_acc = 1.0 if e_new <= res.e_current else math.exp(-(e_new - res.e_current) / (e_cur * settings.temperature))
        accepted = bool(gen.random() < p_acc)
        res.step += 1
        res.evaluations += count[0]
        if accepted:
            res.x_current, res.e_current = x_new.tolist(), e_new
        if e_new < res.e_best:
            res.x_best, res.e_best = x_new.tolist(), e_new
        res.rng_state = gen.bit_generator.state
        res.history.append(_row(res.step, x_new, e_trial, e_new, accepted, res.e_current, count[0], props, names))
        res.seconds += time.perf_counter() - t_start
        res.cpu_seconds += time.process_time() - c_start
        t_start, c_start = time.perf_counter(), time.process_time()
        _save(res, ckpt, history_csv)
        if log:
            log(
                f"{name} walker {walker} step {res.step}/{settings.steps}: E' = {e_new:.6g} "
                f"({'accepted' if accepted else 'rejected'}), E = {res.e_current:.6g}, best {res.e_best:.6g}"
            )
    return res


def _nelder_mead(
    func: Callable[[np.ndarray], Mapping[str, float]],
    x: np.ndarray,
    e_x: float,
    targets: Sequence[Target],
    s: np.ndarray,
    budget: int,
    tol: float,
    props_x: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, float, dict[str, float], int]:
    """Nelder–Mead from ``x`` in coordinates scaled by ``s``; the better of start and end, its properties, evaluations.

    ``props_x`` (the properties at ``x``, if the caller has them) spares
    re-evaluating the start when the end is worse.
    """
    count = [0]
    u0 = x / s

    def scaled(u: np.ndarray) -> float:
        if np.array_equal(u, u0):  # the simplex's first vertex: the caller's start, already evaluated
            return e_x
        count[0] += 1
        return _evaluate(func, u * s, targets)[0]

    opt = minimize(
        scaled, u0, method="Nelder-Mead",
        options={"maxfev": budget, "xatol": tol, "fatol": tol * max(e_x, 1e-12), "adaptive": len(x) > 4},
    )  # fmt: skip
    x_new = np.asarray(opt.x) * s
    e_new, props = _evaluate(func, x_new, targets)
    if e_new <= e_x:
        return x_new, e_new, props, count[0] + 1
    if props_x is not None:
        return np.asarray(x, float), e_x, dict(props_x), count[0] + 1
    e_x, props = _evaluate(func, x, targets)
    return np.asarray(x, float), e_x, props, count[0] + 2


def gauss_newton(
    func: Callable[[np.ndarray], Mapping[str, float]],
    x: np.ndarray,
    e_x: float,
    targets: Sequence[Target],
    s: np.ndarray,
    budget: int,
    tol: float,
    props_x: Mapping[str, float] | None = None,
    rel_step: float = 0.03,
    max_change: float = 0.3,
) -> tuple[np.ndarray, float, dict[str, float], int]:
    """Damped Gauss–Newton (Levenberg–Marquardt) polish of the objective from ``x``.

    Not the thesis's method: an addition of this pipeline for expensive
    problems with few residuals (cross terms: 10–35 s per evaluation). Each
    iteration takes a forward-difference Jacobian of the weighted residuals
    r_n = (p_n − p̃_n)/δp_n (steps ``rel_step`` × ``s``), then tries the damped
    steps (JᵀJ + μ diag JᵀJ) δ = −Jᵀr for μ = 0.01, 0.1, 1 (each coordinate
    change clipped to ``max_change`` × ``s``) and moves to the first that
    lowers E. Stops after ``budget`` evaluations, when no damping helps, or
    when E improves by less than ``tol`` relatively. ``props_x`` (the
    properties at ``x``, if the caller has them) spares evaluating the start
    again (one evaluation: 10–35 s for a cross term).

    Returns
    -------
    tuple
        Best point, its objective, its properties and the evaluations used.
    """
    fitted = [t for t in targets if t.fitted]
    count = [0]

    def resid(u: np.ndarray) -> tuple[np.ndarray | None, dict[str, float]]:
        count[0] += 1
        e, props = _evaluate(func, u, targets)
        if e >= FAILED_OBJECTIVE:
            return None, props
        return np.array([(props[t.key] - t.value) / t.delta for t in fitted]), props

    x = np.asarray(x, float)
    if props_x is not None and e_x < FAILED_OBJECTIVE:
        props = dict(props_x)
        r = np.array([(props[t.key] - t.value) / t.delta for t in fitted])
    else:
        r, props = resid(x)
    if r is None:
        return x, e_x, props, count[0]
    e = float(r @ r)
    while count[0] + len(x) + 1 <= budget:
        jac = np.zeros((len(r), len(x)))
        for j in range(len(x)):
            u = x.copy()
            u[j] += rel_step * s[j]
            rj, _ = resid(u)
            jac[:, j] = 0.0 if rj is None else (rj - r) / rel_step
        jtj = jac.T @ jac
        moved = False
        for mu in (0.01, 0.1, 1.0):
            if count[0] >= budget:
                break
            d = -np.linalg.solve(jtj + mu * np.diag(np.diag(jtj) + 1e-12), jac.T @ r)
            u = x + np.clip(d, -max_change, max_change) * s
            rn, pn = resid(u)
            if rn is not None and float(rn @ rn) < e:
                gain = (e - float(rn @ rn)) / max(e, 1e-300)
                x, r, props, e, moved = u, rn, pn, float(rn @ rn), True
                break
        if not moved or gain < tol:
            break
    return x, objective(props, targets), props, count[0]


def _row(
    step: int,
    x: np.ndarray,
    e_trial: float,
    e_new: float,
    accepted: bool,
    e_current: float,
    evaluations: int,
    props: Mapping[str, Any],
    names: Sequence[str],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "step": step,
        "objective_jump": float(e_trial),
        "objective": float(e_new),
        "accepted": int(accepted),
        "objective_current": float(e_current),
        "evaluations": int(evaluations),
    }
    row.update({f"param_{k}": float(v) for k, v in zip(names, x)})
    row.update({f"prop_{k}": float(v) for k, v in props.items() if isinstance(v, (int, float))})
    return row


def _save(res: WalkResult, ckpt: Path | None, history_csv: str | os.PathLike | None) -> None:
    if ckpt is not None:
        with atomic_path(ckpt) as tmp:
            tmp.write_text(res.to_json())
    if history_csv is not None:
        keys: list[str] = []
        for r in res.history:
            keys += [k for k in r if k not in keys]
        cols = {k: np.array([r.get(k, float("nan")) for r in res.history]) for k in keys}
        write_table(cols, history_csv)
