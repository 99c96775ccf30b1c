"""Random fcc particles grown atom by atom on lattice sites (thesis §6, Eq. 6.18, L5228–5262).

A seed crystal with random numbers of {100}, {110} and {111} layers is grown by
adding atoms one at a time to empty fcc sites next to the particle. An empty
site ``i`` with ``N_i ≥ 1`` occupied nearest neighbours is picked with
probability ``p_i = exp(N_i/T) / Σ_j exp(N_j/T)``: ``T → 0`` fills only the
most coordinated sites (faceted particles), ``T → ∞`` every candidate equally
(rough particles). The grown particle is turned to a zone axis, rotated about
it, tilted a little and placed with a random displacement in the cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ase
import numpy as np
from ase.cluster.cubic import FaceCenteredCubic

from hrtem.errors import HrtemError
from hrtem.seeding import rng as make_rng
from hrtem.structures.orientation import orient, place_in_cell
from hrtem.structures.wulff import LATTICE_CONSTANTS_A

__all__ = ["NEIGHBOURS", "seed_crystal", "grow", "random_particle", "coordination"]

#: the 12 nearest-neighbour vectors of fcc in units of a/2
NEIGHBOURS = np.array(
    [v for v in np.ndindex(3, 3, 3) if sorted(abs(c - 1) for c in v) == [0, 1, 1]], int
) - 1


def _lattice_constant(symbol: str, lattice_constant_a: float | None) -> float:
    a = lattice_constant_a if lattice_constant_a is not None else LATTICE_CONSTANTS_A.get(symbol)
    if a is None:
        raise HrtemError(f"no default lattice constant for {symbol!r}; give lattice_constant_a")
    return float(a)


def seed_crystal(
    symbol: str = "Au",
    layers: Mapping[str, int] | Sequence[int] = (4, 5, 4),
    lattice_constant_a: float | None = None,
) -> ase.Atoms:
    """fcc seed with ``layers`` = numbers of {100}, {110}, {111} layers (ASE FaceCenteredCubic).

    The cubic axes are the Cartesian axes and an atom sits at the origin.
    """
    if isinstance(layers, Mapping):
        layers = [int(layers[k]) for k in ("100", "110", "111")]
    a = _lattice_constant(symbol, lattice_constant_a)
    c = FaceCenteredCubic(symbol, [(1, 0, 0), (1, 1, 0), (1, 1, 1)], list(layers), latticeconstant=a)
    return ase.Atoms(c)


def coordination(ijk: np.ndarray) -> np.ndarray:
    """Number of occupied nearest neighbours of each site (integer coordinates in a/2)."""
    occupied = {tuple(p) for p in ijk}
    return np.array([sum((p[0] + d[0], p[1] + d[1], p[2] + d[2]) in occupied for d in NEIGHBOURS) for p in ijk])


def grow(
    seed_atoms: ase.Atoms,
    n_added: int,
    temperature: float,
    rng: np.random.Generator,
    lattice_constant_a: float | None = None,
) -> ase.Atoms:
    """Add ``n_added`` atoms to fcc sites with probability ∝ exp(N_i/T) (Eq. 6.18).

    Parameters
    ----------
    seed_atoms
        fcc crystal with cubic axes along x, y, z and an atom at a lattice site of
        the lattice through the origin (as from :func:`seed_crystal`).
    n_added
        Number of atoms to add.
    temperature
        Roughness "temperature" T (dimensionless, in units of one neighbour);
        0 means: always a most-coordinated site (ties broken at random).
    rng
        Random generator (from :func:`hrtem.seeding.rng`).
    lattice_constant_a
        Lattice constant in Å (default: from the seed's element).

    Returns
    -------
    ase.Atoms
        Seed plus added atoms. Per-atom arrays: ``growth_step`` (−1 for the seed,
        else the order of addition), ``growth_coordination`` (N_i of the site when
        it was filled) and ``growth_max_coordination`` (the largest N_j among the
        candidates at that step).
    """
    if temperature < 0:
        raise HrtemError(f"growth temperature must be ≥ 0, got {temperature}")
    if n_added < 0:
        raise HrtemError(f"n_added must be ≥ 0, got {n_added}")
    symbol = seed_atoms.get_chemical_symbols()[0]
    a = _lattice_constant(symbol, lattice_constant_a)
    ijk_float = seed_atoms.positions / (a / 2.0)
    ijk = np.round(ijk_float).astype(int)
    if np.abs(ijk_float - ijk).max() > 1e-3 or np.any(ijk.sum(axis=1) % 2):
        raise HrtemError("grow() needs a seed on the fcc lattice through the origin with cubic axes x, y, z")
    occupied = {tuple(p) for p in ijk}
    # candidate bookkeeping: key -> index into parallel arrays (swap-remove)
    keys: list[tuple[int, int, int]] = []
    index: dict[tuple[int, int, int], int] = {}
    coord = np.zeros(1024, int)

    def bump(site: tuple[int, int, int]) -> None:
        nonlocal coord
        i = index.get(site)
        if i is None:
            i = len(keys)
            keys.append(site)
            index[site] = i
            if i >= len(coord):
                coord = np.concatenate([coord, np.zeros_like(coord)])
            coord[i] = 0
        coord[i] += 1

    for p in occupied:
        for d in NEIGHBOURS:
            q = (p[0] + d[0], p[1] + d[1], p[2] + d[2])
            if q not in occupied:
                bump(q)
    new_sites, chosen_n, max_n = [], [], []
    for _ in range(int(n_added)):
        n = coord[: len(keys)]
        nmax = n.max()
        if temperature == 0:
            w = (n == nmax).astype(float)
        else:
            w = np.exp((n - nmax) / temperature)
        i = int(rng.choice(len(keys), p=w / w.sum()))
        site = keys[i]
        chosen_n.append(int(n[i]))
        max_n.append(int(nmax))
        # remove candidate i (swap with last)
        last = len(keys) - 1
        if i != last:
            keys[i] = keys[last]
            coord[i] = coord[last]
            index[keys[i]] = i
        keys.pop()
        del index[site]
        occupied.add(site)
        new_sites.append(site)
        for d in NEIGHBOURS:
            q = (site[0] + d[0], site[1] + d[1], site[2] + d[2])
            if q not in occupied:
                bump(q)
    all_ijk = np.vstack([ijk, np.array(new_sites, int).reshape(-1, 3)])
    out = ase.Atoms([symbol] * len(all_ijk), positions=all_ijk * (a / 2.0))
    n_seed = len(ijk)
    step = np.full(len(out), -1, int)
    step[n_seed:] = np.arange(len(new_sites))
    out.arrays["growth_step"] = step
    out.arrays["growth_coordination"] = np.concatenate([np.full(n_seed, -1), np.array(chosen_n, int)])
    out.arrays["growth_max_coordination"] = np.concatenate([np.full(n_seed, -1), np.array(max_n, int)])
    out.info["growth_temperature"] = float(temperature)
    out.info["n_seed"] = int(n_seed)
    return out


def random_particle(
    seed: int,
    *keys: str | int,
    symbol: str = "Au",
    lattice_constant_a: float | None = None,
    layers_range: Mapping[str, Sequence[int]] | None = None,
    added_fraction_range: Sequence[float] = (0.0, 1.0),
    temperature_range: Sequence[float] = (0.5, 5.0),
    zone_axes: Sequence[str] = ("110", "111"),
    tilt_max_deg: float = 3.0,
    cell_a: float | Sequence[float] = 50.0,
    vacuum_a: float = 5.0,
    margin_a: float = 2.0,
) -> ase.Atoms:
    """One random training particle (thesis ch. 6): seed → growth → orientation → placement.

    Parameters
    ----------
    seed, keys
        Config seed and stream keys for :func:`hrtem.seeding.rng` (e.g. rule, index).
    symbol, lattice_constant_a
        Element and lattice constant (Å; default per element).
    layers_range
        Inclusive ranges of layer numbers per family, ``{"100": [lo, hi], "110": …, "111": …}``.
    added_fraction_range
        Number of grown atoms as a fraction of the seed size, drawn uniformly.
    temperature_range
        Roughness temperature T drawn log-uniformly from this range (Eq. 6.18).
    zone_axes
        Zone axes to choose from uniformly (thesis: ⟨110⟩ or ⟨111⟩).
    tilt_max_deg
        Tilt away from the zone axis, uniform in [0, tilt_max_deg], about a random in-plane axis.
    cell_a
        Cell size in x, y (Å); z from ``vacuum_a``.
    margin_a
        Smallest distance (Å) kept between the particle and the cell edges in x, y
        when drawing the random displacement.
    """
    g = make_rng(seed, *keys)
    layers_range = dict(layers_range or {"100": (3, 6), "110": (4, 8), "111": (3, 6)})
    layers = [int(g.integers(layers_range[k][0], layers_range[k][1] + 1)) for k in ("100", "110", "111")]
    base = seed_crystal(symbol, layers, lattice_constant_a)
    frac = g.uniform(*added_fraction_range)
    lo, hi = temperature_range
    temperature = float(np.exp(g.uniform(np.log(lo), np.log(hi)))) if lo > 0 else float(g.uniform(lo, hi))
    grown = grow(base, int(round(frac * len(base))), temperature, g, lattice_constant_a)
    zone = zone_axes[int(g.integers(len(zone_axes)))]
    rotation = float(g.uniform(0.0, 360.0))
    tilt = float(g.uniform(0.0, tilt_max_deg))
    tilt_axis = float(g.uniform(0.0, 180.0))
    oriented = orient(grown, zone, rotation, tilt, tilt_axis)
    cell = np.atleast_1d(np.asarray(cell_a, float))
    cell = np.repeat(cell, 2) if cell.size == 1 else cell[:2]
    extent = np.ptp(oriented.positions[:, :2], axis=0)
    room = (cell - extent) / 2.0 - margin_a
    if np.any(room < 0):
        raise HrtemError(
            f"grown particle ({np.round(extent, 1).tolist()} Å) does not fit in cell_a {cell.tolist()} Å "
            f"with {margin_a} Å margin; enlarge cell_a or lower layers_range/added_fraction_range"
        )
    offset = g.uniform(-room, room)
    out = place_in_cell(oriented, cell_a=cell, vacuum_a=vacuum_a, offset_a=offset)
    out.info.update(
        element=symbol,
        layers_100_110_111=" ".join(map(str, layers)),
        n_atoms=len(out),
        offset_x_a=float(offset[0]),
        offset_y_a=float(offset[1]),
    )
    return out
