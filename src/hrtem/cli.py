"""The ``hrtem`` command line: one verb per pipeline stage.

Each verb lives in the module of its stage, which defines
``register(subparsers) -> None``; that function adds an ``argparse`` parser for
the verb and sets ``func=callable(args) -> int | None`` as its default. Modules
are imported only when their verb is used, so ``hrtem --help`` is instant and
``hrtem config`` does not import abTEM or TensorFlow.

Errors caused by input (:class:`hrtem.errors.HrtemError`) are printed as a
single ``error: …`` line with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hrtem.errors import HrtemError

#: verb -> (module defining ``register``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("hrtem.config", "validate a config file and print it with defaults filled in"),
    "structure": ("hrtem.structures.commands", "build atomic models (extxyz)"),
    "simulate": ("hrtem.simulate.commands", "exit waves, images and noisy images as Zarr stores"),
    "image": ("hrtem.simulate.commands_image", "HRTEM image of any ASE-readable structure"),
    "noise": ("hrtem.simulate.commands_noise", "noise ensembles from an image store"),
    "md": ("hrtem.md.commands", "LAMMPS molecular dynamics (COMB3, EAM)"),
    "strain": ("hrtem.strain.commands", "strain by template matching or GPA"),
    "figure": ("hrtem.figures", "make one figure of the catalogue (PNG + data)"),
    "fidelity": ("hrtem.figures.fidelity", "check every figure's numbers against the thesis (fidelity.csv)"),
}


def _build_parser(verb: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        status = args.func(args)
    except HrtemError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
