"""Held-out test sheets and the precision/recall tables of figs. 6.17-6.19 (thesis §6.4.1).

Three kinds of sheets the network never saw in training (it trains on random
Voronoi sheets, :func:`hrtem.learn.data.graphene_structures`):

- ``ideal``: a perfect honeycomb in a commensurate periodic cell (random offset);
- ``polycrystal``: grains of perfect honeycomb at random rotations meeting at
  grain boundaries (:func:`hrtem.structures.graphene.polycrystalline_graphene`);
- ``holes``: a perfect honeycomb with holes (edge atoms are defects).

Every atom is labelled ideal or defect by :func:`hrtem.learn.metrics.ideal_mask`
(9-neighbour template RMSD; thesis L5069). Test images use one fixed microscope
(``learn.evaluation.microscope``) at a given dose and defocus and differ only
in their noise; the network's maps are post-processed with no threshold and
the detections are matched one-to-one at every threshold t of the sweep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from hrtem.errors import HrtemError

__all__ = [
    "KINDS",
    "BOND_A",
    "honeycomb",
    "heldout_structures",
    "atom_groups",
    "test_image",
    "detect",
    "evaluate",
    "EVALUATION_COLUMNS",
]

KINDS = ("ideal", "polycrystal", "holes")
BOND_A = 1.42
EVALUATION_COLUMNS = ("kind", "sweep", "dose_e_per_a2", "defocus_a", "threshold", "group", "tp", "fp", "fn", "precision", "recall")


def honeycomb(cells: Sequence[int], bond_a: float = BOND_A, offset_a: Sequence[float] = (0.0, 0.0), cell_z_a: float = 10.0):
    """Periodic graphene in an orthogonal cell of ``cells`` = (nx, ny) rectangles 3a × √3a."""
    import ase

    a = float(bond_a)
    basis = np.array([[0, 0], [a, 0], [1.5 * a, math.sqrt(3) / 2 * a], [2.5 * a, math.sqrt(3) / 2 * a]])
    cx, cy = 3 * a, math.sqrt(3) * a
    nx, ny = int(cells[0]), int(cells[1])
    xy = np.array([b + (i * cx, j * cy) for i in range(nx) for j in range(ny) for b in basis])
    cell = np.array([nx * cx, ny * cy])
    xy = np.mod(xy + np.asarray(offset_a, float), cell)
    pos = np.column_stack([xy, np.full(len(xy), cell_z_a / 2)])
    return ase.Atoms(["C"] * len(xy), positions=pos, cell=[cell[0], cell[1], cell_z_a], pbc=[True, True, False])


def _bonds(xy: np.ndarray, cell: np.ndarray, bond_a: float) -> np.ndarray:
    pairs = cKDTree(np.mod(xy, cell), boxsize=cell).query_pairs(1.2 * bond_a, output_type="ndarray")
    return np.asarray(pairs, np.int64).reshape(-1, 2)


def heldout_structures(kind: str, evaluation: Mapping[str, Any], seed: int) -> list:
    """The held-out sheets of one kind (config ``learn.evaluation``), seeded by (seed, "learn", "heldout", kind, i)."""
    from hrtem.seeding import rng
    from hrtem.structures.graphene import cut_holes, polycrystalline_graphene

    if kind not in KINDS:
        raise HrtemError(f"held-out kind must be one of {', '.join(KINDS)}, got {kind!r}")
    ev = dict(evaluation)
    cells = ev["cell_cells"]
    base = honeycomb(cells)
    cell = np.asarray(base.cell.lengths()[:2])
    n = int(ev[f"{'ideal' if kind == 'ideal' else kind}_structures"])
    out = []
    for i in range(n):
        g = rng(seed, "learn", "heldout", kind, i)
        if kind == "ideal":
            out.append(honeycomb(cells, offset_a=g.uniform(0, 1, 2) * cell))
        elif kind == "polycrystal":
            atoms = polycrystalline_graphene(seed, "learn", "heldout", kind, i, cell_a=tuple(cell), n_grains=int(ev["grains"])).atoms
            del atoms.arrays["grain"]
            out.append(atoms)
        else:
            sheet = honeycomb(cells, offset_a=g.uniform(0, 1, 2) * cell)
            xy = sheet.positions[:, :2]
            idx, _, _ = cut_holes(xy, _bonds(xy, cell, BOND_A), cell, int(ev["holes"]), g, tuple(ev["hole_radius_a"]))
            out.append(sheet[np.asarray(idx)])
    return out


def atom_groups(positions_a: np.ndarray, cell_a: Sequence[float], rmsd_max: float) -> np.ndarray:
    """``"ideal"``/``"defect"`` per atom of a periodic sheet (:func:`hrtem.learn.metrics.ideal_mask`)."""
    from hrtem.learn.metrics import ideal_mask

    ideal, _ = ideal_mask(positions_a, cell_a, BOND_A, rmsd_max)
    return np.where(ideal, "ideal", "defect")


def _image_settings(learn: Mapping[str, Any], crop_px: int) -> dict:
    return {"data": {**learn["data"], "crop_px": int(crop_px)}, "microscope": learn["microscope"]}


def eval_crop_px(cell_a: Sequence[float], sampling_a: float, multiple: int) -> int:
    """Largest multiple of ``multiple`` pixels that fits in the cell."""
    n = int(min(cell_a) / sampling_a) // multiple * multiple
    if n < multiple:
        raise HrtemError(f"learn.evaluation.cell_cells gives a cell {cell_a} Å smaller than one network tile")
    return n


def test_image(images, step: int, structure: int, microscope: Mapping[str, float], dose: float, defocus_a: float | None = None):
    """One test image of a stored structure with the fixed microscope (only the noise is random)."""
    over = {k: [float(v), float(v)] for k, v in microscope.items()}
    over["dose_e_per_a2"] = [float(dose), float(dose)]
    if defocus_a is not None:
        over["defocus_a"] = [float(defocus_a), float(defocus_a)]
    return images.draw(step, overrides=over, augment=False, structure=structure)


def detect(model, postprocess: Mapping[str, Any], image: np.ndarray, sampling_a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (Å), classes and score of every candidate (no threshold) in one image.

    The score is what ``learn.postprocess.threshold`` is compared with: Σ atom / Σ
    background of the segment (watershed) or the peak value (peaks).
    """
    from hrtem.learn.postprocess import find_atoms, ratio
    from hrtem.learn.train import predict

    pp = dict(postprocess)
    mode = pp.get("mode", "watershed")
    probs = predict(model, image[None])[0]
    pos, cls, conf = find_atoms(probs, sampling_a, threshold=0.0, level=pp.get("level", 0.995), mode=mode, core=pp.get("core", 0.5))
    score = ratio(conf) if mode == "watershed" else conf
    return pos, cls, score


def _inside(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.all((p >= lo) & (p <= hi), axis=1) if len(p) else np.zeros(0, bool)


def evaluate(model, info: Mapping[str, Any], stores: Mapping[str, str | Path], learn: Mapping[str, Any], seed: int,
             progress: bool = True) -> list[dict]:
    """P/R rows (:data:`EVALUATION_COLUMNS`) on the held-out stores ``{kind: path}``.

    Sweeps: ``dose`` (every dose of ``doses_e_per_a2`` ∪ ``pr_doses_e_per_a2`` at the
    microscope's defocus, every threshold) and ``defocus`` (``defoci_a`` at
    ``defocus_dose_e_per_a2``, every threshold). Counts are summed over
    structures and realisations per kind; kind ``all`` pools the kinds.
    Groups: ``all``, ``ideal``, ``defect``.
    """
    import sys

    from hrtem.learn.data import ExitWaveSet, TrainingImages
    from hrtem.learn.metrics import precision_recall

    ev = learn["evaluation"]
    t_default = float(learn["postprocess"]["threshold"])
    thresholds = sorted({float(t) for t in ev["thresholds"]} | {t_default})
    mic = dict(ev["microscope"])
    conditions = [("dose", float(d), None) for d in sorted({float(d) for d in ev["doses_e_per_a2"]} | {float(d) for d in ev["pr_doses_e_per_a2"]})]
    conditions += [("defocus", float(ev["defocus_dose_e_per_a2"]), float(f)) for f in ev["defoci_a"]]
    depth = int(info.get("network", {}).get("depth", 3))
    s = float(learn["data"]["sampling_a"])
    radius = float(ev["radius_a"])
    margin = float(ev["margin_a"])
    acc: dict[tuple, list[int]] = {}
    for kind, path in stores.items():
        waves = ExitWaveSet(path)
        crop = eval_crop_px(waves.cell_a, s, 2**depth)
        images = TrainingImages(waves, _image_settings(learn, crop), seed, stream=f"heldout_{kind}")
        groups = []
        for i in range(len(waves)):
            groups.append(atom_groups(waves.positions(i), waves.cell_a, float(ev["ideal_rmsd_max"])))
        step = 0
        for ci, (sweep, dose, defocus) in enumerate(conditions):
            for i in range(len(waves)):
                tree = cKDTree(np.mod(waves.positions(i), waves.cell_a), boxsize=waves.cell_a)
                for _ in range(int(ev["realisations"])):
                    sample = test_image(images, step, i, mic, dose, defocus)
                    step += 1
                    pos, _, score = detect(model, learn["postprocess"], sample.image, sample.sampling_a)
                    hi = (crop - 1) * sample.sampling_a - margin
                    truth = sample.positions_a[_inside(sample.positions_a, margin, hi)]
                    _, owner = tree.query(np.mod(truth, waves.cell_a))
                    tg = groups[i][owner]
                    keep = _inside(pos, margin, hi)
                    pos, score = pos[keep], score[keep]
                    for t in thresholds:
                        res = precision_recall(pos[score >= t], truth, radius, tg, ("ideal", "defect"))
                        for group, r in res.items():
                            for k in (kind, "all"):
                                a = acc.setdefault((k, sweep, dose, defocus, t, group), [0, 0, 0])
                                a[0] += r["tp"]
                                a[1] += r["fp"]
                                a[2] += r["fn"]
            if progress:
                print(f"[learn] evaluate {kind}: condition {ci + 1}/{len(conditions)}", file=sys.stderr, flush=True)
    rows = []
    for (kind, sweep, dose, defocus, t, group), (tp, fp, fn) in acc.items():
        rows.append({
            "kind": kind, "sweep": sweep, "dose_e_per_a2": dose,
            "defocus_a": float(mic.get("defocus_a", 0.0)) if defocus is None else defocus,
            "threshold": t, "group": group, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
        })
    return rows


def select(rows: Sequence[Mapping[str, Any]], **where) -> list[Mapping[str, Any]]:
    """Rows whose columns equal ``where`` (floats compared with a relative tolerance)."""
    out = []
    for r in rows:
        ok = True
        for k, v in where.items():
            rv = r[k]
            if isinstance(v, float) or isinstance(rv, float):
                try:
                    ok = math.isclose(float(rv), float(v), rel_tol=1e-6, abs_tol=1e-9)
                except (TypeError, ValueError):
                    ok = False
            else:
                ok = str(rv) == str(v)
            if not ok:
                break
        if ok:
            out.append(r)
    return out
