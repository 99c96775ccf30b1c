"""Benchmark: training-image generator vs training step, and inference on a micrograph.

Measured in one process, side by side (issue 10 §9 and acceptance):

- generator: images/s of :meth:`hrtem.learn.data.TrainingImages.sample` in a
  plain loop (one thread), and of :func:`hrtem.learn.data.make_dataset`
  (tf.data, parallel map + prefetch) pulled as fast as possible;
- training step: steps/s of ``train_on_batch`` of the network
  (:func:`hrtem.learn.network.build_network`: its defaults width 32, depth 3,
  or ``learn.network`` of ``--config``; SSE loss, Adam) on a batch of the same
  crops; images/s consumed = steps/s × batch;
- inference: frames/s of the network on one 1024 × 1024 micrograph, and of the
  whole ``hrtem detect`` path (tiling, network, post-processing) when available.

Generator and training are timed alternately (gen, step, gen, step, …) and the
median of each is kept, so load from other processes hurts both alike; the
ratio generator / consumption must be ≥ 2 so the step never waits.

Peers (atomap, AtomAI) are an optional extra (``pip install -e .[peers]``);
the script reports whether they can be imported and skips them otherwise.

Run:  .venv/bin/python benchmarks/bench_learn.py [--config config/config.yaml] [--crop 128] [--batch 8] [--repeats 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def _rate(fn, n: int) -> float:
    t = time.perf_counter()
    for k in range(n):
        fn(k)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=None,
                    help="take the network, batch and training crop from this config (learn.network, learn.train)")
    ap.add_argument("--crop", type=int, default=128, help="crop size in px (without --config)")
    ap.add_argument("--batch", type=int, default=8, help="training batch size (without --config)")
    ap.add_argument("--structures", type=int, default=2, help="stored sheets (speed does not depend on it)")
    ap.add_argument("--images", type=int, default=40, help="images per generator timing")
    ap.add_argument("--steps", type=int, default=3, help="training steps per timing")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frame", type=int, default=1024, help="micrograph side for inference")
    ap.add_argument("--model", type=Path, default=None, help="trained .keras model for the detect timing")
    args = ap.parse_args()

    from hrtem.config import validate_config
    from hrtem.learn.data import ExitWaveSet, TrainingImages, build_exit_waves, graphene_structures, make_dataset

    from hrtem.config import load_config

    cfg = validate_config({}) if args.config is None else load_config(args.config)
    net = {"width": 32, "depth": 3}  # build_network's defaults (the thesis's network)
    if args.config is not None:
        net = {k: v for k, v in cfg["learn"]["network"].items() if k in ("width", "depth", "residual_convs", "skip", "batch_norm", "weight_decay")}
        args.crop = int(cfg["learn"]["train"].get("crop_px") or cfg["learn"]["data"]["crop_px"])
        args.batch = int(cfg["learn"]["train"]["batch"])
    data = {**cfg["learn"]["data"], "crop_px": args.crop, "structures": args.structures}
    tmp = Path(tempfile.mkdtemp(prefix="bench_learn_"))
    t0 = time.perf_counter()
    structures = graphene_structures(args.structures, data, seed=0)
    store = build_exit_waves(structures, cfg["simulate"], cfg["learn"]["microscope"], tmp / "ew.zarr", 0, data=data)
    t_store = time.perf_counter() - t0
    images = TrainingImages(ExitWaveSet(store), {"data": data, "microscope": cfg["learn"]["microscope"]}, seed=0)
    images.sample(0)

    import keras
    import tensorflow as tf

    from hrtem.learn.network import build_network, compile_network

    model = build_network(images.label_shape[-1], input_channels=images.channels, **net)
    compile_network(model)
    batch = [images.sample(k) for k in range(args.batch)]
    x = np.stack([b[0] for b in batch])
    y = np.stack([b[1] for b in batch])
    model.train_on_batch(x, y)  # build/trace once

    gen, steps, pipe = [], [], []
    for r in range(args.repeats):
        gen.append(_rate(lambda k, r=r: images.sample(10_000 * (r + 1) + k), args.images))
        steps.append(_rate(lambda k: model.train_on_batch(x, y), args.steps))
        nb = max(1, args.images // args.batch)
        t = time.perf_counter()  # a fresh pipeline each time: nothing prefetched during the steps
        for _ in make_dataset(images, args.batch, start_step=1000 * (r + 1), steps=nb):
            pass
        pipe.append(nb * args.batch / (time.perf_counter() - t))
    g, s, p = statistics.median(gen), statistics.median(steps), statistics.median(pipe)
    print(f"\nnetwork {net}")
    print(f"store: {args.structures} sheets {data['cell_a']} Å in {t_store:.1f} s; crops {args.crop} px, batch {args.batch}; "
          f"threads: OMP {os.environ['OMP_NUM_THREADS']}, TF intra {tf.config.threading.get_intra_op_parallelism_threads()}")
    print("| quantity | median | repeats |")
    print("|---|---|---|")
    print(f"| generator, one thread (images/s) | {g:.1f} | {', '.join(f'{v:.1f}' for v in gen)} |")
    print(f"| generator, tf.data pipeline (images/s) | {p:.1f} | {', '.join(f'{v:.1f}' for v in pipe)} |")
    print(f"| training step, network above (steps/s) | {s:.3f} | {', '.join(f'{v:.3f}' for v in steps)} |")
    print(f"| training consumption (images/s = steps/s x batch) | {s * args.batch:.2f} | |")
    print(f"| ratio generator (one thread) / consumption | {g / (s * args.batch):.1f} | goal >= 2 |")

    # inference on one micrograph
    frame = np.random.default_rng(0).normal(size=(1, args.frame, args.frame, images.channels)).astype(np.float32)
    model.predict(frame, verbose=0)
    t = time.perf_counter()
    n = 2
    for _ in range(n):
        model.predict(frame, verbose=0)
    print(f"| network forward, {args.frame}x{args.frame} frame (frames/s) | {n / (time.perf_counter() - t):.3f} | |")
    from hrtem.learn.detect_cli import detect_array, load_detector
    from hrtem.learn.train import save_model

    model_path = args.model
    if model_path is None:  # the untrained default network: same cost per frame as a trained one
        model_path = save_model(model, tmp / "default.keras", {
            "sampling_a": data["sampling_a"], "input_channels": 1, "n_classes": 1,
            "lcn_sigma_a": data["lcn_sigma_a"], "postprocess": dict(cfg["learn"].get("postprocess", {}))})
    if True:
        det = load_detector(model_path)
        img = frame[0, ..., 0]
        detect_array(img, det, sampling_a=det.sampling_a)
        t = time.perf_counter()
        for _ in range(n):
            detect_array(img, det, sampling_a=det.sampling_a)
        label = "trained" if args.model is not None else "untrained network above"
        print(f"| hrtem detect path ({label}), {args.frame}x{args.frame} at the model pixel (frames/s) "
              f"| {n / (time.perf_counter() - t):.3f} | |")
    for peer in ("atomap", "atomai"):
        found = importlib.util.find_spec(peer) is not None
        print(f"| peer {peer} | {'installed' if found else 'not installed (pip install -e .[peers])'} | |")
    del keras


if __name__ == "__main__":
    main()
