"""Atomic structures and trajectories as extended XYZ files (ASE)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import ase.io
from ase import Atoms

from hrtem.errors import HrtemError
from hrtem.io.stores import atomic_path


def write_atoms(atoms: Atoms | Sequence[Atoms], path: str | os.PathLike) -> Path:
    """Write one structure or a trajectory to extxyz atomically."""
    with atomic_path(path) as tmp:
        ase.io.write(tmp, atoms, format="extxyz")
    return Path(path)


def read_atoms(path: str | os.PathLike, index: int | str = -1) -> Atoms | list[Atoms]:
    """Read a structure (``index=-1``, the last frame) or frames (``index=':'``).

    Any format ASE can read is accepted; a missing or unreadable file raises
    :class:`HrtemError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"structure file {path} does not exist")
    try:
        return ase.io.read(path, index=index)
    except Exception as err:
        raise HrtemError(f"cannot read structure {path} with ASE: {err}") from err
