"""LAMMPS molecular dynamics for supported particles (thesis ch. 5)."""
