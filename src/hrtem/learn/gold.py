"""Gold nanoparticles for column detection, atom counting and surface dynamics (thesis §6.4.2–6.4.3).

Training structures (:func:`gold_particle`, :func:`gold_structures`)
--------------------------------------------------------------------
Random Au particles from the growth model of thesis Eq. 6.18
(:func:`hrtem.structures.growth.random_particle`): a seed crystal with random
numbers of {100}/{110}/{111} layers, a random number of atoms added (scaled by
the seed's size) with probability ∝ exp(N_i/T) at a random roughness T, turned
to a ⟨110⟩ or ⟨111⟩ zone axis, rotated in-plane, tilted 0–3° and displaced in a
50 × 50 Å cell (thesis L5228–5262). The label sites are the projected columns
(:func:`hrtem.structures.columns.project_columns`) with their heights (atoms per
column); they travel with the atoms as ``atoms.info["label_xy" | "label_class" |
"label_height"]``, the form :func:`hrtem.learn.data.build_exit_waves` stores
(the same as :mod:`hrtem.learn.ceria`). ``learn.gold.labels.mode`` sets the
class: ``"column"`` (every column class 1: detection) or ``"height"`` (class =
height capped at ``max_height``: atom counting).

Time series (:func:`surface_time_series`; thesis Fig. 6.26 and abstract 000)
---------------------------------------------------------------------------
A stand-in for the experimental video of the thesis: one grown particle whose
surface changes between frames by seeded Monte-Carlo moves on its fcc lattice
(see the function for why this and not MD). The orientation and placement are
fixed for the whole sequence, so each lattice site has the same projected
position in every frame and the ground truth per column site and frame is
exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ase
import numpy as np

from hrtem.errors import HrtemError
from hrtem.seeding import rng as make_rng
from hrtem.structures.columns import project_columns
from hrtem.structures.growth import NEIGHBOURS, grow, random_particle, seed_crystal
from hrtem.structures.orientation import orient, place_in_cell, rotation_about
from hrtem.structures.wulff import LATTICE_CONSTANTS_A

__all__ = [
    "GOLD_DEFAULTS",
    "gold_section",
    "column_sites",
    "gold_particle",
    "gold_structures",
    "task_section",
    "gold_learn",
    "gold_simulate",
    "build_gold_exit_waves",
    "TimeSeries",
    "surface_time_series",
    "image_time_series",
    "detected_occupancy",
    "occupancy_agreement",
    "series_agreement",
    "count_errors",
    "wulff_test_particle",
]

#: Defaults of ``learn.gold`` (must equal the schema's; tested).
GOLD_DEFAULTS: dict[str, Any] = {
    "energy_kev": 300.0,
    "structures": {
        "count": 8,
        "cell_a": 50.0,
        "lattice_constant_a": 4.078,
        "layers_100": [3, 6],
        "layers_110": [4, 8],
        "layers_111": [3, 6],
        "added_fraction": [0.0, 1.0],
        "temperature": [0.5, 5.0],
        "zone_axes": ["110", "111"],
        "tilt_max_deg": 3.0,
        "margin_a": 2.0,
        "vacuum_a": 5.0,
    },
    "labels": {"mode": "column", "max_height": 12, "column_tolerance_a": 0.5},
    "counting": {
        "defoci_a": [-170.0, -40.0, 90.0],
        "jitter_a": 20.0,
        "dose": "total",
        "cs_mm": [-0.02, -0.01],
        "zone_axes": ["110"],
        "tilt_max_deg": 3.0,
        "train_near_axis_fraction": 0.0,
        "structures": None,
        "layers_100": None,
        "layers_110": None,
        "layers_111": None,
        "sampling_a": 0.2,
        "dose_e_per_a2": [1000.0, 1000000.0],
        "steps": 1000,
        "batch": 4,
        "crop_px": 96,
        "centre_on_sites": 0.75,
        "loss": "weighted_cross_entropy",
        "class_weight_images": 1024,
        "class_weight_power": 0.5,
        "max_class_weight": 20.0,
        "background_weight_power": None,
        "schedule": "constant",
        "learning_rate": None,
        "bank_entries": 0,
        "ordinal_weight": 0.0,
        "networks": 1,
        "fused_batch_norm": False,
        "label_sigma_a": 0.6,
        "readout_radius_a": 0.8,
        "match_radius_a": 0.8,
        "test_diameters_nm": [1.6, 2.0, 2.4],
        "test_doses_e_per_a2": [1000.0, 10000.0, 100000.0, 1000000.0],
        "realisations": 2,
    },
    "time_series": {
        "frames": 8,
        "moves_per_frame": 6,
        "temperature": 1.0,
        "exchange_probability": 0.0,
        "zone_axis": "110",
        "layers": [4, 5, 4],
        "added_fraction": 0.3,
        "growth_temperature": 1.0,
        "dose_e_per_a2": 1000.0,
    },
    "exit_waves": {"sampling_a": None, "slice_thickness_a": None},
    "detect": {
        "defocus_a": None,
        "cs_mm": None,
        "c5_mm": None,
        "astigmatism_a": None,
        "dose_e_per_a2": None,
        "steps": None,
        "batch": None,
        "crop_px": None,
        "learning_rate": None,
        "width": None,
        "threshold": None,
        "min_separation_a": 0.8,
    },
    "heldout": {
        "diameters_nm": [2.5, 3.5],
        "zone_axes": ["110", "111"],
        "potential": "eam",
        "eam_file": "Au_u3.eam",
        "comb3_file": None,
        "max_iterations": 2000,
        "force_tol_eV_per_A": 0.01,
        "doses_e_per_a2": [100, 220, 464, 1000, 10000],
        "realisations": 2,
        "radius_a": 0.5,
        "margin_a": 1.0,
        "microscope": {
            "defocus_a": 60.0,
            "cs_mm": -0.012,
            "c5_mm": 0.0,
            "astigmatism_a": 0.0,
            "astigmatism_angle_deg": 0.0,
            "focal_spread_a": 30.0,
            "deflection_sigma_a": 0.1,
            "illumination_semiangle_mrad": 0.0,
            "mtf_c1": 0.1,
            "mtf_c2": 0.48,
            "mtf_c3": 2.45,
        },
    },
}


#: Largest tilt (degrees) of a near-zone-axis counting particle: the training share
#: ``counting.train_near_axis_fraction`` and the secondary row of fig6_29/fig6_30.
NEAR_AXIS_DEG = 1.0


def gold_section(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """``learn.gold`` with every default filled in (unknown keys are user errors)."""
    section = dict(section or {})
    unknown = sorted(set(section) - set(GOLD_DEFAULTS))
    if unknown:
        raise HrtemError(f"learn.gold: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(GOLD_DEFAULTS)}")
    out = {}
    for block, defaults in GOLD_DEFAULTS.items():
        if not isinstance(defaults, dict):
            out[block] = section.get(block, defaults)
            continue
        given = dict(section.get(block) or {})
        bad = sorted(set(given) - set(defaults))
        if bad:
            raise HrtemError(f"learn.gold.{block}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(defaults)}")
        out[block] = {**defaults, **given}
        for key, sub in defaults.items():  # one more level (heldout.microscope): partial blocks keep their defaults
            if isinstance(sub, dict):
                inner = dict(given.get(key) or {})
                bad = sorted(set(inner) - set(sub))
                if bad:
                    raise HrtemError(f"learn.gold.{block}.{key}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sub)}")
                out[block][key] = {**sub, **inner}
    lab = out["labels"]
    if lab["mode"] not in ("column", "height"):
        raise HrtemError(f"learn.gold.labels.mode must be 'column' or 'height', got {lab['mode']!r}")
    return out


def column_sites(atoms: ase.Atoms, mode: str = "column", max_height: int = 12, tolerance_a: float = 0.5
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Projected columns of ``atoms`` as label sites.

    Atoms are grouped into columns (:func:`hrtem.structures.columns.project_columns`,
    single linkage within ``tolerance_a``) in the untilted crystal when
    ``atoms.info`` has ``tilt_deg``/``tilt_axis_deg`` (as set by
    :func:`hrtem.structures.orientation.orient`); the site is the mean
    projected position of the column's atoms as they are.

    Returns
    -------
    xy, cls, height, labels
        ``(M, 2)`` column positions in Å, ``(M,)`` classes (1, or the height
        capped at ``max_height`` when ``mode == "height"``), ``(M,)`` heights
        (atoms in the column) and the column index of every atom.
    """
    tilt = float(atoms.info.get("tilt_deg", 0.0) or 0.0)
    grouped = atoms
    if tilt:
        # group in the untilted crystal: along a tilted column the projected atoms drift by
        # thickness·tan(tilt) (1.3 Å over 25 Å at 3°), enough for single linkage to merge
        # neighbouring ⟨111⟩ columns (1.66 Å apart) or split a ⟨110⟩ one
        ta = np.deg2rad(float(atoms.info.get("tilt_axis_deg", 0.0) or 0.0))
        r = rotation_about((np.cos(ta), np.sin(ta), 0.0), tilt)
        grouped = atoms.copy()
        grouped.positions = atoms.positions @ r  # row-wise R^T·p undoes the tilt (up to a translation)
    cols = project_columns(grouped, tolerance_a=float(tolerance_a), periodic=False)
    height = cols.counts.astype(int)
    # a column's position: mean projected position of its atoms in the (tilted) particle
    xy = np.zeros((len(height), 2))
    np.add.at(xy, cols.labels, atoms.positions[:, :2])
    xy /= height[:, None]
    cls = np.minimum(height, int(max_height)) if mode == "height" else np.ones_like(height)
    return xy, cls.astype(int), height, cols.labels


def _attach_labels(atoms: ase.Atoms, lab: Mapping[str, Any]) -> ase.Atoms:
    xy, cls, height, _ = column_sites(atoms, lab["mode"], int(lab["max_height"]), float(lab["column_tolerance_a"]))
    atoms.info["label_xy"] = xy
    atoms.info["label_class"] = cls
    atoms.info["label_height"] = height.astype(float)
    return atoms


def gold_particle(section: Mapping[str, Any] | None, seed: int, index: int) -> ase.Atoms:
    """Random training particle ``index`` (stream ``(seed, "learn", "gold", index)``) with column labels.

    The cell is periodic in x, y (exit waves of :func:`hrtem.learn.data.build_exit_waves`);
    the particle keeps ``margin_a`` from the cell edges. Counting particles (height labels):
    the share ``counting.train_near_axis_fraction`` of the indices (spread evenly: index i
    when ⌈(i+1)·f⌉ > ⌈i·f⌉, the even ones at f = 0.5) are tilted at most
    :data:`NEAR_AXIS_DEG` instead of ``structures.tilt_max_deg``.
    """
    c = gold_section(section)
    s = c["structures"]
    tilt_max = float(s["tilt_max_deg"])
    f = float(c["counting"]["train_near_axis_fraction"]) if c["labels"]["mode"] == "height" else 0.0
    if f > 0 and np.ceil((int(index) + 1) * f - 1e-9) > np.ceil(int(index) * f - 1e-9):
        tilt_max = min(tilt_max, NEAR_AXIS_DEG)
    p = random_particle(
        seed, "learn", "gold", int(index),
        symbol="Au",
        lattice_constant_a=float(s["lattice_constant_a"]),
        layers_range={"100": s["layers_100"], "110": s["layers_110"], "111": s["layers_111"]},
        added_fraction_range=tuple(float(v) for v in s["added_fraction"]),
        temperature_range=tuple(float(v) for v in s["temperature"]),
        zone_axes=tuple(str(z) for z in s["zone_axes"]),
        tilt_max_deg=tilt_max,
        cell_a=float(s["cell_a"]),
        vacuum_a=float(s["vacuum_a"]),
        margin_a=float(s["margin_a"]),
    )
    p.pbc = (True, True, False)
    p.info["structure"] = int(index)
    return _attach_labels(p, c["labels"])


def gold_structures(section: Mapping[str, Any] | None, seed: int, start: int = 0, count: int | None = None
                    ) -> list[ase.Atoms]:
    """Particles ``start … start + count − 1`` (default: all ``structures.count``) of :func:`gold_particle`."""
    c = gold_section(section)
    n = int(c["structures"]["count"]) if count is None else int(count)
    return [gold_particle(c, seed, i) for i in range(int(start), int(start) + n)]


TASKS = ("detect", "count")


def task_section(section: Mapping[str, Any] | None, task: str) -> dict[str, Any]:
    """``learn.gold`` for a task: ``"detect"`` as configured; ``"count"`` (thesis §6.4.3) with height
    labels, the counting zone axes (thesis: ⟨110⟩ only), the counting tilt range
    ``counting.tilt_max_deg`` in place of ``structures.tilt_max_deg`` (training and held-out
    particles alike; default 0–3° as the thesis's ensemble), ``counting.structures``
    training particles in place of ``structures.count`` and ``counting.layers_100/110/111``
    in place of the ``structures`` seed-crystal ranges where set.

    Why a separate tilt range: a tilted column spreads its atoms laterally by
    thickness·tan(tilt) (1 Å for a 10-atom ⟨110⟩ column at 2°), and its image
    intensities depend on the tilt as much as on the height. Noise-free, with
    the true column positions, a linear discriminant on the integrated
    intensities of the three focal images misses 23–32 % of the columns by ≥ 2
    atoms on training particles tilted 0–3°, 1–3 % at 0–1° and 0–2 % at 0°
    (leave-one-particle-out over 8 particles; measured for issue 11). The
    thesis trained counting on "a more limited range of simulation parameters"
    and found particles tilted up to 3° "significantly worse".
    """
    c = gold_section(section)
    if task not in TASKS:
        raise HrtemError(f"gold task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "count":
        c["labels"] = {**c["labels"], "mode": "height"}
        c["structures"] = {**c["structures"], "zone_axes": list(c["counting"]["zone_axes"]),
                           "tilt_max_deg": float(c["counting"]["tilt_max_deg"])}
        for fam in ("100", "110", "111"):  # the counting particles' own seed-crystal sizes where set
            if c["counting"][f"layers_{fam}"] is not None:
                c["structures"][f"layers_{fam}"] = [int(v) for v in c["counting"][f"layers_{fam}"]]
        if c["counting"]["structures"] is not None:  # the counting store's own number of training particles
            c["structures"]["count"] = int(c["counting"]["structures"])
    return c


def gold_learn(learn: Mapping[str, Any], task: str = "detect") -> dict[str, Any]:
    """The ``learn`` section with ``data``/``microscope`` set for gold (for TrainingImages and training).

    The microscope ranges are ``learn.microscope`` (Table 6.1) at
    ``learn.gold.energy_kev``; the cell is ``learn.gold.structures.cell_a``.
    ``task="count"``: Cs in ``counting.cs_mm``, the dose range
    ``counting.dose_e_per_a2``, the camera pixel ``counting.sampling_a`` and a
    three-image focal series (``learn.data.focal_series`` from ``counting``;
    thesis Eq. 6.19).
    """
    import copy

    from hrtem.config import validate_config

    out = copy.deepcopy(validate_config({"learn": dict(learn)})["learn"])
    c = task_section(out.get("gold"), task)
    cell = float(c["structures"]["cell_a"])
    out["microscope"]["energy_kev"] = float(c["energy_kev"])
    out["data"]["cell_a"] = [cell, cell]
    if task == "count":
        k = c["counting"]
        out["microscope"]["cs_mm"] = [float(v) for v in k["cs_mm"]]
        out["microscope"]["dose_e_per_a2"] = [float(v) for v in k["dose_e_per_a2"]]
        out["data"]["sampling_a"] = float(k["sampling_a"])
        out["data"]["channels"] = len(k["defoci_a"])
        out["data"]["focal_series"] = {"defoci_a": [float(v) for v in k["defoci_a"]],
                                       "jitter_a": float(k["jitter_a"]), "dose": k["dose"]}
    else:
        out["data"]["channels"] = 1
        out["data"]["focal_series"] = None
    return out


def gold_simulate(simulate: Mapping[str, Any] | None, section: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``simulate`` section (defaults filled in) with ``learn.gold.exit_waves``'s grid where it is set."""
    from hrtem.config import validate_config

    sim = {**validate_config({})["simulate"], **dict(simulate or {})}
    ew = gold_section(section)["exit_waves"]
    sim.update({k: float(v) for k, v in ew.items() if v is not None})
    return sim


def build_gold_exit_waves(learn: Mapping[str, Any], simulate: Mapping[str, Any] | None, path: Any, seed: int,
                          task: str = "detect", start: int = 0, count: int | None = None) -> Any:
    """Exit waves (Zarr, :func:`hrtem.learn.data.build_exit_waves`) of the random particles
    ``start … start + count − 1`` for ``task``, with ``labels.max_height`` (count) or 1 classes."""
    from hrtem.config import validate_config
    from hrtem.learn.data import build_exit_waves

    settings = gold_learn(learn, task)
    c = task_section(settings.get("gold"), task)
    structures = gold_structures(c, seed, start, count)
    sim = gold_simulate(simulate, c)
    k = int(c["labels"]["max_height"]) if task == "count" else 1
    return build_exit_waves(structures, sim, settings["microscope"], path, seed, ("learn", "gold", "exit_waves", task),
                            data=settings["data"], n_classes=k)


# --------------------------------------------------------------------------- time series
@dataclass
class TimeSeries:
    """A seeded sequence of one particle (:func:`surface_time_series`).

    Attributes
    ----------
    frames
        ``F`` structures (same cell, fixed orientation); frame f's label sites
        are its occupied columns (``info["label_*"]``).
    site_xy
        ``(S, 2)`` Å: every column position occupied in at least one frame.
    site_height
        ``(F, S)`` atoms in each site's column per frame (0 = empty).
    n_atoms
        ``(F,)`` atoms per frame.
    moves
        ``(F,)`` moves applied before each frame (0 for the first).
    """

    frames: list[ase.Atoms]
    site_xy: np.ndarray
    site_height: np.ndarray
    n_atoms: np.ndarray
    moves: np.ndarray

    @property
    def occupancy(self) -> np.ndarray:
        """``(S,)`` fraction of frames in which each site is occupied (ground truth)."""
        return (self.site_height > 0).mean(axis=0)

    @property
    def events(self) -> np.ndarray:
        """``(S,)`` fraction of frame pairs (f, f+1) in which a site's occupancy flips (ground truth)."""
        occ = self.site_height > 0
        if len(occ) < 2:
            return np.zeros(occ.shape[1])
        return (occ[1:] != occ[:-1]).mean(axis=0)


def _neighbour_counts(sites: set[tuple[int, int, int]], points: Sequence[tuple[int, int, int]]) -> np.ndarray:
    return np.array([sum((p[0] + d[0], p[1] + d[1], p[2] + d[2]) in sites for d in NEIGHBOURS) for p in points], int)


def _surface_move(occupied: set[tuple[int, int, int]], temperature: float, exchange_probability: float,
                  g: np.random.Generator) -> int:
    """One Monte-Carlo move on the lattice; returns the change in the number of atoms.

    A hop (probability 1 − exchange_probability) takes a surface atom (an
    occupied site with < 12 neighbours), chosen ∝ exp(−N/T), off the particle
    and puts it on an empty site with ≥ 1 neighbour (after the removal), chosen
    ∝ exp(N/T): atoms conserved. An exchange move with the surroundings either
    removes (∝ exp(−N/T)) or adds (∝ exp(N/T)) one atom, each with probability ½.
    """
    t = max(float(temperature), 1e-6)
    exchange = bool(g.random() < exchange_probability)
    kind = ("remove" if g.random() < 0.5 else "add") if exchange else "hop"
    delta = 0
    if kind in ("hop", "remove"):
        atoms = sorted(occupied)
        n = _neighbour_counts(occupied, atoms)
        surf = np.flatnonzero(n < 12)
        if len(surf) <= 1:
            return 0
        w = np.exp(-(n[surf] - n[surf].min()) / t)
        site = atoms[int(surf[g.choice(len(surf), p=w / w.sum())])]
        occupied.discard(site)
        delta -= 1
    if kind in ("hop", "add"):
        empty = sorted({(p[0] + d[0], p[1] + d[1], p[2] + d[2]) for p in occupied for d in NEIGHBOURS} - occupied)
        if kind == "hop":
            empty = [e for e in empty if e != site]  # a hop moves the atom somewhere else
        n = _neighbour_counts(occupied, empty)
        w = np.exp((n - n.max()) / t)
        occupied.add(empty[int(g.choice(len(empty), p=w / w.sum()))])
        delta += 1
    return delta


def surface_time_series(section: Mapping[str, Any] | None, seed: int, keys: Sequence[str | int] = ("learn", "gold", "series")
                        ) -> TimeSeries:
    """A sequence of ``time_series.frames`` frames of one Au particle with a changing surface.

    The particle is grown once (Eq. 6.18, ``layers``, ``added_fraction``,
    ``growth_temperature``); between frames ``moves_per_frame`` seeded moves act
    on its surface (:func:`_surface_move`): hops that move a low-coordinated
    atom to a well-coordinated empty site (atom number conserved) and, with
    ``exchange_probability``, single removals or additions (exchange with the
    surroundings). All randomness comes from ``rng(seed, *keys)``: the same seed
    gives the same sequence.

    Why lattice moves and not MD: the thesis's video (Fig. 6.26, abstract 000)
    shows columns appearing and disappearing over seconds, while MD of Au at
    elevated temperature reaches nanoseconds, in which a few surface hops
    happen at best; the changes would be too rare to map and their sites
    would be off-lattice (no exact column ground truth). Moves on the fcc
    lattice give as many events as wanted, keep every atom on a lattice site
    (so each column's height per frame is exact), and cost milliseconds. They
    are not dynamics: their rates mean nothing physical, only the
    occupancy/event maps they produce are compared.

    Every frame has the same orientation (``zone_axis``, seeded in-plane
    rotation, no tilt) and placement in the ``structures.cell_a`` cell, so a
    lattice site projects to the same position in every frame.
    """
    c = gold_section(section)
    ts, st, lab = c["time_series"], c["structures"], c["labels"]
    if int(ts["frames"]) < 1:
        raise HrtemError("learn.gold.time_series.frames must be >= 1")
    a = float(st["lattice_constant_a"])
    g = make_rng(seed, *keys)
    base = seed_crystal("Au", [int(v) for v in ts["layers"]], a)
    grown = grow(base, int(round(float(ts["added_fraction"]) * len(base))), float(ts["growth_temperature"]), g, a)
    ijk = np.round(grown.positions / (a / 2.0)).astype(int)
    occupied = {tuple(int(v) for v in p) for p in ijk}
    states = [set(occupied)]
    moves = [0]
    for _ in range(int(ts["frames"]) - 1):
        for _ in range(int(ts["moves_per_frame"])):
            _surface_move(occupied, float(ts["temperature"]), float(ts["exchange_probability"]), g)
        states.append(set(occupied))
        moves.append(int(ts["moves_per_frame"]))
    # one orientation and placement for the union of all sites ever occupied
    union = sorted(set().union(*states))
    index = {s: k for k, s in enumerate(union)}
    allsites = ase.Atoms(["Au"] * len(union), positions=np.asarray(union, float) * (a / 2.0))
    rotation = float(g.uniform(0.0, 360.0))
    placed = place_in_cell(orient(allsites, str(ts["zone_axis"]), rotation, 0.0, 0.0),
                           cell_a=float(st["cell_a"]), vacuum_a=float(st["vacuum_a"]))
    placed.pbc = (True, True, False)
    xy, _, _, col = column_sites(placed, "column", 1, float(lab["column_tolerance_a"]))
    frames, heights = [], []
    for f, state in enumerate(states):
        mask = np.zeros(len(union), bool)
        mask[[index[s] for s in state]] = True
        heights.append(np.bincount(col[mask], minlength=len(xy)))
        atoms = placed[mask]
        atoms.info.update(frame=f, rotation_deg=rotation, zone_axis=str(ts["zone_axis"]))
        frames.append(_attach_labels(atoms, lab))
    site_height = np.stack(heights)
    return TimeSeries(frames, xy, site_height, np.array([len(s) for s in states]), np.array(moves))


def image_time_series(ts: TimeSeries, learn: Mapping[str, Any], simulate: Mapping[str, Any] | None, out_dir: Any,
                      seed: int, dose_e_per_a2: float | None = None) -> dict[str, Any]:
    """Noisy images of every frame of ``ts`` with one microscope: ``out_dir/frames.zarr``.

    The exit waves of the frames go to ``out_dir/waves.zarr``
    (:func:`hrtem.learn.data.build_exit_waves`). Every frame is imaged with
    the fixed microscope and camera MTF of the held-out test images
    (``learn.gold.heldout.microscope``), so the sequence sits at a known point
    of fig6_23's precision/recall-vs-dose curve; frame f gets its own Poisson noise at ``dose_e_per_a2``
    (default ``time_series.dose_e_per_a2``) from the image stream ``"gold_series"``
    step f. No augmentation; the crop is the cell from its origin, so image and
    site coordinates coincide; intensities are globally normalised (mean 0,
    s.d. 1) and the frames are written as ``image (frame, x, y)`` with x, y in Å,
    readable by ``hrtem detect``.

    Returns
    -------
    dict
        ``frames`` (path), ``waves`` (path), ``images`` (F, nx, ny),
        ``sampling_a``, ``microscope`` (the fixed values) and ``dose_e_per_a2``.
    """
    from pathlib import Path

    import xarray as xr

    from hrtem.config import validate_config
    from hrtem.io import provenance, write_dataset
    from hrtem.learn.data import MICROSCOPE_RANGES_DEFAULTS, ExitWaveSet, TrainingImages, build_exit_waves

    from hrtem.learn.gold_detect import detect_learn

    settings = detect_learn(learn)  # the detection network's optics ranges (learn.gold.detect)
    c = gold_section(settings.get("gold"))
    dose = float(c["time_series"]["dose_e_per_a2"] if dose_e_per_a2 is None else dose_e_per_a2)
    if not (np.isfinite(dose) and dose > 0):
        raise HrtemError(f"learn.gold.time_series.dose_e_per_a2 must be a positive finite dose in e⁻/Å², got {dose}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = gold_simulate(simulate, c)
    waves = ExitWaveSet(build_exit_waves(ts.frames, sim, settings["microscope"], out / "waves.zarr", seed,
                                         ("learn", "gold", "series", "exit_waves"), data=settings["data"], n_classes=1))
    s = float(settings["data"]["sampling_a"])
    crop = int(np.floor(float(np.min(waves.cell_a)) / s + 1e-9))
    data = {**settings["data"], "crop_px": crop, "scale_jitter": 0.0, "lcn_sigma_a": None}
    images = TrainingImages(waves, {"data": data, "microscope": settings["microscope"]}, seed, stream="gold_series")
    # the fixed microscope of the held-out test images (fig6_22/6_23), so the sequence sits at a known
    # point of the precision/recall-vs-dose curve
    fixed = {k: float(v) for k, v in c["heldout"]["microscope"].items() if k in MICROSCOPE_RANGES_DEFAULTS}
    fixed.update(energy_kev=float(c["energy_kev"]), dose_e_per_a2=dose)
    stack = np.stack([images.draw(f, overrides=fixed, augment=False, structure=f).image[..., 0]
                      for f in range(len(ts.frames))])
    ds = xr.Dataset(
        {"image": (("frame", "x", "y"), stack.astype(np.float32))},
        coords={"frame": np.arange(len(stack)), "x": np.arange(crop) * s, "y": np.arange(crop) * s},
        attrs={"sampling_a": s, "dose_e_per_a2": dose, **{f"microscope_{k}": float(v) for k, v in fixed.items()},
               "long_name": "simulated time series of one Au particle (stand-in for thesis Fig. 6.26)"},
    )
    ds["x"].attrs["units"] = ds["y"].attrs["units"] = "Å"
    frames = write_dataset(ds, out / "frames.zarr",
                           attrs=provenance(config={"learn.gold": c}, seed=seed, rule="gold_time_series"))
    return {"frames": frames, "waves": waves.path, "images": stack, "sampling_a": s, "microscope": fixed,
            "dose_e_per_a2": dose}


# --------------------------------------------------------------------------- occupancy and event maps
def detected_occupancy(site_xy: np.ndarray, detections_a: Sequence[np.ndarray], radius_a: float = 0.5) -> np.ndarray:
    """``(F, S)`` True where frame f has a detection matched one-to-one to site s within ``radius_a`` Å.

    ``detections_a``: per frame the ``(M_f, 2)`` detected positions in the
    sites' frame (Å). Matching is :func:`hrtem.learn.metrics.match` (the same
    radius as the detection metrics).
    """
    from hrtem.learn.metrics import match

    sites = np.asarray(site_xy, float).reshape(-1, 2)
    return np.stack([match(d, sites, radius_a).true_matched for d in detections_a]) if len(detections_a) \
        else np.zeros((0, len(sites)), bool)


def _events(occ: np.ndarray) -> np.ndarray:
    return (occ[1:] != occ[:-1]).mean(axis=0) if len(occ) > 1 else np.zeros(occ.shape[1])


def occupancy_agreement(true_occupied: np.ndarray, detected: np.ndarray) -> dict[str, Any]:
    """Occupancy and event maps of detections next to the ground truth (fig6_26).

    Parameters
    ----------
    true_occupied
        ``(F, S)`` ground truth (e.g. ``TimeSeries.site_height > 0``).
    detected
        ``(F, S)`` from :func:`detected_occupancy`.

    Returns
    -------
    dict
        ``occupancy_true``/``occupancy_detected`` (S,) fraction of frames
        occupied, ``events_true``/``events_detected`` (S,) fraction of frame
        pairs whose occupancy flips, ``seen`` (S,) sites detected in at least
        one frame, and over the seen sites: ``state_agreement_pct`` (% of
        (frame, site) states equal), ``occupancy_agreement_pct`` (% of sites
        whose occupancy map value is equal), ``event_agreement_pct`` (% of sites
        whose event map value is equal), ``occupancy_mae_pct`` (mean absolute
        occupancy difference in percentage points) and ``n_seen``.
    """
    t = np.asarray(true_occupied, bool)
    d = np.asarray(detected, bool)
    if t.shape != d.shape or t.ndim != 2:
        raise HrtemError(f"occupancy_agreement: truth {t.shape} and detections {d.shape} must both be (frames, sites)")
    seen = d.any(axis=0)
    occ_t, occ_d = t.mean(axis=0), d.mean(axis=0)
    ev_t, ev_d = _events(t), _events(d)
    n = int(seen.sum())

    def pct(x: np.ndarray) -> float:
        return float(100.0 * x.mean()) if x.size else float("nan")

    return {
        "occupancy_true": occ_t,
        "occupancy_detected": occ_d,
        "events_true": ev_t,
        "events_detected": ev_d,
        "seen": seen,
        "n_seen": n,
        "state_agreement_pct": pct(t[:, seen] == d[:, seen]),
        "occupancy_agreement_pct": pct(np.isclose(occ_t[seen], occ_d[seen])),
        "event_agreement_pct": pct(np.isclose(ev_t[seen], ev_d[seen])),
        "occupancy_mae_pct": pct(np.abs(occ_t[seen] - occ_d[seen])),
    }


def series_agreement(detections_csv: Any, truth_store: Any, radius_a: float = 0.5) -> dict[str, Any]:
    """Occupancy/event agreement of ``hrtem detect``'s table of a frame stack with ``truth.zarr``.

    ``detections_csv``: the ``frame, x_a, y_a, …`` table of ``hrtem detect``
    on ``frames.zarr`` (image and site coordinates coincide there);
    ``truth_store``: ``truth.zarr`` of ``hrtem gold series``. Frames without a
    detection count as empty. Returns :func:`occupancy_agreement`'s dict plus
    ``detected (F, S)`` and ``site_xy``.
    """
    from hrtem.io import open_store
    from hrtem.io.tables import read_table

    truth = open_store(truth_store)
    site_xy = np.asarray(truth["site_xy"].values, float)
    true_occ = np.asarray(truth["site_height"].values) > 0
    table = read_table(detections_csv)
    missing = [c for c in ("frame", "x_a", "y_a") if c not in table]
    if missing:
        raise HrtemError(f"{detections_csv}: missing column(s) {', '.join(missing)}; expected hrtem detect's table")
    frame = np.asarray(table["frame"], float).astype(int)
    if len(frame) and (frame.min() < 0 or frame.max() >= len(true_occ)):
        raise HrtemError(f"{detections_csv}: frame numbers must be 0 … {len(true_occ) - 1} (the frames of {truth_store})")
    xy = np.column_stack([np.asarray(table["x_a"], float), np.asarray(table["y_a"], float)])
    detected = detected_occupancy(site_xy, [xy[frame == f] for f in range(len(true_occ))], radius_a)
    out = occupancy_agreement(true_occ, detected)
    out.update(detected=detected, site_xy=site_xy)
    return out


# --------------------------------------------------------------------------- evaluation helpers
def count_errors(true_xy: np.ndarray, true_height: np.ndarray, detected_xy: np.ndarray, detected_class: np.ndarray,
                 radius_a: float = 0.5, max_height: int | None = None) -> dict[str, float]:
    """Atom-counting errors (thesis Fig. 6.30): |predicted − true height| of the matched columns.

    Detections are matched one-to-one to the true columns within ``radius_a``
    (:func:`hrtem.learn.metrics.match`); a column's predicted height is the
    class of its detection. True heights above ``max_height`` (the largest
    class) are compared as ``max_height``. Returns ``n_true``, ``n_matched``,
    ``recall`` and the fractions of the matched columns ``off_0``, ``off_1``,
    ``off_2`` and ``off_gt2``.
    """
    from hrtem.learn.metrics import match

    h = np.asarray(true_height, float).ravel()
    if max_height is not None:
        h = np.minimum(h, int(max_height))
    cls = np.asarray(detected_class, float).ravel()
    m = match(detected_xy, true_xy, radius_a)
    err = np.abs(cls[m.pairs[:, 0]] - h[m.pairs[:, 1]]) if len(m.pairs) else np.zeros(0)
    n = len(err)

    def frac(mask: np.ndarray) -> float:
        return float(mask.sum() / n) if n else float("nan")

    return {
        "n_true": int(len(h)),
        "n_matched": int(n),
        "recall": float(n / len(h)) if len(h) else float("nan"),
        "off_0": frac(err == 0),
        "off_1": frac(err == 1),
        "off_2": frac(err == 2),
        "off_gt2": frac(err > 2),
    }


def wulff_test_particle(section: Mapping[str, Any] | None, seed: int, index: int, diameter_nm: float,
                        zone_axis: str = "110", task: str = "detect") -> ase.Atoms:
    """Held-out Au Wulff particle (:func:`hrtem.structures.wulff.wulff_particle`, COMB3 surface energies)
    of ``diameter_nm`` with column labels, in the training cell, in-plane rotation and tilt drawn from
    ``(seed, "learn", "gold", "test", index)`` as for the training particles (ideal, not relaxed)."""
    from hrtem.structures.wulff import wulff_particle

    c = task_section(section, task)
    st = c["structures"]
    g = make_rng(seed, "learn", "gold", "test", int(index))
    p = wulff_particle("Au", diameter_nm=float(diameter_nm), lattice_constant_a=float(st["lattice_constant_a"]),
                       zone_axis=str(zone_axis), rotation_deg=float(g.uniform(0.0, 360.0)),
                       tilt_deg=float(g.uniform(0.0, float(st["tilt_max_deg"]))), tilt_axis_deg=float(g.uniform(0.0, 180.0)),
                       cell_a=float(st["cell_a"]), vacuum_a=float(st["vacuum_a"]))
    p.pbc = (True, True, False)
    p.info["structure"] = int(index)
    return _attach_labels(p, c["labels"])
