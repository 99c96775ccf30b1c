"""Gold training structures, focal series and the surface time series (issue 11, hrtem.learn.gold)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError
from hrtem.learn.gold import GOLD_DEFAULTS, gold_particle, gold_section, gold_structures, surface_time_series

HEIGHT = {"labels": {"mode": "height", "max_height": 100}}


@pytest.mark.parametrize("zone", ["110", "111"])
def test_column_heights_of_a_particle_are_the_label_classes(zone):
    # no tilt: every atom lies within 0.2 Å of its column's site, so counting atoms per nearest site
    # (independent of the single-linkage grouping) must give each label's class
    section = {**HEIGHT, "structures": {"zone_axes": [zone], "tilt_max_deg": 0.0}}
    for i in range(2):
        p = gold_particle(section, seed=3, index=i)
        xy, cls = p.info["label_xy"], p.info["label_class"]
        d, nearest = cKDTree(xy).query(p.positions[:, :2])
        assert d.max() < 0.2
        np.testing.assert_array_equal(np.bincount(nearest, minlength=len(xy)), cls)
        np.testing.assert_array_equal(cls, p.info["label_height"])
        assert p.info["zone_axis"] == zone and cls.max() >= 3  # a particle, not a monolayer
        # <110> columns of fcc are at least a·sqrt(3/8) = 2.50 Å apart, <111> a/sqrt(6) = 1.66 Å
        dmin = cKDTree(xy).query(xy, k=2)[0][:, 1].min()
        assert dmin == pytest.approx(4.078 * (np.sqrt(3 / 8) if zone == "110" else 1 / np.sqrt(6)), abs=0.02)


def test_random_particles_tilt_zone_cell_and_capped_classes():
    section = {"labels": {"mode": "height", "max_height": 4}}
    ps = gold_structures({**section, "structures": {"count": 6}}, seed=1)
    assert len(ps) == 6
    zones = {p.info["zone_axis"] for p in ps}
    assert zones <= {"110", "111"} and len(zones) == 2
    for p in ps:
        assert 0.0 <= p.info["tilt_deg"] <= 3.0
        np.testing.assert_allclose(p.cell.lengths()[:2], [50.0, 50.0])
        assert tuple(p.pbc) == (True, True, False)
        h, cls = p.info["label_height"], p.info["label_class"]
        assert h.sum() == len(p)  # every atom is in exactly one column
        np.testing.assert_array_equal(cls, np.minimum(h, 4))
        xy = p.positions[:, :2]
        assert xy.min() >= 2.0 - 1e-6 and xy.max() <= 48.0 + 1e-6  # margin_a kept
    # detection labels: one class, same sites
    q = gold_particle({"structures": {"count": 6}}, seed=1, index=0)
    np.testing.assert_array_equal(q.info["label_class"], 1)
    np.testing.assert_allclose(q.info["label_xy"], ps[0].info["label_xy"])
    # seeded: same seed same particle, other seed another
    np.testing.assert_allclose(gold_particle({}, 1, 0).positions, q.positions)
    assert len(gold_particle({}, 2, 0)) != len(q) or not np.allclose(gold_particle({}, 2, 0).positions, q.positions)


def test_bad_gold_settings_are_user_errors():
    with pytest.raises(HrtemError, match="learn.gold.labels.mode"):
        gold_section({"labels": {"mode": "atoms"}})
    with pytest.raises(HrtemError, match="learn.gold.structures: unknown"):
        gold_section({"structures": {"size": 3}})


def test_time_series_is_deterministic_per_seed():
    a, b = surface_time_series({}, seed=4), surface_time_series({}, seed=4)
    assert len(a.frames) == GOLD_DEFAULTS["time_series"]["frames"]
    np.testing.assert_array_equal(a.site_height, b.site_height)
    np.testing.assert_allclose(a.site_xy, b.site_xy)
    for fa, fb in zip(a.frames, b.frames):
        np.testing.assert_allclose(fa.positions, fb.positions)
    c = surface_time_series({}, seed=5)
    assert c.site_height.shape != a.site_height.shape or not np.array_equal(c.site_height, a.site_height)


def test_time_series_conserves_atoms_and_moves_change_few_columns():
    ts = surface_time_series({"time_series": {"frames": 6, "moves_per_frame": 5}}, seed=2)
    n0 = len(ts.frames[0])
    np.testing.assert_array_equal(ts.n_atoms, n0)  # hops only: closed system
    np.testing.assert_array_equal(ts.site_height.sum(axis=1), n0)
    occ = ts.site_height > 0
    assert ts.events.max() > 0 and 0 < ts.occupancy.min() < 1  # the surface does change
    # each frame's label sites are exactly its occupied ground-truth sites, with their heights
    for f, frame in enumerate(ts.frames):
        d, k = cKDTree(ts.site_xy).query(frame.info["label_xy"])
        assert d.max() < 1e-6
        np.testing.assert_array_equal(np.sort(k), np.flatnonzero(occ[f]))
        np.testing.assert_array_equal(frame.info["label_height"], ts.site_height[f, k])
    # a hop changes two columns by one atom each: per frame the heights change by at most 2 per move, evenly
    change = np.abs(np.diff(ts.site_height, axis=0)).sum(axis=1)
    assert np.all(change <= 2 * 5) and np.all(change % 2 == 0)
    # exchange with the surroundings changes the atom count by at most one per move
    ex = surface_time_series({"time_series": {"frames": 4, "moves_per_frame": 3, "exchange_probability": 1.0}}, seed=2)
    steps = np.abs(np.diff(ex.n_atoms))
    assert np.all(steps <= 3) and np.ptp(ex.n_atoms) > 0
    np.testing.assert_array_equal(ex.site_height.sum(axis=1), ex.n_atoms)


def test_schema_defaults_equal_the_code_and_bounds_hold():
    from hrtem.config import ConfigError, validate_config

    assert validate_config({})["learn"]["gold"] == GOLD_DEFAULTS
    with pytest.raises(ConfigError, match="tilt_max_deg"):
        validate_config({"learn": {"gold": {"structures": {"tilt_max_deg": float("inf")}}}})


# --------------------------------------------------------------------------- focal series
TINY_GOLD = {
    "structures": {"count": 1, "cell_a": 16.0, "layers_100": [2, 2], "layers_110": [2, 3], "layers_111": [2, 2],
                   "added_fraction": [0.0, 0.2], "zone_axes": ["110"], "margin_a": 1.0},
    "labels": {"mode": "height", "max_height": 6},
}
FOCAL = {"defoci_a": [-170.0, -40.0, 90.0], "jitter_a": 20.0, "dose": "total"}
SHARP = {"cs_mm": [-0.02, -0.01], "c5_mm": 0.0, "astigmatism_a": 0.0, "focal_spread_a": 20.0,
         "deflection_sigma_a": 0.0, "dose_e_per_a2": 1e10}


@pytest.fixture(scope="module")
def gold_waves(tmp_path_factory):
    from hrtem.learn.data import ExitWaveSet
    from hrtem.learn.gold import build_gold_exit_waves, task_section

    learn = {"gold": TINY_GOLD, "data": {"wave_sampling_a": 0.1}}
    path = build_gold_exit_waves(learn, {"sampling_a": 0.1, "slice_thickness_a": 2.0},
                                 tmp_path_factory.mktemp("gold") / "ew.zarr", seed=11, task="count", count=1)
    return ExitWaveSet(path), gold_structures(task_section(TINY_GOLD, "count"), seed=11, count=1)


def test_stored_gold_sites_keep_the_column_heights(gold_waves):
    waves, structures = gold_waves
    p = structures[0]
    assert waves.energy_kev == 300.0 and waves.n_classes == 6
    np.testing.assert_allclose(waves.positions(0), np.mod(p.info["label_xy"], 16.0), atol=1e-5)
    np.testing.assert_array_equal(waves.heights(0), p.info["label_height"])
    np.testing.assert_array_equal(waves.classes(0), np.minimum(p.info["label_height"], 6))


def test_focal_series_channels_are_in_defocus_order(gold_waves):
    from hrtem.learn.data import TrainingImages

    waves, _ = gold_waves
    base = {"wave_sampling_a": 0.1, "sampling_a": 0.2, "crop_px": 64, "lcn_sigma_a": None, "label_sigma_a": 1.0}
    micro = {"energy_kev": 300.0}
    series = TrainingImages(waves, {"data": {**base, "channels": 3, "focal_series": FOCAL}, "microscope": micro}, seed=3)
    single = TrainingImages(waves, {"data": base, "microscope": micro}, seed=3)
    assert series.image_shape == (64, 64, 3)
    for step in range(2):
        s = series.draw(step, overrides=SHARP, augment=False)
        defoci = np.asarray(s.params["defocus_a_channels"])
        assert np.all(np.abs(defoci - FOCAL["defoci_a"]) <= FOCAL["jitter_a"]) and np.all(np.diff(defoci) > 0)
        # channel k is the single image of the same microscope at defocus Δf_k and no other
        singles = [single.draw(step, overrides={**SHARP, "defocus_a": float(d)}, augment=False).image[..., 0]
                   for d in defoci]
        corr = np.array([[np.corrcoef(s.image[..., k].ravel(), im.ravel())[0, 1] for im in singles] for k in range(3)])
        assert np.all(np.diag(corr) > 0.99), corr
        assert np.all(np.argmax(corr, axis=1) == [0, 1, 2]), corr
        off = corr[~np.eye(3, dtype=bool)]
        assert off.max() < np.diag(corr).min() - 0.05, corr
        assert s.params["microscope.cs_mm"] == single.draw(step, overrides=SHARP).params["microscope.cs_mm"]


def test_focal_series_total_dose_is_shared_and_bad_settings_fail(gold_waves):
    from hrtem.learn.data import TrainingImages

    waves, _ = gold_waves
    base = {"wave_sampling_a": 0.1, "sampling_a": 0.2, "crop_px": 64, "lcn_sigma_a": None}
    micro = {"energy_kev": 300.0}
    noise = {}
    for mode in ("total", "each"):
        ti = TrainingImages(waves, {"data": {**base, "channels": 3, "focal_series": {**FOCAL, "dose": mode}},
                                    "microscope": micro}, seed=3)
        ref = ti.draw(0, overrides={**SHARP, "dose_e_per_a2": 1e10}, augment=False).image
        img = ti.draw(0, overrides={**SHARP, "dose_e_per_a2": 3e5}, augment=False).image
        noise[mode] = float(np.std(img - ref))
    # the same total dose split over three images: about √3 more noise per image
    assert 1.4 < noise["total"] / noise["each"] < 2.1, noise
    with pytest.raises(HrtemError, match="channels"):
        TrainingImages(waves, {"data": {**base, "channels": 2, "focal_series": FOCAL}, "microscope": micro}, seed=3)
    with pytest.raises(HrtemError, match="increase"):
        TrainingImages(waves, {"data": {**base, "channels": 3, "focal_series": {**FOCAL, "defoci_a": [0, -40, 90]}},
                               "microscope": micro}, seed=3)


def test_occupancy_and_event_maps_from_detections_against_the_truth():
    from hrtem.learn.gold import detected_occupancy, occupancy_agreement

    ts = surface_time_series({"time_series": {"frames": 5, "moves_per_frame": 4}}, seed=6)
    truth = ts.site_height > 0
    g = np.random.default_rng(0)
    # perfect detections (0.2 Å off, shuffled) reproduce the truth exactly
    perfect = [g.permutation(ts.site_xy[row] + g.normal(0, 0.1, (row.sum(), 2))) for row in truth]
    det = detected_occupancy(ts.site_xy, perfect)
    np.testing.assert_array_equal(det, truth)
    ok = occupancy_agreement(truth, det)
    assert ok["state_agreement_pct"] == 100.0 and ok["event_agreement_pct"] == 100.0 and ok["occupancy_mae_pct"] == 0
    np.testing.assert_allclose(ok["occupancy_true"], ts.occupancy)
    np.testing.assert_allclose(ok["events_true"], ts.events)
    # miss one occupied site in frame 2 and add a false one far away: one state of F·S wrong
    missing = perfect[2][1:]
    row = np.flatnonzero(truth[2])
    dropped = int(cKDTree(ts.site_xy).query(perfect[2][0])[1])
    frames = [*perfect[:2], np.vstack([missing, [[-10.0, -10.0]]]), *perfect[3:]]
    bad = occupancy_agreement(truth, detected_occupancy(ts.site_xy, frames))
    assert dropped in row
    assert bad["n_seen"] == ok["n_seen"]
    assert bad["state_agreement_pct"] == pytest.approx(100.0 * (1 - 1 / (5 * ok["n_seen"])))
    assert bad["occupancy_mae_pct"] == pytest.approx(100.0 * 0.2 / ok["n_seen"])
    assert bad["occupancy_detected"][dropped] == pytest.approx(ts.occupancy[dropped] - 0.2)
    with pytest.raises(HrtemError, match="frames, sites"):
        occupancy_agreement(truth, det[:, :3])


def test_gold_learn_settings_for_detection_and_counting(gold_waves):
    from hrtem.learn.data import TrainingImages
    from hrtem.learn.gold import gold_learn, task_section

    det = gold_learn({}, "detect")
    assert det["microscope"]["energy_kev"] == 300.0 and det["data"]["cell_a"] == [50.0, 50.0]
    assert det["data"]["channels"] == 1 and det["data"]["focal_series"] is None
    cnt = gold_learn({"gold": {"structures": {"cell_a": 16.0}}}, "count")
    assert cnt["data"]["channels"] == 3 and cnt["microscope"]["cs_mm"] == [-0.02, -0.01]
    sec = task_section({}, "count")
    assert sec["labels"]["mode"] == "height" and sec["structures"]["zone_axes"] == ["110"]
    waves, _ = gold_waves
    ti = TrainingImages(waves, {**cnt, "data": {**cnt["data"], "crop_px": 32, "wave_sampling_a": 0.1}}, seed=2)
    for step in range(3):
        s = ti.draw(step)
        assert s.image.shape == (32, 32, 3) and s.labels.shape[-1] == 7
        assert -0.02 <= s.params["microscope.cs_mm"] <= -0.01
        np.testing.assert_allclose(s.params["defocus_a_channels"], [-170, -40, 90], atol=20.0)
    with pytest.raises(HrtemError, match="gold task"):
        task_section({}, "segment")


def test_time_series_images_change_where_the_surface_changes(tmp_path):
    from hrtem.learn.detect_cli import _read_file
    from hrtem.learn.gold import image_time_series

    gold = {"structures": {"cell_a": 20.0},
            "time_series": {"frames": 3, "moves_per_frame": 2, "layers": [2, 3, 2], "added_fraction": 0.2}}
    ts = surface_time_series(gold, seed=8)
    learn = {"gold": gold, "data": {"wave_sampling_a": 0.1, "sampling_a": 0.2}}
    out = image_time_series(ts, learn, {"sampling_a": 0.1, "slice_thickness_a": 2.0}, tmp_path, seed=8,
                            dose_e_per_a2=1e10)
    stack, sampling = _read_file(out["frames"])
    assert stack.shape == (3, 100, 100) and sampling == pytest.approx(0.2)
    np.testing.assert_allclose(stack, out["images"], atol=1e-6)
    # one microscope for all frames: noise-free differences sit at the columns whose height changed
    changed = np.abs(np.diff(ts.site_height, axis=0)) > 0
    for f in range(2):
        diff = np.abs(stack[f + 1] - stack[f])
        assert diff.max() > 0.1
        peak = np.array(np.unravel_index(np.argmax(diff), diff.shape)) * 0.2
        d = np.linalg.norm(ts.site_xy[changed[f]] - peak, axis=1).min()
        assert d < 2.5, (f, d)
        far = np.linalg.norm(ts.site_xy[changed[f]][:, None, None, :]
                             - np.stack(np.meshgrid(np.arange(100) * 0.2, np.arange(100) * 0.2, indexing="ij"), -1),
                             axis=-1).min(axis=0) > 6.0
        assert diff[far].max() < 0.2 * diff.max()
    again = image_time_series(ts, learn, {"sampling_a": 0.1, "slice_thickness_a": 2.0}, tmp_path / "b", seed=8,
                              dose_e_per_a2=1e10)
    np.testing.assert_array_equal(again["images"], out["images"])


def test_count_errors_are_the_height_differences_of_matched_columns():
    from hrtem.learn.gold import count_errors

    xy = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 0.0], [9.0, 0.0], [12.0, 0.0]])
    h = np.array([3, 4, 5, 6, 20])
    det = xy[[0, 1, 2, 3, 4]] + 0.1
    out = count_errors(xy, h, det, [3, 5, 7, 10, 12], max_height=12)  # errors 0, 1, 2, 4, 0 (20 capped at 12)
    assert out["n_matched"] == 5 and out["recall"] == 1.0
    assert (out["off_0"], out["off_1"], out["off_2"], out["off_gt2"]) == (0.4, 0.2, 0.2, 0.2)
    miss = count_errors(xy, h, det[:2] + [[0.0, 0.0], [1.0, 0.0]], [3, 4])  # second one 1.1 Å off: unmatched
    assert miss["n_matched"] == 1 and miss["recall"] == pytest.approx(0.2) and miss["off_0"] == 1.0


def test_wulff_test_particle_labels_are_its_columns():
    from hrtem.learn.gold import wulff_test_particle

    p = wulff_test_particle({"counting": {"tilt_max_deg": 0.0}}, seed=0, index=0, diameter_nm=1.6, task="count")
    xy, cls = p.info["label_xy"], p.info["label_class"]
    d, nearest = cKDTree(xy).query(p.positions[:, :2])
    assert d.max() < 0.2
    np.testing.assert_array_equal(np.minimum(np.bincount(nearest, minlength=len(xy)), 12), cls)
    assert p.info["label_height"].sum() == len(p) and cls.max() >= 4
    np.testing.assert_allclose(p.cell.lengths()[:2], [50.0, 50.0])


def test_gold_verbs_write_the_stores(tmp_path):
    import json

    from hrtem.cli import main
    from hrtem.io import open_store
    from hrtem.io.tables import read_table
    from hrtem.learn.data import ExitWaveSet

    gold = {"structures": {"count": 1, "cell_a": 16.0, "layers_100": [2, 2], "layers_110": [2, 2],
                           "layers_111": [2, 2], "added_fraction": [0.0, 0.0], "margin_a": 1.0},
            "time_series": {"frames": 2, "moves_per_frame": 1, "layers": [2, 2, 2], "added_fraction": 0.0}}
    params = json.dumps({"learn": {"gold": gold, "data": {"wave_sampling_a": 0.1, "sampling_a": 0.2}},
                         "simulate": {"sampling_a": 0.1, "slice_thickness_a": 2.0}})
    assert main(["gold", "waves", "count", "-o", str(tmp_path / "w.zarr"), "--params", params, "--seed", "1"]) == 0
    ws = ExitWaveSet(tmp_path / "w.zarr")
    assert len(ws) == 1 and ws.energy_kev == 300.0 and ws.n_classes == 12
    np.testing.assert_array_equal(ws.classes(0), np.minimum(ws.heights(0), 12))
    assert main(["gold", "series", "-o", str(tmp_path / "s"), "--params", params, "--seed", "1"]) == 0
    truth = open_store(tmp_path / "s" / "truth.zarr")
    rows = read_table(tmp_path / "s" / "truth.csv")
    assert truth["site_height"].shape == (2, truth.sizes["site"])
    assert int(np.asarray(rows["height"]).sum()) == int(truth["n_atoms"].sum())
    assert open_store(tmp_path / "s" / "frames.zarr")["image"].shape == (2, 80, 80)


def test_counting_model_trains_on_a_gold_store_with_three_focal_channels(tmp_path):
    pytest.importorskip("tensorflow")
    from hrtem.learn.commands import run_training, sections
    from hrtem.learn.gold import build_gold_exit_waves, gold_learn
    from hrtem.learn.train import read_model_info

    gold = {"structures": {"count": 1, "cell_a": 16.0, "layers_100": [2, 2], "layers_110": [2, 2],
                           "layers_111": [2, 2], "added_fraction": [0.0, 0.0], "margin_a": 1.0}}
    learn = {"gold": gold, "data": {"wave_sampling_a": 0.1, "sampling_a": 0.2}, "network": {"width": 2, "depth": 1},
             "train": {"steps": 2, "batch": 2, "crop_px": 16, "checkpoint_every": 2, "log_every": 1,
                       "validate_every": 2, "validation_images": 1, "threads": 1}}
    learn, sim = sections({"learn": learn, "simulate": {"sampling_a": 0.1, "slice_thickness_a": 2.0}})
    waves = build_gold_exit_waves(learn, sim, tmp_path / "w.zarr", 1, task="count")
    out = run_training(waves, tmp_path / "m.keras", None, tmp_path / "ck", gold_learn(learn, "count"), 1, progress=False)
    info = read_model_info(tmp_path / "m.keras")
    assert out["steps"] == 2
    assert info["input_channels"] == 3 and info["n_classes"] == 12 and info["energy_kev"] == 300.0
    assert info["data"]["focal_series"]["defoci_a"] == [-170.0, -40.0, 90.0]


def test_series_agreement_reads_detect_table_and_truth(tmp_path):
    import xarray as xr

    from hrtem.io import write_dataset
    from hrtem.io.tables import write_table
    from hrtem.learn.gold import series_agreement

    ts = surface_time_series({"time_series": {"frames": 4, "moves_per_frame": 3}}, seed=9)
    truth = xr.Dataset({"site_xy": (("site", "xy"), ts.site_xy), "site_height": (("frame", "site"), ts.site_height)})
    write_dataset(truth, tmp_path / "truth.zarr")
    occ = ts.site_height > 0
    frame = np.concatenate([np.full(row.sum(), f) for f, row in enumerate(occ)])
    xy = np.concatenate([ts.site_xy[row] for row in occ])
    write_table({"frame": frame, "x_a": xy[:, 0], "y_a": xy[:, 1], "class": np.ones(len(frame))}, tmp_path / "d.csv")
    out = series_agreement(tmp_path / "d.csv", tmp_path / "truth.zarr")
    assert out["state_agreement_pct"] == 100.0 and out["n_seen"] == occ.any(axis=0).sum()
    np.testing.assert_allclose(out["events_detected"], ts.events)
    # drop every detection of the last frame: those sites look empty there
    keep = frame < 3
    write_table({"frame": frame[keep], "x_a": xy[keep, 0], "y_a": xy[keep, 1]}, tmp_path / "e.csv")
    bad = series_agreement(tmp_path / "e.csv", tmp_path / "truth.zarr")
    assert not bad["detected"][3].any()
    assert bad["state_agreement_pct"] == pytest.approx(100.0 * (1 - occ[3][bad["seen"]].sum() / (4 * bad["n_seen"])))
    write_table({"frame": [7.0], "x_a": [1.0], "y_a": [1.0]}, tmp_path / "f.csv")
    with pytest.raises(HrtemError, match="frame numbers"):
        series_agreement(tmp_path / "f.csv", tmp_path / "truth.zarr")


def test_tilted_particles_keep_the_untilted_columns():
    # single linkage on the tilted projection merged two <111> columns (seed 0, particle 1, 2.4°)
    # and split a <110> one (particle 4); grouping in the untilted crystal keeps every column
    for i in range(8):
        p = gold_particle(HEIGHT, seed=0, index=i)
        q = gold_particle({**HEIGHT, "structures": {"tilt_max_deg": 0.0}}, seed=0, index=i)
        assert len(p) == len(q)
        np.testing.assert_array_equal(np.sort(p.info["label_height"]), np.sort(q.info["label_height"]))
        # the site sits within thickness·tan(tilt)/2 of each of its atoms
        d = cKDTree(p.info["label_xy"]).query(p.positions[:, :2])[0]
        assert d.max() < 0.5 * np.ptp(p.positions[:, 2]) * np.tan(np.deg2rad(p.info["tilt_deg"])) + 0.05
