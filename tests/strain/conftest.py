"""Shared fixtures for the strain tests (tiny sizes; every test < a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from hrtem.strain.synthetic import lattice_points


@pytest.fixture
def square_points():
    """A 24 × 24 square lattice, a = 2 Å, with its integer indices."""
    ij = np.stack(np.meshgrid(np.arange(24), np.arange(24), indexing="ij"), -1).reshape(-1, 2)
    return ij.astype(float) * 2.0, ij


def interior(ij: np.ndarray, n: int, margin: int) -> np.ndarray:
    """Mask of lattice indices at least ``margin`` rows from every edge."""
    return ((ij >= margin) & (ij < n - margin)).all(1)


@pytest.fixture
def honeycomb():
    """Graphene positions (bond 1.42 Å) in a 40 Å box."""
    return lattice_points(
        np.array([[1.42 * np.sqrt(3), 0.0], [1.42 * np.sqrt(3) / 2, 1.5 * 1.42]]),
        [[0, 0], [1 / 3, 1 / 3]],
        (40.0, 40.0),
    )
