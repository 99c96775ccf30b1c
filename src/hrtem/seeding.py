"""Deterministic random streams derived from the config's ``seed``.

Every random step in the package draws from a :class:`numpy.random.Generator`
built from ``SeedSequence(seed, spawn_key=keys)``, where the keys name the rule
and its wildcards (e.g. ``("fig2_2", "exit_wave")`` or ``("ensemble", 3)``).
The same config therefore gives the same numbers on any scheduler and any
number of workers, and different keys give statistically independent streams.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["key_to_int", "seed_sequence", "rng"]


def key_to_int(key: str | int) -> int:
    """Map a key (string or non-negative int) to a stable 32-bit integer.

    Integers map to themselves; strings are hashed with BLAKE2b so the result
    does not depend on Python's per-process hash randomisation.
    """
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError(f"seed keys must be non-negative integers, got {key}")
        return int(key)
    digest = hashlib.blake2b(str(key).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def seed_sequence(seed: int, *keys: str | int) -> np.random.SeedSequence:
    """Return the seed sequence for ``seed`` and a path of keys.

    Parameters
    ----------
    seed
        The config's top-level ``seed`` (non-negative integer).
    *keys
        Names of the rule, wildcard values, block indices … in a fixed order.
    """
    return np.random.SeedSequence(int(seed), spawn_key=tuple(key_to_int(k) for k in keys))


def rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Return a PCG64 generator for ``seed`` and a path of keys (see :func:`seed_sequence`)."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *keys)))


def int_seed(seed: int, *keys: str | int) -> int:
    """A non-negative int below 2**31 − 1 for ``seed`` and a path of keys (see :func:`seed_sequence`):
    for libraries that take an integer seed (Keras) or a derived config seed."""
    return int(seed_sequence(seed, *keys).generate_state(1)[0] % (2**31 - 1))
