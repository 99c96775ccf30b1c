"""Thesis Table 5.1: Au properties, fitted COMB3 vs target, EAM and the thesis's COMB3 (``hrtem potentials table``)."""

from hrtem.figures._tab5 import claims

CLAIMS = claims("Au")
