"""Ceria and shape studies: label sites in the exit-wave store, shape datasets, classify verb, figures."""

import csv
import json

import numpy as np
import pytest

from hrtem.cli import main
from hrtem.errors import HrtemError
from hrtem.seeding import rng
from hrtem.structures.carbon import random_sequential_carbon
from hrtem.structures.shapes import SHAPES

TINY_SIM = {"sampling_a": 0.25, "slice_thickness_a": 2.0}


def _tiny_ceria():
    from hrtem.learn.ceria import ceria_structures

    return ceria_structures(
        {"structures": {"count": 2, "test_count": 1, "diameter_nm": [0.8, 0.9], "cell_a": 12.0,
                        "facet_jitter": 0.0}, "labels": {"max_height": 4}},
        seed=3,
    )


@pytest.mark.slow  # abTEM start-up; ~60 s on the shared 2-core machine
def test_exit_wave_store_keeps_label_sites_and_n_classes(tmp_path):
    from hrtem.learn.data import ExitWaveSet, build_exit_waves

    structures = _tiny_ceria()
    path = build_exit_waves(structures, TINY_SIM, {"energy_kev": 300}, tmp_path / "w.zarr", 0,
                            data={"wave_sampling_a": 0.25}, n_classes=6)
    waves = ExitWaveSet(path)
    assert waves.n_classes == 6  # as given, not the largest class present (4)
    for i, atoms in enumerate(structures):
        np.testing.assert_allclose(waves.positions(i), np.mod(atoms.info["label_xy"], 12.0), atol=1e-9)
        np.testing.assert_array_equal(waves.classes(i), atoms.info["label_class"])
        np.testing.assert_array_equal(waves.heights(i), atoms.info["label_height"])
        assert len(waves.positions(i)) < len(atoms)  # columns, not atoms
    with pytest.raises(HrtemError, match="exceeds n_classes"):
        build_exit_waves(structures, TINY_SIM, {"energy_kev": 300}, tmp_path / "x.zarr", 0,
                         data={"wave_sampling_a": 0.25}, n_classes=2)


def test_shape_structures_balance_classes_and_films():
    from hrtem.learn.shapes import shape_structures

    section = {"structures": {"per_shape": 3, "test_per_shape": 1, "size_nm": [1.1, 1.9], "cell_a": 30.0},
               "carbon": {"thicknesses_a": [0.0, 6.0]}}
    films = [None, random_sequential_carbon(30.0, 6.0, rng(0, "f"))]
    train, test = shape_structures(section, 1, films)
    assert len(train) == 2 * len(SHAPES) and len(test) == len(SHAPES)
    assert sorted(int(a.info["label_class"][0]) for a in test) == list(range(1, 6))
    for a in train + test:
        metal = ~a.arrays["support"]
        np.testing.assert_allclose(a.info["label_xy"][0], a.positions[metal, :2].mean(axis=0))
        assert SHAPES[int(a.info["label_class"][0]) - 1] == a.info["shape"]
        assert a.arrays["support"].sum() == (0 if a.info["film_thickness_a"] == 0 else len(films[1]))
        assert 1.1 <= a.info["diameter_nm"] <= 1.9
    # particle j sits on film j mod 2: thicknesses 0, 6 in training; the held-out third on 0
    assert {a.info["film_thickness_a"] for a in train} == {0.0, 6.0}
    assert {a.info["film_thickness_a"] for a in test} == {0.0}
    with pytest.raises(HrtemError, match="test_per_shape"):
        shape_structures({"structures": {"per_shape": 2, "test_per_shape": 2}}, 1, [None, None, None])


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    import keras

    from hrtem.learn.network import build_network

    d = tmp_path_factory.mktemp("clf")
    keras.utils.set_random_seed(0)
    m = build_network(2, 1, width=2, depth=1, head="classify", n_categories=5, residual_convs=1)
    path = d / "c.keras"
    m.save(path)
    path.with_suffix(".json").write_text(json.dumps(
        {"hrtem_model": "shape_classifier", "shapes": list(SHAPES), "sampling_a": 0.5, "crop_px": 32,
         "lcn_sigma_a": 5.0}))
    return path


def test_classify_verb(classifier, tmp_path, capsys):
    img = rng(0, "img").normal(size=(50, 40))
    np.save(tmp_path / "p.npy", img)
    out = tmp_path / "p.csv"
    assert main(["classify", str(tmp_path / "p.npy"), "--model", str(classifier), "--sampling-a", "0.3",
                 "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert sorted(r["shape"] for r in rows) == sorted(SHAPES)
    p = np.array([float(r["probability"]) for r in rows])
    assert p.sum() == pytest.approx(1.0, abs=1e-3) and np.all(np.diff(p) <= 0)
    # a PNG reads too
    from PIL import Image

    Image.fromarray((255 * (img - img.min()) / np.ptp(img)).astype(np.uint8)).save(tmp_path / "p.png")
    assert main(["classify", str(tmp_path / "p.png"), "--model", str(classifier), "--sampling-a", "0.3"]) == 0
    assert "probability" in capsys.readouterr().out


def test_classify_bad_inputs(classifier, tmp_path, capsys):
    np.save(tmp_path / "ok.npy", np.ones((20, 20)))
    assert main(["classify", str(tmp_path / "ok.npy"), "--model", str(classifier)]) == 2
    assert "--sampling-a" in capsys.readouterr().err
    bad = np.ones((20, 20))
    bad[3, 3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    assert main(["classify", str(tmp_path / "nan.npy"), "--model", str(classifier), "--sampling-a", "1"]) == 2
    assert "NaN" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("hello")
    assert main(["classify", str(tmp_path / "x.txt"), "--model", str(classifier), "--sampling-a", "1"]) == 2
    assert "unknown format" in capsys.readouterr().err
    other = tmp_path / "other.keras"
    other.write_bytes(classifier.read_bytes())
    other.with_suffix(".json").write_text(json.dumps({"hrtem_model": "ceria_heights"}))
    assert main(["classify", str(tmp_path / "ok.npy"), "--model", str(other), "--sampling-a", "1"]) == 2
    assert "not an hrtem shape classifier" in capsys.readouterr().err
    assert main(["classify", str(tmp_path / "ok.npy"), "--model", str(tmp_path / "none.keras"),
                 "--sampling-a", "1"]) == 2
    assert "missing" in capsys.readouterr().err


@pytest.mark.slow
def test_ceria_pipeline_end_to_end(tmp_path):
    """Tiny exit waves -> both losses trained a few steps -> figure and its recall table."""
    section = {
        "structures": {"count": 3, "test_count": 1, "diameter_nm": [1.0, 1.2], "cell_a": 16.0},
        "labels": {"max_height": 4},
        "exit_waves": {"sampling_a": 0.25},
        "data": {"crop_px": 32, "sampling_a": 0.5},
        "train": {"steps": 2, "batch": 2, "width": 2, "depth": 1, "frequency_images": 2},
        "figure": {"images": 2},
    }
    p = json.dumps(section)
    assert main(["ceria", "waves", "-o", str(tmp_path), "--params", p, "--simulate", json.dumps(TINY_SIM),
                 "--seed", "1"]) == 0
    for loss in ("unweighted", "weighted"):
        assert main(["ceria", "train", "--waves", str(tmp_path / "train.zarr"), "--loss", loss,
                     "-o", str(tmp_path / f"{loss}.keras"), "--params", p, "--seed", "1"]) == 0
    meta = json.loads((tmp_path / "weighted.json").read_text())
    f, w = np.array(meta["class_frequencies"]), np.array(meta["class_weights"])
    assert f[0] > 0.5 and w[0] < 1 < w[1:][f[1:] > 0].min()  # background is frequent: small weight
    png = tmp_path / "fig" / "ceria_heights.png"
    assert main(["figure", "ceria_heights", "-o", str(png), "--params", p, "--seed", "1",
                 str(tmp_path / "test.zarr"), str(tmp_path / "unweighted.keras"),
                 str(tmp_path / "weighted.keras")]) == 0
    rows = list(csv.DictReader(open(png.with_suffix(".csv"))))
    assert [int(r["height"]) for r in rows] == [1, 2, 3, 4]
    assert sum(int(r["columns"]) for r in rows) > 0
    for r in rows:
        for loss in ("unweighted", "weighted"):
            assert int(r[f"right_{loss}"]) <= int(r[f"found_{loss}"]) <= int(r["columns"])
    for loss in ("unweighted", "weighted"):  # precision = all matched columns / all detected, on every row
        found = sum(int(r[f"found_{loss}"]) for r in rows)
        detected = int(rows[0][f"detected_{loss}"])
        assert found <= detected
        assert float(rows[0][f"precision_{loss}"]) == pytest.approx(found / max(detected, 1))
    assert png.stat().st_size > 10000


def test_dihedral_gives_the_eight_symmetries_of_the_square():
    from hrtem.learn.shapes import dihedral

    x = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5, 1)  # no symmetry of its own
    outs = []
    for k in range(4):
        for f in (0, 1):
            y = dihedral(x, np.array([k, k]), np.array([f, f]))
            expect = np.rot90(x, k, axes=(1, 2))
            expect = expect[:, ::-1] if f else expect
            np.testing.assert_array_equal(y, expect)
            outs.append(y[0].tobytes())
    assert len(set(outs)) == 8  # all distinct
    np.testing.assert_array_equal(dihedral(x, np.array([4, 0]), np.array([0, 0])), x)  # 4 turns: identity
    mixed = dihedral(x, np.array([1, 0]), np.array([0, 1]))  # per-image transforms
    np.testing.assert_array_equal(mixed[0], np.rot90(x[0], 1, axes=(0, 1)))
    np.testing.assert_array_equal(mixed[1], x[1, ::-1])


def test_bank_batches_visit_every_image_once_per_epoch():
    from hrtem.learn.shapes import bank_batches

    n, b = 10, 4
    x = np.zeros((n, 3, 3, 1), np.float32)
    x[:, 1, 1, 0] = np.arange(n)  # the centre pixel (fixed by every symmetry) names the image
    y = np.arange(n) % 5
    batches = list(bank_batches(x, y, b, 5, 5, seed=7))
    assert len(batches) == 5
    seen = np.concatenate([xb[:, 1, 1, 0] for xb, _ in batches]).astype(int)
    assert sorted(seen[:n].tolist()) == list(range(n))  # epoch 0: a permutation of the bank
    assert len(set(seen[n:].tolist())) == 5 * b - n  # epoch 1 so far: no repeats
    for xb, yb in batches:
        np.testing.assert_array_equal(np.argmax(yb, axis=1), y[xb[:, 1, 1, 0].astype(int)])
        assert yb.shape == (b, 5) and np.all(yb.sum(axis=1) == 1)
    again = list(bank_batches(x, y, b, 5, 5, seed=7))
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(batches, again))  # seeded
    with pytest.raises(HrtemError, match="bank_images"):
        next(bank_batches(x, y, 11, 1, 5, seed=7))


@pytest.mark.slow
def test_shapes_pipeline_end_to_end(tmp_path):
    """Tiny films, particles and exit waves -> classifier from an image bank -> figure and its table."""
    section = {
        "structures": {"per_shape": 2, "test_per_shape": 1, "size_nm": [0.8, 1.0], "cell_a": 16.0,
                       "max_offset_a": 1.0},
        "carbon": {"thicknesses_a": [0.0, 4.0], "anneal_steps": 0},
        "exit_waves": {"sampling_a": 0.25},
        "data": {"crop_px": 16, "sampling_a": 0.8, "lcn_sigma_a": 4.0},
        "train": {"steps": 3, "batch": 4, "bank_images": 6, "width": 2, "depth": 1, "bn_batches": 2},
        "figure": {"images_per_particle": 1, "doses_e_per_a2": [100, 1000], "defoci_a": [0]},
    }
    p = json.dumps(section)
    assert main(["shapes", "waves", "-o", str(tmp_path), "--params", p, "--simulate", json.dumps(TINY_SIM),
                 "--seed", "1"]) == 0
    model = tmp_path / "c.keras"
    assert main(["shapes", "train", "--waves", str(tmp_path / "train.zarr"), "-o", str(model), "--params", p,
                 "--seed", "1", "--threads", "1"]) == 0
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["hrtem_model"] == "shape_classifier" and meta["shapes"] == list(SHAPES)
    assert meta["timing_s"]["render_s"] > 0
    # the bank of its own step (hrtem shapes bank) holds the images the training renders itself
    from hrtem.learn.shapes import ShapeImages, learn_settings, read_bank, render_bank

    bank = tmp_path / "bank.zarr"
    assert main(["shapes", "bank", "--waves", str(tmp_path / "train.zarr"), "-o", str(bank), "--params", p,
                 "--seed", "1"]) == 0
    x, y = read_bank(bank, section, 1)
    rx, ry = render_bank(ShapeImages(tmp_path / "train.zarr", learn_settings(section), 1), 6)
    assert x.shape == (6, 16, 16, 1)
    np.testing.assert_array_equal(x, rx)
    np.testing.assert_array_equal(y, ry)
    with pytest.raises(HrtemError, match="hrtem shapes bank"):  # rendered for another config or seed
        read_bank(bank, section, 2)
    model2 = tmp_path / "c2.keras"
    assert main(["shapes", "train", "--waves", str(tmp_path / "train.zarr"), "--bank", str(bank), "-o", str(model2),
                 "--params", p, "--seed", "1", "--threads", "1"]) == 0
    assert "read_bank_s" in json.loads(model2.with_suffix(".json").read_text())["timing_s"]
    png = tmp_path / "fig" / "shape_confusion.png"
    assert main(["figure", "shape_confusion", "-o", str(png), "--params", p, "--seed", "1",
                 str(tmp_path / "test.zarr"), str(model)]) == 0
    rows = list(csv.DictReader(open(png.with_suffix(".csv"))))
    conf = [r for r in rows if r["panel"] == "confusion"]
    assert len(conf) == 25 and sum(int(r["count"]) for r in conf) == 5  # one image per held-out particle
    acc = [r for r in rows if r["panel"] == "accuracy"]
    right = sum(int(r["count"]) for r in conf if r["true_shape"] == r["predicted_shape"])
    assert float(acc[0]["accuracy"]) == pytest.approx(right / 5)
    assert [float(r["parameter"]) for r in rows if r["panel"] == "dose"] == [100.0, 1000.0]
    at_figure_dose = [r for r in rows if r["panel"] == "dose" and float(r["parameter"]) == 1000.0][0]
    assert float(at_figure_dose["accuracy"]) == float(acc[0]["accuracy"])  # the same images, not a second set
    assert int(at_figure_dose["n"]) == int(acc[0]["n"]) == 5
    assert {float(r["parameter"]) for r in rows if r["panel"] == "thickness"} <= {0.0, 4.0}


def test_symmetry_average_is_invariant_and_is_the_mean(classifier):
    import keras

    from hrtem.learn.network import custom_objects
    from hrtem.learn.shapes import dihedral, predict_shapes

    model = keras.models.load_model(classifier, custom_objects=custom_objects(), compile=False)
    x = rng(1, "sym").normal(size=(3, 16, 16, 1)).astype(np.float32)
    plain = predict_shapes(model, list(x), average_symmetries=False)
    turned = predict_shapes(model, list(dihedral(x, np.array([1, 2, 3]), np.array([1, 0, 1]))), False)
    assert np.abs(plain - turned).max() > 1e-4  # the network alone is not invariant
    avg = predict_shapes(model, list(x))
    np.testing.assert_allclose(avg.sum(axis=1), 1.0, atol=1e-5)
    for k, f in ((1, 0), (2, 1), (3, 1)):  # the average is
        y = dihedral(x, np.full(3, k), np.full(3, f))
        np.testing.assert_allclose(predict_shapes(model, list(y)), avg, atol=1e-5)
    mean = np.mean([predict_shapes(model, list(dihedral(x, np.full(3, k), np.full(3, f))), False)
                    for k in range(4) for f in (0, 1)], axis=0)
    np.testing.assert_allclose(avg, mean, atol=1e-6)


@pytest.mark.parametrize("verb", ["ceria", "shapes"])
def test_train_verbs_share_the_threads_option(verb, monkeypatch):
    """``hrtem ceria train`` and ``hrtem shapes train`` take --threads from one helper, which sets
    TensorFlow's threads only when given (non-deterministic ops allowed)."""
    import hrtem.learn.train as train_mod
    from hrtem.cli import _build_parser
    from hrtem.learn.commands import apply_threads

    base = [verb, "train", "--waves", "w.zarr", "-o", "m.keras"] + (["--loss", "weighted"] if verb == "ceria" else [])
    parser = _build_parser(verb)
    assert parser.parse_args(base + ["--threads", "2"]).threads == 2
    assert parser.parse_args(base).threads is None
    with pytest.raises(SystemExit):
        parser.parse_args(base + ["--threads", "two"])
    calls = []
    monkeypatch.setattr(train_mod, "configure_tensorflow", lambda *a, **k: calls.append((a, k)))
    apply_threads(parser.parse_args(base))
    assert calls == []
    apply_threads(parser.parse_args(base + ["--threads", "3"]))
    assert calls == [((3,), {"deterministic": False})]
