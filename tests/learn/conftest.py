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
