"""COMB3 cross terms metal–O and metal–metal (thesis §5.3, stage 2; Tables 5.3–5.7).

The training set of a pair (Pt–O, Pt–Zr, Pt–Ti, Au–O, Au–Ti) is the
formation energy per atom of prototype crystal structures (Eq. 5.17; the O
reference is half the relaxed O2 molecule, Eq. 5.18; metals are referred to
their own relaxed ground state: fcc Pt/Au, hcp Zr/Ti) plus, for metal–O, the
O adsorption energy on fcc(111) hollows at a coverage (Eq. 5.19, as an energy
change: negative = bound; against O2/2 for Pt, Table 5.4, against the free O
atom for Au, Table 5.3). Every structure is relaxed (positions and cell) with
the charge solve ``fix qeq/comb``.

Prototypes are built here with ASE (:data:`PROTOTYPES`). Rows of the
thesis's tables whose prototype is not built (BaSi2, Ni3Ti, TiI, Pt8Ti, AuCd,
CuTi, Au2Ti, Au2O3, Ag2F, Pt3O4, Mn5Si3) are reported as not computed; they
are left out of the objective. "PtO-rutile" of Table 5.4 is computed as PtO2
in the rutile structure (rutile is an AB2 prototype).

Free parameters are the pair terms shared by the entries M-X-X and X-M-M
(:data:`PAIR_GROUPS`): A_r0, B_r0 (prefactors × e^(−decay·r_MX), anchored
at the pair's bond length as for the pure metals), lambda, alpha and beta.
Metal–metal pairs start from the mixing rules (as the thesis, ref. [95]),
metal–O from the template's pair (Cu–O). One three-body group can be freed
too (:data:`TRIPLET_GROUPS`, the thesis fits "the binary parameters"):
``pcos0_MXM``, which sets how much a metal atom's metal neighbours weaken
its bond to X; pair terms alone move every metal–O row the same way, and
could not bind O on Pt(111) while keeping the oxides (issue 9).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal

from hrtem.errors import HrtemError
from hrtem.md.comb3_params import Comb3Parameters, field_index
from hrtem.md.properties import PropertyCalculator
from hrtem.md.settings import Potential

__all__ = [
    "BOND_A",
    "CROSS_TABLES",
    "PAIR_GROUPS",
    "TRIPLET_GROUPS",
    "PROTOTYPES",
    "CrossProblem",
    "build",
    "prototype_of",
]

#: target table of each pair (thesis Tables 5.3–5.7)
CROSS_TABLES = {
    ("Au", "O"): "tab5_3",
    ("Pt", "O"): "tab5_4",
    ("Pt", "Ti"): "tab5_5",
    ("Pt", "Zr"): "tab5_6",
    ("Au", "Ti"): "tab5_7",
}

#: M–X bond length guesses (Å) that size the prototypes before relaxation
BOND_A = {("Pt", "O"): 2.02, ("Au", "O"): 2.05, ("Pt", "Zr"): 2.85, ("Pt", "Ti"): 2.72, ("Au", "Ti"): 2.80}

#: free pair groups: fields of both entries M-X-X and X-M-M
PAIR_GROUPS: dict[str, tuple[str, ...]] = {
    "A_r0": ("bigA",),
    "B_r0": ("bigB1",),
    "lambda": ("lambda",),
    "alpha": ("alpha1",),
    "beta": ("beta",),
}
_ANCHOR = {"A_r0": "lambda", "B_r0": "alpha1"}
#: free three-body groups: field of the triplet entry (M, X, M), the metal's bond to X
#: with metal neighbours. pcos0_MXM is the constant of the angular polynomial of that
#: bond's bond order: it weakens the M-X bond of a metal atom in proportion to its metal
#: neighbours, i.e. it tells an adsorbate on a metal surface (9 metal neighbours per
#: surface atom) from the oxides (few or none). Measured on the shipped Pt set:
#: pcos0 x0.5 moves O adsorption (0.25 ML vs O2) from +0.60 to -0.22 eV while PtO-PdO
#: goes from -0.31 to -0.48 eV/atom (pair terms then restore the oxides).
TRIPLET_GROUPS: dict[str, str] = {"pcos0_MXM": "pcos0"}


# ------------------------------------------------------------------ prototypes
def _cscl(a: str, b: str, d: float) -> Atoms:
    c = 2 * d / math.sqrt(3)
    return Atoms([a, b], scaled_positions=[(0, 0, 0), (0.5, 0.5, 0.5)], cell=[c] * 3, pbc=True)


def _nacl(a: str, b: str, d: float) -> Atoms:
    return bulk(a + b, "rocksalt", a=2 * d, cubic=True)


def _fluorite(a: str, b: str, d: float) -> Atoms:
    """AB2 with A on the fcc sites and B in all tetrahedral holes (CaF2; anti-fluorite when A is the anion)."""
    return crystal([a, b], basis=[(0, 0, 0), (0.25, 0.25, 0.25)], spacegroup=225,
                   cellpar=[4 * d / math.sqrt(3)] * 3 + [90] * 3)  # fmt: skip


def _l12(a: str, b: str, d: float) -> Atoms:
    """A3B (AuCu3 type): B at the cube corner, A on the face centres."""
    c = math.sqrt(2) * d
    pos = [(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)]
    return Atoms([b, a, a, a], scaled_positions=pos, cell=[c] * 3, pbc=True)


def _cuprite(a: str, b: str, d: float) -> Atoms:
    """A2B (Cu2O type): B on a bcc lattice, A between pairs of B."""
    return crystal([b, a], basis=[(0.25, 0.25, 0.25), (0, 0, 0)], spacegroup=224,
                   cellpar=[4 * d / math.sqrt(3)] * 3 + [90] * 3, setting=2)  # fmt: skip


def _rutile(a: str, b: str, d: float) -> Atoms:
    s = d / 1.95  # TiO2: Ti–O 1.95 Å, a 4.59 Å, c 2.96 Å, u 0.305
    return crystal([a, b], basis=[(0, 0, 0), (0.305, 0.305, 0)], spacegroup=136,
                   cellpar=[4.59 * s, 4.59 * s, 2.96 * s, 90, 90, 90])  # fmt: skip


def _cacl2(a: str, b: str, d: float) -> Atoms:
    """Orthorhombically distorted rutile (Pnnm; β-PtO2-like start)."""
    s = d / 2.0
    return crystal([a, b], basis=[(0, 0, 0), (0.28, 0.33, 0)], spacegroup=58,
                   cellpar=[4.48 * s, 4.54 * s, 3.14 * s, 90, 90, 90])  # fmt: skip


def _pdo(a: str, b: str, d: float) -> Atoms:
    """PdO type (P4_2/mmc): square-planar metal."""
    s = d / 2.02
    return crystal([a, b], basis=[(0, 0.5, 0), (0, 0, 0.25)], spacegroup=131,
                   cellpar=[3.04 * s, 3.04 * s, 5.33 * s, 90, 90, 90])  # fmt: skip


def _a15(a: str, b: str, d: float) -> Atoms:
    """A3B (Cr3Si type): B on bcc sites, A in chains on the cube faces."""
    return crystal([b, a], basis=[(0, 0, 0), (0.25, 0, 0.5)], spacegroup=223,
                   cellpar=[4 * d / math.sqrt(5)] * 3 + [90] * 3)  # fmt: skip


Builder = Callable[[str, str, float], Atoms]

#: target key -> (builder, first element, second element); M = the metal, X = O/Zr/Ti
PROTOTYPES: dict[str, tuple[Builder, str, str]] = {
    # Pt–O (Table 5.4)
    "Ef_PtO2_CaCl2": (_cacl2, "M", "X"),
    "Ef_PtO_PdO": (_pdo, "M", "X"),
    "Ef_Pt2O_Cu2O": (_cuprite, "M", "X"),
    "Ef_PtO_NaCl": (_nacl, "M", "X"),
    "Ef_PtO2_CaF2": (_fluorite, "M", "X"),
    "Ef_PtO_CsCl": (_cscl, "M", "X"),
    "Ef_PtO_rutile": (_rutile, "M", "X"),
    # Au–O (Table 5.3)
    "Ef_AuO2_CaF2": (_fluorite, "M", "X"),
    "Ef_Au2O_CaF2": (_fluorite, "X", "M"),
    "Ef_AuO_NaCl": (_nacl, "M", "X"),
    "Ef_AuO2_CaCl2": (_cacl2, "M", "X"),
    "Ef_AuO_CsCl": (_cscl, "M", "X"),
    # Pt–Ti (Table 5.5), Pt–Zr (Table 5.6)
    "Ef_PtTi2_CaF2": (_fluorite, "M", "X"),
    "Ef_PtTi_CsCl": (_cscl, "M", "X"),
    "Ef_TiPt3_AuCu3": (_l12, "M", "X"),
    "Ef_PtTi_NaCl": (_nacl, "M", "X"),
    "Ef_PtTi3_AuCu3": (_l12, "X", "M"),
    "Ef_TiPt2_CaF2": (_fluorite, "X", "M"),
    "Ef_PtZr2_CaF2": (_fluorite, "M", "X"),
    "Ef_PtZr_CsCl": (_cscl, "M", "X"),
    "Ef_ZrPt3_AuCu3": (_l12, "M", "X"),
    "Ef_PtZr_NaCl": (_nacl, "M", "X"),
    "Ef_PtZr3_AuCu3": (_l12, "X", "M"),
    # Au–Ti (Table 5.7)
    "Ef_AuTi_CsCl": (_cscl, "M", "X"),
    "Ef_AuTi2_CaF2": (_fluorite, "M", "X"),
    "Ef_TiAu3_AuCu3": (_l12, "M", "X"),
    "Ef_AuTi_NaCl": (_nacl, "M", "X"),
    "Ef_Ti3Au_Cr3Si": (_a15, "X", "M"),
    "Ef_AuTi3_AuCu3": (_l12, "X", "M"),
}

#: O adsorption rows: key -> (coverage in ML, reference "O2" or "O")
ADSORPTION = {
    **{f"Ead_O2_{c}ML": (float(c), "O2") for c in ("0.25", "0.5", "0.75", "1")},
    **{f"Ead_O_{c}ML": (float(c), "O") for c in ("0.25", "0.5", "0.75", "1")},
}


def prototype_of(key: str) -> tuple[Builder, str, str] | None:
    """The builder of a target key (``None`` where the prototype is not built here)."""
    return PROTOTYPES.get(key)


def build(key: str, metal: str, other: str, bond_A: float | None = None) -> Atoms:
    """The prototype structure of target ``key`` for the pair (metal, other), sized by the bond length."""
    spec = prototype_of(key)
    if spec is None:
        raise HrtemError(f"no prototype structure for {key!r} (built: {', '.join(PROTOTYPES)})")
    fn, first, second = spec
    names = {"M": metal, "X": other}
    d = bond_A or BOND_A.get((metal, other), 2.5)
    return fn(names[first], names[second], d)


# ------------------------------------------------------------------ problem
_GROUND = {"Pt": "fcc", "Au": "fcc", "Cu": "fcc", "Zr": "hcp", "Ti": "hcp"}
_A_GUESS = {"Pt": 3.91, "Au": 4.06, "Cu": 3.61, "Zr": 4.5, "Ti": 4.15}  # fcc-equivalent nn·√2 for hcp


class CrossProblem:
    """Pair parameters → formation and adsorption energies of one pair (e.g. Pt–O).

    Parameters
    ----------
    metal, other
        The pair (``other`` is O, Zr or Ti).
    params
        A complete COMB3 parameter set holding both elements (the fitted metal).
    free
        Free pair groups (:data:`PAIR_GROUPS`).
    keys
        Target keys to compute (formation ``Ef_*`` with a prototype, adsorption ``Ead_*``).
    max_iterations, qeq_precision
        Minimiser iterations per relaxation stage and charge precision (e):
        cheaper than the pure-metal defaults, because every minimiser step
        runs the charge solve with an 11 Å Coulomb cutoff (measured on Pt–O
        at 200 iterations and 1e-4 e: CaCl2-type PtO2 49 s CPU, fluorite 31 s).
    width_margin_A
        Cells are replicated to the pair's largest short-range cutoff R + D
        plus this margin. 0.5 Å is NOT enough (measured on Pt–O: fluorite
        PtO2 E_f 1.48 instead of 0.52 eV/atom in a 12-atom cell, O adsorption
        +5.5 eV on an unreplicated 2×2 slab), nor is 1 Å: the 2×2 Au(111) cell
        (4.95 Å high) then stays unreplicated and O at 0.25 ML comes out
        +3.43 eV against the free O atom, at 2 Å (4×4 cell) −1.35 eV, next to
        −1.22 eV at 0.5 ML (measured on the shipped Au set, issue 9).
    """

    def __init__(
        self,
        metal: str,
        other: str,
        params: Comb3Parameters,
        free: Sequence[str],
        keys: Sequence[str],
        max_iterations: int = 60,
        qeq_precision: float = 1e-3,
        width_margin_A: float = 2.0,
    ) -> None:
        bad = [f for f in free if f not in PAIR_GROUPS and f not in TRIPLET_GROUPS]
        if bad:
            raise HrtemError(
                f"potentials.cross.free: {bad} not in {', '.join([*PAIR_GROUPS, *TRIPLET_GROUPS])}"
            )
        self.metal, self.other = metal, other
        self.params = params.copy()
        self.names = list(free)
        self.keys = [k for k in keys if k in PROTOTYPES or k in ADSORPTION]
        self.r0 = BOND_A.get((metal, other), 2.5)
        self._tmp = tempfile.TemporaryDirectory(prefix="hrtem-cross-")
        self.file = Path(self._tmp.name) / f"{metal}{other}.comb3"
        self.params.subset([metal, other]).write(self.file)
        cut = max(v[field_index("bigr")] + v[field_index("bigd")] for v in self.params.subset([metal, other]).entries.values())
        self.calc = PropertyCalculator(
            Potential(kind="comb3", file=str(self.file)),
            qeq_precision=qeq_precision,
            force_tol_eV_per_A=1e-2,
            max_iterations=max_iterations,
            min_width_A=float(cut) + width_margin_A,
        )
        self.evaluations = 0

    @property
    def entries(self) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
        m, x = self.metal, self.other
        return (m, x, x), (x, m, m)

    @property
    def triplet(self) -> tuple[str, str, str]:
        """The three-body entry (M, X, M) of :data:`TRIPLET_GROUPS`."""
        return (self.metal, self.other, self.metal)

    @property
    def written_entries(self) -> tuple[tuple[str, str, str], ...]:
        """Every entry the free groups change (the pair entries, and (M, X, M) when a triplet group is free)."""
        if any(n in TRIPLET_GROUPS for n in self.names):
            return (*self.entries, self.triplet)
        return self.entries

    def x0(self) -> np.ndarray:
        e = self.params.entries[self.entries[0]]
        out = []
        for n in self.names:
            if n in TRIPLET_GROUPS:
                out.append(float(self.params.entries[self.triplet][field_index(TRIPLET_GROUPS[n])]))
                continue
            v = float(e[field_index(PAIR_GROUPS[n][0])])
            if n in _ANCHOR:
                v *= math.exp(-e[field_index(_ANCHOR[n])] * self.r0)
            out.append(v)
        return np.array(out)

    def with_values(self, x: Sequence[float]) -> Comb3Parameters:
        p = self.params.copy()
        vals = dict(zip(self.names, map(float, x)))
        for n, v in vals.items():
            if n in TRIPLET_GROUPS:
                p.entries[self.triplet][field_index(TRIPLET_GROUPS[n])] = v
        vals = {n: v for n, v in vals.items() if n not in TRIPLET_GROUPS}
        for trip in self.entries:
            e = p.entries[trip]
            for n, v in vals.items():
                if n not in _ANCHOR:
                    e[field_index(PAIR_GROUPS[n][0])] = v
            for n, v in vals.items():
                if n in _ANCHOR:
                    e[field_index(PAIR_GROUPS[n][0])] = v * math.exp(e[field_index(_ANCHOR[n])] * self.r0)
        return p

    def references(self) -> dict[str, float]:
        """Energy per atom of each element's reference (relaxed ground state; O: O2/2 and the free atom)."""
        c = self.calc
        out = {}
        for el in (self.metal, self.other):
            if el == "O":
                out["O"] = c.o2_energy_per_atom()
                out["O_atom"] = c.free_atom_energy("O")
            else:
                a = _A_GUESS.get(el, 4.0)
                out[el] = c.bulk_relaxed(el, _GROUND.get(el, "fcc"), a).energy_per_atom_eV
        return out

    def __call__(self, x: Sequence[float], keys: Sequence[str] | None = None) -> dict[str, float]:
        self.evaluations += 1
        p = self.with_values(x)
        for trip in self.entries:
            e = p.entries[trip]
            if min(e[field_index(f)] for f in ("bigA", "bigB1", "lambda", "alpha1")) <= 0:
                raise HrtemError("COMB3 pair parameters out of range (non-positive A, B, lambda or alpha)")
        p.subset([self.metal, self.other]).write(self.file)
        self.calc.set_potential(Potential(kind="comb3", file=str(self.file)))
        return evaluate_cross(self.calc, self.metal, self.other, keys or self.keys, self.references())

    def close(self) -> None:
        self.calc.close()
        self._tmp.cleanup()


def evaluate_cross(
    calc: PropertyCalculator, metal: str, other: str, keys: Sequence[str], refs: Mapping[str, float]
) -> dict[str, float]:
    """Formation energies (eV/atom) and O adsorption energies (eV/O) of ``keys``."""
    out: dict[str, float] = {}
    for k in keys:
        if k in PROTOTYPES:
            atoms = build(k, metal, other)
            ef, r = calc.formation_energy(atoms, refs, relax="tri")
            out[k] = ef
            rep = int(np.prod(r.repeat))
            out[f"{k}__volume_per_atom_A3"] = r.volume_A3 / (rep * len(atoms))
            sym = np.array(atoms.repeat(r.repeat).get_chemical_symbols()) if rep > 1 else np.array(
                atoms.get_chemical_symbols()
            )
            if other == "O" and len(r.charges) == len(sym):
                out[f"{k}__q_{metal}"] = float(np.mean(r.charges[sym == metal]))
        elif k in ADSORPTION:
            if other != "O":
                continue
            cov, ref = ADSORPTION[k]
            a0 = calc.lattice_constant(metal, _A_GUESS[metal])[0]
            e_ref = refs["O"] if ref == "O2" else refs["O_atom"]
            out[k] = calc.adsorption_energy(metal, a0, cov, e_ref, layers=3)
    return out
