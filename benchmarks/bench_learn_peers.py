"""Peers side by side (issue 10 §9): our CNN vs atomap column finding on the same held-out images.

Images: held-out ideal graphene sheets (:func:`hrtem.learn.evaluate.heldout_structures`,
never seen in training) with the fixed evaluation microscope of
``learn.evaluation`` at several doses; the same noisy images go to every method
and every method is scored by the same one-to-one matching within
``learn.evaluation.radius_a`` (0.5 Å), atoms within ``margin_a`` of the edge
ignored (:func:`hrtem.learn.metrics.precision_recall`).

Methods:

- ``hrtem`` (needs ``--model``, a model trained by ``hrtem learn train``): the
  network + watershed post-processing at the model's threshold;
- ``atomap`` 0.4 (optional extra ``[peers]``): ``get_atom_positions`` (peak
  finding, separation 0.45 bond) then centre-of-mass and 2-D Gaussian refinement
  of a Sublattice (its documented workflow). Graphene atoms are dark or bright depending on the
  defocus, which atomap cannot know; it is run on the image and on its
  negative and the better of the two (by recall) is kept — an oracle choice
  in atomap's favour. Runs in this interpreter if ``import atomap`` works,
  else through ``--peers-python`` (a separate venv with atomap, e.g.
  /tmp/peers-venv/bin/python), exchanging .npz files;
- ``atomai``: its ``Segmentor`` needs PyTorch (with CUDA wheels several GB);
  reported as not installed when it cannot be imported.

Run:  .venv/bin/python benchmarks/bench_learn_peers.py [--model M.keras] [--peers-python PY] [--doses 20 100 1000 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: run by the peers interpreter: images (n, rows, cols) -> positions per image and sign, in pixels [col, row]
ATOMAP_RUNNER = r"""
import sys, numpy as np, warnings
warnings.filterwarnings("ignore")
import atomap.api as am
import hyperspy.api as hs
from atomap.atom_finding_refining import get_atom_positions
z = np.load(sys.argv[1])
out = {}
for k, img in enumerate(z["images"]):
    for sign in (1, -1):
        data = sign * img
        data = data - data.min()
        pos = get_atom_positions(hs.signals.Signal2D(data), separation=int(z["separation"]))
        if len(pos):
            sub = am.Sublattice(pos, image=data)
            try:
                sub.find_nearest_neighbors(nearest_neighbors=3)
                sub.refine_atom_positions_using_center_of_mass(percent_to_nn=0.4, show_progressbar=False)
                sub.refine_atom_positions_using_2d_gaussian(percent_to_nn=0.4, show_progressbar=False)
            except Exception as err:  # keep the peak positions if the refinement fails
                print(f"image {k} sign {sign}: refinement failed ({err})", file=sys.stderr)
            pos = np.column_stack([sub.x_position, sub.y_position])
        out[f"{k}_{sign}"] = np.asarray(pos, float).reshape(-1, 2)
np.savez(sys.argv[2], **out)
"""


def _atomap(images: list[np.ndarray], sampling_a: float, python: str | None, spacing_a: float = 1.42
            ) -> tuple[list[dict[int, np.ndarray]], float]:
    """Positions (Å, [x, y]) per image for both signs, and the wall time.

    ``spacing_a``: the nearest-neighbour distance of the atoms or columns
    (graphene bond 1.42 Å; ⟨110⟩ Au columns a/2 = 2.04 Å)."""
    # atomap's separation acts like a half-width: 0.45 bond (5 px at 0.12 Å) found 127 of 136 atoms
    # of a 10^5 e/Å² test image, 0.8 bond (9 px) only 75
    sep = max(2, round(0.45 * spacing_a / sampling_a))
    tmp = Path(tempfile.mkdtemp(prefix="peers_"))
    # atomap works on displayed images (rows = y): pass the transpose of our [x, y] arrays
    np.savez(tmp / "in.npz", images=np.stack([im.T for im in images]), separation=sep)
    exe = python or sys.executable
    t = time.perf_counter()
    res = subprocess.run([exe, "-c", ATOMAP_RUNNER, str(tmp / "in.npz"), str(tmp / "out.npz")],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"atomap runner failed: {res.stderr[-2000:]}")
    z = np.load(tmp / "out.npz")
    out = []
    for k in range(len(images)):
        out.append({s: z[f"{k}_{s}"] * sampling_a for s in (1, -1)})  # [col, row] px = [x, y] -> Å
    return out, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="trained hrtem model (.keras)")
    ap.add_argument("--peers-python", default=None, help="python of a venv with atomap (if not importable here)")
    ap.add_argument("--doses", type=float, nargs="+", default=[20.0, 100.0, 1000.0, 10000.0])
    ap.add_argument("--realisations", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from hrtem.config import validate_config
    from hrtem.learn.data import ExitWaveSet, TrainingImages, build_exit_waves
    from hrtem.learn.evaluate import eval_crop_px, heldout_structures, test_image
    from hrtem.learn.metrics import precision_recall

    cfg = validate_config({})
    learn = cfg["learn"]
    ev = learn["evaluation"]
    tmp = Path(tempfile.mkdtemp(prefix="bench_peers_"))
    structures = heldout_structures("ideal", ev, args.seed)
    store = build_exit_waves(structures, cfg["simulate"], learn["microscope"], tmp / "ideal.zarr", args.seed,
                             keys=("bench", "peers"), data=learn["data"])
    waves = ExitWaveSet(store)
    s = float(learn["data"]["sampling_a"])
    crop = eval_crop_px(waves.cell_a, s, 8)
    images = TrainingImages(waves, {"data": {**learn["data"], "crop_px": crop}, "microscope": learn["microscope"]},
                            args.seed, stream="peers")
    margin, radius = float(ev["margin_a"]), float(ev["radius_a"])
    samples, meta = [], []
    step = 0
    for dose in args.doses:
        for i in range(len(waves)):
            for _ in range(args.realisations):
                samples.append(test_image(images, step, i, ev["microscope"], dose))
                meta.append(dose)
                step += 1

    def inside(p: np.ndarray) -> np.ndarray:
        hi = (crop - 1) * s - margin
        return np.all((p >= margin) & (p <= hi), axis=1) if len(p) else np.zeros(0, bool)

    methods: dict[str, list[np.ndarray]] = {}
    walls: dict[str, float] = {}
    if args.model is not None:
        from hrtem.learn.evaluate import detect
        from hrtem.learn.train import load_model

        model, info = load_model(args.model)
        t_keep = float(info.get("postprocess", {}).get("threshold", learn["postprocess"]["threshold"]))
        t = time.perf_counter()
        found = []
        for smp in samples:
            pos, _, score = detect(model, info, smp.image, smp.sampling_a)
            found.append(pos[score >= t_keep])
        walls["hrtem"] = time.perf_counter() - t
        methods["hrtem"] = found
    have_atomap = importlib.util.find_spec("atomap") is not None or args.peers_python is not None
    if have_atomap:
        both, walls["atomap"] = _atomap([smp.image[..., 0] for smp in samples], s, args.peers_python)
        # oracle contrast sign: the one with the higher recall over all images
        score = {}
        for sign in (1, -1):
            tp = fn = 0
            for smp, b in zip(samples, both):
                truth = smp.positions_a[inside(smp.positions_a)]
                r = precision_recall(b[sign][inside(b[sign])], truth, radius)["all"]
                tp, fn = tp + r["tp"], fn + r["fn"]
            score[sign] = tp / max(tp + fn, 1)
        best = max(score, key=score.get)
        methods[f"atomap (sign {best:+d})"] = [b[best] for b in both]
    print(f"\nheld-out ideal graphene: {len(waves)} sheet(s) {waves.cell_a.round(2).tolist()} Å, crop {crop} px at {s} Å/px, "
          f"{args.realisations} noise realisation(s) per dose; matching radius {radius} Å, margin {margin} Å")
    print("| method | dose (e/Å²) | precision | recall | tp | fp | fn |")
    print("|---|---|---|---|---|---|---|")
    for name, found in methods.items():
        for dose in args.doses:
            tp = fp = fn = 0
            for smp, f, d in zip(samples, found, meta):
                if d != dose:
                    continue
                truth = smp.positions_a[inside(smp.positions_a)]
                r = precision_recall(f[inside(f)], truth, radius)["all"]
                tp, fp, fn = tp + r["tp"], fp + r["fp"], fn + r["fn"]
            p = tp / (tp + fp) if tp + fp else float("nan")
            rc = tp / (tp + fn) if tp + fn else float("nan")
            print(f"| {name} | {dose:g} | {p:.3f} | {rc:.3f} | {tp} | {fp} | {fn} |")
    for name, w in walls.items():
        print(f"wall time {name}: {w:.1f} s for {len(samples)} images")
    if importlib.util.find_spec("atomai") is None:
        print("atomai: not installed (its Segmentor needs PyTorch; pip install -e .[peers])")
    if not have_atomap:
        print("atomap: not installed (pip install -e .[peers] or --peers-python)")


if __name__ == "__main__":
    main()
