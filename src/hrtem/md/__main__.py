"""``python -m hrtem.md …`` = ``hrtem md …`` (the form to start under mpiexec)."""

from __future__ import annotations

import sys

from hrtem.cli import main

if __name__ == "__main__":
    status = main(["md", *sys.argv[1:]])
    sys.stdout.flush()
    raise SystemExit(status)
