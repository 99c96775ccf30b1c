"""CPU time of one training step of the counting network: Keras's batch norm against the fused kernel.

Prints one table: for each variant the median time of a training step (ms,
the network's forward, backward and Adam update on a batch of
``counting.batch`` crops of ``counting.crop_px`` px, three focal-series
channels, ``labels.max_height`` + 1 classes, the config's loss) and the
median ratio to the plain layer. The variants run interleaved, ``--repeats``
rounds of ``--steps`` steps each, so a slow spell of the (noisy, shared)
machine hits both alike; each round's ratio uses that round's two times.

``--data`` adds the training images: each step then also draws its batch from
a :class:`hrtem.learn.bank.FocalSeriesBank` of ``--bank`` entries made from the
count store ``--waves`` (as ``hrtem gold-count train`` does, on the same
thread), which is what a member of the workflow spends per step.

Run:
    .venv/bin/python benchmarks/bench_train_step.py --config config/config.yaml [--threads 1] \\
        [--data --waves results/config/learn/gold/exit_waves_count.zarr]
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="config/config.yaml")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (a workflow member has 1)")
    p.add_argument("--steps", type=int, default=20, help="steps per round and variant")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    p.add_argument("--data", action="store_true", help="draw every batch from a focal-series bank as training does")
    p.add_argument("--waves", default=None, help="count exit-wave store (with --data)")
    p.add_argument("--bank", type=int, default=64, help="bank entries (with --data)")
    args = p.parse_args()

    from hrtem.config import load_config
    from hrtem.learn.gold_count import count_learn
    from hrtem.learn.train import configure_tensorflow

    settings = count_learn(load_config(args.config)["learn"])
    configure_tensorflow(args.threads, "cpu")
    import keras
    import tensorflow as tf

    from hrtem.learn.network import make_loss, network_from_settings

    tr, net = settings["train"], settings["network"]
    k = int(settings["gold"]["labels"]["max_height"]) + 1
    batch, crop, channels = int(tr["batch"]), int(tr["crop_px"]), int(settings["data"]["channels"])
    loss_fn = make_loss(str(tr["loss"]), [1.0] * k, float(tr["ordinal_weight"]))

    draw = None
    if args.data:
        if not args.waves:
            p.error("--data needs --waves (the count exit-wave store)")
        from hrtem.learn.bank import FocalSeriesBank
        from hrtem.learn.data import ExitWaveSet, TrainingImages

        images = TrainingImages(ExitWaveSet(args.waves), {"data": {**settings["data"], "crop_px": crop},
                                                         "microscope": settings["microscope"]}, 0, stream="train")
        bank = FocalSeriesBank(images, args.bank)
        counter = iter(range(10**9))

        def draw():
            pairs = [bank.sample(next(counter)) for _ in range(batch)]
            return (tf.constant(np.stack([a for a, _ in pairs])), tf.constant(np.stack([b for _, b in pairs])))

    rng = np.random.default_rng(0)
    x0 = tf.constant(rng.normal(size=(batch, crop, crop, channels)).astype(np.float32))
    y0 = tf.constant(np.eye(k, dtype=np.float32)[rng.integers(k, size=(batch, crop, crop))])

    def variant(fused: bool):
        keras.utils.set_random_seed(0)
        model = network_from_settings({**net, "fused_batch_norm": fused}, k, channels)
        opt = keras.optimizers.Adam(1e-3)
        opt.build(model.trainable_variables)

        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                value = loss_fn(y, model(x, training=True))
                if model.losses:
                    value = value + tf.add_n(model.losses)
            opt.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
            return value

        def run(n: int) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                x, y = draw() if draw is not None else (x0, y0)
                float(step(x, y))
            return (time.perf_counter() - t0) / n * 1e3

        run(3)  # trace and warm up
        return run

    runs = {"keras batch norm": variant(False), "fused batch norm": variant(True)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(run(args.steps))
    base = times["keras batch norm"]
    what = "network step + batch drawn from the bank" if draw is not None else "network step"
    print(f"counting network (width {net['width']}, depth {net['depth']}), batch {batch} x {crop} px x {channels} ch, "
          f"{args.threads} thread(s); {what}; median of {args.repeats} interleaved rounds of {args.steps} steps")
    print(f"{'variant':<20} {'ms/step':>9} {'ratio to keras':>15}")
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, base))
        print(f"{name:<20} {statistics.median(t):9.1f} {ratio:15.3f}")


if __name__ == "__main__":
    main()
