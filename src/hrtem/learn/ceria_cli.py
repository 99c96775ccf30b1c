"""``hrtem ceria``: exit waves of the CeO2 particles and U-Net training (abstract 001)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _waves(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.ceria import build_ceria_exit_waves

    section = parse_json_object(args.params, "--params")
    simulate = parse_json_object(args.simulate, "--simulate")
    train, test = build_ceria_exit_waves(section, simulate, Path(args.output), args.seed)
    print(f"wrote {train} and {test}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from hrtem.config import parse_json_object
    from hrtem.learn.ceria import train_heights
    from hrtem.learn.commands import apply_threads

    section = parse_json_object(args.params, "--params")
    apply_threads(args)
    out = train_heights(section, Path(args.waves), Path(args.output), args.seed, args.loss == "weighted",
                        progress=True)
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ceria`` verb (``waves``, ``train``)."""
    from hrtem.learn.commands import threads_argument

    p = sub.add_parser("ceria", help="CeO2 column heights: exit waves and U-Net training (abstract 001)")
    cmds = p.add_subparsers(dest="ceria_cmd", metavar="CMD")
    w = cmds.add_parser("waves", help="particles + exit waves: OUTDIR/train.zarr, OUTDIR/test.zarr")
    w.add_argument("-o", "--output", required=True, help="output folder")
    w.add_argument("--params", default="", help="the ceria config section as JSON")
    w.add_argument("--simulate", default="", help="the simulate config section as JSON")
    w.add_argument("--seed", type=int, default=0, help="config seed")
    w.set_defaults(func=_waves)
    t = cmds.add_parser("train", help="train the U-Net with one loss; writes MODEL.keras and MODEL.json")
    t.add_argument("--waves", required=True, help="training exit waves (train.zarr)")
    t.add_argument("--loss", choices=("unweighted", "weighted"), required=True,
                   help="cross-entropy without or with inverse-class-frequency weights")
    t.add_argument("-o", "--output", required=True, help="model path (.keras)")
    t.add_argument("--params", default="", help="the ceria config section as JSON")
    t.add_argument("--seed", type=int, default=0, help="config seed")
    threads_argument(t)
    t.set_defaults(func=_train)
