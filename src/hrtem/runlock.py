"""Clear a stale Snakemake lock before ``make run``, so a run killed with ``kill -9`` just resumes.

Snakemake locks the working directory (``.snakemake/locks/``) for the length
of a run and removes the lock when it ends. A run killed hard (SIGKILL, a
lost SSH session, an out-of-memory kill) leaves the lock behind, and the next
run stops with ``LockException``. ``python -m hrtem.runlock`` (called by
``make run`` before Snakemake) looks for a live Snakemake process working in
this directory; when there is none the lock is stale and it runs
``snakemake --unlock`` with the same arguments. When one is alive nothing is
touched (two runs must not share a directory; Snakemake then reports the lock
itself). Incomplete outputs of the killed run are redone by
``--rerun-incomplete`` (set in the default profile).

Usage (from the Makefile)::

    python -m hrtem.runlock --snakemake .venv/bin/snakemake -- --profile ... --configfile ...
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["lock_files", "live_snakemake", "main"]


def lock_files(directory: str | os.PathLike = ".") -> list[Path]:
    """The Snakemake lock files of ``directory``."""
    locks = Path(directory) / ".snakemake" / "locks"
    return sorted(p for p in locks.glob("*.lock")) if locks.is_dir() else []


def _runs_snakemake(cmdline: Sequence[str]) -> bool:
    for i, arg in enumerate(cmdline[:3]):
        name = os.path.basename(arg)
        if name == "snakemake" or name.startswith("snakemake-"):
            return True
        if arg == "-m" and i + 1 < len(cmdline) and cmdline[i + 1] == "snakemake":
            return True
    return False


def _workdir(cmdline: Sequence[str], cwd: str) -> Path:
    for i, arg in enumerate(cmdline):
        if arg in ("--directory", "-d") and i + 1 < len(cmdline):
            return (Path(cwd) / cmdline[i + 1]).resolve()
        if arg.startswith("--directory="):
            return (Path(cwd) / arg.split("=", 1)[1]).resolve()
    return Path(cwd).resolve()


def live_snakemake(directory: str | os.PathLike = ".") -> list[int]:
    """PIDs of running (not zombie) Snakemake processes whose working directory is ``directory``."""
    import psutil

    target = Path(directory).resolve()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
        info = proc.info
        if info["pid"] == os.getpid() or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline, cwd = info.get("cmdline") or [], info.get("cwd")
        if not cwd or not _runs_snakemake(cmdline):
            continue
        if "--unlock" in cmdline:
            continue
        if _workdir(cmdline, cwd) == target:
            found.append(int(info["pid"]))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Unlock this directory if its Snakemake lock is stale (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m hrtem.runlock", description=__doc__.splitlines()[0])
    parser.add_argument("--snakemake", default=str(Path(sys.executable).with_name("snakemake")), help="snakemake executable")
    parser.add_argument("--directory", default=".", help="the run's working directory")
    parser.add_argument("args", nargs="*", help="arguments for snakemake --unlock (after --)")
    ns = parser.parse_args(argv)
    locks = lock_files(ns.directory)
    if not locks:
        return 0
    live = live_snakemake(ns.directory)
    if live:
        print(
            f"hrtem.runlock: Snakemake is running in {Path(ns.directory).resolve()} (pid {', '.join(map(str, live))}); "
            "leaving its lock alone",
            file=sys.stderr,
        )
        return 0
    print(
        f"hrtem.runlock: no live Snakemake holds the lock of {Path(ns.directory).resolve()} "
        f"({len(locks)} lock file(s) left by a killed run); unlocking",
        file=sys.stderr,
    )
    proc = subprocess.run([ns.snakemake, "--unlock", *ns.args], cwd=ns.directory, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return proc.returncode


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
