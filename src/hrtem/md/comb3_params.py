"""Read, edit and write COMB3 parameter files (``ffield.comb3``).

A COMB3 file has one entry per element triplet (i, j, k): three element
names and 71 numbers, in the order LAMMPS' ``pair_style comb3`` reads them
(:data:`FIELDS`). Parameters of the pair i–j live in the entry (i, j, j)
(and (j, i, i)); three-body terms in (i, j, k). LAMMPS requires every
triplet of the elements named in ``pair_coeff`` to be present exactly once.

New elements (Pt, Au) start as copies of a template element's entries (the
thesis starts both metals from the published Cu parameters, §5.3): every
triplet containing the template is copied with the template replaced by the
new element, so the new element's cross terms start from the template's
(Cu–O, Cu–Zr, Cu–Ti …).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError
from hrtem.io.stores import atomic_path

__all__ = ["FIELDS", "INT_FIELDS", "Comb3Parameters", "field_index"]

#: the 71 numbers of an entry, in file order (LAMMPS ``PairComb3::read_file``)
FIELDS: tuple[str, ...] = (
    "ielementgp", "jelementgp", "kelementgp", "ang_flag", "pcn_flag", "rad_flag", "tor_flag",
    "vdwflag", "powerm", "veps", "vsig", "paaa", "pbbb", "lami", "alfi", "powern",
    "QL", "QU", "DL", "DU", "qmin", "qmax", "chi", "dj", "dk", "dl", "esm",
    "cmn1", "cmn2", "pcmn1", "pcmn2", "coulcut", "polz", "curl", "curlcut1", "curlcut2", "curl0",
    "alpha1", "bigB1", "alpha2", "bigB2", "alpha3", "bigB3", "lambda", "bigA", "beta",
    "bigr", "bigd", "pcos6", "pcos5", "pcos4", "pcos3", "pcos2", "pcos1", "pcos0",
    "pcna", "pcnb", "pcnc", "pcnd", "p6p0", "p6p1", "p6p2", "p6p3", "p6p4", "p6p5", "p6p6",
    "ptork1", "ptork2", "addrepr", "addrep", "pcross",
)  # fmt: skip
#: fields written as integers
INT_FIELDS = frozenset(FIELDS[:7])
_INDEX = {name: i for i, name in enumerate(FIELDS)}


def field_index(name: str) -> int:
    """Position of a field in an entry (raises HrtemError naming the valid ones)."""
    try:
        return _INDEX[name]
    except KeyError:
        raise HrtemError(f"unknown COMB3 field {name!r}; valid: {', '.join(FIELDS)}") from None


Triplet = tuple[str, str, str]


@dataclass
class Comb3Parameters:
    """All entries of a COMB3 file, keyed by element triplet."""

    entries: dict[Triplet, np.ndarray] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    # ------------------------------------------------------------- reading
    @classmethod
    def read(cls, path: str | os.PathLike) -> Comb3Parameters:
        """Parse a COMB3 file (comments ``#`` kept as the header)."""
        path = Path(path)
        if not path.is_file():
            from hrtem.md.settings import resolve_potential_file  # noqa: PLC0415

            path = resolve_potential_file(str(path), "COMB3 file")
        out = cls()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            body, _, comment = line.partition("#")
            tok = body.split()
            if not tok:
                if comment.strip() and not out.entries:
                    out.header.append(comment.strip())
                continue
            if len(tok) != 3 + len(FIELDS):
                raise HrtemError(
                    f"{path}:{n}: a COMB3 entry has 3 element names and {len(FIELDS)} numbers, found {len(tok)} tokens"
                )
            key = (tok[0], tok[1], tok[2])
            if key in out.entries:
                raise HrtemError(f"{path}:{n}: duplicate COMB3 entry {' '.join(key)}")
            out.entries[key] = np.array([float(t) for t in tok[3:]])
        return out

    @property
    def elements(self) -> list[str]:
        """Elements with a self entry (i, i, i), in file order."""
        return [k[0] for k in self.entries if k[0] == k[1] == k[2]]

    def copy(self) -> Comb3Parameters:
        return Comb3Parameters({k: v.copy() for k, v in self.entries.items()}, list(self.header))

    # ------------------------------------------------------------- editing
    def get(self, triplet: Sequence[str], name: str) -> float:
        """One field of one entry."""
        return float(self._entry(triplet)[field_index(name)])

    def set(self, triplet: Sequence[str], name: str, value: float) -> None:
        """Set one field of one entry."""
        self._entry(triplet)[field_index(name)] = value

    def _entry(self, triplet: Sequence[str]) -> np.ndarray:
        key = tuple(triplet)
        if key not in self.entries:
            raise HrtemError(f"the COMB3 parameters have no entry {' '.join(key)}")
        return self.entries[key]  # type: ignore[index]

    def add_element(self, new: str, template: str) -> None:
        """Add ``new`` as a copy of ``template`` (all triplets, cross terms included)."""
        if template not in self.elements:
            raise HrtemError(f"template element {template!r} is not in the COMB3 parameters ({self.elements})")
        if new in self.elements:
            raise HrtemError(f"element {new!r} is already in the COMB3 parameters")
        olds = self.elements
        for trip in itertools.product(olds + [new], repeat=3):
            if new not in trip:
                continue
            src = tuple(template if e == new else e for e in trip)
            self.entries[trip] = self.entries[src].copy()  # type: ignore[index]

    def subset(self, elements: Iterable[str]) -> Comb3Parameters:
        """Only the triplets among ``elements`` (a smaller file reads faster)."""
        els = list(elements)
        missing = [e for e in els if e not in self.elements]
        if missing:
            raise HrtemError(f"the COMB3 parameters have no {missing} (they cover {self.elements})")
        keep = {k: v.copy() for k, v in self.entries.items() if all(e in els for e in k)}
        return Comb3Parameters(keep, list(self.header))

    def update(self, values: Mapping[str, float], groups: Mapping[str, Sequence[tuple[Triplet, str]]]) -> None:
        """Set grouped fields: ``groups[name]`` lists the (triplet, field) pairs that share a value."""
        for name, val in values.items():
            for trip, fld in groups[name]:
                self.set(trip, fld, val)

    # ------------------------------------------------------------- writing
    def text(self, header: Sequence[str] = ()) -> str:
        """The file as text (``header`` lines become ``#`` comments on top).

        Numbers are written with 9 significant digits in the shortest form:
        LAMMPS reads lines of at most 1024 characters and silently hangs on
        longer ones (measured: a 1,117-character entry never returns).
        """
        lines = [f"# {h}" for h in header] + [f"# {h}" for h in self.header]
        for key, vals in self.entries.items():
            nums = [
                f"{int(round(v)):d}" if FIELDS[i] in INT_FIELDS else f"{v:.9g}" for i, v in enumerate(vals)
            ]
            line = f"{key[0]:<2} {key[1]:<2} {key[2]:<2} " + " ".join(nums)
            if len(line) > 1000:
                raise HrtemError(f"COMB3 entry {' '.join(key)} would be {len(line)} characters (LAMMPS reads ≤ 1024)")
            lines.append(line)
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike, header: Sequence[str] = ()) -> Path:
        """Write atomically; returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(self.text(header))
        return path

    def digest(self) -> str:
        """SHA-256 of the entries (not the header): identifies a parameter set."""
        return hashlib.sha256(self.text().encode()).hexdigest()[:16]
