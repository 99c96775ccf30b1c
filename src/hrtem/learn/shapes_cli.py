"""``hrtem shapes``: carbon films, particles, exit waves and the shape classifier (abstract 002)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _waves(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.shapes import build_shape_exit_waves

    section = parse_json_object(args.params, "--params")
    simulate = parse_json_object(args.simulate, "--simulate")
    train, test = build_shape_exit_waves(section, simulate, Path(args.output), args.seed)
    print(f"wrote {train} and {test}")
    return 0


def _bank(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.shapes import write_bank

    section = parse_json_object(args.params, "--params")
    out = write_bank(section, Path(args.waves), Path(args.output), args.seed)
    print(f"wrote {out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.commands import apply_threads
    from hrtem.learn.shapes import train_classifier

    section = parse_json_object(args.params, "--params")
    apply_threads(args)
    out = train_classifier(section, Path(args.waves), Path(args.output), args.seed, progress=True,
                           bank_store=Path(args.bank) if args.bank else None)
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``shapes`` verb (``waves``, ``bank``, ``train``)."""
    p = sub.add_parser("shapes", help="particle shapes on carbon: exit waves and classifier (abstract 002)")
    cmds = p.add_subparsers(dest="shapes_cmd", metavar="CMD")
    w = cmds.add_parser("waves", help="films, particles, exit waves: OUTDIR/{train,test}.zarr, OUTDIR/test.csv")
    w.add_argument("-o", "--output", required=True, help="output folder")
    w.add_argument("--params", default="", help="the shapes config section as JSON")
    w.add_argument("--simulate", default="", help="the simulate config section as JSON")
    w.add_argument("--seed", type=int, default=0, help="config seed")
    w.set_defaults(func=_waves)
    b = cmds.add_parser("bank", help="render the training image bank once (shapes.train.bank_images): BANK.zarr")
    b.add_argument("--waves", required=True, help="training exit waves (train.zarr)")
    b.add_argument("-o", "--output", required=True, help="bank store (.zarr)")
    b.add_argument("--params", default="", help="the shapes config section as JSON")
    b.add_argument("--seed", type=int, default=0, help="config seed")
    b.set_defaults(func=_bank)
    t = cmds.add_parser("train", help="train the classifier; writes MODEL.keras and MODEL.json")
    t.add_argument("--waves", required=True, help="training exit waves (train.zarr)")
    t.add_argument("-o", "--output", required=True, help="model path (.keras)")
    t.add_argument("--params", default="", help="the shapes config section as JSON")
    t.add_argument("--seed", type=int, default=0, help="config seed")
    t.add_argument("--bank", default=None, help="bank store of hrtem shapes bank (default: render the bank here)")
    from hrtem.learn.commands import threads_argument

    threads_argument(t)
    t.set_defaults(func=_train)
