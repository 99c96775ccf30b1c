"""hrtem: simulated high-resolution TEM images, strain and CNNs from atomic models.

Subpackages are usable without Snakemake:

- :mod:`hrtem.structures`  atomic models (nanoparticles, graphene, supports, columns)
- :mod:`hrtem.md`          LAMMPS driver (COMB3/EAM), properties, COMB3 fitting
- :mod:`hrtem.optics`      objective lens (CTF, envelopes) and detector (MTF, noise)
- :mod:`hrtem.simulate`    abTEM glue: exit waves, images, Dask ensembles
- :mod:`hrtem.strain`      peaks, structural template matching, GPA
- :mod:`hrtem.learn`       CNN training data, network, post-processing, metrics
- :mod:`hrtem.io`          Zarr/xarray and extxyz conventions
- :mod:`hrtem.figures`     one module per reproduced figure
"""

__version__ = "0.1.0"
