"""Shared plotting helpers: consistent look and atomic saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hrtem.io.stores import atomic_path  # noqa: E402


def save_figure(fig: Figure, png: Path, dpi: int = 150) -> Path:
    """Save ``fig`` to ``png`` atomically and close it."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(png)


def image_extent(nx: int, ny: int, sampling: tuple[float, float]) -> tuple[float, float, float, float]:
    """``imshow`` extent (Å) for an array indexed ``[x, y]`` shown with ``.T``."""
    return (0.0, nx * sampling[0], 0.0, ny * sampling[1])
