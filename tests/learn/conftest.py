"""A tiny exit-wave store shared by the tests of hrtem.learn (built once per session)."""

from __future__ import annotations

import pytest

TINY_DATA = {
    "structures": 2,
    "cell_a": [10.8, 10.8],
    "holes": [0, 0],
    "wave_sampling_a": 0.1,
    "crop_px": 64,
}


@pytest.fixture(scope="session")
def tiny_waves(tmp_path_factory):
    """(ExitWaveSet, structures, learn.data settings): two 10.8 Å graphene sheets at 80 kV, 0.1 Å."""
    from hrtem.learn.data import ExitWaveSet, build_exit_waves, graphene_structures

    structures = graphene_structures(TINY_DATA["structures"], TINY_DATA, seed=7)
    path = build_exit_waves(
        structures, {"sampling_a": 0.05}, {"energy_kev": 80.0}, tmp_path_factory.mktemp("learn") / "ew.zarr",
        seed=7, data=TINY_DATA,
    )
    return ExitWaveSet(path), structures, dict(TINY_DATA)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny network trained (300 steps, ~30 s) to find bright Gaussian atoms, saved as an hrtem model.

    Inputs globally normalised (lcn_sigma_a None), 0.25 Å/px, one class;
    post-processing threshold 0.1. Returns the ``.keras`` path.
    """
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    import synthetic

    from hrtem.learn.data import local_contrast_normalise
    from hrtem.learn.network import build_network
    from hrtem.learn.train import save_model, train

    def batches(start):
        step = start
        while True:
            xs, ys = [], []
            for i in range(4):
                x, y, _ = synthetic.sample(5, step * 4 + i, n=32, noise=0.1)
                xs.append(local_contrast_normalise(x, None))
                ys.append(y)
            yield np.stack(xs), np.stack(ys)
            step += 1

    work = tmp_path_factory.mktemp("tiny_model")
    res = train(lambda: build_network(2, width=8, depth=1, residual_convs=1), batches, 300, work, 0,
                learning_rate=3e-3, log_every=100, checkpoint_every=1000, progress=False)
    info = {"sampling_a": 0.25, "input_channels": 1, "n_classes": 1, "lcn_sigma_a": None,
            "postprocess": {"threshold": 0.1, "mode": "watershed"}}
    return save_model(res.model, work / "tiny.keras", info)
