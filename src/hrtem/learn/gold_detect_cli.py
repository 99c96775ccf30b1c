"""``hrtem gold train|heldout|evaluate``: the Au column-detection network (issue 11, Figs. 6.21–6.23).

::

    hrtem gold train WAVES -o MODEL.keras --history CSV --workdir DIR --params JSON --seed N
    hrtem gold heldout -o DIR --params JSON --seed N          # DIR/{ideal,relaxed}.{zarr,xyz}
    hrtem gold evaluate MODEL.keras --ideal STORE --relaxed STORE -o CSV --params JSON --seed N

``--params`` is ``{"learn": …, "simulate": …}``; the gold keys are
``learn.gold`` (``detect`` for training, ``heldout`` for the test particles).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import run_training, sections
    from hrtem.learn.gold_detect import detect_learn

    learn, _ = sections(parse_json_object(args.params, "--params"))
    settings = detect_learn(learn)
    workdir = Path(args.workdir or Path(args.output).with_suffix(".train"))
    out = run_training(args.waves, args.output, args.history, workdir, settings, args.seed, progress=not args.quiet)
    print(f"[gold] trained {out['steps']} steps in {out['wall_s']:.1f} s ({out['steps_per_s']:.2f} steps/s) -> {args.output}",
          file=sys.stderr)
    return 0


def _heldout(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import sections
    from hrtem.learn.gold_detect import build_heldout_exit_waves

    learn, simulate = sections(parse_json_object(args.params, "--params"))
    t0 = time.perf_counter()
    paths = build_heldout_exit_waves(learn, simulate, args.output, args.seed)
    print(f"[gold] held-out particles in {time.perf_counter() - t0:.1f} s -> {', '.join(map(str, paths.values()))}",
          file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.io.tables import write_table
    from hrtem.learn.commands import sections
    from hrtem.learn.gold_detect import detect_learn, evaluate_heldout, pr_by_dose
    from hrtem.learn.train import configure_tensorflow, load_model

    learn, _ = sections(parse_json_object(args.params, "--params"))
    settings = detect_learn(learn)
    configure_tensorflow(int(settings["train"]["threads"]), settings["device"])
    model, info = load_model(args.model)
    t0 = time.perf_counter()
    table = evaluate_heldout(model, info, {"ideal": args.ideal, "relaxed": args.relaxed}, settings, args.seed,
                             progress=not args.quiet)
    write_table(table, args.output)
    pr = pr_by_dose(table)
    for k, d, p, r, fp, fn in zip(pr["kind"], pr["dose_e_per_a2"], pr["precision"], pr["recall"], pr["fp"], pr["fn"]):
        print(f"[gold] {k:8s} {d:9.0f} e/A2  P {p:.3f}  R {r:.3f}  FP {fp}  FN {fn}", file=sys.stderr)
    print(f"[gold] evaluated in {time.perf_counter() - t0:.1f} s -> {args.output}", file=sys.stderr)
    return 0


def register_detect(cmds: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``train``, ``heldout`` and ``evaluate`` to the ``hrtem gold`` sub-commands."""
    t = cmds.add_parser("train", help="train the column-detection network on the detect exit waves")
    t.add_argument("waves", help="exit-wave store of the training particles (hrtem gold waves detect)")
    t.add_argument("-o", "--output", required=True, help="output model (.keras)")
    t.add_argument("--history", default=None, help="copy of the history CSV (loss, validation P/R)")
    t.add_argument("--workdir", default=None,
                   help="checkpoint folder (default: beside the model); one subfolder per settings, kept for resuming")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    common(t)
    t.set_defaults(func=_train)
    h = cmds.add_parser("heldout", help="held-out Wulff particles, ideal and relaxed, and their exit waves")
    h.add_argument("-o", "--output", required=True, help="output folder (ideal.zarr, relaxed.zarr, .xyz)")
    common(h)
    h.set_defaults(func=_heldout)
    e = cmds.add_parser("evaluate", help="detections on the held-out particles: one row per column / false positive")
    e.add_argument("model", help="trained model (.keras)")
    e.add_argument("--ideal", required=True, help="exit waves of the ideal held-out particles")
    e.add_argument("--relaxed", required=True, help="exit waves of the relaxed held-out particles")
    e.add_argument("-o", "--output", required=True, help="output CSV")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    common(e)
    e.set_defaults(func=_evaluate)
