"""Synthetic training pairs for the learn tests: bright Gaussian atoms on noise, Gaussian labels."""

from __future__ import annotations

import numpy as np

from hrtem.seeding import rng


def gaussian_maps(positions_a, shape, sampling_a, sigma_a):
    ix, iy = np.indices(shape, dtype=float)
    x, y = ix * sampling_a, iy * sampling_a
    s = np.zeros(shape)
    for px, py in positions_a:
        s += np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma_a**2))
    return s


def sample(seed: int, step: int, n: int = 32, sampling_a: float = 0.25, n_atoms: int = 6, noise: float = 0.2):
    """One (image (n, n, 1), labels (n, n, 2), positions) deterministic per (seed, step)."""
    g = rng(seed, "synthetic", step)
    pos = []
    while len(pos) < n_atoms:
        p = g.uniform(1.0, n * sampling_a - 1.0, 2)
        if all(np.hypot(*(p - q)) > 2.0 for q in pos):
            pos.append(p)
    pos = np.array(pos)
    img = gaussian_maps(pos, (n, n), sampling_a, 0.5) + noise * g.standard_normal((n, n))
    lab = np.clip(gaussian_maps(pos, (n, n), sampling_a, 0.4), 0, 1)
    labels = np.stack([1 - lab, lab], -1)
    return img[..., None].astype(np.float32), labels.astype(np.float32), pos


def batches(seed: int, batch: int = 2, **kw):
    def gen(start: int):
        step = start
        while True:
            xs, ys = zip(*(sample(seed, step * batch + i, **kw)[:2] for i in range(batch)))
            yield np.stack(xs), np.stack(ys)
            step += 1

    return gen
