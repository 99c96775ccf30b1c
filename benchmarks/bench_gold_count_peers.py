"""Peers of the gold counting network (issue 11 §5): atomap column finding + an intensity-based count, side by side.

Images: the held-out ⟨110⟩ Wulff particles of ``learn.gold.counting``
(``hrtem gold-count test-waves``), the same noisy three-image focal series as
``hrtem gold-count evaluate`` (:func:`hrtem.learn.gold_count.count_images`:
same seed, stream and step, so the CNN row equals the pipeline's evaluation).
Every method is scored by the same one-to-one matching within
``learn.evaluation.radius_a`` and edge margin ``learn.evaluation.margin_a``.

Methods:

- ``cnn``: the counting network (``--model``), peaks of 1 − p₀, height = argmax of the class
  probabilities summed over ``counting.readout_radius_a`` (:func:`hrtem.learn.gold_count.disc_heights`);
- ``atomap + intensity``: atomap 0.4 ``get_atom_positions`` + centre-of-mass and
  2-D Gaussian refinement (bench_learn_peers's runner, separation 0.45 × 2.04 Å)
  on one channel of the series and one contrast sign — the (channel, sign)
  with the best recall over all images is kept, an oracle choice in atomap's
  favour; then the height from the integrated intensity of the three channels
  in a disc around each found column
  (:class:`hrtem.learn.gold_count.IntensityCounter`, least squares
  height ≈ a + Σ b_c I_c) fitted on ``--fit-images`` full-cell images of the
  training particles (``exit_waves_count.zarr``, doses log-uniform in the
  training range) at their true column positions;
- ``true positions + intensity``: the same counter at the true column
  positions (what the intensity count can do with perfect column finding).

Run (atomap in its own venv):
    .venv/bin/python benchmarks/bench_gold_count_peers.py --config config/config.yaml \\
        --model results/config/learn/gold/count_models/member0.keras --test results/config/learn/gold/count_test_waves.zarr \\
        --train results/config/learn/gold/exit_waves_count.zarr --peers-python /tmp/peers/bin/python
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_learn_peers import _atomap  # noqa: E402

AU110_SPACING_A = 4.078 / 2  # nearest ⟨110⟩ columns of Au


def _score(found_xy, found_h, truth_xy, truth_h, radius, kmax):
    """tp, fp, fn and |error| of the matched columns."""
    from hrtem.learn.metrics import match

    m = match(found_xy, truth_xy, radius)
    err = np.abs(np.asarray(found_h)[m.pairs[:, 0]] - np.minimum(truth_h, kmax)[m.pairs[:, 1]]) if len(m.pairs) else np.zeros(0)
    return m.tp, m.fp, m.fn, err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="config/config.yaml", help="config file (its learn section)")
    ap.add_argument("--model", type=Path, nargs="+", required=True,
                    help="counting model(s) (.keras) of hrtem gold-count train: every network of counting.networks")
    ap.add_argument("--test", type=Path, required=True, help="held-out store of hrtem gold-count test-waves")
    ap.add_argument("--train", type=Path, required=True, help="count training store (exit_waves_count.zarr)")
    ap.add_argument("--peers-python", default=None, help="python of a venv with atomap (if not importable here)")
    ap.add_argument("--fit-images", type=int, default=24, help="training images for the intensity fit")
    ap.add_argument("--radius-a", type=float, default=0.8, help="integration disc radius in Å (< half the 2.04 Å spacing)")
    ap.add_argument("--seed", type=int, default=None, help="seed (default: the config's)")
    ap.add_argument("--channels", type=int, nargs="+", default=None,
                    help="focal-series channels atomap may use (default: all; its 2-D Gaussian refinement costs minutes per channel)")
    ap.add_argument("--realisations", type=int, default=None, help="focal series per particle and dose (default: the config's)")
    args = ap.parse_args()

    import yaml

    from hrtem.config import validate_config
    from hrtem.learn.data import ExitWaveSet
    from hrtem.learn.gold_count import IntensityCounter, count_images, count_learn, disc_heights
    from hrtem.learn.postprocess import find_atoms
    from hrtem.learn.train import configure_tensorflow, load_model, predict
    from hrtem.seeding import rng

    cfg = validate_config(yaml.safe_load(open(args.config)))
    seed = int(cfg["seed"] if args.seed is None else args.seed)
    learn = cfg["learn"]
    st = count_learn(learn)
    k = st["gold"]["counting"]
    kmax = int(st["gold"]["labels"]["max_height"])
    radius, margin = float(st["evaluation"]["radius_a"]), float(st["evaluation"]["margin_a"])
    doses = [float(d) for d in k["test_doses_e_per_a2"]]
    reps = int(k["realisations"] if args.realisations is None else args.realisations)
    test, train = ExitWaveSet(args.test), ExitWaveSet(args.train)
    configure_tensorflow(int(st["train"]["threads"]), st["device"])

    # held-out images: exactly those of hrtem gold-count evaluate
    samples, meta = [], []
    for i in range(len(test)):
        for r in range(reps):
            for d in doses:
                samples.append(count_images(test, st, seed, i, d, r))
                meta.append(d)
    s = samples[0].sampling_a
    size = samples[0].image.shape[0] * s - s

    def inside(p):
        p = np.asarray(p, float).reshape(-1, 2)
        return np.all((p >= margin) & (p <= size - margin), axis=1)

    truth = [(smp.positions_a[inside(smp.positions_a)], smp.heights[inside(smp.positions_a)]) for smp in samples]
    methods: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    walls: dict[str, float] = {}

    model = [load_model(m)[0] for m in args.model]  # several networks: their class probabilities averaged
    pp = st["postprocess"]
    t0 = time.perf_counter()
    probs = predict(model, np.stack([smp.image for smp in samples]), batch=2)
    found = []
    for p in probs:
        pos, _, _ = find_atoms(p, s, pp["threshold"], pp["level"], "peaks", pp["core"])
        keep = inside(pos)
        found.append((pos[keep], disc_heights(p, pos[keep], s, float(k["readout_radius_a"]))))
    walls["cnn"] = time.perf_counter() - t0
    methods["cnn"] = found

    # intensity counter fitted on the training distribution at the true columns
    g = rng(seed, "bench", "gold_count_peers", "fit")
    lo, hi = (float(v) for v in k["dose_e_per_a2"])
    fit = []
    for n in range(int(args.fit_images)):
        d = float(np.exp(g.uniform(np.log(lo), np.log(hi))))
        smp = count_images(train, st, seed, n % len(train), d, n // len(train), stream="gold_count_peers_fit")
        ok = inside(smp.positions_a)
        fit.append((smp.image, smp.positions_a[ok], s, smp.heights[ok]))
    t0 = time.perf_counter()
    counter = IntensityCounter(radius_a=float(args.radius_a), max_height=kmax).fit(fit)
    walls["intensity fit"] = time.perf_counter() - t0
    methods["true positions + intensity"] = [(t[0], counter.predict(smp.image, t[0], s)) for smp, t in zip(samples, truth)]

    have_atomap = importlib.util.find_spec("atomap") is not None or args.peers_python is not None
    if have_atomap:
        best, best_recall, wall = None, -1.0, 0.0
        per_channel = {}
        for ch in (range(samples[0].image.shape[-1]) if args.channels is None else args.channels):
            both, w = _atomap([smp.image[..., ch] for smp in samples], s, args.peers_python, spacing_a=AU110_SPACING_A)
            wall += w
            for sign in (1, -1):
                tp = fn = 0
                for b, t in zip(both, truth):
                    pos = b[sign][inside(b[sign])]
                    a, _, c, _ = _score(pos, np.ones(len(pos)), t[0], t[1], radius, kmax)
                    tp, fn = tp + a, fn + c
                rec = tp / max(tp + fn, 1)
                per_channel[(ch, sign)] = rec
                if rec > best_recall:
                    best, best_recall = (ch, sign), rec
                    chosen = [b[sign][inside(b[sign])] for b in both]
        walls[f"atomap ({len(per_channel) // 2} channel(s) x 2 signs)"] = wall
        print("atomap recall per (channel, sign): " + ", ".join(f"{c}{'+' if sg > 0 else '-'}: {r:.3f}"
                                                               for (c, sg), r in per_channel.items()))
        methods[f"atomap ch{best[0]} sign {best[1]:+d} + intensity"] = [
            (pos, counter.predict(smp.image, pos, s) if len(pos) else np.zeros(0, int)) for smp, pos in zip(samples, chosen)]

    print(f"\nheld-out <110> Wulff particles {list(k['test_diameters_nm'])} nm, {reps} realisation(s) per dose, "
          f"{s} Å/px, matching radius {radius} Å, margin {margin} Å; intensity fit on {args.fit_images} training images")
    print("| method | dose (e⁻/Å², total) | precision | recall | off 0 | off 1 | off ≥ 2 | mean abs err | columns |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, res in methods.items():
        for d in doses:
            tp = fp = fn = 0
            errs = []
            for (pos, h), t, dd in zip(res, truth, meta):
                if dd != d:
                    continue
                a, b, c, e = _score(pos, h, t[0], t[1], radius, kmax)
                tp, fp, fn = tp + a, fp + b, fn + c
                errs.append(e)
            e = np.concatenate(errs) if errs else np.zeros(0)
            p = tp / (tp + fp) if tp + fp else float("nan")
            rc = tp / (tp + fn) if tp + fn else float("nan")
            fr = [float(np.mean(x)) if len(e) else float("nan") for x in (e == 0, e == 1, e >= 2)]
            print(f"| {name} | {d:g} | {p:.3f} | {rc:.3f} | {fr[0]:.3f} | {fr[1]:.3f} | {fr[2]:.3f} | "
                  f"{float(np.mean(e)) if len(e) else float('nan'):.2f} | {tp + fn} |")
    print(f"intensity counter coefficients (1, I_0, I_1, I_2): {np.round(counter.coef, 4).tolist()}")
    for name, w in walls.items():
        print(f"wall time {name}: {w:.1f} s ({len(samples)} focal series)")
    if not have_atomap:
        print("atomap: not installed (pip install -e .[peers] or --peers-python)")


if __name__ == "__main__":
    main()
