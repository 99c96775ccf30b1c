"""Particle shapes from ASE's cluster builders (five default classes), random 3D orientations, on carbon."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from hrtem.errors import HrtemError
from hrtem.seeding import rng
from hrtem.structures.carbon import random_sequential_carbon
from hrtem.structures.shapes import ALL_SHAPES, SHAPES, particle_diameter_nm, particle_on_film, random_rotation, shape_cluster, shape_particle


def _facet_count(atoms):
    """Number of distinct planar facets of the convex hull (merge coplanar triangles)."""
    hull = ConvexHull(atoms.positions)
    normals = np.round(hull.equations[:, :3], 3)
    offsets = np.round(hull.equations[:, 3], 1)
    return len({(*n, o) for n, o in zip(normals, offsets)})


def test_magic_numbers_and_facets():
    # the textbook atom counts of each builder
    assert len(shape_cluster("cuboctahedron", 2)) == 55
    assert len(shape_cluster("icosahedron", 3)) == 55
    assert len(shape_cluster("octahedron", 3)) == 19
    assert len(shape_cluster("truncated_octahedron", 1)) == 38
    assert len(shape_cluster("cube", 2)) == 63  # 2x2x2 fcc cells centred on an atom (k = 1 would be 13 atoms)
    # facet counts: cuboctahedron 14, truncated octahedron 14, octahedron 8, icosahedron 20
    assert _facet_count(shape_cluster("cuboctahedron", 3)) == 14
    assert _facet_count(shape_cluster("truncated_octahedron", 3)) == 14
    assert _facet_count(shape_cluster("octahedron", 6)) == 8
    assert _facet_count(shape_cluster("icosahedron", 4)) == 20
    cube = shape_cluster("cube", 4)
    assert _facet_count(cube) == 6
    # {100} faces: the hull is an axis-aligned cube whose edge is a multiple of a/2
    np.testing.assert_allclose(np.ptp(cube.positions, axis=0), 4 * 4.078, atol=1e-9)
    # fcc nearest-neighbour distance a/sqrt(2) in the single-crystal shapes
    c = shape_cluster("truncated_octahedron", 3)
    d = c.get_all_distances() + np.eye(len(c)) * 99
    assert d.min() == pytest.approx(4.078 / np.sqrt(2), abs=1e-6)


def test_default_classes_are_five_distinct_shapes():
    assert len(SHAPES) == 5 and set(SHAPES) < set(ALL_SHAPES) and "cuboctahedron" not in SHAPES


@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_size_range_and_random_orientation(shape):
    sizes, rots = [], []
    for i in range(4):
        p = shape_particle(shape, rng(7, "shape", i), size_min_nm=2.0, size_max_nm=3.5)
        sizes.append(particle_diameter_nm(p))
        rot = np.array(p.info["rotation"]).reshape(3, 3)
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
        rots.append(rot)
        assert p.info["shape_class"] == ALL_SHAPES.index(shape) + 1
    assert all(2.0 <= s <= 3.5 for s in sizes)
    assert not np.allclose(rots[0], rots[1])


def test_rotations_are_uniform():
    # for uniform rotations the rotated z axis is uniform on the sphere: mean ~ 0, <z_z^2> = 1/3
    z = np.array([random_rotation(rng(1, "u", i))[2] for i in range(400)])
    assert np.abs(z.mean(axis=0)).max() < 0.1
    assert np.mean(z[:, 2] ** 2) == pytest.approx(1 / 3, abs=0.05)


def test_seeded():
    a = shape_particle("decahedron", rng(3, "d"), 2.0, 3.0)
    b = shape_particle("decahedron", rng(3, "d"), 2.0, 3.0)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_particle_on_film():
    film = random_sequential_carbon(40.0, 10.0, rng(0, "film"))
    p = shape_particle("icosahedron", rng(0, "p"), 2.0, 2.5)
    s = particle_on_film(p, film, rng(0, "o"), gap_a=2.0, max_offset_a=3.0)
    sup = s.arrays["support"]
    assert sup.sum() == len(film) and (~sup).sum() == len(p)
    assert s.positions[~sup, 2].min() - s.positions[sup, 2].max() >= 2.0 - 1e-6
    assert np.all(s.positions[~sup, :2] > 0) and np.all(s.positions[~sup, :2] < 40.0)
    assert s.info["shape"] == "icosahedron" and s.info["film_thickness_a"] == 10.0
    with pytest.raises(HrtemError, match="does not fit"):
        particle_on_film(shape_particle("octahedron", rng(0), 5.0, 6.0), film)
    with pytest.raises(HrtemError, match="unknown particle shape"):
        shape_particle("sphere", rng(0))
