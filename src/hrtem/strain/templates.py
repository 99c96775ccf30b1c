"""Ideal local-lattice templates for structural template matching (thesis §3.2).

A template is the set of vectors from a central lattice point to its N nearest
neighbours in an ideal lattice, filling complete neighbour shells (thesis
§3.2.1: square 4/8, hexagonal 6, graphene 3/9/12, fcc ⟨110⟩ 4 + 2 …). The
vectors are normalised so that their mean length is 1 (thesis Eq. 3.10), which
makes the scale-invariant RMSD dimensionless and comparable between templates.

Besides the vectors, a template carries what the matcher needs:

- ``shell``: the neighbour shell of each vector (0 = nearest). In a measured
  local lattice the shell of a neighbour is its rank by distance (thesis
  §3.2.3, "Sorting"), so only the shell *sizes* matter there.
- ``symmetry``: order n of the proper rotations (about the central point)
  that map the template onto itself. Used to skip equivalent starting points
  when sorting and equivalent first branches in branch-and-bound.
- ``rotation_period_rad``: the period in which the lattice orientation is
  reported (2π/6 for graphene, whose two sublattice templates differ by 60°).
- ``mean_over_nn``: mean neighbour distance of the template in units of the
  nearest-neighbour distance; multiply a nearest-neighbour distance in Å by it
  to get the template's reference scale in Å (thesis Eq. 3.14).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "Template",
    "TEMPLATES",
    "get_template",
    "register_template",
    "template_names",
    "lattice_template",
]

_SHELL_RTOL = 1e-6


def _shells_from_lengths(lengths: np.ndarray, rtol: float) -> np.ndarray:
    """Shell index of each length (lengths must be sorted ascending)."""
    shell = np.zeros(len(lengths), dtype=np.int64)
    for i in range(1, len(lengths)):
        same = abs(lengths[i] - lengths[i - 1]) <= rtol * max(lengths[i], 1e-12)
        shell[i] = shell[i - 1] + (0 if same else 1)
    return shell


def _rotation_permutation(vectors: np.ndarray, angle: float, tol: float) -> np.ndarray | None:
    """Permutation p with R(angle)·v_j = v_p[j] for all j, or None if R is no symmetry."""
    c, s = math.cos(angle), math.sin(angle)
    rotated = vectors @ np.array([[c, s], [-s, c]])
    d = np.linalg.norm(rotated[:, None, :] - vectors[None, :, :], axis=-1)
    perm = np.argmin(d, axis=1)
    if np.all(d[np.arange(len(vectors)), perm] < tol) and len(set(perm.tolist())) == len(perm):
        return perm
    return None


def _detect_symmetry(vectors: np.ndarray, tol: float) -> int:
    """Largest n ≤ 12 such that rotation by 2π/n maps the vectors onto themselves."""
    for n in range(12, 1, -1):
        if _rotation_permutation(vectors, 2 * math.pi / n, tol) is not None:
            return n
    return 1


@dataclass(frozen=True)
class Template:
    """An ideal local lattice: neighbour vectors around a central point.

    Build one with :meth:`from_points` (any user-defined set of neighbour
    vectors) or :func:`lattice_template` (from a Bravais lattice and basis).

    Attributes
    ----------
    name
        Registry name, e.g. ``"graphene9"``.
    vectors
        (N, 2) neighbour vectors, central point at the origin, sorted by shell
        then azimuth, normalised to mean length 1 (dimensionless).
    shell
        (N,) shell index of each vector (0 = nearest shell).
    symmetry
        Order of the rotational symmetry group C_n of the template.
    rotation_period_rad
        Reported rotations are reduced to (−period/2, period/2] (radians).
    mean_over_nn
        Mean neighbour distance / nearest-neighbour distance of the template.
    """

    name: str
    vectors: np.ndarray
    shell: np.ndarray
    symmetry: int
    rotation_period_rad: float
    mean_over_nn: float
    # derived, filled in __post_init__
    shell_counts: tuple[int, ...] = field(init=False)
    symmetry_perm: np.ndarray = field(init=False, repr=False)
    first_branch: np.ndarray = field(init=False, repr=False)
    sort_orders: np.ndarray = field(init=False, repr=False)
    sort_wrap: np.ndarray = field(init=False, repr=False)
    anchor_shell: int = field(init=False)

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors, dtype=float)
        n = len(v)
        object.__setattr__(self, "vectors", v)
        object.__setattr__(self, "shell", np.asarray(self.shell, dtype=np.int64))
        counts = tuple(int(c) for c in np.bincount(self.shell))
        object.__setattr__(self, "shell_counts", counts)
        # permutation of the generating rotation 2π/symmetry (identity if 1)
        tol = 1e-6
        perm = _rotation_permutation(v, 2 * math.pi / self.symmetry, tol) if self.symmetry > 1 else None
        if perm is None:
            perm = np.arange(n)
            if self.symmetry != 1:
                raise HrtemError(f"template {self.name!r}: vectors are not {self.symmetry}-fold symmetric")
        object.__setattr__(self, "symmetry_perm", perm)
        orbit_rep = self._orbit_representatives(range(n))
        object.__setattr__(self, "first_branch", np.array(orbit_rep, dtype=np.int64))
        # sorting (thesis §3.2.3): start from the shell with fewest points;
        # one ordering per non-equivalent starting point of that shell.
        anchor = int(np.argmin(counts))
        object.__setattr__(self, "anchor_shell", anchor)
        starts = self._orbit_representatives(np.flatnonzero(self.shell == anchor))
        angles = np.arctan2(v[:, 1], v[:, 0])
        orders, wraps = [], []
        for j in starts:
            rel = np.mod(angles - angles[j], 2 * math.pi)
            rel[j] = 0.0
            wrap = np.zeros(len(counts))
            order = []
            for s in range(len(counts)):
                idx = np.flatnonzero(self.shell == s)
                r = rel[idx]
                # cut the circle in the middle of the gap that contains angle 0
                lo, hi = r.min(), r.max()
                cut = 0.5 * (hi + lo + 2 * math.pi) - 2 * math.pi
                if len(idx) == 1:
                    cut = r[0] - math.pi
                wrap[s] = cut
                key = np.mod(r - cut, 2 * math.pi)
                order.extend(idx[np.argsort(key, kind="stable")].tolist())
            orders.append(order)
            wraps.append(wrap)
        object.__setattr__(self, "sort_orders", np.array(orders, dtype=np.int64))
        object.__setattr__(self, "sort_wrap", np.array(wraps, dtype=float))

    def _orbit_representatives(self, indices: Iterable[int]) -> list[int]:
        """One index per orbit of the C_n action among ``indices``."""
        seen: set[int] = set()
        reps = []
        for j in indices:
            j = int(j)
            if j in seen:
                continue
            reps.append(j)
            k = j
            for _ in range(self.symmetry):
                seen.add(k)
                k = int(self.symmetry_perm[k])
        return reps

    @property
    def n_neighbours(self) -> int:
        """Number N of neighbours in the template."""
        return len(self.vectors)

    @classmethod
    def from_points(
        cls,
        name: str,
        points: np.ndarray,
        *,
        symmetry: int | None = None,
        rotation_period_deg: float | None = None,
        shell_rtol: float = 1e-3,
    ) -> Template:
        """A user-defined template from neighbour vectors (any length unit).

        Parameters
        ----------
        name
            Name of the template.
        points
            (N, 2) vectors from the central point to its neighbours (the central
            point itself is not included; a zero vector is an error).
        symmetry
            Rotational symmetry order; detected when None.
        rotation_period_deg
            Period of the reported orientation in degrees; 360/symmetry when None.
        shell_rtol
            Relative tolerance for two neighbours to belong to the same shell.
        """
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
            raise HrtemError(f"template {name!r}: need an (N, 2) array of N ≥ 2 neighbour vectors, got shape {pts.shape}")
        lengths = np.linalg.norm(pts, axis=1)
        if np.any(lengths <= 1e-12 * lengths.max()):
            raise HrtemError(f"template {name!r}: a neighbour vector has zero length; leave the central point out")
        order = np.lexsort((np.arctan2(pts[:, 1], pts[:, 0]), np.round(lengths / lengths.max() / shell_rtol)))
        pts, lengths = pts[order], lengths[order]
        shell = _shells_from_lengths(lengths, shell_rtol)
        nn = lengths.min()
        mean = lengths.mean()
        v = pts / mean
        if symmetry is None:
            symmetry = _detect_symmetry(v, 1e-4)
        period = 2 * math.pi / symmetry if rotation_period_deg is None else math.radians(rotation_period_deg)
        return cls(name=name, vectors=v, shell=shell, symmetry=int(symmetry),
                   rotation_period_rad=float(period), mean_over_nn=float(mean / nn))


def lattice_template(
    name: str,
    cell: np.ndarray,
    basis: np.ndarray,
    n_neighbours: int,
    *,
    centre: int = 0,
    rotation_period_deg: float | None = None,
) -> Template:
    """Template of the ``n_neighbours`` nearest sites around one site of a lattice.

    Parameters
    ----------
    name
        Template name.
    cell
        (2, 2) lattice vectors as rows (any length unit).
    basis
        (B, 2) fractional positions of the sites in the cell.
    n_neighbours
        N; must close a neighbour shell (raises otherwise).
    centre
        Basis index of the central site.
    rotation_period_deg
        Orientation period in degrees (default 360/symmetry).
    """
    cell = np.asarray(cell, float)
    basis = np.atleast_2d(np.asarray(basis, float))
    r = np.arange(-6, 7)
    ij = np.stack(np.meshgrid(r, r, indexing="ij"), -1).reshape(-1, 2)
    sites = ((ij[:, None, :] + basis[None, :, :]).reshape(-1, 2)) @ cell
    sites = sites - basis[centre] @ cell
    d = np.linalg.norm(sites, axis=1)
    keep = d > 1e-9
    sites, d = sites[keep], d[keep]
    order = np.argsort(d, kind="stable")
    sites, d = sites[order], d[order]
    if n_neighbours < len(d) and abs(d[n_neighbours] - d[n_neighbours - 1]) < _SHELL_RTOL * d[n_neighbours]:
        raise HrtemError(f"template {name!r}: {n_neighbours} neighbours do not close a shell")
    return Template.from_points(name, sites[:n_neighbours], rotation_period_deg=rotation_period_deg)


def _builtin() -> dict[str, Template]:
    sq = np.eye(2)
    hexa = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    out: dict[str, Template] = {}
    for n in (4, 8, 12, 20, 24):
        out[f"square{n}"] = lattice_template(f"square{n}", sq, [[0, 0]], n)
    for n in (6, 12, 18):
        out[f"hexagonal{n}"] = lattice_template(f"hexagonal{n}", hexa, [[0, 0]], n)
    # graphene: honeycomb = hexagonal cell with two sites; both sublattices have the
    # same template up to a 60° rotation, so orientations are reported modulo 60°.
    honey = np.array([[0.0, 0.0], [1 / 3, 1 / 3]])
    for n in (3, 9, 12):
        out[f"graphene{n}"] = lattice_template(f"graphene{n}", hexa, honey, n, rotation_period_deg=60.0)
    # fcc viewed along <110>: centred rectangular net of columns, a/√2 × a.
    # 4 neighbours at a·√(3/8) and 2 at a/√2 (thesis: "4 + 2"), then 2 at a.
    rect = np.array([[1 / math.sqrt(2), 0.0], [0.0, 1.0]])
    centred = np.array([[0.0, 0.0], [0.5, 0.5]])
    out["fcc110"] = lattice_template("fcc110", rect, centred, 6)
    out["fcc110_8"] = lattice_template("fcc110_8", rect, centred, 8)
    # fcc viewed along <100>: square net of columns with spacing a/2.
    out["fcc100"] = lattice_template("fcc100", sq, [[0, 0]], 4)
    out["fcc100_8"] = lattice_template("fcc100_8", sq, [[0, 0]], 8)
    return out


#: built-in templates by name (user templates join via :func:`register_template`)
TEMPLATES: dict[str, Template] = _builtin()


def register_template(template: Template, *, overwrite: bool = False) -> None:
    """Add a user-defined template to :data:`TEMPLATES` under its name."""
    if template.name in TEMPLATES and not overwrite:
        raise HrtemError(f"template {template.name!r} already exists; pass overwrite=True or choose another name")
    TEMPLATES[template.name] = template


def template_names() -> list[str]:
    """Names of all registered templates."""
    return sorted(TEMPLATES)


def get_template(name: str | Template, registry: Mapping[str, Template] | None = None) -> Template:
    """Look a template up by name (a :class:`Template` is returned unchanged)."""
    if isinstance(name, Template):
        return name
    reg = TEMPLATES if registry is None else registry
    try:
        return reg[name]
    except KeyError:
        raise HrtemError(f"unknown template {name!r}; choose one of: {', '.join(sorted(reg))}") from None
