"""Fidelity: the thesis's numbers each figure reproduces, checked on the figure's own data.

Every figure module ``hrtem.figures.<id>`` declares a module-level list
``CLAIMS`` of :class:`Claim`. A claim names a quantity, the thesis's value
with its line in the seed text, how *our* value is computed from the figure's
data file (``<id>.csv`` and/or ``<id>.zarr`` beside the PNG), and when it
holds. :func:`collect` evaluates the claims of several figures into
:class:`Row` objects; :func:`write_csv`, :func:`write_html` and
:func:`write_rst` write the table (the ``fidelity`` rule, verb
``hrtem fidelity``).

Example (in ``hrtem/figures/fig2_3.py``)::

    from hrtem.figures.fidelity import Claim

    CLAIMS = [
        Claim("Scherzer defocus", "nm", thesis=-41.25, source="003 L329",
              ours=lambda d: d.attrs["scherzer_defocus_a"] / 10, tolerance=0.05),
        Claim("radius of influence flat up to", "nm", thesis=8.0, source="003 L2195",
              ours=lambda d: ..., holds=lambda ours, d: ours >= 6,
              criterion="flat region ≥ 6 nm", at_scale=lambda d: d.attrs["n"] >= 5,
              note="..."),
    ]

``holds`` is ``yes`` when ``|ours − thesis| ≤ tolerance`` (or
``≤ rel_tolerance·|thesis|``), or when the custom ``holds(ours, data)``
returns true; ``not at this scale`` when ``at_scale(data)`` is false (the
config is too small to test the number, e.g. 3 instead of 40 MD snapshots).
"""

from __future__ import annotations

import argparse
import csv
import html
import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hrtem.errors import HrtemError

__all__ = [
    "Claim",
    "FigureData",
    "Row",
    "COLUMNS",
    "HOLDS",
    "claims_of",
    "evaluate",
    "collect",
    "write_csv",
    "write_html",
    "write_rst",
]

#: Columns of ``fidelity.csv``, in order.
COLUMNS = ("figure", "quantity", "thesis", "ours", "tolerance", "holds", "note")
#: The three values of the ``holds`` column.
HOLDS = ("yes", "no", "not at this scale")

Value = float | int | str


class FigureData:
    """Lazy access to one figure's data files in ``folder``.

    Parameters
    ----------
    figure_id
        The figure id, e.g. ``"fig2_3"``.
    folder
        The folder holding ``<id>.png`` and its data (``results/<run>/figures``).

    Attributes (all loaded on first use)
    ------------------------------------
    csv : dict[str, numpy.ndarray]
        Columns of ``<id>.csv`` (numeric columns as float arrays, empty cells NaN).
    meta : dict[str, str]
        ``# key=value`` comment lines before the CSV header.
    zarr : xarray.Dataset
        The ``<id>.zarr`` store.
    attrs : dict
        The store's attributes (``zarr.attrs``).
    """

    def __init__(self, figure_id: str, folder: str | Path):
        self.figure_id = figure_id
        self.folder = Path(folder)

    def path(self, suffix: str) -> Path:
        """``<folder>/<id><suffix>``, e.g. ``path(".csv")``."""
        return self.folder / f"{self.figure_id}{suffix}"

    @cached_property
    def _table(self) -> tuple[dict[str, Any], dict[str, str]]:
        import numpy as np

        path = self.path(".csv")
        if not path.is_file():
            raise HrtemError(f"{path} does not exist; make the figure first (snakemake {path.with_suffix('.png')})")
        meta: dict[str, str] = {}
        lines = []
        with open(path, newline="", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#"):
                    key, _, value = line[1:].partition("=")
                    meta[key.strip()] = value.strip()
                else:
                    lines.append(line)
        rows = list(csv.reader(lines))
        if not rows:
            raise HrtemError(f"{path} has no header row")
        header, body = rows[0], rows[1:]
        table: dict[str, Any] = {}
        for i, name in enumerate(header):
            vals = [r[i] if i < len(r) else "" for r in body]
            try:
                table[name.strip()] = np.array([float(v) if v.strip() else np.nan for v in vals])
            except ValueError:
                table[name.strip()] = np.array(vals, dtype=object)
        return table, meta

    @property
    def csv(self) -> dict[str, Any]:
        return self._table[0]

    @property
    def meta(self) -> dict[str, str]:
        """``# key=value`` comment lines before the CSV header (values as text)."""
        return self._table[1]

    @cached_property
    def zarr(self):
        from hrtem.io import read_dataset

        path = self.path(".zarr")
        if not path.exists():
            raise HrtemError(f"{path} does not exist; make the figure first (snakemake {path.with_suffix('.png')})")
        return read_dataset(path)

    @property
    def attrs(self) -> dict:
        return self.zarr.attrs

    def rows(self, **where: Any) -> dict[str, Any]:
        """CSV columns restricted to rows where every ``column == value`` of ``where``."""
        import numpy as np

        table = self.csv
        keep = np.ones(len(next(iter(table.values()))), dtype=bool)
        for key, value in where.items():
            if key not in table:
                raise HrtemError(f"{self.path('.csv')} has no column {key!r}")
            col = table[key]
            keep &= (col == value) if col.dtype.kind != "f" else np.isclose(col, float(value))
        return {k: v[keep] for k, v in table.items()}

    def scalar(self, column: str, **where: Any) -> float:
        """The one value of ``column`` in the rows selected by ``where`` (it must be unique)."""
        import numpy as np

        values = self.rows(**where)[column] if where else self.csv[column]
        uniq = np.unique(values)
        if len(uniq) != 1:
            raise HrtemError(f"{self.path('.csv')}: column {column!r} where {where} has {len(uniq)} values, not one")
        return float(uniq[0])


@dataclass(frozen=True)
class Claim:
    """One number (or statement) of the thesis that a figure reproduces.

    Parameters
    ----------
    quantity
        What is compared, e.g. ``"point resolution"``.
    unit
        Its unit (``""`` for dimensionless, ``"%"``...), printed beside both values.
    thesis
        The thesis's value: a number in ``unit``, or a short statement.
    source
        Where the thesis says it: seed and line, e.g. ``"003 L329"``.
    ours
        ``ours(data) -> number or str``, computed from the figure's data only
        (``data`` is a :class:`FigureData`).
    tolerance, rel_tolerance
        Absolute (in ``unit``) or relative (fraction of ``|thesis|``) tolerance;
        ``holds`` is then ``|ours − thesis| ≤ tolerance``.
    holds
        Custom criterion ``holds(ours, data) -> bool`` (for statements, bounds,
        trends); use it with ``criterion``, its text for the tolerance column.
    at_scale
        ``at_scale(data) -> bool``: false when this run's config is too small to
        test the claim; ``holds`` is then ``not at this scale``.
    criterion
        Text of the tolerance column for a custom ``holds``.
    note
        One line for the reader (conditions, why it differs); a string or
        ``note(data) -> str``.
    digits
        Significant digits when printing numbers.
    """

    quantity: str
    unit: str
    thesis: Value
    source: str
    ours: Callable[[FigureData], Value]
    tolerance: float | None = None
    rel_tolerance: float | None = None
    holds: Callable[[Value, FigureData], bool] | None = None
    at_scale: Callable[[FigureData], bool] | None = None
    criterion: str = ""
    note: str | Callable[[FigureData], str] = ""
    digits: int = 4

    def __post_init__(self) -> None:
        if self.holds is None:
            if not isinstance(self.thesis, (int, float)):
                raise HrtemError(f"claim {self.quantity!r}: a statement (thesis={self.thesis!r}) needs holds=...")
            if self.tolerance is None and self.rel_tolerance is None:
                raise HrtemError(f"claim {self.quantity!r}: give tolerance=, rel_tolerance= or holds=")
        elif not self.criterion:
            raise HrtemError(f"claim {self.quantity!r}: a custom holds= needs criterion= (its text)")

    def tolerance_text(self) -> str:
        """The tolerance column: ``± 0.05 nm``, ``± 5 %`` or the criterion."""
        if self.holds is not None:
            return self.criterion
        if self.tolerance is not None:
            return f"± {self.tolerance:g} {self.unit}".rstrip()
        return f"± {100 * self.rel_tolerance:g} %"


@dataclass(frozen=True)
class Row:
    """One evaluated claim: a row of ``fidelity.csv``."""

    figure: str
    quantity: str
    thesis: str
    ours: str
    tolerance: str
    holds: str
    note: str
    source: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in COLUMNS}


def _fmt(value: Value, unit: str, digits: int) -> str:
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (int, float)) or hasattr(value, "dtype"):
        v = float(value)
        if not math.isfinite(v):
            return "—"  # not computable (e.g. too few points at this scale)
        elif v == int(v) and abs(v) < 10**digits:
            text = str(int(v))
        else:
            text = f"{v:.{digits}g}"
        text = text.replace("-", "−")
    else:
        return str(value)
    return f"{text} {unit}" if unit else text


def claims_of(figure_id: str) -> list[Claim]:
    """The ``CLAIMS`` declared by ``hrtem.figures.<figure_id>`` (error if none)."""
    try:
        module = importlib.import_module(f"hrtem.figures.{figure_id}")
    except ModuleNotFoundError as err:
        raise HrtemError(f"no figure module hrtem.figures.{figure_id}") from err
    claims = getattr(module, "CLAIMS", None)
    if not claims:
        raise HrtemError(f"hrtem.figures.{figure_id} declares no CLAIMS; see docs/CONTRIBUTING.md (Fidelity)")
    return list(claims)


def evaluate(figure_id: str, claim: Claim, data: FigureData) -> Row:
    """Evaluate one claim on a figure's data."""
    try:
        scale_ok = True if claim.at_scale is None else bool(claim.at_scale(data))
        try:
            ours = claim.ours(data)
        except (KeyError, IndexError, ValueError, TypeError):
            if scale_ok:
                raise
            ours = "—"  # not computable from a run this small; not an error
        if not scale_ok:
            holds = HOLDS[2]
        elif claim.holds is not None:
            holds = HOLDS[0] if claim.holds(ours, data) else HOLDS[1]
        else:
            if isinstance(ours, str):
                raise HrtemError(f"ours() returned text {ours!r}; a numeric claim needs a number")
            tol = claim.tolerance if claim.tolerance is not None else claim.rel_tolerance * abs(claim.thesis)
            diff = abs(float(ours) - float(claim.thesis))
            holds = HOLDS[0] if diff <= tol * (1 + 1e-12) else HOLDS[1]
        note = claim.note(data) if callable(claim.note) else claim.note
    except HrtemError as err:
        raise HrtemError(f"fidelity of {figure_id}, {claim.quantity!r}: {err}") from err
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise HrtemError(
            f"fidelity of {figure_id}, {claim.quantity!r}: cannot compute from {data.folder}/{figure_id}.* "
            f"({type(err).__name__}: {err}); the figure's data must hold it "
            "(rerun the figure if its data predate the claim)"
        ) from err
    source = f" ({claim.source})" if claim.source else ""
    return Row(
        figure=figure_id,
        quantity=claim.quantity,
        thesis=_fmt(claim.thesis, claim.unit, claim.digits) + source,
        ours=_fmt(ours, claim.unit, claim.digits),
        tolerance=claim.tolerance_text(),
        holds=holds,
        note=note,
        source=claim.source,
    )


def collect(figure_ids: Sequence[str], folder: str | Path) -> list[Row]:
    """Evaluate every claim of every figure whose data lie in ``folder``."""
    rows: list[Row] = []
    for fid in figure_ids:
        try:
            claims = claims_of(fid)
        except HrtemError as err:  # the gap shows in the table; tests/fidelity guards it
            rows.append(Row(fid, "(no claims declared)", "", "", "", HOLDS[1], str(err)))
            continue
        data = FigureData(fid, folder)
        rows.extend(evaluate(fid, claim, data) for claim in claims)
    return rows


def write_csv(rows: Sequence[Row], path: str | Path) -> Path:
    """Write ``fidelity.csv`` (columns :data:`COLUMNS`, atomic)."""
    from hrtem.io.stores import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        for row in rows:
            w.writerow(row.as_dict())
    return Path(path)


def read_csv(path: str | Path) -> list[Row]:
    """Read a ``fidelity.csv`` back into rows."""
    with open(path, newline="") as fh:
        return [Row(**{c: r[c] for c in COLUMNS}) for r in csv.DictReader(fh)]


def summary(rows: Sequence[Row]) -> str:
    """``"12 of 20 claims hold, 3 do not, 5 not at this scale"``."""
    n = {h: sum(r.holds == h for r in rows) for h in HOLDS}
    return (f"{n['yes']} of {len(rows)} claims hold, {n['no']} do not, "
            f"{n['not at this scale']} cannot be tested at this scale")


_COLOURS = {"yes": "#d7f0d2", "no": "#f6d2d2", "not at this scale": "#eeeeee"}


def write_html(rows: Sequence[Row], path: str | Path, title: str = "Fidelity to the thesis") -> Path:
    """A self-contained HTML page of the table (for the Snakemake report)."""
    from hrtem.io.stores import atomic_path

    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = "\n".join(
        f'<tr style="background:{_COLOURS.get(r.holds, "#fff")}">'
        + "".join(f"<td>{esc(getattr(r, c))}</td>" for c in COLUMNS) + "</tr>"
        for r in rows
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse;font-size:0.9em}}
td,th{{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left}} th{{background:#ddd}}</style>
</head><body><h1>{esc(title)}</h1>
<p>{esc(summary(rows))}. Thesis values give their line in the thesis text (seed 003); ours are
computed from each figure's own data file.</p>
<table><tr>{head}</tr>
{body}
</table></body></html>
"""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return Path(path)


def _rst_cell(text: str) -> str:
    # no substitution/markup surprises inside a csv-table cell
    return text.replace("|", "/").replace("*", "×").replace("`", "'").replace('"', "'")


def write_rst(rows: Sequence[Row], path: str | Path) -> Path:
    """A reStructuredText summary with a compact table (for the report's first page)."""
    from hrtem.io.stores import atomic_path

    cols = ("figure", "quantity", "thesis", "ours", "holds")
    lines = [
        f"**Fidelity to the thesis**: {summary(rows)}. The full table, with tolerances and notes, is",
        "the first category of the results (0 Fidelity) and ``fidelity.csv``.",
        "",
        ".. csv-table::",
        "   :header: " + ", ".join(f'"{c}"' for c in cols),
        "",
    ]
    for r in rows:
        lines.append("   " + ", ".join(f'"{_rst_cell(getattr(r, c))}"' for c in cols))
    lines.append("")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines), encoding="utf-8")
    return Path(path)


def figure_order(figure_id: str) -> tuple:
    """Sort key: fig2_3 before fig2_10 before fig3_1; other ids (tab5_1, ceria_heights) after, by name."""
    import re

    m = re.fullmatch(r"fig(\d+)_(\d+)", figure_id)
    return (0, int(m.group(1)), int(m.group(2)), "") if m else (1, 0, 0, figure_id)


def _cmd(args: argparse.Namespace) -> int:
    import importlib.util

    unknown = [f for f in args.figures if not f.isidentifier() or importlib.util.find_spec(f"hrtem.figures.{f}") is None]
    if unknown:
        raise HrtemError(f"no figure {', '.join(map(repr, unknown))} in hrtem.figures; give figure ids such as fig2_3")
    rows = collect(sorted(args.figures, key=figure_order), args.dir)
    write_csv(rows, args.output)
    if args.html:
        write_html(rows, args.html)
    if args.rst:
        write_rst(rows, args.rst)
    print(summary(rows))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fidelity`` verb."""
    p = sub.add_parser("fidelity", help="check every figure's numbers against the thesis (fidelity.csv)")
    p.add_argument("figures", nargs="+", help="figure ids, e.g. fig2_3 fig4_5")
    p.add_argument("--dir", required=True, help="folder with the figures' data (results/<run>/figures)")
    p.add_argument("-o", "--output", required=True, help="output CSV (fidelity.csv)")
    p.add_argument("--html", default="", help="also write the table as an HTML page")
    p.add_argument("--rst", default="", help="also write a reStructuredText summary")
    p.set_defaults(func=_cmd)
