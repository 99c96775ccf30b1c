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

Gold (issue 11, ``--gold``): the same comparison for Au column detection on
the held-out Wulff particles of ``hrtem gold heldout`` with the trained
``hrtem gold train`` model, on exactly the images ``hrtem gold evaluate``
scores (see :func:`_gold`: atomap gets the same noisy image, before the CNN's
local contrast normalisation). Detection has one input image, so "what the
CNN sees" is that one image; the three-channel focal series is the counting
network's input (bench_gold_count_peers.py).

Run:  .venv/bin/python benchmarks/bench_learn_peers.py [--model M.keras] [--peers-python PY] [--doses 20 100 1000 10000]
      .venv/bin/python benchmarks/bench_learn_peers.py --gold --peers-python /tmp/peers-venv/bin/python \
          [--config config/config.yaml] [--doses 100 220 464 1000] [--realisations 1] [--refine gaussian]
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
signs = [int(v) for v in z["signs"]] if "signs" in z else [1, -1]
threshold_rel = float(z["threshold_rel"]) if "threshold_rel" in z else 0.02  # atomap's default
refine = str(z["refine"]) if "refine" in z else "gaussian"
out = {}
for k, img in enumerate(z["images"]):
    for sign in signs:
        data = sign * img
        data = data - data.min()
        pos = get_atom_positions(hs.signals.Signal2D(data), separation=int(z["separation"]), threshold_rel=threshold_rel)
        if len(pos) and refine != "none":
            sub = am.Sublattice(pos, image=data)
            try:
                sub.find_nearest_neighbors(nearest_neighbors=3)
                sub.refine_atom_positions_using_center_of_mass(percent_to_nn=0.4, show_progressbar=False)
                if refine == "gaussian":
                    sub.refine_atom_positions_using_2d_gaussian(percent_to_nn=0.4, show_progressbar=False)
            except Exception as err:  # keep the peak positions if the refinement fails
                print(f"image {k} sign {sign}: refinement failed ({err})", file=sys.stderr)
            pos = np.column_stack([sub.x_position, sub.y_position])
        out[f"{k}_{sign}"] = np.asarray(pos, float).reshape(-1, 2)
np.savez(sys.argv[2], **out)
"""


def _atomap(images: list[np.ndarray], sampling_a: float, python: str | None, spacing_a: float = 1.42,
            signs: tuple[int, ...] = (1, -1), threshold_rel: float = 0.02, refine: str = "gaussian"
            ) -> tuple[list[dict[int, np.ndarray]], float]:
    """Positions (Å, [x, y]) per image for each of ``signs``, and the wall time.

    ``spacing_a``: the nearest-neighbour distance of the atoms or columns
    (graphene bond 1.42 Å; ⟨110⟩ Au columns a/2 = 2.04 Å, ⟨111⟩ a/√6 = 1.66 Å).
    ``threshold_rel``: atomap's peak threshold (relative to the image maximum;
    its default 0.02). ``refine``: ``gaussian`` (centre of mass then 2-D
    Gaussians, atomap's documented workflow), ``com`` or ``none`` (peaks)."""
    # atomap's separation acts like a half-width: 0.45 bond (5 px at 0.12 Å) found 127 of 136 atoms
    # of a 10^5 e/Å² test image, 0.8 bond (9 px) only 75
    sep = max(2, round(0.45 * spacing_a / sampling_a))
    tmp = Path(tempfile.mkdtemp(prefix="peers_"))
    # atomap works on displayed images (rows = y): pass the transpose of our [x, y] arrays
    np.savez(tmp / "in.npz", images=np.stack([im.T for im in images]), separation=sep, signs=np.asarray(signs),
             threshold_rel=threshold_rel, refine=refine)
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
        out.append({s: z[f"{k}_{s}"] * sampling_a for s in signs})  # [col, row] px = [x, y] -> Å
    return out, wall


#: smallest projected column spacing (Å) of Au (a = 4.078 Å) per zone axis: ⟨110⟩ a/2, ⟨111⟩ a/√6, ⟨100⟩ a/2
AU_COLUMN_SPACING_A = {"110": 2.04, "111": 1.66, "100": 2.04}


def _gold(args: argparse.Namespace) -> None:
    """CNN vs atomap on the held-out Au Wulff particles (issue 11, item 5; see the module docstring).

    The images are those of ``hrtem gold evaluate`` (:func:`hrtem.learn.gold_detect.heldout_sample`:
    same stream, steps and noise); the CNN is scored exactly as there
    (:func:`hrtem.learn.gold_detect.detect_sample`). atomap gets the same noisy
    camera image before the network's local contrast normalisation (globally
    scaled to mean 0, sd 1, to which atomap is blind): the normalisation is the
    CNN's input stage, and on the normalised image every vacuum noise grain
    becomes a unit-contrast peak. The columns are bright at the held-out
    microscope (negative Cs, Δf ≈ 1.2·√(|Cs|λ)), so atomap looks for maxima
    (sign +1). Its separation is 0.45 × the smallest column spacing of the
    particle's zone axis (an oracle in its favour: it is told the zone axis).
    """
    from hrtem.config import load_config
    from hrtem.learn.data import ExitWaveSet, TrainingImages
    from hrtem.learn.gold import gold_section
    from hrtem.learn.gold_detect import column_status, detect_learn, detect_sample, heldout_sample, heldout_settings
    from hrtem.learn.train import configure_tensorflow, load_model

    cfg = load_config(args.config)
    learn = detect_learn(cfg["learn"])
    h = gold_section(learn["gold"])["heldout"]
    run = f"results/{args.config.stem}/learn/gold"
    folder = args.heldout or Path(f"{run}/heldout")
    model_path = args.model or Path(f"{run}/detect.keras")
    seed = int(cfg["seed"])
    configure_tensorflow(int(learn["train"]["threads"]), learn["device"])
    model, info = load_model(model_path)
    depth = int(info.get("network", {}).get("depth", learn["network"]["depth"]))
    all_doses = [float(d) for d in h["doses_e_per_a2"]]
    doses = [d for d in args.doses if any(np.isclose(d, all_doses))] or all_doses
    margin, radius = float(h["margin_a"]), float(h["radius_a"])
    zones = [str(z) for z in h["zone_axes"]]
    cnn: dict[tuple, dict] = {}
    raw: dict[str, list] = {}  # zone axis -> [(key, image, truth)]
    t_cnn = 0.0
    for kind in args.kinds:
        waves = ExitWaveSet(folder / f"{kind}.zarr")
        settings = heldout_settings(learn, waves.cell_a, depth)
        images = TrainingImages(waves, settings, seed, stream="gold_heldout")
        plain = TrainingImages(waves, {**settings, "data": {**settings["data"], "lcn_sigma_a": None}}, seed,
                               stream="gold_heldout")
        for i in range(len(waves)):
            for dose in doses:
                di = int(np.argmin(np.abs(np.asarray(all_doses) - dose)))
                for r in range(min(args.realisations, int(h["realisations"]))):
                    _, smp = heldout_sample(images, h, i, di, r)
                    _, cam = heldout_sample(plain, h, i, di, r)
                    t = time.perf_counter()
                    res = detect_sample(model, learn, smp, margin, radius)
                    t_cnn += time.perf_counter() - t
                    key = (kind, i, dose, r)
                    cnn[key] = res
                    raw.setdefault(zones[i % len(zones)], []).append((key, cam.image[..., 0], res["true_xy"]))
    s = float(learn["data"]["sampling_a"])
    n_px = None
    found: dict[tuple, np.ndarray] = {}
    t_atomap = 0.0
    if importlib.util.find_spec("atomap") is not None or args.peers_python is not None:
        for zone, items in raw.items():
            n_px = items[0][1].shape[0]
            pos, wall = _atomap([im for _, im, _ in items], s, args.peers_python, AU_COLUMN_SPACING_A[zone], signs=(1,),
                                threshold_rel=args.threshold_rel, refine=args.refine)
            t_atomap += wall
            for (key, _, _), p in zip(items, pos):
                found[key] = p[1]
    else:
        print("atomap: not installed (pip install -e .[peers] or --peers-python)")
    rows: dict[tuple, list[int]] = {}
    for key, res in cnn.items():
        kind, _, dose, _ = key
        c = rows.setdefault(("hrtem CNN", kind, dose), [0, 0, 0])
        c[0] += int((res["true_status"] == "tp").sum())
        c[1] += int((res["det_status"] == "fp").sum())
        c[2] += int((res["true_status"] == "fn").sum())
        if key in found:
            p = found[key]
            hi = (res["probability"].shape[0] - 1) * s - margin
            p = p[np.all((p >= margin) & (p <= hi), axis=1)] if len(p) else np.zeros((0, 2))
            ts, ds = column_status(p, res["true_xy"], radius)
            c = rows.setdefault((f"atomap ({args.refine}, threshold_rel {args.threshold_rel:g})", kind, dose), [0, 0, 0])
            c[0] += int((ts == "tp").sum())
            c[1] += int((ds == "fp").sum())
            c[2] += int((ts == "fn").sum())
    n_img = len(cnn)
    print(f"\nheld-out Au Wulff particles {h['diameters_nm']} nm at {zones}, kinds {args.kinds}, {n_img} images "
          f"({n_px or '?'} px at {s} Å/px, microscope learn.gold.heldout.microscope), matching radius {radius} Å, "
          f"margin {margin} Å; model {model_path}")
    print("| method | kind | dose (e/Å²) | precision | recall | tp | fp | fn |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, kind, dose), (tp, fp, fn) in rows.items():
        p = tp / (tp + fp) if tp + fp else float("nan")
        rc = tp / (tp + fn) if tp + fn else float("nan")
        print(f"| {name} | {kind} | {dose:g} | {p:.3f} | {rc:.3f} | {tp} | {fp} | {fn} |")
    print(f"wall time (shared machine): hrtem CNN {t_cnn:.1f} s, atomap {t_atomap:.1f} s for {n_img} images")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="trained hrtem model (.keras)")
    ap.add_argument("--peers-python", default=None, help="python of a venv with atomap (if not importable here)")
    ap.add_argument("--doses", type=float, nargs="+", default=[20.0, 100.0, 1000.0, 10000.0])
    ap.add_argument("--realisations", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gold", action="store_true",
                    help="Au column detection (issue 11): the held-out Wulff particles' test images of hrtem gold evaluate")
    ap.add_argument("--config", type=Path, default=Path("config/config.yaml"), help="--gold: config of the run")
    ap.add_argument("--heldout", type=Path, default=None,
                    help="--gold: folder of hrtem gold heldout (default results/<run>/learn/gold/heldout)")
    ap.add_argument("--kinds", nargs="+", default=["ideal"], help="--gold: held-out kinds (ideal, relaxed)")
    ap.add_argument("--threshold-rel", type=float, default=0.02, help="atomap peak threshold (its default 0.02)")
    ap.add_argument("--refine", choices=("gaussian", "com", "none"), default="gaussian",
                    help="atomap refinement (gaussian = its documented workflow)")
    args = ap.parse_args()
    if args.gold:
        _gold(args)
        return

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
