"""abTEM glue: potentials, exit waves per frozen-phonon configuration, images.

Multislice and potentials are abTEM's; this package chooses FFT-friendly grids,
builds the thermal ensemble (seeded Einstein displacements or MD snapshots),
stores exit waves as ``(config, x, y)`` Zarr stores and hands them to
:mod:`hrtem.optics` for the lens and the detector.
"""

from hrtem.simulate.grid import fft_friendly, grid_for
from hrtem.simulate.exit_waves import exit_waves, projected_potential, thermal_ensemble

__all__ = ["exit_waves", "fft_friendly", "grid_for", "projected_potential", "thermal_ensemble"]
