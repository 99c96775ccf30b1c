"""Column tables as CSV: one header row, equal-length columns (atomic writes).

Used for per-point strain tables, MD thermo tables and figure data.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.io.stores import atomic_path

__all__ = ["write_table", "read_table"]


def write_table(columns: Mapping[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write equal-length columns as a CSV file with a header (atomic write)."""
    names = list(columns)
    cols = [np.asarray(columns[k]) for k in names]
    n = {len(c) for c in cols}
    if len(n) > 1:
        raise ValueError(f"columns have different lengths: {dict(zip(names, map(len, cols), strict=True))}")
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(names)
            for row in zip(*cols, strict=True):
                wr.writerow([_fmt(v) for v in row])
    return Path(path)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if not np.isfinite(v) else repr(float(v))
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a CSV written by :func:`write_table` (numeric columns become float arrays)."""
    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"table {path} does not exist")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise HrtemError(f"table {path} is empty; expected a header row (e.g. x,y)")
    header, body = rows[0], rows[1:]
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(header):
        vals = [r[i] if i < len(r) else "" for r in body]
        try:
            out[name.strip()] = np.array([float(v) for v in vals])
        except ValueError:
            out[name.strip()] = np.array(vals, dtype=object)
    return out
