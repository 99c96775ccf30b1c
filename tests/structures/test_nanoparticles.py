import numpy as np

from hrtem.structures.nanoparticles import fcc_cluster


def test_fig2_2_cluster_atom_count_and_centring():
    atoms = fcc_cluster()
    # ASE FaceCenteredCubic("Au", [100,110,111], [6,9,5]) has 675 atoms
    assert len(atoms) == 675
    assert set(atoms.get_chemical_symbols()) == {"Au"}
    pos = atoms.positions
    cell = np.diag(atoms.cell.array)
    # centred with 2 Å vacuum on each side along every axis
    np.testing.assert_allclose(pos.min(axis=0), 2.0, atol=1e-6)
    np.testing.assert_allclose(cell - pos.max(axis=0), 2.0, atol=1e-6)
    np.testing.assert_allclose((pos.min(axis=0) + pos.max(axis=0)) / 2, cell / 2, atol=1e-6)


def test_fig2_2_cluster_is_110_zone_axis():
    atoms = fcc_cluster(rotation_y_deg=45.0)
    # along <110> the atoms stack in columns: the number of distinct (x, y) is far below N
    xy = np.round(atoms.positions[:, :2] / 0.05).astype(int)
    n_columns = len(np.unique(xy, axis=0))
    assert n_columns < len(atoms) / 5
