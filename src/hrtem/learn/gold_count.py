"""Atom counting in Au nanoparticles from a three-image focal series (thesis §6.4.3, Figs. 6.28–6.30).

The network (:mod:`hrtem.learn.network`, trained by
:func:`hrtem.learn.commands.run_training`) sees three images at
Δf_k = −170 + 130k + U(−20, 20) Å (k = 0, 1, 2: the input channels in
increasing defocus, thesis Eq. 6.19) of a ⟨110⟩ particle and predicts one
class per column height 1 … H_max plus the background
(``learn.gold.labels.max_height``; taller columns are class H_max). A
column's height is the argmax class at its detected peak
(:func:`hrtem.learn.postprocess.find_atoms`, ``peaks``).

- :func:`count_learn`: the ``learn`` settings of the counting network
  (:func:`hrtem.learn.gold.gold_learn` with task ``count`` plus
  ``counting.steps``/``loss``);
- :func:`count_test_particles` / :func:`build_count_test_waves`: held-out
  ⟨110⟩ Wulff particles (never seen in training) and their exit waves;
- :func:`evaluate_counting`: every held-out particle at every dose of
  ``counting.test_doses_e_per_a2``, ``counting.realisations`` noisy focal
  series each, one row per true column (true and predicted height) and one
  summary row per (dose, particle, realisation) with TP/FP/FN;
- :func:`error_fractions`: the fractions of matched columns off by 0, 1, 2,
  > 2 per dose (Fig. 6.30);
- :class:`IntensityCounter`: the classical peer, heights from integrated
  column intensities by a least-squares fit on the training distribution.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "count_learn",
    "member_seed",
    "member_threads",
    "count_class_weights",
    "count_test_particles",
    "build_count_test_waves",
    "count_images",
    "disc_heights",
    "evaluate_counting",
    "error_fractions",
    "bootstrap_interval",
    "COLUMN_FIELDS",
    "SUMMARY_FIELDS",
    "integrated_intensities",
    "IntensityCounter",
]

#: Columns of the per-column table of :func:`evaluate_counting`.
COLUMN_FIELDS = ("dose_e_per_a2", "particle", "diameter_nm", "tilt_deg", "realisation", "x_a", "y_a", "true_height",
                 "predicted_height", "error")
#: Columns of the per-image summary of :func:`evaluate_counting`.
SUMMARY_FIELDS = ("dose_e_per_a2", "particle", "diameter_nm", "tilt_deg", "realisation", "tp", "fp", "fn", "off_0",
                  "off_1", "off_2", "off_gt2")


def count_learn(learn: Mapping[str, Any]) -> dict[str, Any]:
    """The ``learn`` section for training and evaluating the counting network.

    :func:`hrtem.learn.gold.gold_learn` (task ``"count"``: 300 kV, 50 Å cell,
    focal series, Cs, dose range and pixel of ``learn.gold.counting``) with
    ``train.steps``, ``batch``, ``crop_px``, ``loss``, ``network.fused_batch_norm``, ``data.label_sigma_a`` and
    ``data.centre_on_sites`` (the fraction of training crops centred on a random column: a 1.6–3 nm
    particle fills a small part of the cell, and uniformly placed crops are mostly vacuum) from
    ``counting``, and the peak post-processing (height = argmax class at the peak).
    """
    from hrtem.learn.gold import gold_learn, task_section

    out = copy.deepcopy(gold_learn(learn, "count"))
    k = task_section(out.get("gold"), "count")["counting"]
    out["train"]["steps"] = int(k["steps"])
    out["train"]["batch"] = int(k["batch"])
    out["train"]["crop_px"] = int(k["crop_px"])
    out["train"]["loss"] = str(k["loss"])
    out["train"]["schedule"] = str(k["schedule"])
    out["train"]["learning_rate"] = float(k["learning_rate"]) if k["learning_rate"] is not None else out["train"]["learning_rate"]
    out["train"]["bank_entries"] = int(k["bank_entries"])
    out["train"]["ordinal_weight"] = float(k["ordinal_weight"])
    out["network"]["fused_batch_norm"] = bool(k["fused_batch_norm"])
    out["data"]["label_sigma_a"] = float(k["label_sigma_a"])
    out["data"]["centre_on_sites"] = float(k["centre_on_sites"])  # a particle fills a small part of the cell
    lo, hi = (float(v) for v in k["dose_e_per_a2"])
    out["train"]["validation_dose_e_per_a2"] = float(np.sqrt(lo * hi))
    out["postprocess"]["mode"] = "peaks"
    return out


def member_seed(seed: int, member: int) -> int:
    """Seed of counting network ``member`` of ``counting.networks``: the config seed for
    member 0 (one network is the plain training), a draw from the stream
    ``(seed, "learn", "gold", "count_member", member)`` for the others."""
    from hrtem.seeding import int_seed

    member = int(member)
    if member < 0:
        raise HrtemError(f"counting network member must be >= 0, got {member}")
    if member == 0:
        return int(seed)
    return int_seed(seed, "learn", "gold", "count_member", member)


def member_threads(learn: Mapping[str, Any]) -> int:
    """TensorFlow threads of one counting network: ``learn.train.threads // counting.networks``, at least 1."""
    settings = count_learn(learn)
    return max(1, int(settings["train"]["threads"]) // int(settings["gold"]["counting"]["networks"]))


def count_class_weights(waves: Any, settings: Mapping[str, Any], seed: int, n_images: int | None = None,
                        power: float | None = None, max_weight: float | None = None,
                        background_power: float | None = None) -> list[float]:
    """Class weights of the counting loss from the label pixel frequencies f_k (capped, pixel mean 1).

    ``f_k`` from ``n_images`` label maps of ``waves`` placed like the training
    crops (:meth:`hrtem.learn.data.TrainingImages.label_frequencies`; no image
    is rendered). Without ``background_power``: w_k ∝ f_k^(−power) for every
    class (:func:`hrtem.learn.ceria.class_weights`). With it, two levels: the
    background and the columns as a whole get w_0, w_col ∝ (f_0, Σ_k≥1 f_k)^(−background_power),
    and height k gets w_k = w_col·u_k with u_k ∝ f_k^(−power) averaging 1 over
    the column pixels, so ``power`` moves weight between heights without
    changing the background's share. Every weight is capped at ``max_weight``,
    which a height absent from the maps gets. Defaults:
    ``counting.class_weight_images``, ``class_weight_power``,
    ``max_class_weight`` and ``background_weight_power`` of ``settings``.
    """
    from hrtem.learn.ceria import class_weights
    from hrtem.learn.data import TrainingImages

    k = settings["gold"]["counting"]
    n_images = int(k["class_weight_images"] if n_images is None else n_images)
    power = float(k["class_weight_power"] if power is None else power)
    max_weight = float(k["max_class_weight"] if max_weight is None else max_weight)
    background_power = k["background_weight_power"] if background_power is None else background_power
    crop = int(settings["train"]["crop_px"] or settings["data"]["crop_px"])
    images = TrainingImages(waves, {"data": {**settings["data"], "crop_px": crop}, "microscope": settings["microscope"]},
                            seed, stream="train")
    freq = images.label_frequencies(n_images)
    if background_power is None:
        return [float(w) for w in class_weights(freq, power, max_weight)]
    columns = float(freq[1:].sum())
    if columns <= 0:
        raise HrtemError(f"no column in {n_images} label maps of {waves}: cannot weight the heights")
    w0, wcol = class_weights([freq[0], columns], float(background_power), np.inf)
    heights = class_weights(freq[1:] / columns, power, np.inf)
    return [float(w) for w in np.minimum(np.concatenate([[w0], wcol * heights]), max_weight)]


def count_test_particles(learn: Mapping[str, Any], seed: int) -> list:
    """Held-out ⟨110⟩ Wulff particles of ``counting.test_diameters_nm`` with height labels.

    Particle i is :func:`hrtem.learn.gold.wulff_test_particle` (task
    ``count``, stream ``(seed, "learn", "gold", "test", 1000 + i)``: its own
    rotation and tilt, apart from the detection test particles).
    """
    from hrtem.learn.gold import task_section, wulff_test_particle

    c = task_section((learn or {}).get("gold"), "count")
    out = []
    for i, d in enumerate(c["counting"]["test_diameters_nm"]):
        p = wulff_test_particle(c, seed, 1000 + i, float(d), zone_axis=str(c["counting"]["zone_axes"][0]), task="count")
        p.info["diameter_nm"] = float(d)
        out.append(p)
    return out


def build_count_test_waves(learn: Mapping[str, Any], simulate: Mapping[str, Any] | None, path: Any, seed: int) -> Any:
    """Exit waves (Zarr) of :func:`count_test_particles`, with ``max_height`` label classes like the training store.

    The multislice grid is the training store's (:func:`hrtem.learn.gold.gold_simulate`: ``simulate``
    with ``learn.gold.exit_waves``'s sampling and slice thickness where set). With the finer
    ``simulate`` grid (0.05 Å, 0.5 Å slices against 0.1 Å, 1 Å) the held-out columns scatter more than
    the training ones of the same height and the network counted one atom too many (+0.8 atoms on
    average, 70 % of the columns off by one; measured for issue 11).
    """
    from hrtem.learn.data import build_exit_waves
    from hrtem.learn.gold import gold_simulate, task_section

    settings = count_learn(learn)
    c = task_section(settings.get("gold"), "count")
    sim = gold_simulate(simulate, c)
    return build_exit_waves(count_test_particles(learn, seed), sim, settings["microscope"], path, seed,
                            ("learn", "gold", "count_test"), data=settings["data"],
                            n_classes=int(c["labels"]["max_height"]), info_keys=("tilt_deg", "diameter_nm"))


def count_images(waves: Any, settings: Mapping[str, Any], seed: int, particle: int, dose_e_per_a2: float,
                 realisation: int, stream: str = "gold_count_test"):
    """The noisy focal series of held-out ``particle`` at ``dose_e_per_a2`` (total), realisation r.

    The whole cell from its origin (no augmentation), the microscope drawn
    from the counting ranges by stream ``(seed, "learn", stream, step)`` with
    step = particle·1000 + r: every dose of a (particle, realisation) has the
    same microscope and only its noise changes. Returns a
    :class:`hrtem.learn.data.Sample` (image (nx, ny, 3), positions, heights in Å).
    """
    from hrtem.learn.data import ExitWaveSet, TrainingImages

    ws = waves if isinstance(waves, ExitWaveSet) else ExitWaveSet(waves)
    s = float(settings["data"]["sampling_a"])
    crop = int(np.floor(float(np.min(ws.cell_a)) / s + 1e-9)) // 8 * 8
    data = {**settings["data"], "crop_px": crop}
    images = TrainingImages(ws, {"data": data, "microscope": settings["microscope"]}, seed, stream=stream)
    d = float(dose_e_per_a2)
    return images.draw(int(particle) * 1000 + int(realisation), overrides={"dose_e_per_a2": [d, d]}, augment=False,
                       structure=int(particle))


def disc_heights(probabilities: np.ndarray, positions_a: np.ndarray, sampling_a: float, radius_a: float
                 ) -> np.ndarray:
    """Height class of every detected column: argmax of the class probabilities summed over a disc.

    ``probabilities`` ``(nx, ny, K+1)`` (channel 0 = background), positions in Å
    (origin at pixel (0, 0)'s centre). The classes 1 … K are summed over the
    pixels within ``radius_a`` of the position (pixels outside the image left
    out); ``radius_a`` = 0 reads the one pixel nearest to the position. A
    tilted column smears its atoms over up to ~1.3 Å (3° over 25 Å), and one
    pixel's argmax is then a noisy read of a class map that varies across the
    column.

    Returns
    -------
    ``(M,)`` int heights 1 … K.
    """
    p = np.asarray(probabilities, float)
    if p.ndim != 3 or p.shape[-1] < 2:
        raise HrtemError(f"disc_heights needs a (nx, ny, K+1) probability map, got shape {p.shape}")
    if not (np.isfinite(radius_a) and radius_a >= 0):
        raise HrtemError(f"learn.gold.counting.readout_radius_a must be a finite number ≥ 0 Å, got {radius_a}")
    pos = np.asarray(positions_a, float).reshape(-1, 2)
    if not len(pos):
        return np.zeros(0, np.int64)
    cls = p[..., 1:]
    nx, ny = p.shape[:2]
    px = pos / float(sampling_a)
    nearest = (np.clip(np.rint(px[:, 0]).astype(int), 0, nx - 1), np.clip(np.rint(px[:, 1]).astype(int), 0, ny - 1))
    if radius_a == 0:
        return 1 + np.argmax(cls[nearest], axis=1).astype(np.int64)
    sums, summed = _disc_sums(cls, px, max(float(radius_a) / float(sampling_a), 0.5))  # at least the nearest pixel
    off = summed == 0  # a position off the image: its nearest pixel
    sums[off] = cls[nearest][off]
    return 1 + np.argmax(sums, axis=1).astype(np.int64)


def _disc_sums(image: np.ndarray, positions_px: np.ndarray, radius_px: float) -> tuple[np.ndarray, np.ndarray]:
    """``(M, C)`` sums of ``image`` ``(nx, ny, C)`` over the pixels within ``radius_px`` of every position
    (pixel units, origin at pixel (0, 0)'s centre; pixels off the image left out), and ``(M,)`` the number
    of pixels summed."""
    nx, ny = image.shape[:2]
    n = int(np.ceil(radius_px))
    dx, dy = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    sums = np.zeros((len(positions_px), image.shape[-1]))
    count = np.zeros(len(positions_px), np.int64)
    for m, (x, y) in enumerate(positions_px):
        ix, iy = int(round(x)) + dx, int(round(y)) + dy
        disc = ((ix - x) ** 2 + (iy - y) ** 2 <= radius_px * radius_px) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        sums[m] = image[ix[disc], iy[disc]].sum(axis=0)
        count[m] = int(disc.sum())
    return sums, count


def _inside(xy: np.ndarray, size_a: float, margin_a: float) -> np.ndarray:
    xy = np.asarray(xy, float).reshape(-1, 2)
    return np.all((xy >= margin_a) & (xy <= size_a - margin_a), axis=1)


def evaluate_counting(model: Any, waves: Any, learn: Mapping[str, Any], seed: int,
                      doses_e_per_a2: Sequence[float] | None = None, realisations: int | None = None,
                      progress: bool = False, tilts_deg: Sequence[float] | None = None,
                      diameters_nm: Sequence[float] | None = None, readout_radius_a: float | None = None,
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Counting errors of ``model`` on the held-out store ``waves`` (module docstring).

    Detections are matched one-to-one to the true columns within
    ``counting.match_radius_a`` (:func:`hrtem.learn.metrics.match`); columns
    and detections within ``learn.evaluation.margin_a`` of the image edge are
    left out. A missed column has ``predicted_height`` 0 and ``error`` NaN;
    ``error`` = predicted − true height with the true height capped at the
    largest class. A detected column's height is :func:`disc_heights` with
    ``counting.readout_radius_a`` (``readout_radius_a`` overrides it).
    ``tilts_deg``/``diameters_nm``: per particle of ``waves``, written to the
    tables (default: the store's ``tilt_deg``/``diameter_nm`` from
    :func:`build_count_test_waves`; else NaN tilt and ``counting.test_diameters_nm``).

    Returns
    -------
    columns, summary
        Tables (dicts of arrays) with :data:`COLUMN_FIELDS` and :data:`SUMMARY_FIELDS`.
    """
    from hrtem.learn.data import ExitWaveSet
    from hrtem.learn.metrics import match
    from hrtem.learn.postprocess import find_atoms
    from hrtem.learn.train import predict

    settings = count_learn(learn)
    k = settings["gold"]["counting"]
    doses = [float(v) for v in (doses_e_per_a2 if doses_e_per_a2 is not None else k["test_doses_e_per_a2"])]
    reps = int(realisations if realisations is not None else k["realisations"])
    ws = waves if isinstance(waves, ExitWaveSet) else ExitWaveSet(waves)
    kmax = int(ws.n_classes)
    pp, ev = settings["postprocess"], settings["evaluation"]
    radius, margin = float(k["match_radius_a"]), float(ev["margin_a"])
    stored_d, stored_t = ws.structure_info("diameter_nm"), ws.structure_info("tilt_deg")
    diam = list(diameters_nm if diameters_nm is not None else stored_d if stored_d is not None
                else k["test_diameters_nm"])
    tilt = list(tilts_deg if tilts_deg is not None else stored_t if stored_t is not None else [])
    rad = float(k["readout_radius_a"] if readout_radius_a is None else readout_radius_a)
    cols: dict[str, list] = {f: [] for f in COLUMN_FIELDS}
    summ: dict[str, list] = {f: [] for f in SUMMARY_FIELDS}
    for i in range(len(ws)):
        for r in range(reps):
            samples = [count_images(ws, settings, seed, i, d, r) for d in doses]
            probs = predict(model, np.stack([s.image for s in samples]), batch=2)
            for d, s, p in zip(doses, samples, probs):
                size = s.image.shape[0] * s.sampling_a
                pos, _, _ = find_atoms(p, s.sampling_a, pp["threshold"], pp["level"], "peaks", pp["core"])
                keep_t = _inside(s.positions_a, size - s.sampling_a, margin)
                keep_d = _inside(pos, size - s.sampling_a, margin)
                txy, th = s.positions_a[keep_t], np.minimum(s.heights[keep_t], kmax)
                dxy = pos[keep_d]
                dcls = disc_heights(p, dxy, s.sampling_a, rad)
                m = match(dxy, txy, radius)
                pred = np.zeros(len(txy))
                if len(m.pairs):
                    pred[m.pairs[:, 1]] = dcls[m.pairs[:, 0]]
                err = np.where(pred > 0, pred - th, np.nan)
                n = len(txy)
                cols["dose_e_per_a2"] += [d] * n
                cols["particle"] += [i] * n
                cols["diameter_nm"] += [float(diam[i]) if i < len(diam) else np.nan] * n
                cols["tilt_deg"] += [float(tilt[i]) if i < len(tilt) else np.nan] * n
                cols["realisation"] += [r] * n
                cols["x_a"] += txy[:, 0].tolist()
                cols["y_a"] += txy[:, 1].tolist()
                cols["true_height"] += th.tolist()
                cols["predicted_height"] += pred.tolist()
                cols["error"] += err.tolist()
                ae = np.abs(err[np.isfinite(err)])
                summ["dose_e_per_a2"].append(d)
                summ["particle"].append(i)
                summ["diameter_nm"].append(float(diam[i]) if i < len(diam) else np.nan)
                summ["tilt_deg"].append(float(tilt[i]) if i < len(tilt) else np.nan)
                summ["realisation"].append(r)
                summ["tp"].append(m.tp)
                summ["fp"].append(m.fp)
                summ["fn"].append(m.fn)
                for name, mask in (("off_0", ae == 0), ("off_1", ae == 1), ("off_2", ae == 2), ("off_gt2", ae > 2)):
                    summ[name].append(int(mask.sum()))
            if progress:
                print(f"[gold-count] particle {i} realisation {r}: {len(doses)} doses", flush=True)
    return ({f: np.asarray(v) for f, v in cols.items()}, {f: np.asarray(v) for f, v in summ.items()})


def _select(summary: Mapping[str, np.ndarray], max_tilt_deg: float | None) -> dict[str, np.ndarray]:
    if max_tilt_deg is None:
        return {k: np.asarray(v) for k, v in summary.items()}
    if "tilt_deg" not in summary:
        raise HrtemError("the counting summary has no tilt_deg column; rerun hrtem gold-count evaluate")
    keep = np.asarray(summary["tilt_deg"], float) <= float(max_tilt_deg)
    return {k: np.asarray(v)[keep] for k, v in summary.items()}


def error_fractions(summary: Mapping[str, np.ndarray], max_tilt_deg: float | None = None) -> dict[str, np.ndarray]:
    """Per dose (increasing): pooled precision, recall and fractions of matched columns off by 0, 1, 2, > 2.

    ``off_ge2`` = off_2 + off_gt2. Pooled = counts summed over particles and
    realisations, then divided (the thesis's mean over the validation set).
    ``max_tilt_deg``: only the particles tilted at most this much (``tilt_deg`` column).
    """
    summary = _select(summary, max_tilt_deg)
    dose = np.asarray(summary["dose_e_per_a2"], float)
    out: dict[str, list] = {k: [] for k in ("dose_e_per_a2", "n_columns", "n_matched", "precision", "recall",
                                            "off_0", "off_1", "off_2", "off_gt2", "off_ge2")}
    for d in np.unique(dose):
        sel = np.isclose(dose, d)
        tp, fp, fn = (float(np.sum(np.asarray(summary[c])[sel])) for c in ("tp", "fp", "fn"))
        off = {c: float(np.sum(np.asarray(summary[c])[sel])) for c in ("off_0", "off_1", "off_2", "off_gt2")}
        out["dose_e_per_a2"].append(float(d))
        out["n_columns"].append(tp + fn)
        out["n_matched"].append(tp)
        out["precision"].append(tp / (tp + fp) if tp + fp else np.nan)
        out["recall"].append(tp / (tp + fn) if tp + fn else np.nan)
        for c, v in off.items():
            out[c].append(v / tp if tp else np.nan)
        out["off_ge2"].append((off["off_2"] + off["off_gt2"]) / tp if tp else np.nan)
    return {k: np.asarray(v, float) for k, v in out.items()}


def bootstrap_interval(summary: Mapping[str, np.ndarray], column: str = "off_ge2", seed: int = 0, n: int = 2000,
                       level: float = 0.95, max_tilt_deg: float | None = None) -> dict[str, np.ndarray]:
    """Per dose: a percentile bootstrap interval of a pooled fraction, resampling whole particles.

    The columns of one particle share its tilt, size and microscope draws, so
    they are not independent; resampling the particles (with all their
    realisations) with replacement gives an honest interval where a binomial
    one over the columns would be too narrow. ``column`` is one of ``off_0``,
    ``off_1``, ``off_2``, ``off_gt2`` or ``off_ge2``; randomness from
    ``hrtem.seeding.rng(seed, "gold_count", "bootstrap")``.

    Returns
    -------
    ``{"dose_e_per_a2", "lo", "hi", "n_particles"}`` arrays per dose (increasing).
    """
    from hrtem.seeding import rng as make_rng

    s = _select(summary, max_tilt_deg)
    dose = np.asarray(s["dose_e_per_a2"], float)
    part = np.asarray(s["particle"])
    wrong = (np.asarray(s["off_2"], float) + np.asarray(s["off_gt2"], float) if column == "off_ge2"
             else np.asarray(s[column], float))
    tp = np.asarray(s["tp"], float)
    g = make_rng(seed, "gold_count", "bootstrap")
    out: dict[str, list] = {"dose_e_per_a2": [], "lo": [], "hi": [], "n_particles": []}
    a = (1.0 - float(level)) / 2.0
    for d in np.unique(dose):
        sel = np.isclose(dose, d)
        ids = np.unique(part[sel])
        w = np.array([wrong[sel & (part == i)].sum() for i in ids])
        t = np.array([tp[sel & (part == i)].sum() for i in ids])
        out["dose_e_per_a2"].append(float(d))
        out["n_particles"].append(len(ids))
        if not len(ids) or t.sum() == 0:
            out["lo"].append(np.nan)
            out["hi"].append(np.nan)
            continue
        pick = g.integers(0, len(ids), size=(int(n), len(ids)))
        frac = w[pick].sum(1) / np.maximum(t[pick].sum(1), 1)
        out["lo"].append(float(np.quantile(frac, a)))
        out["hi"].append(float(np.quantile(frac, 1 - a)))
    return {k: np.asarray(v, float) for k, v in out.items()}


# --------------------------------------------------------------------------- classical peer
def integrated_intensities(image: np.ndarray, positions_a: np.ndarray, sampling_a: float, radius_a: float
                           ) -> np.ndarray:
    """``(M, C)`` sum of the image over a disc of ``radius_a`` around every position, per channel, in px units.

    ``image`` ``(nx, ny)`` or ``(nx, ny, C)`` indexed [x, y]; positions in Å
    with the origin at pixel (0, 0)'s centre. Pixels outside the image count 0.
    """
    img = np.asarray(image, float)
    if img.ndim == 2:
        img = img[..., None]
    pos = np.asarray(positions_a, float).reshape(-1, 2) / float(sampling_a)
    r = float(radius_a) / float(sampling_a)
    if r <= 0:
        raise HrtemError(f"integration radius must be > 0 Å, got {radius_a}")
    return _disc_sums(img, pos, r)[0]


@dataclass
class IntensityCounter:
    """Heights from integrated column intensities (the classical peer of the counting network).

    :meth:`fit` solves height ≈ a + Σ_c b_c·I_c (I_c the integrated intensity
    of channel c around the column, :func:`integrated_intensities`) by least
    squares on columns of known height (the training distribution);
    :meth:`predict` rounds and clips to 1 … ``max_height``. For a single
    image whose column intensity grows linearly with the height this is
    exact; HRTEM intensities are not monotonic in the thickness, which is
    where it fails.
    """

    radius_a: float = 0.8
    max_height: int = 12
    coef: np.ndarray | None = None

    def features(self, image: np.ndarray, positions_a: np.ndarray, sampling_a: float) -> np.ndarray:
        f = integrated_intensities(image, positions_a, sampling_a, self.radius_a)
        return np.column_stack([np.ones(len(f)), f])

    def fit(self, samples: Iterable[tuple[np.ndarray, np.ndarray, float, np.ndarray]]) -> IntensityCounter:
        """Fit on ``(image, positions_a, sampling_a, heights)`` tuples."""
        xs, ys = [], []
        for image, pos, s, h in samples:
            xs.append(self.features(image, pos, s))
            ys.append(np.minimum(np.asarray(h, float), self.max_height))
        x, y = np.concatenate(xs), np.concatenate(ys)
        if len(y) < x.shape[1]:
            raise HrtemError(f"IntensityCounter.fit: {len(y)} columns are too few for {x.shape[1]} coefficients")
        self.coef = np.linalg.lstsq(x, y, rcond=None)[0]
        return self

    def predict(self, image: np.ndarray, positions_a: np.ndarray, sampling_a: float) -> np.ndarray:
        if self.coef is None:
            raise HrtemError("IntensityCounter: fit it before predicting")
        h = self.features(image, positions_a, sampling_a) @ self.coef
        return np.clip(np.rint(h), 1, self.max_height).astype(int)
