"""Fitting COMB3 parameters of a pure fcc metal (thesis §5.3, stage 1).

The metal's entries start as a copy of a template element's (Cu, as in the
thesis). Optionally (``prescale``) lengths and energies of the copy are first
rescaled so that the start has the target lattice constant and cohesive
energy to first order (an addition of this pipeline, to make short walks
useful; the thesis walked 400 steps from the raw Cu parameters):

- lengths × s (s = a0_target / a0_template): ``vsig``, ``bigr``, ``bigd``;
- inverse lengths ÷ s: ``lami``, ``alfi``, ``lambda``, ``alpha1``;
- energies × ε (ε = E_coh,target / E_coh,template): ``paaa``, ``pbbb``,
  ``bigA``, ``bigB1``, ``veps``, ``p6p0`` … ``p6p6``;
- stiffness (:func:`stiffen`): the decay constants λ (``lami``, ``lambda``)
  and α (``alfi``, ``alpha1``) × k, with A and B rescaled so that the
  repulsive and attractive bond terms keep their values at the nearest-
  neighbour distance r0: the bond energy and its zero force at r0 stay, and
  the curvature (hence the bulk modulus and C11, C12, C44) scales by ≈ k².
  k is chosen so that B reaches the target bulk modulus.

Why the stiffness step: a length/energy rescaling of Cu keeps Cu's
dimensionless curvature, so the Pt start had B = 182 GPa (target 288) and
C11/C12/C44 = 229/159/60 GPa. Reaching the target by the walk alone needs
λ and α ~26 % larger *with* A and B moved by factors e^(Δλ·r0) ≈ 6 and
e^(Δα·r0) ≈ 2.6 at the same time, while a jump of λ alone wrecks E_coh
(measured on the Pt start: λ +2 % → E_coh −17 %, and a 1-step walk from
objective 31.5 proposed 72.8 after 24 Nelder–Mead evaluations); short walks
never get there.

Free parameters are *groups*: one value written to several (triplet, field)
pairs that COMB3 keeps equal for a pure metal (e.g. ``A`` → ``paaa`` and
``bigA`` of M-M-M). The anchored groups ``A_r0`` and ``B_r0`` are the
repulsive and attractive prefactors times e^(−λ r0) and e^(−α r0), the bond
terms at the target nearest-neighbour distance r0: walking in (A_r0, λ)
instead of (A, λ) changes the curvature without moving the bond energy, so
a 5 % jump of λ moves a0 by 1.1 % and E_coh by 0.3 % (measured on the
stiffened Pt start; the Gaussian jumps and
Nelder–Mead are the thesis's; only the coordinates differ).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.md.comb3_params import Comb3Parameters, field_index
from hrtem.md.properties import PropertyCalculator
from hrtem.md.settings import Potential

__all__ = [
    "METAL_GROUPS",
    "SELF_FIELDS",
    "MetalProblem",
    "metal_groups",
    "mix_pair",
    "propagate_self",
    "start_parameters",
    "stiffen",
    "FIT_SET",
]

#: free-parameter groups of a pure metal: name -> fields of the M-M-M entry
METAL_GROUPS: dict[str, tuple[str, ...]] = {
    "A": ("paaa", "bigA"),
    "B": ("pbbb", "bigB1"),
    "lambda": ("lami", "lambda"),
    "alpha": ("alfi", "alpha1"),
    "beta": ("beta",),
    "n": ("powern",),
    "pcos0": ("pcos0",),
    "pcos1": ("pcos1",),
    "pcos2": ("pcos2",),
    "p6p1": ("p6p1",),
    "p6p3": ("p6p3",),
    "R": ("bigr",),
    "D": ("bigd",),
    "A_r0": ("paaa", "bigA"),
    "B_r0": ("pbbb", "bigB1"),
}
#: anchored groups: value = prefactor × e^(−decay·r0) (the bond term at the
#: nearest-neighbour distance r0), with the decay constant's group
ANCHORED: dict[str, str] = {"A_r0": "lambda", "B_r0": "alpha"}

#: properties computed inside the fit loop (the starred rows of Tables 5.1/5.2)
FIT_SET = ("a0", "E_coh", "elastic", "phases_fit", "surfaces_fit", "dimer")

_LENGTHS = ("vsig", "bigr", "bigd")
_INV_LENGTHS = ("lami", "alfi", "lambda", "alpha1")
_ENERGIES = ("paaa", "pbbb", "bigA", "bigB1", "veps") + tuple(f"p6p{i}" for i in range(7))


def metal_groups(element: str, names: Sequence[str]) -> dict[str, list[tuple[tuple[str, str, str], str]]]:
    """``{group: [(triplet, field), …]}`` for the M-M-M entry of ``element``."""
    trip = (element, element, element)
    for a, b in (("A", "A_r0"), ("B", "B_r0")):
        if a in names and b in names:
            raise HrtemError(f"potentials.free: give {a} or {b}, not both (the same fields)")
    out = {}
    for n in names:
        if n not in METAL_GROUPS:
            raise HrtemError(f"potentials free parameter {n!r} is not one of {', '.join(METAL_GROUPS)}")
        out[n] = [(trip, f) for f in METAL_GROUPS[n]]
    return out


#: fields of an entry (i, j, k) that belong to element i alone (LAMMPS reads
#: them from every entry; the shipped file keeps them equal to the i-i-i entry's)
SELF_FIELDS = ("paaa", "pbbb", "lami", "alfi", "powern")


def propagate_self(params: Comb3Parameters, element: str) -> None:
    """Copy the element's own fields (:data:`SELF_FIELDS`) from its i-i-i entry to every (i, j, k) entry."""
    src = params.entries[(element,) * 3]
    idx = [field_index(f) for f in SELF_FIELDS]
    for key, vals in params.entries.items():
        if key[0] == element and key != (element,) * 3:
            vals[idx] = src[idx]


#: pair fields of the i-j-j / j-i-i entries and their mixing rule (Tersoff-type,
#: as in the shipped file's Cu-Zr entries: geometric for prefactors and the
#: cutoff radius, arithmetic for decay constants)
_MIX_GEOMETRIC = ("bigA", "bigB1", "bigr", "bigd")
_MIX_ARITHMETIC = ("lambda", "alpha1", "beta")


def mix_pair(params: Comb3Parameters, a: str, b: str) -> None:
    """Set the a-b pair terms (entries a-b-b and b-a-a) by the mixing rules from a-a-a and b-b-b."""
    ea, eb = params.entries[(a,) * 3], params.entries[(b,) * 3]
    for trip in ((a, b, b), (b, a, a)):
        e = params.entries[trip]
        for f in _MIX_GEOMETRIC:
            i = field_index(f)
            e[i] = float(np.sqrt(ea[i] * eb[i]))
        for f in _MIX_ARITHMETIC:
            i = field_index(f)
            e[i] = 0.5 * (ea[i] + eb[i])


def stiffen(params: Comb3Parameters, element: str, k: float, r0_A: float) -> None:
    """Scale the metal's decay constants by ``k`` keeping its bond terms at ``r0_A``.

    λ → kλ and α → kα (``lami``/``lambda``, ``alfi``/``alpha1``);
    A → A·e^((k−1)λ r0) and B → B·e^((k−1)α r0) (``paaa``/``bigA``,
    ``pbbb``/``bigB1``), so A e^(−λ r0) and B e^(−α r0) are unchanged: the
    nearest-neighbour bond energy and its zero force stay (a0 and E_coh to
    first order) while the second derivative scales by ≈ k².
    """
    if not (0.2 < k < 5.0):
        raise HrtemError(f"stiffness factor {k:.3g} is outside 0.2-5: the start is far from the target bulk modulus")
    e = params.entries[(element,) * 3]
    lam, alf = e[field_index("lambda")], e[field_index("alpha1")]
    fa, fb = np.exp((k - 1) * lam * r0_A), np.exp((k - 1) * alf * r0_A)
    for f in ("lami", "lambda", "alfi", "alpha1"):
        e[field_index(f)] *= k
    for f in ("paaa", "bigA"):
        e[field_index(f)] *= fa
    for f in ("pbbb", "bigB1"):
        e[field_index(f)] *= fb


def start_parameters(
    element: str,
    template: str = "Cu",
    base_file: str = "ffield.comb3",
    length_scale: float = 1.0,
    energy_scale: float = 1.0,
    stiffness: float = 0.0,
    r0_A: float = 0.0,
) -> Comb3Parameters:
    """The template's entries copied to ``element`` (all elements kept), M-M-M rescaled.

    ``stiffness`` > 0 applies :func:`stiffen` with that factor at ``r0_A``
    after the length and energy scaling.
    """
    p = Comb3Parameters.read(base_file)
    if element not in p.elements:
        p.add_element(element, template)
    trip = (element, element, element)
    e = p.entries[trip]
    for f in _LENGTHS:
        e[field_index(f)] *= length_scale
    for f in _INV_LENGTHS:
        e[field_index(f)] /= length_scale
    for f in _ENERGIES:
        e[field_index(f)] *= energy_scale
    if stiffness:
        stiffen(p, element, stiffness, r0_A)
    return p


class MetalProblem:
    """Parameters → pure-metal properties, one persistent LAMMPS instance.

    Parameters
    ----------
    element
        The metal.
    params
        Full COMB3 parameter set (only the metal's entry is evaluated).
    free
        Names of the free groups (:data:`METAL_GROUPS`).
    a_guess_A
        Starting fcc lattice constant of every evaluation.
    slab_layers
        Slab sizes of the surface-energy series inside the fit.
    """

    def __init__(
        self,
        element: str,
        params: Comb3Parameters,
        free: Sequence[str],
        a_guess_A: float,
        slab_layers: Sequence[int] = (4, 5, 6),
    ) -> None:
        self.element = element
        self.params = params.copy()
        self.groups = metal_groups(element, free)
        self.names = list(free)
        self.a_guess = a_guess_A
        self.slab_layers = tuple(slab_layers)
        self._tmp = tempfile.TemporaryDirectory(prefix="hrtem-fit-")
        self.file = Path(self._tmp.name) / f"{element}.comb3"
        self.params.subset([element]).write(self.file)
        self.calc = PropertyCalculator(Potential(kind="comb3", file=str(self.file)), force_tol_eV_per_A=1e-3,
                                       max_iterations=300)
        self.evaluations = 0

    @property
    def r0_A(self) -> float:
        """Anchor distance of ``A_r0``/``B_r0``: the fcc nearest-neighbour distance of ``a_guess_A``."""
        return self.a_guess / float(np.sqrt(2))

    def _decay(self, p: Comb3Parameters, group: str) -> float:
        return p.get((self.element,) * 3, METAL_GROUPS[group][-1])

    def x0(self) -> np.ndarray:
        """Current values of the free groups (first field of each; anchored groups × e^(−decay·r0))."""
        out = []
        for n in self.names:
            v = self.params.get(*self.groups[n][0])
            if n in ANCHORED:
                v *= float(np.exp(-self._decay(self.params, ANCHORED[n]) * self.r0_A))
            out.append(v)
        return np.array(out)

    def with_values(self, x: Sequence[float]) -> Comb3Parameters:
        """A copy of the parameters with the free groups set to ``x``."""
        p = self.params.copy()
        vals = dict(zip(self.names, map(float, x)))
        p.update({k: v for k, v in vals.items() if k not in ANCHORED}, self.groups)
        for k, decay in ANCHORED.items():
            if k in vals:
                v = vals[k] * float(np.exp(self._decay(p, decay) * self.r0_A))
                p.update({k: v}, self.groups)
        propagate_self(p, self.element)
        return p

    def _check(self, p: Comb3Parameters) -> None:
        e = p.entries[(self.element,) * 3]
        get = lambda f: e[field_index(f)]  # noqa: E731
        bad = [f for f in ("paaa", "pbbb", "lami", "alfi", "powern", "beta", "bigr", "bigd") if get(f) <= 0]
        if bad or get("bigd") > get("bigr"):
            raise HrtemError(f"COMB3 parameters out of range: {bad or 'bigd > bigr'}")

    def __call__(self, x: Sequence[float], which: Sequence[str] = FIT_SET) -> dict[str, float]:
        """Properties of the parameter vector ``x`` (keys as in the target table)."""
        self.evaluations += 1
        p = self.with_values(x)
        self._check(p)
        p.subset([self.element]).write(self.file)
        self.calc.set_potential(Potential(kind="comb3", file=str(self.file)))
        return evaluate_metal(self.calc, self.element, self.a_guess, which, self.slab_layers)

    def close(self) -> None:
        self.calc.close()
        self._tmp.cleanup()


def evaluate_metal(
    calc: PropertyCalculator,
    element: str,
    a_guess_A: float,
    which: Sequence[str] = FIT_SET,
    slab_layers: Sequence[int] = (4, 5, 6),
) -> dict[str, float]:
    """Pure-metal properties for the target table.

    ``which``: ``a0``, ``E_coh``, ``elastic``, ``phases_fit`` (hcp, bcc),
    ``phases`` (+ diamond, sc), ``surfaces_fit`` (γ111, γ100),
    ``surfaces`` (+ γ110), ``vacancy``, ``dimer``.
    """
    want = set(which)
    out: dict[str, float] = {}
    e_free = calc.free_atom_energy(element)
    a0, e_fcc = calc.lattice_constant(element, a_guess_A)
    if not (0.7 * a_guess_A < a0 < 1.4 * a_guess_A):
        raise HrtemError(f"fcc lattice constant {a0:.3f} Å is far from {a_guess_A:.3f} Å: unphysical parameters")
    out["a0_A"] = a0
    out["E_coh_eV"] = e_fcc - e_free
    if "elastic" in want:
        c11, c12, c44 = calc.elastic_constants(element, a0)
        out.update(C11_GPa=c11, C12_GPa=c12, C44_GPa=c44, B_GPa=(c11 + 2 * c12) / 3)
    phases = ("hcp", "bcc", "diamond", "sc") if "phases" in want else ("hcp", "bcc") if "phases_fit" in want else ()
    for name in phases:
        out[f"dE_{name}_eV"] = calc.bulk_relaxed(element, name, a0).energy_per_atom_eV - e_fcc
    facets = ("111", "100", "110") if "surfaces" in want else ("111", "100") if "surfaces_fit" in want else ()
    for f in facets:
        out[f"gamma{f}_J_m2"] = calc.surface_energy(element, a0, f, slab_layers)
    if "gamma111_J_m2" in out:
        for f in ("100", "110"):
            if f"gamma{f}_J_m2" in out:
                out[f"gamma{f}_over_111"] = out[f"gamma{f}_J_m2"] / out["gamma111_J_m2"]
    if "vacancy" in want:
        out["E_vac_eV"] = calc.vacancy_energy(element, a0)
    if "dimer" in want:
        out["E_dimer_eV"], out["r_dimer_A"] = calc.dimer(element, 0.62 * a0, e_free)
    return out


def table_rows(
    props: Mapping[str, float], targets: Sequence[Mapping[str, object]]
) -> list[dict[str, object]]:
    """Rows of a thesis table: target, EAM/COMB3 columns of the thesis, ours, relative error."""
    rows = []
    for t in targets:
        ours = float(props.get(str(t["key"]), float("nan")))
        tgt = float(t["target"])  # type: ignore[arg-type]
        rows.append(
            {
                "property": t["label"],
                "key": t["key"],
                "unit": t["unit"],
                "fitted": "*" if t["fitted"] else "check",
                "target": tgt,
                "eam_thesis": t["eam_thesis"],
                "comb3_thesis": t["comb3_thesis"],
                "comb3_ours": ours,
                "rel_error_vs_target": (ours - tgt) / abs(tgt) if tgt else float("nan"),
                "rel_error_vs_thesis_comb3": (ours - float(t["comb3_thesis"])) / abs(float(t["comb3_thesis"]))  # type: ignore[arg-type]
                if float(t["comb3_thesis"]) not in (0.0,)  # type: ignore[arg-type]
                else float("nan"),
            }
        )
    return rows
