"""Shared helpers of the learning figures (fig6_10 … fig6_20): reading the evaluation table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError


def read_checked_table(path: Path, fields: tuple[str, ...] | list[str], what: str, verb: str) -> dict[str, np.ndarray]:
    """Read a CSV table and check it has ``fields``.

    Raises
    ------
    HrtemError
        Naming the missing columns, ``what`` the table should be, and the ``verb`` that makes it.
    """
    from hrtem.io.tables import read_table

    t = read_table(path)
    missing = [c for c in fields if c not in t]
    if missing:
        raise HrtemError(f"{path} is not {what} (missing {', '.join(missing)}); make it with {verb}")
    return t


def read_evaluation(path: Path) -> dict[str, np.ndarray]:
    """The table written by ``hrtem learn evaluate`` (columns of hrtem.learn.evaluate.EVALUATION_COLUMNS)."""
    from hrtem.learn.evaluate import EVALUATION_COLUMNS

    t = read_checked_table(path, EVALUATION_COLUMNS, "an evaluation table", "hrtem learn evaluate")
    for c in ("kind", "sweep", "group"):
        t[c] = t[c].astype(str)
    return t


def subset(t: dict[str, np.ndarray], **where) -> dict[str, np.ndarray]:
    keep = np.ones(len(t["kind"]), bool)
    for k, v in where.items():
        col = t[k]
        keep &= np.isclose(col.astype(float), float(v), rtol=1e-6) if col.dtype.kind == "f" else (col == str(v))
    return {k: v[keep] for k, v in t.items()}


def input_of(inputs: list[Path], suffix: str, what: str) -> Path:
    for p in inputs:
        if str(p).endswith(suffix):
            return Path(p)
    raise HrtemError(f"no {what} ({suffix}) among the inputs {[str(p) for p in inputs]}")


def best_f1(rows: dict[str, np.ndarray]) -> float:
    p, r = rows["precision"], rows["recall"]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * p * r / (p + r)
    f = f[np.isfinite(f)]
    return float(f.max()) if len(f) else 0.0
