"""The ``hrtem`` command line: one verb per pipeline stage.

Each verb lives in the module of its stage, which defines
``register(subparsers) -> None``; that function adds an ``argparse`` parser for
the verb and sets ``func=callable(args) -> int | None`` as its default. Modules
are imported only when their verb is used, so ``hrtem --help`` is instant and
``hrtem config`` does not import abTEM or TensorFlow.

Errors caused by input (:class:`hrtem.errors.HrtemError`) are printed as a
single ``error: …`` line with exit status 2, never as a traceback; so are
usage errors, and every verb's options, inputs and output paths are checked
before it computes (:mod:`hrtem.preflight`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hrtem.errors import HrtemError
from hrtem.preflight import OneLineParser, check_args

#: verb -> (module defining ``register``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("hrtem.config", "validate a config file and print it with defaults filled in"),
    "structure": ("hrtem.structures.commands", "build atomic models (extxyz)"),
    "simulate": ("hrtem.simulate.commands", "exit waves, images and noisy images as Zarr stores"),
    "image": ("hrtem.simulate.commands_image", "HRTEM image of any ASE-readable structure"),
    "noise": ("hrtem.simulate.commands_noise", "noise ensembles from an image store"),
    "md": ("hrtem.md.commands", "LAMMPS molecular dynamics (COMB3, EAM)"),
    "potentials": ("hrtem.md.fit_commands", "fit COMB3 parameters (Pt, Au) and tabulate them"),
    "strain": ("hrtem.strain.commands", "strain by template matching or GPA"),
    "study": ("hrtem.strain.study_commands", "the ch. 4 strain-accuracy study (truth, measurement, collection)"),
    "learn": ("hrtem.learn.commands", "CNN exit waves, training and evaluation (thesis ch. 6)"),
    "figure": ("hrtem.figures", "make one figure of the catalogue (PNG + data)"),
    "detect": ("hrtem.learn.detect_cli", "find the atoms in a micrograph with a trained model"),
    "sweep": ("hrtem.sweep", "run the workflow at every point of a parameter sweep; summary table + plot"),
    "fidelity": ("hrtem.figures.fidelity", "check every figure's numbers against the thesis (fidelity.csv)"),
    "ceria": ("hrtem.learn.ceria_cli", "CeO2 column heights: exit waves and U-Net training (abstract 001)"),
    "shapes": ("hrtem.learn.shapes_cli", "particle shapes on carbon: exit waves and classifier (abstract 002)"),
    "classify": ("hrtem.learn.classify_cli", "3D shape of the particle in an HRTEM image"),
    "gold": ("hrtem.learn.gold_cli", "Au particles: training exit waves and the simulated time series (issue 11)"),
    "gold-count": ("hrtem.learn.gold_count_cli", "atom counting in Au particles from a focal series (issue 11)"),
}


def _build_parser(verb: str | None) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="hrtem",
        description="Simulated HRTEM images, strain and CNNs from atomic models.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (module_name, help_text) in COMMANDS.items():
        if name == verb:
            module = importlib.import_module(module_name)
            module.register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hrtem`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = next((a for a in argv if not a.startswith("-")), None)
    if verb is not None and verb not in COMMANDS:
        print(
            f"error: unknown command {verb!r}; choose one of: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    parser = _build_parser(verb)
    args, extra = parser.parse_known_args(argv)
    # argparse cannot take a verb's variadic positionals after its options
    # (``hrtem figure ID -o OUT IN1 IN2``): give leftovers to ``inputs``.
    if extra:
        if isinstance(getattr(args, "inputs", None), list) and not any(e.startswith("-") for e in extra):
            args.inputs.extend(extra)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if verb is None else 2
    try:
        check_args(args)
        status = args.func(args)
    except HrtemError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"error: hrtem {verb}: out of memory; use smaller sizes (hrtem config --estimate)", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:
            raise
        print(f"error: {err.filename}: {err.strerror or err}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
