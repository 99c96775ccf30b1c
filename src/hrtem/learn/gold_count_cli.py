"""``hrtem gold-count``: atom counting in Au particles from a focal series (issue 11, rules in gold_count.smk).

::

    hrtem gold-count test-waves -o STORE --params JSON --seed N
    hrtem gold-count train WAVES -o MODEL.keras --history CSV --workdir DIR --params JSON --seed N [--member K]
    hrtem gold-count evaluate MODEL.keras [MODEL.keras ...] TEST_WAVES -o SUMMARY.csv --columns COLUMNS.csv \
        --params JSON --seed N

M averaged networks (``learn.gold.counting.networks`` = M) is M trainings with
``--member 0 … M−1`` and one evaluation of all M models (mean class probabilities).

``--params`` is ``{"learn": …, "simulate": …}`` (config sections; the counting
keys are ``learn.gold.counting``). ``WAVES`` is the count store of
``hrtem gold waves count``. See :mod:`hrtem.learn.gold_count`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hrtem.errors import HrtemError


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
    from hrtem.learn.gold_count import count_learn, member_seed

    learn, _ = sections(parse_json_object(args.params, "--params"))
    workdir = Path(args.workdir or Path(args.output).with_suffix(".train"))
    settings = count_learn(learn)
    n_members = int(settings["gold"]["counting"]["networks"])
    if not 0 <= args.member < n_members:
        raise HrtemError(f"--member {args.member} is outside learn.gold.counting.networks = {n_members} "
                         f"(members 0 … {n_members - 1})")
    seed = member_seed(args.seed, args.member)
    if args.threads:
        settings["train"]["threads"] = int(args.threads)
    k = int(settings["gold"]["labels"]["max_height"])
    if settings["train"]["loss"] == "weighted_cross_entropy" and not settings["train"]["class_weights"]:
        from hrtem.learn.gold_count import count_class_weights

        settings["train"]["class_weights"] = count_class_weights(args.waves, settings, seed)
        print(f"[gold-count] class weights {[round(w, 2) for w in settings['train']['class_weights']]}", file=sys.stderr)
    out = run_training(args.waves, args.output, args.history, workdir, settings, seed, progress=not args.quiet,
                       extra_info={"class_meaning": "height", "max_height": k, "member": int(args.member),
                                   "member_seed": seed})
    print(f"[gold-count] member {args.member}: trained {out['steps']} steps in {out['wall_s']:.1f} s "
          f"({out['steps_per_s']:.2f} steps/s) -> {args.output}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.io.tables import write_table
    from hrtem.learn.commands import sections
    from hrtem.learn.data import ExitWaveSet
    from hrtem.learn.gold_count import count_learn, error_fractions, evaluate_counting
    from hrtem.learn.train import configure_tensorflow, load_model

    learn, _ = sections(parse_json_object(args.params, "--params"))
    settings = count_learn(learn)
    configure_tensorflow(int(settings["train"]["threads"]), settings["device"])
    n_members = int(settings["gold"]["counting"]["networks"])
    if len(args.model) != n_members:
        raise HrtemError(f"{len(args.model)} model(s) given but learn.gold.counting.networks = {n_members}: "
                         "pass one .keras per member")
    models = [load_model(m)[0] for m in args.model]
    t0 = time.perf_counter()
    test = ExitWaveSet(args.test)
    if test.structure_info("tilt_deg") is None:  # the fig6_30 near-axis row needs each particle's tilt
        raise HrtemError(f"{args.test} has no per-particle tilt_deg (written by an older hrtem): delete it and rerun "
                         "`hrtem gold-count test-waves`")
    columns, summary = evaluate_counting(models, test, learn, args.seed, progress=not args.quiet)
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
    t.add_argument("--member", type=int, default=0,
                   help="network 0 … counting.networks − 1 (0: the config seed; k: a seed drawn from it)")
    t.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: learn.train.threads)")
    common(t)
    t.set_defaults(func=_train)
    e = cmds.add_parser("evaluate", help="counting errors on the held-out particles at the test doses (CSV)")
    e.add_argument("model", nargs="+", help="trained counting model(s) (.keras): one per network of counting.networks, "
                   "their class probabilities averaged")
    e.add_argument("test", help="held-out exit-wave store (test-waves)")
    e.add_argument("-o", "--output", required=True, help="summary CSV: one row per dose, particle and realisation")
    e.add_argument("--columns", required=True, help="column CSV: one row per true column with its predicted height")
    common(e)
    e.set_defaults(func=_evaluate)
    p.set_defaults(func=lambda a: p.print_help() or 2)
