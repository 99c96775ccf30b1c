"""``hrtem learn``: exit waves of training/held-out sheets, training, evaluation (rules in workflow/rules/learn.smk).

::

    hrtem learn exit-waves KIND -o STORE --params JSON --seed N      # KIND: train, ideal, polycrystal, holes
    hrtem learn train WAVES -o MODEL.keras --history CSV --workdir DIR --params JSON --seed N
    hrtem learn evaluate MODEL.keras --set ideal=STORE ... -o CSV --params JSON --seed N

``--params`` is ``{"learn": …, "simulate": …}`` (the config sections; missing
keys take their defaults).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hrtem.errors import HrtemError

__all__ = ["register", "sections", "run_training", "validation_fn", "model_info", "threads_argument", "apply_threads"]


def sections(params: Mapping[str, Any]) -> tuple[dict, dict]:
    """Validated ``learn`` and ``simulate`` sections from a params object."""
    from hrtem.config import validate_config

    cfg = validate_config({k: params[k] for k in ("learn", "simulate") if k in params})
    return cfg["learn"], cfg["simulate"]


def model_info(learn: Mapping[str, Any], n_classes: int) -> dict:
    """What ``hrtem detect`` needs to know about a model (stored inside the .keras file)."""
    d = learn["data"]
    return {
        "sampling_a": float(d["sampling_a"]),
        "input_channels": int(d["channels"]),
        "focal_step_a": float(d["focal_step_a"]),
        "n_classes": int(n_classes),
        "label_sigma_a": float(d["label_sigma_a"]),
        "lcn_sigma_a": d["lcn_sigma_a"],
        "energy_kev": float(learn["microscope"]["energy_kev"]),
        "network": dict(learn["network"]),
        "postprocess": dict(learn["postprocess"]),
        "train": dict(learn["train"]),
        "data": dict(d),
        "microscope": dict(learn["microscope"]),
    }


def validation_fn(images, learn: Mapping[str, Any], n_images: int, dose: float):
    """``validate(model)`` → precision and recall on fixed validation images (stream "validation")."""
    from hrtem.learn.metrics import match
    from hrtem.learn.postprocess import find_atoms
    from hrtem.learn.train import predict

    pp = learn["postprocess"]
    margin = float(learn["evaluation"]["margin_a"])
    samples = [images.draw(i, overrides={"dose_e_per_a2": [dose, dose]}) for i in range(n_images)]
    x = np.stack([s.image for s in samples])

    def validate(model) -> dict:
        probs = predict(model, x)
        tp = fp = fn = 0
        for p, s in zip(probs, samples):
            pos, _, _ = find_atoms(p, s.sampling_a, pp["threshold"], pp["level"], pp["mode"], pp["core"])
            hi = (p.shape[0] - 1) * s.sampling_a - margin
            inside = lambda q: np.all((q >= margin) & (q <= hi), axis=1) if len(q) else np.zeros(0, bool)  # noqa: E731
            m = match(pos[inside(pos)], s.positions_a[inside(s.positions_a)], float(learn["evaluation"]["radius_a"]))
            tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}

    return validate


def checkpoint_dir(workdir: str | Path, settings: Mapping[str, Any], seed: int) -> Path:
    """``workdir/settings-<hash>``: the checkpoint folder of one set of training settings and seed.

    A training killed half-way resumes from the same folder; a changed config
    (steps, learning rate, optics, …) starts in a fresh one instead of resuming
    another configuration's weights or stopping at a checkpoint beyond its steps.
    """
    import hashlib
    import json

    blob = json.dumps({"learn": settings, "seed": int(seed)}, sort_keys=True, default=str)
    return Path(workdir) / f"settings-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def run_training(waves_path, model_path, history_path, workdir, learn: Mapping[str, Any], seed: int, progress: bool = True,
                 extra_info: Mapping[str, Any] | None = None) -> dict:
    """Train on the stored exit waves; write the model and the history; return speed figures.

    ``extra_info``: more entries for the settings stored in the model (e.g.
    ``{"class_meaning": "height"}`` for a counting model, read by ``hrtem detect``).
    Checkpoints go to :func:`checkpoint_dir` of ``workdir`` for these settings and seed.
    """
    from hrtem.learn.data import ExitWaveSet, TrainingImages, make_dataset
    from hrtem.learn.network import network_from_settings
    from hrtem.learn.train import configure_tensorflow, save_model, train

    tr, net = learn["train"], learn["network"]
    workdir = checkpoint_dir(workdir, learn, seed)
    configure_tensorflow(int(tr["threads"]), learn["device"])
    waves = ExitWaveSet(waves_path)
    crop = int(tr["crop_px"] or learn["data"]["crop_px"])
    if crop % 2 ** int(net["depth"]):
        raise HrtemError(f"learn.train.crop_px={crop} must be a multiple of 2^learn.network.depth = {2 ** int(net['depth'])}")
    settings = {"data": {**learn["data"], "crop_px": crop}, "microscope": learn["microscope"]}
    images = TrainingImages(waves, settings, seed, stream="train")
    bank_entries = int(tr["bank_entries"])
    if bank_entries > 0:  # the optics rendered once, crops and detector per image (hrtem.learn.bank)
        from hrtem.learn.bank import FocalSeriesBank

        images = FocalSeriesBank(images, bank_entries, progress=progress, workers=int(tr["threads"]))
    vimages = TrainingImages(waves, {**settings, "data": {**settings["data"], "crop_px": 2 * crop}}, seed, stream="validation")
    validate = validation_fn(vimages, learn, int(tr["validation_images"]), float(tr["validation_dose_e_per_a2"]))
    n_out = images.n_classes + 1

    def build():
        return network_from_settings(net, n_out, int(learn["data"]["channels"]))

    def batches(start: int):
        ds = make_dataset(images, int(tr["batch"]), start_step=start, parallel=int(tr["threads"]))
        for x, y in ds:
            yield x, y

    t0 = time.perf_counter()
    res = train(
        build, batches, int(tr["steps"]), workdir, seed,
        learning_rate=float(tr["learning_rate"]), schedule=str(tr["schedule"]), loss=tr["loss"],
        ordinal_weight=float(tr["ordinal_weight"]), class_weights=tr["class_weights"],
        checkpoint_every=int(tr["checkpoint_every"]), log_every=int(tr["log_every"]),
        validate=validate, validate_every=int(tr["validate_every"]), progress=progress,
    )
    wall = time.perf_counter() - t0
    info = model_info(learn, images.n_classes)
    info.update(seed=int(seed), steps=int(res.step), steps_per_s=res.steps_per_s, train_wall_s=wall)
    info.update(dict(extra_info or {}))
    save_model(res.model, model_path, info)
    if history_path is not None:
        Path(history_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(workdir) / "history.csv", history_path)
    return {"steps": res.step, "steps_per_s": res.steps_per_s, "wall_s": wall, "resumed_from": res.resumed_from}


def _exit_waves(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.data import build_exit_waves, graphene_structures
    from hrtem.learn.evaluate import KINDS, heldout_structures

    learn, simulate = sections(parse_json_object(args.params))
    if args.kind == "train":
        structures = graphene_structures(int(learn["data"]["structures"]), learn["data"], args.seed)
    elif args.kind in KINDS:
        structures = heldout_structures(args.kind, learn["evaluation"], args.seed)
        if not structures:
            raise HrtemError(f"learn.evaluation.{args.kind}_structures is 0; nothing to build for {args.kind}")
    else:
        raise HrtemError(f"unknown set {args.kind!r}; choose train, {', '.join(KINDS)}")
    t0 = time.perf_counter()
    build_exit_waves(structures, simulate, learn["microscope"], args.output, args.seed, ("learn", "exit_waves", args.kind), data=learn["data"])
    print(f"[learn] {len(structures)} {args.kind} exit waves in {time.perf_counter() - t0:.1f} s -> {args.output}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object

    learn, _ = sections(parse_json_object(args.params))
    workdir = Path(args.workdir or Path(args.output).with_suffix(".train"))
    out = run_training(args.waves, args.output, args.history, workdir, learn, args.seed, progress=not args.quiet)
    print(
        f"[learn] trained {out['steps']} steps in {out['wall_s']:.1f} s ({out['steps_per_s']:.2f} steps/s"
        f"{', resumed at ' + str(out['resumed_from']) if out['resumed_from'] else ''}) -> {args.output}",
        file=sys.stderr,
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.io.tables import write_table
    from hrtem.learn.evaluate import EVALUATION_COLUMNS, KINDS, evaluate
    from hrtem.learn.train import configure_tensorflow, load_model

    learn, _ = sections(parse_json_object(args.params))
    stores = {}
    for item in args.set:
        kind, _, path = item.partition("=")
        if kind not in KINDS or not path:
            raise HrtemError(f"--set {item!r}: use KIND=STORE with KIND one of {', '.join(KINDS)}")
        stores[kind] = path
    configure_tensorflow(int(learn["train"]["threads"]), learn["device"])
    model, info = load_model(args.model)
    t0 = time.perf_counter()
    rows = evaluate(model, info, stores, learn, args.seed, progress=not args.quiet)
    cols = {c: np.array([r[c] for r in rows]) for c in EVALUATION_COLUMNS}
    write_table(cols, args.output)
    print(f"[learn] evaluated {len(rows)} rows in {time.perf_counter() - t0:.1f} s -> {args.output}", file=sys.stderr)
    return 0


def common_arguments(q: argparse.ArgumentParser) -> None:
    """Add the options every learning sub-command shares: ``--params`` (config sections as
    JSON), ``--seed`` (the config seed) and ``-q/--quiet``."""
    q.add_argument("--params", default="", help='JSON {"learn": …, "simulate": …} (config sections)')
    q.add_argument("--seed", type=int, default=0, help="config seed")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def threads_argument(q: argparse.ArgumentParser) -> None:
    """Add ``--threads N`` (TensorFlow's intra-op threads; absent = TensorFlow's choice)."""
    q.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: TensorFlow's choice)")


def apply_threads(args: argparse.Namespace) -> None:
    """Set TensorFlow's threads from ``args.threads`` (if given) before its first operation.

    Non-deterministic ops are allowed (the study trainings are seeded, not bit-reproducible).
    """
    if getattr(args, "threads", None):
        from hrtem.learn.train import configure_tensorflow

        configure_tensorflow(int(args.threads), deterministic=False)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``learn`` verb and its sub-commands."""
    p = sub.add_parser("learn", help="CNN training data, training and evaluation (thesis ch. 6)")
    s = p.add_subparsers(dest="learn_command", metavar="COMMAND")

    e = s.add_parser("exit-waves", help="exit waves of the training sheets or of a held-out set")
    e.add_argument("kind", help="train, ideal, polycrystal or holes")
    e.add_argument("-o", "--output", required=True, help="output Zarr store")
    common_arguments(e)
    e.set_defaults(func=_exit_waves)

    t = s.add_parser("train", help="train the network on stored exit waves")
    t.add_argument("waves", help="exit-wave store of the training sheets")
    t.add_argument("-o", "--output", required=True, help="output model (.keras)")
    t.add_argument("--history", default=None, help="copy of the history CSV (loss, validation P/R)")
    t.add_argument("--workdir", default=None, help="checkpoint folder (default: beside the model); kept for resuming")
    common_arguments(t)
    t.set_defaults(func=_train)

    v = s.add_parser("evaluate", help="precision/recall on held-out sheets (CSV)")
    v.add_argument("model", help="trained model (.keras)")
    v.add_argument("--set", action="append", default=[], required=True, help="KIND=STORE, repeated (ideal, polycrystal, holes)")
    v.add_argument("-o", "--output", required=True, help="output CSV")
    common_arguments(v)
    v.set_defaults(func=_evaluate)
    p.set_defaults(func=lambda a: p.print_help() or 2)
