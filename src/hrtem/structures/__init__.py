"""Atomic models: fcc nanoparticles, Wulff particles, grown particles, graphene, projected columns."""
