"""Atomic models: fcc clusters, Wulff particles, grown particles, graphene, projected columns.

Public API (ASE ``Atoms`` in, ``Atoms`` out; write with :func:`hrtem.io.write_atoms`):

- :func:`~hrtem.structures.nanoparticles.fcc_cluster` — the fig2_2 gold cluster
- :func:`~hrtem.structures.wulff.wulff_particle` — Wulff particles by diameter
- :func:`~hrtem.structures.growth.random_particle`, :func:`~hrtem.structures.growth.grow` — Eq. 6.18 growth
- :func:`~hrtem.structures.graphene.random_graphene`,
  :func:`~hrtem.structures.graphene.polycrystalline_graphene` — Voronoi graphene
- :func:`~hrtem.structures.columns.project_columns` — columns along the beam
- :func:`~hrtem.structures.orientation.orient`, :func:`~hrtem.structures.orientation.place_in_cell`

The oxide supports live in :mod:`hrtem.structures.supports` (not imported here),
the studies of the abstracts beside the thesis in :mod:`hrtem.structures.ceria`
(CeO2 particles with vacancies and atoms-per-column labels, seed 001),
:mod:`hrtem.structures.shapes` (five particle shapes in random orientations,
seed 002) and :mod:`hrtem.structures.carbon` (amorphous carbon films).
"""

from hrtem.structures.columns import ProjectedColumns, project_columns
from hrtem.structures.graphene import GrapheneModel, polycrystalline_graphene, random_graphene
from hrtem.structures.growth import grow, random_particle, seed_crystal
from hrtem.structures.nanoparticles import fcc_cluster
from hrtem.structures.orientation import orient, place_in_cell
from hrtem.structures.wulff import wulff_particle

__all__ = [
    "GrapheneModel",
    "ProjectedColumns",
    "fcc_cluster",
    "grow",
    "orient",
    "place_in_cell",
    "polycrystalline_graphene",
    "project_columns",
    "random_graphene",
    "random_particle",
    "seed_crystal",
    "wulff_particle",
]
