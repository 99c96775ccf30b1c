"""Thesis Table 5.5: COMB3 cross terms, fitted vs target and the thesis's COMB3 (``hrtem potentials table``)."""

from hrtem.figures._tab5cross import claims

CLAIMS = claims("tab5_5")
