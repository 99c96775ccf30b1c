"""On-disk conventions: Zarr v3 stores through xarray, extxyz for atoms.

Stores
    Every array the pipeline writes is an :class:`xarray.Dataset` in a Zarr v3
    store, with named dimensions, coordinates that carry a ``units`` attribute
    (``x``/``y`` in Å, ``defocus`` in Å, ``dose`` in e⁻/Å², ``tilt`` in degrees)
    and provenance attributes (format tag, config hash, seed, rule, package
    versions). Writes are atomic: the store is written under a temporary name
    beside the target and renamed into place, so an interrupted run never
    leaves a store that looks complete.
Atoms
    Structures and MD trajectories are extended XYZ files written by ASE,
    also atomically.
"""

from hrtem.io.atoms import read_atoms, write_atoms
from hrtem.io.provenance import config_hash, package_versions, provenance
from hrtem.io.stores import (
    FORMAT_TAG,
    atomic_path,
    open_store,
    read_dataset,
    write_dataset,
)

__all__ = [
    "FORMAT_TAG",
    "atomic_path",
    "config_hash",
    "open_store",
    "package_versions",
    "provenance",
    "read_atoms",
    "read_dataset",
    "write_atoms",
    "write_dataset",
]
