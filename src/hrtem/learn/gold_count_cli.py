"""``hrtem gold-count``: atom counting in Au particles from a focal series (issue 11, rules in gold_count.smk).

::

    hrtem gold-count test-waves -o STORE --params JSON --seed N
    hrtem gold-count train WAVES -o MODEL.keras --history CSV --workdir DIR --params JSON --seed N
    hrtem gold-count evaluate MODEL.keras TEST_WAVES -o SUMMARY.csv --columns COLUMNS.csv --params JSON --seed N

``--params`` is ``{"learn": …, "simulate": …}`` (config sections; the counting
keys are ``learn.gold.counting``). ``WAVES`` is the count store of
``hrtem gold waves count``. See :mod:`hrtem.learn.gold_count`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _test_waves(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import sections
    from hrtem.learn.gold_count import build_count_test_waves

    learn, simulate = sections(parse_json_object(args.params, "--params"))
    t0 = time.perf_counter()
    out = build_count_test_waves(learn, simulate, args.output, args.seed)
    print(f"[gold-count] held-out exit waves in {time.perf_counter() - t0:.1f} s -> {out}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import run_training, sections
    from hrtem.learn.gold_count import count_learn

    learn, _ = sections(parse_json_object(args.params, "--params"))
    workdir = Path(args.workdir or Path(args.output).with_suffix(".train"))
    settings = count_learn(learn)
    k = int(settings["gold"]["labels"]["max_height"])
    if settings["train"]["loss"] == "weighted_cross_entropy" and not settings["train"]["class_weights"]:
        from hrtem.learn.gold_count import count_class_weights

        settings["train"]["class_weights"] = count_class_weights(args.waves, settings, args.seed)
        print(f"[gold-count] class weights {[round(w, 2) for w in settings['train']['class_weights']]}", file=sys.stderr)
    out = run_training(args.waves, args.output, args.history, workdir, settings, args.seed, progress=not args.quiet,
                       extra_info={"class_meaning": "height", "max_height": k})
    print(f"[gold-count] trained {out['steps']} steps in {out['wall_s']:.1f} s ({out['steps_per_s']:.2f} steps/s) "
          f"-> {args.output}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.errors import HrtemError
    from hrtem.io.tables import write_table
    from hrtem.learn.commands import sections
    from hrtem.learn.data import ExitWaveSet
    from hrtem.learn.gold_count import count_learn, error_fractions, evaluate_counting
    from hrtem.learn.train import configure_tensorflow, load_model

    learn, _ = sections(parse_json_object(args.params, "--params"))
    settings = count_learn(learn)
    configure_tensorflow(int(settings["train"]["threads"]), settings["device"])
    model, _ = load_model(args.model)
    t0 = time.perf_counter()
    test = ExitWaveSet(args.test)
    if test.structure_info("tilt_deg") is None:  # the fig6_30 near-axis row needs each particle's tilt
        raise HrtemError(f"{args.test} has no per-particle tilt_deg (written by an older hrtem): delete it and rerun "
                         "`hrtem gold-count test-waves`")
    columns, summary = evaluate_counting(model, test, learn, args.seed, progress=not args.quiet)
    write_table(summary, args.output)
    write_table(columns, args.columns)
    f = error_fractions(summary)
    for i, d in enumerate(f["dose_e_per_a2"]):
        print(f"[gold-count] {d:g} e/A2: P {f['precision'][i]:.3f} R {f['recall'][i]:.3f} off1 {f['off_1'][i]:.3f} "
              f"off>=2 {f['off_ge2'][i]:.3f}", file=sys.stderr)
    print(f"[gold-count] evaluated in {time.perf_counter() - t0:.1f} s -> {args.output}, {args.columns}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``gold-count`` verb (``test-waves``, ``train``, ``evaluate``)."""
    p = sub.add_parser("gold-count", help="atom counting in Au particles from a three-image focal series (issue 11)")
    cmds = p.add_subparsers(dest="gold_count_cmd", metavar="CMD")

    from hrtem.learn.commands import common_arguments as common

    w = cmds.add_parser("test-waves", help="exit waves of the held-out <110> Wulff particles (Zarr)")
    w.add_argument("-o", "--output", required=True, help="output Zarr store")
    common(w)
    w.set_defaults(func=_test_waves)
    t = cmds.add_parser("train", help="train the counting network on the count store of `hrtem gold waves count`")
    t.add_argument("waves", help="count exit-wave store")
    t.add_argument("-o", "--output", required=True, help="output model (.keras)")
    t.add_argument("--history", default=None, help="copy of the history CSV")
    t.add_argument("--workdir", default=None, help="checkpoint folder (default: beside the model)")
    common(t)
    t.set_defaults(func=_train)
    e = cmds.add_parser("evaluate", help="counting errors on the held-out particles at the test doses (CSV)")
    e.add_argument("model", help="trained counting model (.keras)")
    e.add_argument("test", help="held-out exit-wave store (test-waves)")
    e.add_argument("-o", "--output", required=True, help="summary CSV: one row per dose, particle and realisation")
    e.add_argument("--columns", required=True, help="column CSV: one row per true column with its predicted height")
    common(e)
    e.set_defaults(func=_evaluate)
    p.set_defaults(func=lambda a: p.print_help() or 2)
