"""Thesis Table 5.2: Pt properties, fitted COMB3 vs target, EAM and the thesis's COMB3 (``hrtem potentials table``)."""

from hrtem.figures._tab5 import claims

CLAIMS = claims("Pt")
