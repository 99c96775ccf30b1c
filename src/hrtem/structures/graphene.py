"""Random graphene-like carbon models from Voronoi diagrams (thesis §6, Fig. 6.9, L4862–4897).

Procedure (periodic in an orthogonal x, y cell):

1. Poisson-disc points: random sequential addition of generator points with a
   minimum (periodic) separation.
2. Voronoi diagram of the points; its vertices are the carbon atoms, its edges
   the C–C bonds (every vertex has three bonds) and every Voronoi cell is a ring.
3. A few steps of Lloyd's algorithm (each generator moves to the centroid of its
   cell) regularise the cells, mostly into hexagons, and push close vertices apart.
4. Zero to four holes of random elliptical shape are cut, and atoms left with
   fewer than two bonds are removed.

The number of generators sets the mean bond: a honeycomb with bond b has one
hexagon per (3√3/2)b²; the count is refined until the relaxed mean bond is the
requested one (1.42 Å), so the cell keeps its given size.

Polycrystalline sheets use the same Voronoi idea with generators on rotated
triangular lattices (hexagon centres of perfect graphene) in each grain: the
grains are perfect honeycomb and the boundaries are rings of other sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ase
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Voronoi, cKDTree

from hrtem.errors import HrtemError
from hrtem.seeding import rng as make_rng

__all__ = [
    "VoronoiNetwork",
    "GrapheneModel",
    "poisson_disc",
    "periodic_voronoi",
    "lloyd_step",
    "relax_vertices",
    "cut_holes",
    "bond_lengths",
    "ring_sizes_from_bonds",
    "random_graphene",
    "polycrystalline_graphene",
]

HEXAGON_AREA_PER_BOND2 = 1.5 * np.sqrt(3.0)  # area of a regular hexagon with unit side


@dataclass
class VoronoiNetwork:
    """A periodic 2D Voronoi diagram as an atom/bond network.

    Attributes
    ----------
    points
        (n, 2) generators in Å (wrapped into the cell).
    vertices
        (m, 2) Voronoi vertices in Å (wrapped): the atom positions.
    bonds
        (k, 2) vertex index pairs (Voronoi edges).
    rings
        One array of vertex indices per generator (the ring around it).
    vertex_points
        (m, 3) indices of the generators whose cells meet at each vertex.
    cell
        (2,) cell lengths in Å.
    """

    points: np.ndarray
    vertices: np.ndarray
    bonds: np.ndarray
    rings: list[np.ndarray]
    vertex_points: np.ndarray
    cell: np.ndarray

    @property
    def ring_sizes(self) -> np.ndarray:
        """Number of atoms in each ring (Voronoi cell)."""
        return np.array([len(r) for r in self.rings], int)

    @property
    def mean_bond_a(self) -> float:
        """Mean C–C bond length in Å (minimum image)."""
        return float(bond_lengths(self.vertices, self.bonds, self.cell).mean())


@dataclass
class GrapheneModel:
    """Result of :func:`random_graphene` with the intermediate steps of Fig. 6.9.

    Attributes
    ----------
    atoms
        Final structure (periodic in x, y), carbon at z = cell_z / 2; ``atoms.info``
        has ``mean_bond_a`` and ``n_holes`` (polycrystalline: ``n_grains`` and the
        per-atom array ``grain``).
    points
        (n, 2) Poisson-disc generator points (step a).
    voronoi
        Network of the unrelaxed diagram (step b).
    relaxed
        Network after the Lloyd steps (step c).
    bonds
        (k, 2) bonds between the final atoms (step d).
    holes
        One dict per hole: centre (Å), semi-axes (Å), angle (degrees).
    point_grains
        Grain index of every generator (polycrystalline sheets only).
    """

    atoms: ase.Atoms
    points: np.ndarray
    voronoi: VoronoiNetwork
    relaxed: VoronoiNetwork
    bonds: np.ndarray
    holes: list[dict] = field(default_factory=list)
    point_grains: np.ndarray | None = None

    @property
    def mean_bond_a(self) -> float:
        """Mean C–C bond length of the final structure in Å."""
        return float(bond_lengths(self.atoms.positions[:, :2], self.bonds, self.relaxed.cell).mean())


def _cell2(cell_a: float | Sequence[float]) -> np.ndarray:
    c = np.atleast_1d(np.asarray(cell_a, float))
    c = np.repeat(c, 2) if c.size == 1 else c[:2]
    if np.any(c <= 0):
        raise HrtemError(f"cell_a must be positive, got {c.tolist()}")
    return c


def _wrap(x: np.ndarray, cell: np.ndarray) -> np.ndarray:
    w = np.mod(x, cell)
    return np.where(w >= cell, w - cell, w)


def _min_image(d: np.ndarray, cell: np.ndarray) -> np.ndarray:
    return d - cell * np.round(d / cell)


def bond_lengths(positions: np.ndarray, bonds: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Lengths (Å) of ``bonds`` between 2D ``positions`` with the minimum-image convention."""
    d = _min_image(positions[bonds[:, 1], :2] - positions[bonds[:, 0], :2], np.asarray(cell, float))
    return np.linalg.norm(d, axis=1)


def poisson_disc(
    n_points: int,
    cell_a: float | Sequence[float],
    min_distance_a: float,
    rng: np.random.Generator,
    max_tries: int = 200_000,
) -> np.ndarray:
    """``n_points`` uniform random points in a periodic cell, no two closer than ``min_distance_a``.

    Random sequential addition (dart throwing); raises :class:`HrtemError` when the
    points do not fit (random packing jams at a covered area fraction ≈ 0.55).
    """
    cell = _cell2(cell_a)
    pts = np.empty((n_points, 2))
    k = 0
    tries = 0
    batch = 256
    while k < n_points:
        cand = rng.uniform(0.0, 1.0, size=(batch, 2)) * cell
        for c in cand:
            tries += 1
            if k == 0 or np.min(np.sum(_min_image(pts[:k] - c, cell) ** 2, axis=1)) >= min_distance_a**2:
                pts[k] = c
                k += 1
                if k == n_points:
                    break
        if tries > max_tries:
            raise HrtemError(
                f"cannot place {n_points} Poisson-disc points {min_distance_a:.2f} Å apart in a "
                f"{cell[0]:.1f} × {cell[1]:.1f} Å cell; lower the minimum distance"
            )
    return pts


def periodic_voronoi(points: np.ndarray, cell_a: float | Sequence[float]) -> VoronoiNetwork:
    """Voronoi diagram of points in a periodic 2D cell (3 × 3 images), as a network."""
    cell = _cell2(cell_a)
    pts = _wrap(np.asarray(points, float), cell)
    n = len(pts)
    shifts = np.array([(0, 0)] + [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)], float)
    tiled = (pts[None] + shifts[:, None] * cell).reshape(-1, 2)
    vor = Voronoi(tiled)
    regions = [vor.regions[vor.point_region[i]] for i in range(n)]
    if any(-1 in r or len(r) < 3 for r in regions):
        raise HrtemError("periodic Voronoi diagram has an open cell; the cell is too small for the points")
    used = np.unique(np.concatenate(regions))
    wrapped = _wrap(vor.vertices[used], cell)
    tol = 1e-6 * float(cell.max())
    tree = cKDTree(wrapped, boxsize=cell)
    pairs = tree.query_pairs(tol, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(used), len(used)))
    n_vert, label = connected_components(graph, directed=False)
    canon = np.full(len(vor.vertices), -1)
    canon[used] = label
    vertices = np.zeros((n_vert, 2))
    vertices[label] = wrapped  # any representative
    rings, bonds, vp = [], set(), [[] for _ in range(n_vert)]
    for i, reg in enumerate(regions):
        poly = vor.vertices[reg]
        centre = tiled[i]
        order = np.argsort(np.arctan2(poly[:, 1] - centre[1], poly[:, 0] - centre[0]))
        ring = canon[np.asarray(reg)[order]]
        rings.append(ring)
        for a, b in zip(ring, np.roll(ring, -1)):
            if a != b:
                bonds.add((min(a, b), max(a, b)))
        for v in set(ring.tolist()):
            vp[v].append(i)
    vertex_points = np.array([(p + [-1, -1, -1])[:3] for p in vp], int)
    return VoronoiNetwork(pts, vertices, np.array(sorted(bonds), int).reshape(-1, 2), rings, vertex_points, cell)


def lloyd_step(points: np.ndarray, cell_a: float | Sequence[float]) -> np.ndarray:
    """One Lloyd iteration: move every generator to the centroid of its periodic Voronoi cell."""
    cell = _cell2(cell_a)
    pts = _wrap(np.asarray(points, float), cell)
    n = len(pts)
    shifts = np.array([(0, 0)] + [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)], float)
    vor = Voronoi((pts[None] + shifts[:, None] * cell).reshape(-1, 2))
    new = np.empty_like(pts)
    for i in range(n):
        poly = vor.vertices[vor.regions[vor.point_region[i]]]
        poly = poly[np.argsort(np.arctan2(poly[:, 1] - pts[i, 1], poly[:, 0] - pts[i, 0]))]
        x, y = poly[:, 0], poly[:, 1]
        xn, yn = np.roll(x, -1), np.roll(y, -1)
        cross = x * yn - xn * y
        area = cross.sum() / 2.0
        new[i] = [((x + xn) * cross).sum() / (6 * area), ((y + yn) * cross).sum() / (6 * area)]
    return _wrap(new, cell)


def relax_vertices(network: VoronoiNetwork, steps: int) -> VoronoiNetwork:
    """Return a copy of ``network`` whose vertices (atoms) took ``steps`` Lloyd iterations of their own.

    The bonds and rings (topology) are kept; only the atom positions move.
    """
    v = network.vertices
    for _ in range(int(steps)):
        v = lloyd_step(v, network.cell)
    return VoronoiNetwork(network.points, v, network.bonds, network.rings, network.vertex_points, network.cell)


def ring_sizes_from_bonds(positions: np.ndarray, bonds: np.ndarray, cell_a: float | Sequence[float]) -> np.ndarray:
    """Sizes of the faces (rings) of a periodic planar bond network, by face tracing.

    Each directed bond u→v is followed by v→w where w is the next neighbour of v
    clockwise from u, which walks around one face. Independent of how the network
    was generated (used to check the Voronoi rings).
    """
    cell = _cell2(cell_a)
    n = len(positions)
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in bonds:
        nbrs[a].append(b)
        nbrs[b].append(a)
    angle = {}
    for v in range(n):
        for w in nbrs[v]:
            d = _min_image(positions[w, :2] - positions[v, :2], cell)
            angle[(v, w)] = np.arctan2(d[1], d[0])
    order = {v: sorted(nbrs[v], key=lambda w: angle[(v, w)]) for v in range(n)}
    seen: set[tuple[int, int]] = set()
    sizes = []
    for u in range(n):
        for v in nbrs[u]:
            if (u, v) in seen:
                continue
            size, a, b = 0, u, v
            while (a, b) not in seen:
                seen.add((a, b))
                size += 1
                ring = order[b]
                k = ring.index(a)
                a, b = b, ring[(k - 1) % len(ring)]  # next clockwise from the incoming bond
                if size > 10 * n:  # pragma: no cover - malformed network
                    raise HrtemError("face tracing did not close; the bond network is not planar")
            sizes.append(size)
    return np.array(sizes, int)


def cut_holes(
    positions: np.ndarray,
    bonds: np.ndarray,
    cell_a: float | Sequence[float],
    n_holes: int,
    rng: np.random.Generator,
    radius_range_a: Sequence[float] = (2.5, 7.0),
    prune_dangling: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Remove atoms inside ``n_holes`` random ellipses; return kept indices, new bonds, hole list.

    Each hole has a uniform random centre, semi-axes drawn uniformly from
    ``radius_range_a`` (Å) and a random orientation. With ``prune_dangling``, atoms
    left with fewer than two bonds are removed repeatedly.
    """
    cell = _cell2(cell_a)
    keep = np.ones(len(positions), bool)
    holes = []
    for _ in range(int(n_holes)):
        centre = rng.uniform(0, 1, 2) * cell
        axes = rng.uniform(radius_range_a[0], radius_range_a[1], 2)
        angle = rng.uniform(0, 180)
        t = np.deg2rad(angle)
        d = _min_image(positions[:, :2] - centre, cell)
        u = d[:, 0] * np.cos(t) + d[:, 1] * np.sin(t)
        v = -d[:, 0] * np.sin(t) + d[:, 1] * np.cos(t)
        keep &= (u / axes[0]) ** 2 + (v / axes[1]) ** 2 > 1.0
        holes.append({"centre_a": centre.tolist(), "semi_axes_a": axes.tolist(), "angle_deg": float(angle)})
    while True:
        b = bonds[keep[bonds[:, 0]] & keep[bonds[:, 1]]]
        if not prune_dangling:
            break
        deg = np.bincount(b.ravel(), minlength=len(positions))
        drop = keep & (deg < 2)
        if not drop.any():
            break
        keep &= ~drop
    idx = np.flatnonzero(keep)
    remap = np.full(len(positions), -1)
    remap[idx] = np.arange(len(idx))
    return idx, remap[b].reshape(-1, 2), holes


def _atoms(xy: np.ndarray, cell: np.ndarray, cell_z_a: float) -> ase.Atoms:
    pos = np.column_stack([xy, np.full(len(xy), cell_z_a / 2.0)])
    return ase.Atoms(["C"] * len(xy), positions=pos, cell=[cell[0], cell[1], cell_z_a], pbc=[True, True, False])


def random_graphene(
    seed: int,
    *keys: str | int,
    cell_a: float | Sequence[float] = (43.2, 43.2),
    bond_a: float = 1.42,
    lloyd_steps: int = 8,
    vertex_lloyd_steps: int = 2,
    min_distance_fraction: float = 0.7,
    n_holes: int | None = None,
    holes_range: Sequence[int] = (0, 4),
    hole_radius_range_a: Sequence[float] = (2.5, 7.0),
    bond_tolerance_a: float = 0.005,
    cell_z_a: float = 10.0,
) -> GrapheneModel:
    """Random graphene-like model (thesis Fig. 6.9) periodic in the given cell.

    Parameters
    ----------
    seed, keys
        Config seed and stream keys for :func:`hrtem.seeding.rng`.
    cell_a
        Cell size in x, y in Å (one number for a square); kept exactly.
    bond_a
        Target mean C–C bond in Å (graphene 1.42 Å).
    lloyd_steps
        Lloyd iterations on the generator points (thesis: "a few"): more hexagons.
    vertex_lloyd_steps
        Lloyd iterations on the atoms themselves (the Voronoi vertices, bonds kept):
        pushes close atoms apart ("to avoid overlap", Fig. 6.9c). Two steps narrow the
        bond distribution to σ ≈ 0.1 Å; many steps drive the atoms towards a
        triangular arrangement and stretch the bonds.
    min_distance_fraction
        Poisson-disc minimum distance as a fraction of the honeycomb hexagon-centre
        distance √3·bond.
    n_holes
        Number of holes; ``None`` draws it uniformly from ``holes_range`` (inclusive).
    hole_radius_range_a
        Range of the holes' semi-axes in Å.
    bond_tolerance_a
        The generator count is refined (≤ 6 tries) until the relaxed mean bond is
        this close to ``bond_a`` (Å); the closest try is kept.
    cell_z_a
        Cell height in Å (sheet at the middle, non-periodic in z).
    """
    cell = _cell2(cell_a)
    g = make_rng(seed, *keys)
    n = max(4, int(round(cell.prod() / (HEXAGON_AREA_PER_BOND2 * bond_a**2))))
    best = None
    tried: set[int] = set()
    for attempt in range(6):
        tried.add(n)
        ga = make_rng(seed, *keys, "points", attempt)
        # hexagon-centre distance of n points on a triangular lattice filling the cell
        dmin = min_distance_fraction * np.sqrt(2.0 * cell.prod() / (np.sqrt(3.0) * n))
        points = poisson_disc(n, cell, dmin, ga)
        relaxed_pts = points
        for _ in range(int(lloyd_steps)):
            relaxed_pts = lloyd_step(relaxed_pts, cell)
        relaxed = relax_vertices(periodic_voronoi(relaxed_pts, cell), vertex_lloyd_steps)
        b = relaxed.mean_bond_a
        if best is None or abs(b - bond_a) < abs(best[2].mean_bond_a - bond_a):
            best = (points, attempt, relaxed)
        if abs(b - bond_a) <= bond_tolerance_a:
            break
        n_new = int(round(n * (b / bond_a) ** 2))
        if n_new in tried:
            n_new = n + (1 if b > bond_a else -1)
            if n_new in tried:
                break
        n = n_new
    points, attempt, relaxed = best
    voronoi = periodic_voronoi(points, cell)
    if n_holes is None:
        n_holes = int(g.integers(holes_range[0], holes_range[1] + 1))
    idx, bonds, holes = cut_holes(relaxed.vertices, relaxed.bonds, cell, n_holes, g, hole_radius_range_a)
    atoms = _atoms(relaxed.vertices[idx], cell, cell_z_a)
    model = GrapheneModel(atoms, points, voronoi, relaxed, bonds, holes)
    atoms.info.update(mean_bond_a=model.mean_bond_a, n_holes=int(n_holes), n_generators=len(points))
    return model


def polycrystalline_graphene(
    seed: int,
    *keys: str | int,
    cell_a: float | Sequence[float] = (43.2, 43.2),
    n_grains: int = 3,
    bond_a: float = 1.42,
    lloyd_steps: int = 1,
    vertex_lloyd_steps: int = 2,
    min_distance_fraction: float = 0.7,
    fill_fraction: float = 0.75,
    cell_z_a: float = 10.0,
) -> GrapheneModel:
    """Polycrystalline graphene: ``n_grains`` grains of perfect honeycomb at random rotations.

    Grain centres are uniform random in the periodic cell; every grain is a
    triangular lattice of hexagon centres (spacing √3·bond) with a random
    rotation in [0°, 60°) and offset, clipped to the grain's (periodic) Voronoi
    region. Generators of different grains closer than
    ``min_distance_fraction``·√3·bond are thinned, empty circles wider than
    ``fill_fraction``·√3·bond (radius; perfect lattice: 1/√3 ≈ 0.577) get a new
    generator at their centre, then the Voronoi vertices of all
    generators (after ``lloyd_steps`` Lloyd iterations of the generators and
    ``vertex_lloyd_steps`` of the atoms, both of which leave perfect honeycomb
    unchanged) are the atoms. ``atoms.arrays['grain']`` is each atom's grain.
    """
    cell = _cell2(cell_a)
    g = make_rng(seed, *keys)
    spacing = np.sqrt(3.0) * bond_a
    centres = g.uniform(0, 1, (int(n_grains), 2)) * cell
    angles = g.uniform(0, 60, int(n_grains))
    tree_c = cKDTree(centres, boxsize=cell)
    gens, grain_of = [], []
    r_max = np.hypot(*cell)
    m = int(np.ceil(r_max / spacing)) + 2
    ii, jj = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
    base = np.column_stack([ii.ravel() + 0.5 * jj.ravel(), jj.ravel() * np.sqrt(3) / 2]) * spacing
    for k, (c, ang) in enumerate(zip(centres, angles)):
        t = np.deg2rad(ang)
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        p = base @ rot.T + c + g.uniform(-0.5, 0.5, 2) * spacing
        inside = np.all((p >= 0) & (p < cell), axis=1)
        p = p[inside]
        _, owner = tree_c.query(p)
        p = p[owner == k]
        gens.append(p)
        grain_of.append(np.full(len(p), k))
    pts = np.vstack(gens)
    grain = np.concatenate(grain_of)
    # thin generators that crowd each other across boundaries (greedy, random order)
    order = g.permutation(len(pts))
    tree = cKDTree(pts, boxsize=cell)
    removed = np.zeros(len(pts), bool)
    for i in order:
        if removed[i]:
            continue
        for j in tree.query_ball_point(pts[i], min_distance_fraction * spacing):
            if j != i and not removed[j]:
                removed[j] = True
    pts, grain = pts[~removed], grain[~removed]
    # fill holes left by clipping and thinning: add the centres of large empty circles
    # (Voronoi vertices far from every generator) so the density stays that of graphene
    for _ in range(5):
        net = periodic_voronoi(pts, cell)
        dist, _ = cKDTree(pts, boxsize=cell).query(net.vertices)
        cand = np.argsort(-dist)
        cand = cand[dist[cand] > fill_fraction * spacing]
        if len(cand) == 0:
            break
        added: list[np.ndarray] = []
        for v in cand:
            p = net.vertices[v]
            if all(np.linalg.norm(_min_image(p - q, cell)) >= min_distance_fraction * spacing for q in added):
                added.append(p)
        owner = grain[net.vertex_points[[int(np.flatnonzero(np.all(net.vertices == q, axis=1))[0]) for q in added], 0]]
        pts = np.vstack([pts, np.array(added)])
        grain = np.concatenate([grain, owner])
    relaxed_pts = pts
    for _ in range(int(lloyd_steps)):
        relaxed_pts = lloyd_step(relaxed_pts, cell)
    voronoi = periodic_voronoi(pts, cell)
    relaxed = relax_vertices(periodic_voronoi(relaxed_pts, cell), vertex_lloyd_steps)
    atoms = _atoms(relaxed.vertices, cell, cell_z_a)
    vg = grain[relaxed.vertex_points]
    atoms.arrays["grain"] = np.array([np.bincount(row[row >= 0]).argmax() for row in vg], int)
    model = GrapheneModel(atoms, pts, voronoi, relaxed, relaxed.bonds, [], grain)
    atoms.info.update(mean_bond_a=model.mean_bond_a, n_grains=int(n_grains),
                      grain_angles_deg=" ".join(f"{a:.2f}" for a in angles))
    return model
