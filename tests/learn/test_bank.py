"""The focal-series bank (hrtem.learn.bank): crops of rendered cells, turned and mirrored with their labels."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.errors import HrtemError

TINY = {
    "gold": {
        "structures": {"count": 3, "cell_a": 16.0, "layers_100": [2, 2], "layers_110": [2, 3], "layers_111": [2, 2],
                       "added_fraction": [0.0, 0.2], "margin_a": 1.0},
        "labels": {"max_height": 6},
        "counting": {"crop_px": 32, "centre_on_sites": 0.5},
    },
    "data": {"wave_sampling_a": 0.1},
}


@pytest.fixture(scope="module")
def count_store(tmp_path_factory):
    from hrtem.learn.gold import build_gold_exit_waves

    return build_gold_exit_waves(TINY, {"sampling_a": 0.1, "slice_thickness_a": 2.0},
                                 tmp_path_factory.mktemp("bank") / "w.zarr", seed=4, task="count")


def _images(store, **data):
    from hrtem.learn.data import TrainingImages
    from hrtem.learn.gold_count import count_learn

    st = count_learn(TINY)
    st["data"].update(crop_px=st["train"]["crop_px"], **data)
    return TrainingImages(store, {"data": st["data"], "microscope": st["microscope"]}, 4, stream="train")


def test_bank_crops_carry_their_labels_through_turns_and_mirrors(count_store):
    """Put a Gaussian at every column of each entry's cell in place of the rendered optics: at an
    unlimited dose every crop (any 90° turn, mirror, wrap) must then be its own label map."""
    from hrtem.learn.bank import FocalSeriesBank

    im = _images(count_store, gamma=[1.0, 1.0], contrast=[1.0, 1.0], brightness=0.0, lcn_sigma_a=None)
    im.ranges.update(dose_e_per_a2=[1e15, 1e15], mtf_c1=[1.0, 1.0])  # no noise, MTF = 1
    bank = FocalSeriesBank(im, 3)
    assert bank.intensity.shape == (3, 80, 80, 3) and bank.structure.tolist() == [0, 1, 2]
    s, sig = bank.sampling_a, float(im.data["label_sigma_a"])
    x = np.arange(80) * s
    for e in range(3):
        cells = np.zeros((80, 80))
        for p in im.waves.positions(int(bank.structure[e])):
            dx = (x - p[0] + 8.0) % 16.0 - 8.0  # nearest periodic image
            dy = (x - p[1] + 8.0) % 16.0 - 8.0
            cells += np.exp(-(dx[:, None] ** 2 + dy[None, :] ** 2) / (2 * sig**2))
        bank.intensity[e] = 1.0 + cells[..., None]
    turns = set()
    for step in range(24):
        smp = bank.draw(step)
        turns.add((smp.params["rotate90"], smp.params["mirror"]))
        atoms = 1.0 - smp.labels[..., 0]
        for ch in range(3):
            r = np.corrcoef(smp.image[..., ch].ravel(), atoms.ravel())[0, 1]
            assert r > 0.99, (step, ch, r)
    assert len(turns) >= 6  # most of the 8 turns and mirrors were drawn


def test_bank_is_deterministic_and_its_images_cost_a_fraction(count_store):
    from hrtem.learn.bank import FocalSeriesBank

    a, b = FocalSeriesBank(_images(count_store), 4), FocalSeriesBank(_images(count_store), 4, workers=2)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    assert a.structure.tolist() == [0, 1, 2, 0]
    np.testing.assert_array_equal(a.sample(5)[0], b.sample(5)[0])
    np.testing.assert_array_equal(a.sample(5)[1], b.sample(5)[1])
    assert not np.array_equal(a.sample(5)[0], a.sample(6)[0])
    img, lab = a.sample(0)
    assert img.shape == (32, 32, 3) and lab.shape == (32, 32, 7)
    # the clean entries are noise-free intensities with vacuum = 1 (the optics conserve the beam's mean)
    assert np.all(a.intensity > 0) and abs(float(a.intensity.mean()) - 1.0) < 0.05


def test_bank_refuses_a_pixel_that_does_not_tile_the_cell(count_store):
    from hrtem.learn.bank import FocalSeriesBank

    with pytest.raises(HrtemError, match="whole pixels"):
        FocalSeriesBank(_images(count_store, sampling_a=0.3), 2)
    with pytest.raises(HrtemError, match="at least 1"):
        FocalSeriesBank(_images(count_store), 0)
