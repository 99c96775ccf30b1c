"""CeO2 column heights with a class-weighted U-Net (abstract 001, figure ``ceria_heights``).

Pipeline (config section ``ceria``)
-----------------------------------
1. :func:`ceria_structures`: ``structures.count`` particles
   (:func:`hrtem.structures.ceria.ceria_particle`), each with its own diameter,
   {100}/{111} truncation, facet jitter, in-plane rotation and O/Ce vacancy
   fractions drawn from the configured ranges (stream ``(seed, "ceria",
   "structure", i)``). The label sites are the columns of the labelled species
   (Ce by default) that still hold at least one atom; the class of a column is
   its atom count, capped at ``labels.max_height`` (K). Columns emptied by
   vacancies are background. The sites travel with the atoms as
   ``atoms.info["label_xy" | "label_class" | "label_height"]``.
2. :func:`build_ceria_exit_waves`: exit waves computed once
   (:func:`hrtem.learn.data.build_exit_waves`), the first ``count − test_count``
   particles in ``train.zarr``, the last ``test_count`` in ``test.zarr``.
3. :func:`train_heights`: the U-Net (:func:`hrtem.learn.network.build_network`
   with ``skip="concat"``) trained on images drawn afresh from the training
   exit waves (:class:`hrtem.learn.data.TrainingImages`: random optics in the
   ``ceria.microscope`` ranges, Poisson noise at a log-uniform dose, camera
   MTF, augmentation); the loss is per-pixel cross-entropy, either unweighted
   or with class weights w_k from the inverse class frequency
   (:func:`class_weights`). Both runs use the same seed, so the same initial
   weights and the same image sequence.
4. :func:`evaluate_heights`: held-out images at the figure dose; columns found by
   :func:`hrtem.learn.postprocess.find_atoms` (``figure.detect_mode``, peaks by
   default, the same for both losses); per-height recall = fraction of
   the true columns of height h matched (within ``figure.match_radius_a``) by
   a predicted column of class h; precision = matched / detected columns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ase
import numpy as np

from hrtem.errors import HrtemError
from hrtem.seeding import rng as make_rng
from hrtem.structures.ceria import ceria_particle, column_labels

__all__ = [
    "build_ceria_exit_waves",
    "ceria_structures",
    "class_frequencies",
    "class_weights",
    "evaluate_heights",
    "learn_settings",
    "per_height_recall",
    "train_heights",
]

_Z = {"Ce": 58, "O": 8}


def _section(section: Mapping[str, Any] | None) -> dict[str, Any]:
    from hrtem.config import validate_config

    return validate_config({"ceria": dict(section or {})})["ceria"]


def ceria_structures(section: Mapping[str, Any] | None, seed: int) -> list[ase.Atoms]:
    """The ``structures.count`` particles of the config, with column label sites (module docstring)."""
    c = _section(section)
    s, lab = c["structures"], c["labels"]
    if s["test_count"] >= s["count"]:
        raise HrtemError(
            f"ceria.structures.test_count ({s['test_count']}) must be below count ({s['count']}); "
            "raise count or lower test_count"
        )
    k_max = int(lab["max_height"])
    z = _Z[lab["species"]]
    out = []
    for i in range(int(s["count"])):
        g = make_rng(seed, "ceria", "structure", i)
        p = ceria_particle(
            diameter_nm=float(g.uniform(*s["diameter_nm"])),
            seed_rng=g,
            truncation=float(g.uniform(*s["truncation"])),
            facet_jitter=float(s["facet_jitter"]),
            o_vacancy_fraction=float(g.uniform(*s["o_vacancy_fraction"])),
            ce_vacancy_fraction=float(g.uniform(*s["ce_vacancy_fraction"])),
            lattice_constant_a=float(s["lattice_constant_a"]),
            zone_axis=s["zone_axis"],
            rotation_deg=float(g.uniform(0.0, 360.0)),
            cell_a=float(s["cell_a"]),
        )
        cols = column_labels(p, tolerance_a=float(s["column_tolerance_a"]))
        keep = (cols.numbers == z) & (cols.counts >= 1)
        atoms = p.atoms
        atoms.pbc = (True, True, False)
        atoms.info["label_xy"] = cols.positions_xy[keep]
        atoms.info["label_height"] = cols.counts[keep].astype(float)
        atoms.info["label_class"] = np.minimum(cols.counts[keep], k_max).astype(int)
        atoms.info["structure"] = i
        out.append(atoms)
    return out


def learn_settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"data": …, "microscope": …}`` for :class:`hrtem.learn.data.TrainingImages` from ``ceria``."""
    from hrtem.learn.data import study_settings

    c = _section(section)
    return study_settings(c, c["data"]["label_sigma_a"])


def build_ceria_exit_waves(
    section: Mapping[str, Any] | None,
    simulate: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
    seed: int,
) -> tuple[Path, Path]:
    """Exit waves of the training and held-out particles: ``out_dir/train.zarr``, ``out_dir/test.zarr``."""
    from hrtem.learn.data import build_split_exit_waves

    c = _section(section)
    structures = ceria_structures(c, seed)
    n_test = int(c["structures"]["test_count"])
    paths = build_split_exit_waves(
        {"train": structures[:-n_test], "test": structures[-n_test:]}, c["exit_waves"], simulate,
        learn_settings(c), out_dir, seed, "ceria", int(c["labels"]["max_height"]),
    )
    return paths["train"], paths["test"]


# --------------------------------------------------------------------------- class weights
def class_frequencies(images: Any, n_images: int, start_step: int = 10**6) -> np.ndarray:
    """Mean label value per channel (background first) over ``n_images`` training images.

    The images are steps ``start_step …`` of the training stream (not the ones
    trained on first, but drawn the same way).
    """
    acc = None
    for step in range(start_step, start_step + int(n_images)):
        _, labels = images.sample(step)
        m = labels.reshape(-1, labels.shape[-1]).mean(axis=0)
        acc = m if acc is None else acc + m
    return np.asarray(acc / int(n_images), float)


def class_weights(frequencies: Sequence[float], power: float = 1.0, max_weight: float = 50.0) -> np.ndarray:
    """Inverse-frequency weights w_k ∝ f_k^(−power), pixel-averaged weight Σ f_k w_k = 1, capped.

    A class never seen (f_k = 0) gets ``max_weight``; ``power = 0`` gives all ones.
    """
    f = np.asarray(frequencies, float)
    if f.ndim != 1 or np.any(f < 0) or not np.any(f > 0):
        raise HrtemError("class frequencies must be a non-negative vector with a positive entry")
    w = np.full(f.shape, np.inf)
    seen = f > 0
    w[seen] = f[seen] ** (-float(power))
    w[seen] /= np.sum(f[seen] * w[seen]) / np.sum(f[seen])
    return np.minimum(w, float(max_weight))


# --------------------------------------------------------------------------- training
def train_heights(
    section: Mapping[str, Any] | None,
    train_store: str | os.PathLike,
    out: str | os.PathLike,
    seed: int,
    weighted: bool,
    progress: bool = False,
) -> Path:
    """Train the U-Net with the unweighted or the class-weighted cross-entropy; save ``out`` (.keras).

    A sidecar ``out.with_suffix(".json")`` holds the settings, the class
    frequencies and weights and the loss history.
    """
    import keras

    from hrtem.learn.data import TrainingImages, make_dataset
    from hrtem.learn.network import build_network, compile_network, recalibrate_batch_norm

    c = _section(section)
    t = c["train"]
    settings = learn_settings(c)
    images = TrainingImages(train_store, settings, seed, stream="ceria_train")
    k = images.n_classes
    freq = class_frequencies(images, int(t["frequency_images"]))
    weights = class_weights(freq, float(t["class_weight_power"]), float(t["max_class_weight"]))
    keras.utils.set_random_seed(int(seed))  # same initial weights for both losses
    model = build_network(k + 1, 1, width=int(t["width"]), depth=int(t["depth"]), skip="concat", name="ceria_unet")
    # start the softmax at the class prior (bias = log frequency): the first steps
    # then do not have to learn that most pixels are background (same for both losses)
    model.get_layer("logits").bias.assign(np.log(np.maximum(freq, 1e-4)).astype(np.float32))
    loss = "weighted_cross_entropy" if weighted else "cross_entropy"
    compile_network(model, loss, float(t["learning_rate"]), weights.tolist() if weighted else None)
    ds = make_dataset(images, int(t["batch"]), steps=int(t["steps"]))
    hist = model.fit(ds, epochs=1, steps_per_epoch=int(t["steps"]), verbose=2 if progress else 0)
    n_bn, b = int(t["bn_batches"]), int(t["batch"])
    if n_bn > 0:  # the stored batch-norm statistics lag the weights after a short training
        bn_images = TrainingImages(train_store, settings, seed, stream="ceria_bn")
        recalibrate_batch_norm(
            model, (np.stack([bn_images.sample(k * b + j)[0] for j in range(b)]) for k in range(n_bn))
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    meta = {
        "hrtem_model": "ceria_heights",
        "depth": int(t["depth"]),
        "loss": loss,
        "weighted": bool(weighted),
        "n_classes": int(k),
        "sampling_a": float(settings["data"]["sampling_a"]),
        "lcn_sigma_a": float(settings["data"]["lcn_sigma_a"]),
        "class_frequencies": freq.tolist(),
        "class_weights": weights.tolist(),
        "final_loss": float(hist.history["loss"][-1]),
        "seed": int(seed),
        "ceria": c,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return out


# --------------------------------------------------------------------------- evaluation
def per_height_recall(
    detected_a: np.ndarray,
    detected_class: np.ndarray,
    true_a: np.ndarray,
    true_class: np.ndarray,
    n_classes: int,
    radius_a: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class h = 1..K: (true columns, found with the right height, found at all).

    A true column is *found* when one-to-one matching
    (:func:`hrtem.learn.metrics.match`) pairs it with a predicted column within
    ``radius_a``; *right* when that prediction's class equals its height class.
    """
    from hrtem.learn.metrics import match

    n = np.zeros(n_classes + 1, int)
    right = np.zeros(n_classes + 1, int)
    found = np.zeros(n_classes + 1, int)
    tc = np.asarray(true_class, int)
    np.add.at(n, tc, 1)
    if len(detected_a) and len(true_a):
        m = match(np.asarray(detected_a, float), np.asarray(true_a, float), radius_a)
        pairs = np.asarray(m.pairs, int).reshape(-1, 2)  # (detected, true)
        np.add.at(found, tc[pairs[:, 1]], 1)
        ok = np.asarray(detected_class, int)[pairs[:, 0]] == tc[pairs[:, 1]]
        np.add.at(right, tc[pairs[ok, 1]], 1)
    return n[1:], right[1:], found[1:]


def evaluate_heights(
    section: Mapping[str, Any] | None,
    test_store: str | os.PathLike,
    models: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Predict the held-out images with each model; per-height counts and one example.

    Parameters
    ----------
    models
        name → keras model (e.g. ``{"unweighted": m0, "weighted": m1}``).

    Returns
    -------
    dict
        ``n (K,)``, per model ``right``/``found`` (K,), the example image,
        ground-truth height map and per-model predicted height maps.
    """
    from hrtem.learn.data import TrainingImages
    from hrtem.learn.postprocess import find_atoms

    c = _section(section)
    f = c["figure"]
    settings = learn_settings(c)
    # the whole cell, rounded down to a multiple of 2**depth pixels (fully convolutional network)
    mult = 2 ** int(c["train"]["depth"])
    full = int(float(c["structures"]["cell_a"]) / settings["data"]["sampling_a"]) // mult * mult
    settings["data"]["crop_px"] = full
    images = TrainingImages(test_store, settings, seed, stream="ceria_test")
    k = images.n_classes
    out: dict[str, Any] = {"n": np.zeros(k, int), "n_classes": k}
    for name in models:
        out[name] = {"right": np.zeros(k, int), "found": np.zeros(k, int), "detected": 0}
    for step in range(int(f["images"])):
        sample = images.draw(step, overrides={"dose_e_per_a2": float(f["dose_e_per_a2"])}, augment=False,
                             structure=step % len(images.waves))
        inside = np.all((sample.positions_a >= 0) & (sample.positions_a <= (images.crop_px - 1) * sample.sampling_a),
                        axis=1)
        true_a, true_c = sample.positions_a[inside], sample.classes[inside]
        for name, model in models.items():
            prob = np.asarray(model.predict(sample.image[None], verbose=0)[0], float)
            pos, cls, _ = find_atoms(prob, sample.sampling_a, threshold=float(f["threshold"]), mode=f["detect_mode"])
            # detections inside the crop only (the truth is cut the same way)
            pos_in = np.all((pos >= 0) & (pos <= (images.crop_px - 1) * sample.sampling_a), axis=1)
            pos, cls = pos[pos_in], cls[pos_in]
            n, right, found = per_height_recall(pos, cls, true_a, true_c, k, float(f["match_radius_a"]))
            out[name]["right"] += right
            out[name]["found"] += found
            out[name]["detected"] += len(pos)
            if step == 0:
                out[name]["example_prob"] = prob
        out["n"] += n
        if step == 0:
            out["example_image"] = sample.image[..., 0]
            out["example_labels"] = sample.labels
            out["sampling_a"] = sample.sampling_a
    return out
