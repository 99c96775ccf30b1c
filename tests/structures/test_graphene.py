"""Voronoi graphene generator (thesis Fig. 6.9) and polycrystalline sheets."""

import numpy as np
import pytest

from hrtem.structures.graphene import (
    bond_lengths,
    periodic_voronoi,
    polycrystalline_graphene,
    random_graphene,
    ring_sizes_from_bonds,
)


@pytest.fixture(scope="module")
def sheets():
    return [random_graphene(s, "test_graphene", n_holes=0) for s in range(2)]


def test_mean_bond_and_cell(sheets):
    for m in sheets:
        assert np.allclose(m.atoms.cell.lengths()[:2], 43.2)
        assert list(m.atoms.pbc) == [True, True, False]
        xy = m.atoms.positions[:, :2]
        assert np.all((xy >= 0) & (xy < 43.2))
        # measured 1.4184, 1.4190 (target 1.42)
        assert m.mean_bond_a == pytest.approx(1.42, abs=0.03)
        assert m.atoms.info["mean_bond_a"] == pytest.approx(m.mean_bond_a)
        bl = bond_lengths(m.relaxed.vertices, m.relaxed.bonds, m.relaxed.cell)
        assert bl.min() > 0.9  # Lloyd on the atoms removed the near-overlaps (measured ≥ 1.04 Å)
        assert bl.std() < 0.15  # measured ≈ 0.11 Å
        # the unrelaxed Voronoi vertices had near-coincident atoms
        assert bond_lengths(m.voronoi.vertices, m.voronoi.bonds, m.voronoi.cell).min() < 0.5


def test_rings_mostly_hexagonal_and_euler(sheets):
    for m in sheets:
        net = m.relaxed
        sizes = net.ring_sizes
        # independent ring count by tracing the faces of the bond network
        traced = ring_sizes_from_bonds(net.vertices, net.bonds, net.cell)
        assert np.array_equal(np.sort(traced), np.sort(sizes))
        # three bonds per atom; on a torus V − E + F = 0 so the mean ring size is exactly 6
        assert np.all(np.bincount(net.bonds.ravel()) == 3)
        assert sizes.mean() == pytest.approx(6.0)
        assert np.mean(sizes == 6) > 0.5  # measured 0.62, 0.60
        assert set(np.unique(sizes)) <= {4, 5, 6, 7, 8, 9}
        assert len(net.vertices) == 2 * len(net.points)  # two atoms per hexagon-equivalent


def test_same_seed_same_sheet():
    a = random_graphene(3, "rep", cell_a=20.0)
    b = random_graphene(3, "rep", cell_a=20.0)
    c = random_graphene(4, "rep", cell_a=20.0)
    assert np.array_equal(a.atoms.positions, b.atoms.positions)
    assert a.holes == b.holes
    assert len(a.atoms) != len(c.atoms) or not np.allclose(a.atoms.positions, c.atoms.positions)


def test_holes_remove_atoms_and_dangling_bonds():
    full = random_graphene(5, "holes", cell_a=25.0, n_holes=0)
    holed = random_graphene(5, "holes", cell_a=25.0, n_holes=3, hole_radius_range_a=(3.0, 5.0))
    assert np.array_equal(full.relaxed.vertices, holed.relaxed.vertices)  # holes come last
    assert len(holed.holes) == 3 and holed.atoms.info["n_holes"] == 3
    assert len(holed.atoms) < len(full.atoms) - 3 * 10  # each hole ≥ π·3² Å² × 0.38 atoms/Å²
    degree = np.bincount(holed.bonds.ravel(), minlength=len(holed.atoms))
    assert degree.min() >= 2 and degree.max() == 3
    cell = np.array([25.0, 25.0])
    for h in holed.holes:
        d = holed.atoms.positions[:, :2] - h["centre_a"]
        d -= cell * np.round(d / cell)
        t = np.deg2rad(h["angle_deg"])
        u = d[:, 0] * np.cos(t) + d[:, 1] * np.sin(t)
        v = -d[:, 0] * np.sin(t) + d[:, 1] * np.cos(t)
        assert np.all((u / h["semi_axes_a"][0]) ** 2 + (v / h["semi_axes_a"][1]) ** 2 > 1.0)
    assert holed.mean_bond_a == pytest.approx(1.42, abs=0.03)


def test_perfect_honeycomb_from_triangular_generators():
    # Voronoi vertices of hexagon centres (triangular lattice, spacing √3·b) are graphene
    b = 1.42
    nx, ny = 8, 10
    s = np.sqrt(3) * b
    cell = np.array([nx * s, ny * s * np.sqrt(3) / 2])
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    pts = np.column_stack([(i + 0.5 * (j % 2)).ravel() * s, j.ravel() * s * np.sqrt(3) / 2])
    net = periodic_voronoi(pts, cell)
    assert len(net.vertices) == 2 * nx * ny
    assert np.allclose(bond_lengths(net.vertices, net.bonds, cell), b)
    assert np.all(net.ring_sizes == 6)


def test_polycrystalline_grains_and_boundaries():
    m = polycrystalline_graphene(0, "test_poly", n_grains=3)
    net = m.relaxed
    sizes = net.ring_sizes
    assert m.mean_bond_a == pytest.approx(1.42, abs=0.03)  # measured 1.431
    assert np.mean(sizes == 6) > 0.75  # measured 0.927
    assert np.any(sizes == 5) and np.any(sizes == 7)  # grain-boundary pentagons/heptagons
    assert sizes.mean() == pytest.approx(6.0)
    grain = m.atoms.arrays["grain"]
    assert set(np.unique(grain)) == {0, 1, 2}
    # bonds between atoms deep inside one grain are perfect graphene bonds
    bl = bond_lengths(net.vertices, net.bonds, net.cell)
    deep = np.all(m.point_grains[net.vertex_points] == grain[:, None], axis=1)
    inner = deep[net.bonds[:, 0]] & deep[net.bonds[:, 1]]
    assert inner.mean() > 0.5
    assert np.median(bl[inner]) == pytest.approx(1.42, abs=0.005)


def test_periodic_columns_of_a_sheet_across_the_cell_edge():
    from hrtem.structures.columns import project_columns

    m = random_graphene(0, "cols", cell_a=20.0, n_holes=0)
    cols = project_columns(m.atoms)  # pbc in x, y: every atom is its own column
    assert len(cols.counts) == len(m.atoms) and cols.counts.max() == 1
    moved = m.atoms.copy()
    moved.positions[:, :2] += [-0.01, 0.005]
    moved.wrap()  # atoms near x = 0 jump to x ≈ 20 Å
    avg = project_columns([m.atoms, moved])
    assert len(avg.counts) == len(m.atoms)
    assert np.allclose(avg.spread_a, np.hypot(0.005, 0.0025))  # half the displacement, every column
