"""Zarr stores: round trip with units and provenance, atomic writes, clear errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import xarray as xr

from hrtem.errors import StoreError
from hrtem.io import FORMAT_TAG, open_store, provenance, read_atoms, read_dataset, write_atoms, write_dataset


def _image(seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.random((6, 5), dtype=np.float32),
        dims=("x", "y"),
        coords={"x": xr.DataArray(np.arange(6) * 0.2, dims="x", attrs={"units": "Å"})},
        name="image",
        attrs={"units": "1"},
    )


def test_round_trip_keeps_values_dims_units_and_provenance(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path, attrs=provenance(config={"k": 1}, seed=3, rule="test"))
    ds = read_dataset(path, variables=("image",))
    np.testing.assert_array_equal(ds["image"].values, _image().values)
    assert ds["image"].dims == ("x", "y")
    assert ds["x"].attrs["units"] == "Å"
    assert ds.attrs["hrtem_format"] == FORMAT_TAG
    assert ds.attrs["seed"] == 3 and ds.attrs["rule"] == "test"
    assert len(ds.attrs["config_hash"]) == 16
    assert "abtem" in ds.attrs["package_versions"]


def test_rewrite_replaces_atomically_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(0), path)
    write_dataset(_image(1), path)
    np.testing.assert_array_equal(read_dataset(path)["image"].values, _image(1).values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr"]


def test_failed_write_keeps_previous_store(tmp_path, monkeypatch):
    path = tmp_path / "a.zarr"
    write_dataset(_image(0), path)

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", boom)
    with pytest.raises(RuntimeError):
        write_dataset(_image(1), path)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_dataset(path)["image"].values, _image(0).values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr"]


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nope.zarr")


def test_truncated_store(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path)
    (path / "zarr.json").unlink()
    with pytest.raises(StoreError, match="truncated"):
        open_store(path)


def test_missing_chunk_is_reported(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path)
    chunks = path / "image" / "c"
    assert chunks.exists()
    shutil.rmtree(chunks)
    # zarr silently fills missing chunks with the fill value; opening the store
    # counts the chunk files of every array and names the incomplete one
    with pytest.raises(StoreError, match="chunk\\(s\\) of 'image' are missing"):
        read_dataset(path)


def test_foreign_store(tmp_path):
    path = tmp_path / "foreign.zarr"
    _image().to_dataset().to_zarr(path, zarr_format=3, consolidated=False)
    with pytest.raises(StoreError, match="not an hrtem store"):
        open_store(path)


def test_corrupt_metadata(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path)
    (path / "zarr.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable"):
        open_store(path)


def test_missing_variable_named(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path)
    with pytest.raises(StoreError, match="exit_wave"):
        open_store(path, variables=("exit_wave",))


def test_attrs_are_json(tmp_path):
    path = tmp_path / "a.zarr"
    write_dataset(_image(), path, attrs={"sampling_a": np.float64(0.05), "shape": (3, 4)})
    meta = json.loads((path / "zarr.json").read_text())
    assert meta["attributes"]["sampling_a"] == 0.05
    assert meta["attributes"]["shape"] == [3, 4]


def test_atoms_round_trip(tmp_path):
    from ase.build import bulk

    atoms = bulk("Au", "fcc", a=4.08, cubic=True).repeat(2)
    frames = [atoms.copy() for _ in range(3)]
    for i, frame in enumerate(frames):
        frame.positions += 0.01 * i
    write_atoms(frames, tmp_path / "t.xyz")
    back = read_atoms(tmp_path / "t.xyz", index=":")
    assert len(back) == 3
    np.testing.assert_allclose(back[2].positions, frames[2].positions, atol=1e-6)
