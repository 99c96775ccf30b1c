"""Column detection on simulated ch. 4 images of gold (issue 8 §4).

Goal: on ⟨110⟩ and ⟨100⟩ Au images at 0.2 Å/px and Δf = 8.5 nm, ≥ 98 % of the
columns found, ≤ 1 % spurious, ≥ 95 % of the interior columns matched with
RMSD < 0.1. Before this module (fixed 1 Å square-window peaks, relative
threshold 0.2) the same images gave 38–65 % spurious peaks.
"""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.strain.lattice import detect_lattice_columns, detection_scores, lattice_from_image
from hrtem.strain.peaks import find_peaks
from hrtem.strain.synthetic import gaussian_image


@pytest.fixture(scope="module")
def au_images():
    """Noisy camera images (0.2 Å/px, Δf = 8.5 nm, ch. 4 optics) of a 3 nm Au Wulff particle, both zones.

    ``out[zone, dose]`` is one noise realisation; ``out["noisy"](zone, dose, k)``
    makes realisation ``k`` of the same noise-free image.
    """
    from hrtem.config import validate_config
    from hrtem.optics import Detector, Microscope
    from hrtem.seeding import rng
    from hrtem.simulate.exit_waves import exit_waves
    from hrtem.structures.columns import project_columns
    from hrtem.structures.wulff import wulff_particle

    cfg = validate_config({})
    sim = cfg["simulate"]
    sim["frozen_phonons"]["configurations"] = 1
    scope = Microscope.from_config(cfg["images"]["microscope"])
    out, lenses = {}, {}
    for zone in ("110", "100"):
        atoms = wulff_particle("Au", 3.0, zone_axis=zone, vacuum_a=5.0)
        waves = exit_waves(atoms, energy_kev=300, simulate=sim, seed=1, keys=("test", zone))
        s = tuple(float(waves[d][1] - waves[d][0]) for d in "xy")
        lenses[zone] = (scope.image(waves.values, s), s)
        out[zone] = project_columns(atoms).positions_xy

    def noisy(zone: str, dose: float, k: int) -> np.ndarray:
        det = Detector.from_config({**cfg["images"]["detector"], "dose_e_per_a2": dose})
        lens, s = lenses[zone]
        return det.detect(lens, s, rng(k, "test", zone, dose))

    for zone in ("110", "100"):
        for dose in (1e3, 1e4, 1e5):
            out[zone, dose] = noisy(zone, dose, 0)
    out["noisy"] = noisy
    return out


@pytest.mark.slow
@pytest.mark.parametrize("zone", ["110", "100"])
@pytest.mark.parametrize("dose", [1e4, 1e5])
def test_detection_goal_on_au_images(au_images, zone, dose):
    """The issue's goal at 10⁴ and 10⁵ e⁻/Å² (measured: 100 % found, 0 spurious, 100 % matched)."""
    det = detect_lattice_columns(au_images[zone, dose], 0.2, f"fcc{zone}")
    sc = detection_scores(det.positions, au_images[zone], f"fcc{zone}")
    assert sc["found"] >= 0.98, sc
    assert sc["spurious"] <= 0.01, sc
    assert sc["interior_matched"] >= 0.95, sc
    # the nearest-neighbour distance from the image's own autocorrelation (true: 2.497 / 2.039 Å)
    true_nn = {"110": 4.078 * np.sqrt(3 / 8), "100": 4.078 / 2}[zone]
    assert abs(det.lattice.nn_distance_a / true_nn - 1) < 0.03


@pytest.mark.slow
@pytest.mark.parametrize("zone", ["110", "100"])
@pytest.mark.parametrize("dose", [1e3, 1e4])
def test_detection_goal_on_every_noise_realisation(au_images, zone, dose):
    """The goal on six noise realisations each, the lowest dose included (no chosen seed).

    Before the lattice-neighbour test, the local-contrast heights, the
    stronger Wiener filter and the infill, ⟨110⟩ at 10³ gave 97–100 % found,
    0–1.8 % spurious and 75–100 % interior matched depending on the
    realisation (now 100 % / 0 / 100 % on 16 realisations).
    """
    for k in range(6):
        det = detect_lattice_columns(au_images["noisy"](zone, dose, k), 0.2, f"fcc{zone}")
        sc = detection_scores(det.positions, au_images[zone], f"fcc{zone}")
        assert sc["found"] >= 0.98, (k, sc)
        assert sc["spurious"] <= 0.01, (k, sc)
        assert sc["interior_matched"] >= 0.95, (k, sc)


@pytest.mark.slow
def test_each_stage_rejects_what_it_should(au_images):
    """⟨110⟩ at 10³: without the lattice-neighbour test and the local-contrast heights the
    delocalised fringes beyond the surface come back; without the infill (and the stronger
    Wiener filter) the dim thick central columns are lost."""
    spurious, found = [], []
    for k in range(6):
        img = au_images["noisy"]("110", 1e3, k)
        plain = detect_lattice_columns(img, 0.2, "fcc110", lattice_neighbours=0, height_sigma_a=0.0, noise_factor=1.0)
        spurious.append(detection_scores(plain.positions, au_images["110"], "fcc110")["spurious"])
        no_fill = detect_lattice_columns(img, 0.2, "fcc110", infill=False, noise_factor=1.0)
        found.append(detection_scores(no_fill.positions, au_images["110"], "fcc110")["found"])
    assert max(spurious) > 0.01, spurious
    assert min(found) < 1.0, found  # with the infill: 100 % (test above)


@pytest.mark.slow
def test_old_defaults_were_untrustworthy(au_images):
    """The failure the issue reports: fixed settings give many spurious peaks on the same image."""
    from hrtem.strain.peaks import detect_columns

    pts = detect_columns(au_images["110", 1e4], 0.2)
    sc = detection_scores(pts, au_images["110"], "fcc110")
    assert sc["spurious"] > 0.3


def _fcc110_points(theta_deg: float = 0.0, box_a: float = 40.0) -> np.ndarray:
    """Au ⟨110⟩ projected columns: centred rectangle 4.078 × 2.884 Å (nearest neighbours 2.497 Å)."""
    a1 = np.array([4.078, 0.0])
    a2 = np.array([2.039, 4.078 / np.sqrt(2) / 2.0])  # the centring vector
    theta = np.deg2rad(theta_deg)
    r = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    ij = np.stack(np.meshgrid(np.arange(-25, 26), np.arange(-25, 26), indexing="ij"), -1).reshape(-1, 2)
    pts = (ij @ np.stack([a1, a2])) @ r.T + box_a / 2
    return pts[(pts > 2).all(1) & (pts < box_a - 2).all(1)]


def test_min_distance_is_euclidean_in_angstrom():
    """Au ⟨110⟩ columns (2.50 Å apart) at 0.2 Å/px: --min-distance 2.0 Å keeps every column, 2.7 Å does not."""
    s = 0.2
    pts = _fcc110_points()
    img = gaussian_image(pts, (200, 200), s, sigma_a=0.35)
    assert len(find_peaks(img, min_distance_px=2.0 / s, threshold_rel=0.3, exclude_border_px=0)) == len(pts)
    assert len(find_peaks(img, min_distance_px=2.7 / s, threshold_rel=0.3, exclude_border_px=0)) < 0.8 * len(pts)
    # every pair of returned peaks is at least min_distance apart (here on pure noise)
    noise = np.random.default_rng(0).standard_normal((120, 120))
    pk = find_peaks(noise, min_distance_px=7.3, threshold_rel=0.0)
    d = np.linalg.norm(pk[:, None] - pk[None], axis=-1) + np.eye(len(pk)) * 1e9
    assert d.min() > 7.3


def test_lattice_from_image_scale():
    """A rotated fcc ⟨110⟩ lattice image: nearest-neighbour distance from the autocorrelation within 1 %."""
    pts = _fcc110_points(20.0)
    img = gaussian_image(pts, (200, 200), 0.2, sigma_a=0.4)
    est = lattice_from_image(img, 0.2, "fcc110")
    assert abs(est.nn_distance_a / 2.497 - 1) < 0.01
    assert est.score > 0.8
    # a given distance is kept; only the rotation is fitted
    assert lattice_from_image(img, 0.2, "fcc110", nn_distance_a=2.5).nn_distance_a == 2.5


def test_cli_strain_fcc110_on_au_image(tmp_path, au_images):
    """`hrtem strain IMAGE --method stm --template fcc110`, defaults and --min-distance 2.0, as a new user runs it."""
    from hrtem.cli import main
    from hrtem.strain.io import read_table

    img = tmp_path / "au110.npy"
    np.save(img, au_images["110", 1e4])
    for extra in ([], ["--min-distance", "2.0"], ["--r-max", "0.1", "--min-level", "3"]):
        out = tmp_path / f"s{len(extra)}.csv"
        assert main(["strain", str(img), "--sampling", "0.2", "--method", "stm", "--template", "fcc110",
                     *extra, "-o", str(out)]) == 0
        tab = read_table(out)
        pts = np.stack([tab["x"].astype(float), tab["y"].astype(float)], 1)
        sc = detection_scores(pts, au_images["110"], "fcc110")
        assert sc["found"] >= 0.98 and sc["spurious"] <= 0.01, (extra, sc)
        if "--r-max" in extra:  # with partial matching at the surface nearly every column matches
            assert np.mean(tab["rmsd"].astype(float) < 0.1) >= 0.95
