"""Fidelity claims shared by the tables tab5_1 (Au) and tab5_2 (Pt).

The acceptance of issue 9: the fitted COMB3 against the thesis's own COMB3
column: a0 within 1 %, E_coh within 2 %, C11/C12/C44 and γ(111) within 15 %,
ΔE(hcp−fcc) and ΔE(bcc−fcc) positive and in the thesis's order (hcp < bcc).
Values come from the table's CSV (column ``comb3_ours``, one row per
property). Every claim is evaluated whatever the walk's length (the note
gives the steps and the objective; the thesis walked 400 steps), so a short
default walk shows which properties it does not reach yet.
"""

from __future__ import annotations

from hrtem.figures.fidelity import Claim, FigureData

# (property label in the CSV, unit, relative tolerance, seed line of the Au row, of the Pt row)
_ROWS = (
    ("a (0 K)", "Å", 0.01, 3543, 3608),
    ("E0", "eV", 0.02, 3547, 3612),
    ("C11", "GPa", 0.15, 3551, 3616),
    ("C12", "GPa", 0.15, 3553, 3618),
    ("C44", "GPa", 0.15, 3555, 3620),
    ("gamma(111)", "J/m2", 0.15, 3571, 3636),
)
_THESIS = {
    "Au": {"a (0 K)": 4.038, "E0": -3.852, "C11": 212, "C12": 152, "C44": 48.4, "gamma(111)": 0.868},
    "Pt": {"a (0 K)": 3.93, "E0": -5.87, "C11": 351, "C12": 243, "C44": 77, "gamma(111)": 1.77},
}


def _ours(label: str):
    return lambda d: d.scalar("comb3_ours", property=label)


def _phase_order(ours: object, d: FigureData) -> bool:
    hcp = d.scalar("comb3_ours", property="dE(hcp-fcc)")
    bcc = d.scalar("comb3_ours", property="dE(bcc-fcc)")
    return 0 < hcp < bcc


def claims(element: str) -> list[Claim]:
    """CLAIMS of the table of ``element`` (``Au`` or ``Pt``)."""
    col = 3 if element == "Au" else 4
    out = [
        Claim(
            f"COMB3 {label} of {element}",
            unit,
            thesis=_THESIS[element][label],
            source=f"003 L{row[col]}",
            ours=_ours(label),
            rel_tolerance=tol,
            note=lambda d: f"{d.meta.get('steps', '?')}-step walk, objective {d.meta.get('objective', '?')}",
        )
        for row in _ROWS
        for label, unit, tol in [row[:3]]
    ]
    line = (3561, 3563) if element == "Au" else (3626, 3628)
    out.append(
        Claim(
            f"COMB3 dE(hcp-fcc) < dE(bcc-fcc) of {element}",
            "eV",
            thesis="0 < hcp < bcc",
            source=f"003 L{line[0]}",
            ours=lambda d: d.scalar("comb3_ours", property="dE(hcp-fcc)"),
            holds=_phase_order,
            criterion="0 < ΔE(hcp−fcc) < ΔE(bcc−fcc)",
            note=lambda d: f"{d.meta.get('steps', '?')}-step walk",
        )
    )
    return out
