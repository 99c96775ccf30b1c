"""Post-processing recovers positions from probability maps; one-to-one matching counts TP/FP/FN."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError
from hrtem.learn.metrics import ideal_mask, match, pr_curve, precision_recall
from hrtem.learn.postprocess import find_atoms, ratio
from hrtem.structures.graphene import random_graphene


def blobs(positions_a, classes, shape, sampling_a, sigma_a, n_classes):
    """Gaussian label maps (background 1 - sum) as the training labels are made."""
    ix, iy = np.indices(shape, dtype=float)
    x, y = ix * sampling_a, iy * sampling_a
    p = np.zeros(shape + (n_classes + 1,))
    for (px, py), c in zip(positions_a, classes):
        p[..., c] += np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma_a**2))
    p[..., 1:] = np.clip(p[..., 1:], 0, 1)
    p[..., 0] = np.clip(1 - p[..., 1:].sum(-1), 0, 1)
    return p


def test_watershed_recovers_exact_subpixel_positions_and_classes():
    rng = np.random.default_rng(1)
    sampling = 0.1
    # a 5 x 5 grid of atoms 6 Å apart with random sub-pixel offsets, two classes
    grid = np.array([(3 + 6 * i, 3 + 6 * j) for i in range(5) for j in range(5)], float) + 4.0
    pos = grid + rng.uniform(-0.5, 0.5, grid.shape)
    cls = rng.integers(1, 3, len(pos))
    p = blobs(pos, cls, (380, 380), sampling, 0.6, 2)
    found, fcls, conf = find_atoms(p, sampling, threshold=0.1)
    assert len(found) == len(pos)
    m = match(found, pos, 0.5)
    assert m.tp == len(pos)
    err = np.linalg.norm(found[m.pairs[:, 0]] - pos[m.pairs[:, 1]], axis=1)
    assert err.max() < 0.015  # Å, for a 0.1 Å pixel (the half-maximum core is cut on pixels)
    whole, _, _ = find_atoms(p, sampling, threshold=0.1, core=0.0)  # Eq. 6.15 over the whole segment
    m0 = match(whole, pos, 0.5)
    assert np.linalg.norm(whole[m0.pairs[:, 0]] - pos[m0.pairs[:, 1]], axis=1).max() < 0.002
    assert np.array_equal(fcls[m.pairs[:, 0]], cls[m.pairs[:, 1]])
    # an isolated Gaussian's segment is the disc where G > 1 - level: the ratio
    # Σ atom / Σ background over it is (1 - e) / (ln(1/e) - (1 - e)), e = 1 - level
    e = 1 - 0.995
    assert np.allclose(ratio(conf), (1 - e) / (np.log(1 / e) - (1 - e)), rtol=0.02)


def honeycomb(nx: int, ny: int, a: float = 1.42) -> tuple[np.ndarray, tuple[float, float]]:
    basis = np.array([[0, 0], [a, 0], [1.5 * a, np.sqrt(3) / 2 * a], [2.5 * a, np.sqrt(3) / 2 * a]])
    cx, cy = 3 * a, np.sqrt(3) * a
    pos = np.array([b + (i * cx, j * cy) for i in range(nx) for j in range(ny) for b in basis])
    return pos, (nx * cx, ny * cy)


@pytest.mark.parametrize("mode", ["watershed", "peaks"])
def test_graphene_labels_give_every_atom_once(mode):
    # ideal honeycomb, randomly shifted off the pixel grid, labels σ = 0.5 Å
    pos, _ = honeycomb(5, 8)
    pos = pos + np.random.default_rng(2).uniform(2.0, 2.1, 2)
    sampling = 0.08
    p = blobs(pos, np.ones(len(pos), int), (330, 300), sampling, 0.5, 1)
    # atoms at the sheet's edge have basins reaching into the vacuum: lower confidence
    found, _, conf = find_atoms(p, sampling, mode=mode, threshold=0.3 if mode == "watershed" else 0.5)
    m = match(found, pos, 0.5)
    assert m.tp == len(pos) and m.fp == 0
    err = np.linalg.norm(found[m.pairs[:, 0]] - pos[m.pairs[:, 1]], axis=1)
    inner = np.all((pos[m.pairs[:, 1]] > 4) & (pos[m.pairs[:, 1]] < 18), axis=1)
    assert err[inner].max() < 0.02  # Å (a quarter pixel): symmetric neighbourhoods, no bias
    # a random (Voronoi) sheet: every atom found once; neighbour tails bias the
    # watershed centroids by a few hundredths of an Å
    g = random_graphene(3, "pp", cell_a=(20.0, 20.0), n_holes=0).atoms
    pos = g.positions[:, :2] + 2.0
    p = blobs(pos, np.ones(len(pos), int), (300, 300), sampling, 0.4, 1)
    found, _, _ = find_atoms(p, sampling, threshold=0.2 if mode == "watershed" else 0.5, mode=mode)
    m = match(found, pos, 0.5)
    assert m.tp >= len(pos) - 2 and m.fp == 0
    err = np.linalg.norm(found[m.pairs[:, 0]] - pos[m.pairs[:, 1]], axis=1)
    assert np.median(err) < 0.03


def test_threshold_discards_weak_segments():
    sampling = 0.1
    pos = np.array([[5.0, 5.0], [15.0, 15.0]])
    p = blobs(pos, [1, 1], (200, 200), sampling, 0.6, 1)
    # make the second atom faint: most of its mass to background
    ix, iy = np.indices((200, 200)) * sampling
    faint = np.hypot(ix - 15, iy - 15) < 3
    p[faint, 1] *= 0.1
    p[faint, 0] = 1 - p[faint, 1]
    found, _, conf = find_atoms(p, sampling, threshold=0.0)
    assert len(found) == 2
    kept, _, _ = find_atoms(p, sampling, threshold=0.1)
    assert len(kept) == 1 and np.allclose(kept[0], [5.0, 5.0], atol=0.01)
    # the rule Σ atoms ≥ t Σ background is ratio(confidence) ≥ t
    assert np.sum(ratio(conf) >= 0.1) == 1


def test_find_atoms_rejects_bad_maps():
    with pytest.raises(HrtemError):
        find_atoms(np.full((10, 10, 2), np.nan), 0.1)
    with pytest.raises(HrtemError):
        find_atoms(np.zeros((10, 10, 2)), 0.1, mode="nope")
    found, _, _ = find_atoms(np.stack([np.ones((20, 20)), np.zeros((20, 20))], -1), 0.1)
    assert found.shape == (0, 2)


def test_matching_counts_constructed_cases():
    true = np.array([[0.0, 0.0], [1.42, 0.0], [5.0, 5.0]])
    # two detections for atom 0, one for atom 1 (0.3 Å off), none for atom 2, one stray
    det = np.array([[0.1, 0.0], [-0.2, 0.1], [1.42, 0.3], [9.0, 9.0]])
    m = match(det, true, 0.5)
    assert (m.tp, m.fp, m.fn) == (2, 2, 1)
    assert set(map(tuple, m.pairs)) == {(0, 0), (2, 1)}  # the closer of the two duplicates wins
    pr = precision_recall(det, true, 0.5)["all"]
    assert pr["precision"] == pytest.approx(0.5) and pr["recall"] == pytest.approx(2 / 3)
    # the assignment maximises the number of pairs: a detection between two atoms
    # that is nearest to atom A must go to atom B when another detection only reaches A
    true2 = np.array([[0.0, 0.0], [0.8, 0.0]])
    det2 = np.array([[0.35, 0.0], [-0.3, 0.0]])
    assert match(det2, true2, 0.5).tp == 2
    # outside the radius nothing matches
    assert match([[0.6, 0.0]], [[0.0, 0.0]], 0.5).tp == 0
    assert match(np.zeros((0, 2)), true, 0.5).fn == 3


def test_groups_and_pr_curve():
    true = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 0.0], [9.0, 0.0]])
    groups = np.array(["ideal", "ideal", "defect", "defect"])
    det = np.array([[0.0, 0.1], [3.1, 0.0], [6.0, 0.2], [9.0, 1.2]])  # last is off by 1.2 Å: FP near a defect
    score = np.array([0.9, 0.8, 0.3, 0.7])
    res = precision_recall(det, true, 0.5, groups)
    assert res["ideal"]["recall"] == 1.0 and res["ideal"]["precision"] == 1.0
    assert res["defect"]["tp"] == 1 and res["defect"]["fp"] == 1 and res["defect"]["fn"] == 1
    rows = pr_curve([(det, score)], [true], [0.0, 0.5, 0.95], 0.5, [groups])
    assert [r["all"]["tp"] for r in rows] == [3, 2, 0]
    assert [r["all"]["fp"] for r in rows] == [1, 1, 0]
    assert rows[1]["defect"]["recall"] == 0.0 and rows[1]["ideal"]["recall"] == 1.0


def test_ideal_mask_separates_lattice_from_defects():
    a = 1.42
    # periodic honeycomb, 6 x 4 orthogonal cells of 3a x sqrt(3)a
    basis = np.array([[0, 0], [a, 0], [1.5 * a, np.sqrt(3) / 2 * a], [2.5 * a, np.sqrt(3) / 2 * a]])
    cx, cy = 3 * a, np.sqrt(3) * a
    pos = np.array([b + (i * cx, j * cy) for i in range(6) for j in range(4) for b in basis])
    cell = (6 * cx, 4 * cy)
    ideal, rmsd = ideal_mask(pos, cell)
    assert ideal.all() and np.nanmax(rmsd) < 1e-6
    # displace one atom by 0.4 Å: it and its neighbours stop being ideal, far atoms stay ideal
    moved = pos.copy()
    moved[30] += (0.4, 0.0)
    ideal2, _ = ideal_mask(moved, cell)
    assert not ideal2[30]
    d = pos - pos[30]
    d -= np.round(d / cell) * cell  # minimum image
    far = np.linalg.norm(d, axis=1) > 4.5
    assert ideal2[far].all()
    # a random Voronoi sheet is mostly non-ideal
    g = random_graphene(0, "t", cell_a=(20.0, 20.0), n_holes=0).atoms
    ideal3, _ = ideal_mask(g.positions[:, :2], (20.0, 20.0))
    assert ideal3.mean() < 0.5


def test_min_separation_merges_checkerboard_duplicates_but_not_neighbouring_columns():
    """A broad blob with a pixel-scale checkerboard ripple (the transposed-convolution artefact seen on
    tilted ⟨111⟩ Au, issue 11) has several maxima 2 px apart along the ripple: one column reported several times."""
    sampling = 0.12
    # two columns 1.5 Å apart (the smallest projected Au column spacing of the held-out particles)
    pos = np.array([[10.0, 10.0], [11.5, 10.0]])
    p = blobs(pos, [1, 1], (170, 170), sampling, 0.35, 1)
    ix, iy = np.indices((170, 170))
    atom = p[..., 1] * (1.0 - 0.25 * (ix % 2))  # pixel-scale ripple of 25 % along x
    p = np.stack([1.0 - atom, atom], -1)
    raw, _, conf_raw = find_atoms(p, sampling, threshold=0.5, mode="peaks")
    assert len(raw) > 2  # duplicates: maxima 2 px (0.24 Å) apart on each blob
    d = np.hypot(*(raw[:, None] - raw[None]).transpose(2, 0, 1))
    assert np.min(d[np.triu_indices(len(raw), 1)]) < 0.3
    kept, _, conf = find_atoms(p, sampling, threshold=0.5, mode="peaks", min_separation_a=0.5)
    assert len(kept) == 2  # one per column, and the neighbour 1.5 Å away survives
    order = np.argsort(kept[:, 0])
    assert np.allclose(kept[order], pos, atol=0.2)
    assert set(np.round(conf, 6)) <= set(np.round(conf_raw, 6))  # kept detections are the most confident ones
    with pytest.raises(HrtemError):
        find_atoms(p, sampling, mode="peaks", min_separation_a=-1.0)
    with pytest.raises(HrtemError):
        find_atoms(p, sampling, mode="peaks", min_separation_a=float("inf"))
