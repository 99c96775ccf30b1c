"""MD settings: the ``md`` config section as typed objects.

The defaults here equal those of ``schemas/sections/md.schema.yaml``, so
:meth:`MDSettings.from_config` accepts both a validated section (all keys
present) and a partial dict written by hand (tests, notebooks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hrtem.errors import HrtemError

__all__ = ["MDSettings", "Minimize", "Potential", "Stage", "DEFAULT_STAGES"]

_POTENTIAL_KINDS = ("comb3", "eam", "eam/alloy", "eam/fs")


@dataclass(frozen=True)
class Potential:
    """Interatomic potential.

    Attributes
    ----------
    kind
        ``comb3`` (``pair_style comb3 polar_off`` + ``fix qeq/comb``), ``eam``
        (funcfl files, one per element, ``eam_files``), ``eam/alloy`` or
        ``eam/fs`` (one setfl ``file`` for all elements).
    file
        COMB3 parameter file or setfl EAM file: a name shipped with LAMMPS
        (``ffield.comb3``) or a path to a user file.
    eam_files
        ``{element: funcfl file}`` for ``kind='eam'`` (e.g. ``Au: Au_u3.eam``).
    qeq_every
        Charge equilibration every this many steps (COMB3 only). The charge
        solve is ~85 % of the cost when done every step.
    qeq_precision
        Convergence of the charge solve (``fix qeq/comb`` precision, in e).
    polar
        COMB3 polarisation (``polar_on``); off as in the thesis.
    """

    kind: str = "comb3"
    file: str = "ffield.comb3"
    eam_files: Mapping[str, str] = field(default_factory=dict)
    qeq_every: int = 10
    qeq_precision: float = 1e-3
    polar: bool = False

    @property
    def has_charges(self) -> bool:
        """Whether atoms carry variable charges."""
        return self.kind == "comb3"


@dataclass(frozen=True)
class Stage:
    """One Langevin stage: the target temperature ramps linearly start → stop.

    Attributes
    ----------
    name
        Label in the thermo table.
    start_K, stop_K
        Target temperatures in K at the beginning and end (equal: hold).
    steps
        Number of MD steps.
    sample
        Write snapshots (every ``MDSettings.snapshot_every`` steps) in this stage.
    ensemble
        ``langevin`` (thermostat to the target) or ``nve`` (no thermostat;
        the targets are then ignored, used to check energy conservation).
    """

    name: str
    start_K: float
    stop_K: float
    steps: int
    sample: bool = False
    ensemble: str = "langevin"


@dataclass(frozen=True)
class Minimize:
    """FIRE minimisation before the dynamics (``max_iterations = 0`` skips it)."""

    max_iterations: int = 100
    force_tol_eV_per_A: float = 0.05
    energy_tol: float = 0.0


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("heat", 300.0, 800.0, 300),
    Stage("cool", 800.0, 400.0, 240),
    Stage("cool-sample", 400.0, 300.0, 60, True),
)


@dataclass(frozen=True)
class MDSettings:
    """Everything the driver needs besides the atoms and the seed.

    Attributes
    ----------
    potential
        See :class:`Potential`.
    timestep_fs
        Time step in fs (thesis: 0.5 fs).
    minimize
        See :class:`Minimize`.
    stages
        Langevin schedule, in order (see :class:`Stage`).
    langevin_damp_fs
        Langevin damping time in fs.
    initial_temperature_K
        Velocities drawn from Maxwell–Boltzmann at this temperature before the
        first stage (0: start at rest).
    snapshot_every
        Steps between snapshots in sampling stages.
    thermo_every
        Steps between rows of the thermo table.
    max_temperature_K
        Runaway guard: a temperature above this stops the run with an error.
    processors
        LAMMPS ``processors`` grid; ``auto`` = ``* * 1`` for slabs (z not
        periodic) and ``* * *`` otherwise.
    """

    potential: Potential = field(default_factory=Potential)
    timestep_fs: float = 0.5
    minimize: Minimize = field(default_factory=Minimize)
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    langevin_damp_fs: float = 25.0
    initial_temperature_K: float = 300.0
    snapshot_every: int = 10
    thermo_every: int = 10
    max_temperature_K: float = 5000.0
    processors: str = "auto"

    @property
    def total_steps(self) -> int:
        """MD steps over all stages."""
        return sum(s.steps for s in self.stages)

    def with_(self, **changes: Any) -> MDSettings:
        """Copy with fields replaced (``potential=…``, ``stages=…``)."""
        return replace(self, **changes)

    @classmethod
    def from_config(cls, md: Mapping[str, Any] | None) -> MDSettings:
        """Build from the ``md`` config section (missing keys take defaults).

        Raises
        ------
        HrtemError
            For an unknown potential kind or an invalid stage.
        """
        md = dict(md or {})
        pot = dict(md.get("potential") or {})
        kind = pot.get("kind", "comb3")
        if kind not in _POTENTIAL_KINDS:
            raise HrtemError(f"md.potential.kind: {kind!r} is not one of {_POTENTIAL_KINDS}")
        potential = Potential(
            kind=kind,
            file=str(pot.get("file", "ffield.comb3")),
            eam_files=dict(pot.get("eam_files") or {}),
            qeq_every=int(pot.get("qeq_every", 10)),
            qeq_precision=float(pot.get("qeq_precision", 1e-3)),
            polar=bool(pot.get("polar", False)),
        )
        mini = dict(md.get("minimize") or {})
        minimize = Minimize(
            max_iterations=int(mini.get("max_iterations", 100)),
            force_tol_eV_per_A=float(mini.get("force_tol_eV_per_A", 0.05)),
            energy_tol=float(mini.get("energy_tol", 0.0)),
        )
        raw_stages = md.get("stages")
        if raw_stages is None:
            stages = DEFAULT_STAGES
        else:
            stages = []
            for i, s in enumerate(raw_stages):
                try:
                    start = float(s["start_K"])
                    stages.append(
                        Stage(
                            name=str(s.get("name", f"stage{i}")),
                            start_K=start,
                            stop_K=float(s.get("stop_K", start)),
                            steps=int(s["steps"]),
                            sample=bool(s.get("sample", False)),
                            ensemble=str(s.get("ensemble", "langevin")),
                        )
                    )
                except (KeyError, TypeError, ValueError) as err:
                    raise HrtemError(
                        f"md.stages[{i}]: needs start_K (K) and steps (int), optional stop_K, name, sample ({err})"
                    ) from err
            stages = tuple(stages)
        for i, s in enumerate(stages):
            if s.steps < 0 or s.start_K < 0 or s.stop_K < 0:
                raise HrtemError(f"md.stages[{i}] ({s.name}): steps and temperatures must be ≥ 0")
            if s.ensemble not in ("langevin", "nve"):
                raise HrtemError(f"md.stages[{i}].ensemble must be 'langevin' or 'nve', got {s.ensemble!r}")
        return cls(
            potential=potential,
            timestep_fs=float(md.get("timestep_fs", 0.5)),
            minimize=minimize,
            stages=stages,
            langevin_damp_fs=float(md.get("langevin_damp_fs", 25.0)),
            initial_temperature_K=float(md.get("initial_temperature_K", 300.0)),
            snapshot_every=int(md.get("snapshot_every", 10)),
            thermo_every=int(md.get("thermo_every", 10)),
            max_temperature_K=float(md.get("max_temperature_K", 5000.0)),
            processors=str(md.get("processors", "auto")),
        )


def resolve_potential_file(name: str, key: str = "md.potential.file") -> Path:
    """Return an existing potential file: a path, a name shipped with LAMMPS, or one in ``hrtem/data``.

    Raises
    ------
    HrtemError
        Naming ``key`` if neither exists.
    """
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    from hrtem.md.lammps_loader import potentials_dir  # noqa: PLC0415

    shipped = potentials_dir() / name
    if shipped.is_file():
        return shipped
    from importlib import resources  # noqa: PLC0415

    ours = Path(str(resources.files("hrtem") / "data" / name))
    if ours.is_file():  # the fitted COMB3 sets shipped with hrtem (comb3_Pt.comb3, comb3_Au.comb3)
        return ours
    raise HrtemError(
        f"{key}: potential file {name!r} is neither a file nor shipped with LAMMPS "
        f"(see {potentials_dir()}) or hrtem (hrtem/data)"
    )


def potential_input_files(potential: Mapping[str, Any]) -> list[str]:
    """The files of the ``md.potential`` section that exist (COMB3/setfl file or funcfl files), as paths.

    For a workflow's input list: a new version of a shipped or user file then
    reruns the MD. Files that do not resolve are left out (the run reports them).
    """
    names = list((potential.get("eam_files") or {}).values()) if potential.get("kind") == "eam" else [
        potential.get("file", "ffield.comb3")]
    out = []
    for name in names:
        try:
            out.append(str(resolve_potential_file(str(name))))
        except HrtemError:
            pass
    return out
