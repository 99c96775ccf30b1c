"""Bad inputs to every CLI verb, run in-process through :func:`hrtem.cli.main`.

Each case is ``(id, argv, fragment)``: argv uses ``{d}`` for the fixture
folder, and the one ``error:`` line must contain ``fragment`` (the option,
key or file at fault). A case is

clean            exit status ≠ 0, one ``error:`` line naming the fragment, no traceback, nothing written
traceback        an exception escaped (or "Traceback" on stderr)
silently wrong   exit status 0 (the bad input was accepted)
other            a non-zero exit without one clean line naming the fragment, or an output written

Run as a script (``python tests/reliability/cli_cases.py``) it prints the
table under a 6 GiB address-space limit and a per-case time limit;
``PYTHONPATH`` decides which hrtem is measured.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

OUT = "{d}/out/result"  # every case writes (if at all) below {d}/out

CASES: list[tuple[str, list[str], str]] = [
    # hrtem image
    ("image missing structure", ["image", "{d}/missing.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "missing.xyz"),
    ("image dose inf", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--dose", "inf"], "--dose"),
    ("image dose nan", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--dose", "nan"], "--dose"),
    ("image dose 1e300", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--dose", "1e300"], "--dose"),
    ("image dose 0", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--dose", "0"], "--dose"),
    ("image dose negative", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--dose", "-5"], "--dose"),
    ("image tilt nan", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--tilt", "nan"], "--tilt"),
    ("image threads 0", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--threads", "0"], "--threads"),
    ("image seed negative", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr", "--seed", "-1"], "--seed"),
    ("image overlapping atoms", ["image", "{d}/overlap.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "overlap"),
    ("image atoms outside cell", ["image", "{d}/outside.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "outside"),
    ("image no vacuum", ["image", "{d}/novac.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "vacuum"),
    ("image 1 µm cell", ["image", "{d}/huge_cell.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "simulate.sampling_a"),
    ("image 100 µm cell", ["image", "{d}/huger_cell.xyz", "{d}/settings.yaml", "-o", OUT + ".zarr"], "simulate.sampling_a"),
    ("image output folder not writable", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", "/proc/hrtem-test/x.zarr"], "/proc/hrtem-test"),
    ("image output below a file", ["image", "{d}/good.xyz", "{d}/settings.yaml", "-o", "{d}/good.xyz/x.zarr"], "good.xyz"),
    ("image settings NaN", ["image", "{d}/good.xyz", "{d}/nan_settings.yaml", "-o", OUT + ".zarr"], "simulate.sampling_a"),
    ("image settings duplicate key", ["image", "{d}/good.xyz", "{d}/dup_settings.yaml", "-o", OUT + ".zarr"], "duplicate key"),
    ("image settings integral float", ["image", "{d}/good.xyz", "{d}/float_settings.yaml", "-o", OUT + ".zarr"], "configurations"),
    ("image not a structure", ["image", "{d}/lattice.csv", "{d}/settings.yaml", "-o", OUT + ".zarr"], "lattice.csv"),
    # hrtem simulate
    ("simulate potential overlap", ["simulate", "potential", "{d}/overlap.xyz", "-o", OUT + ".zarr"], "overlap"),
    ("simulate potential sampling NaN", ["simulate", "potential", "{d}/good.xyz", "--simulate", '{"sampling_a": NaN}', "-o", OUT + ".zarr"], "simulate.sampling_a"),
    ("simulate exit-wave tiny sampling", ["simulate", "exit-wave", "{d}/good.xyz", "--simulate", '{"sampling_a": 1e-6}', "-o", OUT + ".zarr"], "simulate.sampling_a"),
    ("simulate exit-wave tilt inf", ["simulate", "exit-wave", "{d}/good.xyz", "--tilt", "inf", "-o", OUT + ".zarr"], "--tilt"),
    ("simulate detect truncated", ["simulate", "detect", "{d}/truncated.zarr", "-o", OUT + ".zarr"], "truncated.zarr"),
    ("simulate ensemble dose inf", ["simulate", "ensemble", "{d}/img.zarr", "--dose", "inf", "-o", OUT + ".zarr"], "--dose"),
    ("simulate ensemble samples 1e9", ["simulate", "ensemble", "{d}/img.zarr", "--dose", "100", "--samples", "1000000000", "-o", OUT + ".zarr"], "--samples"),
    # hrtem noise
    ("noise dose inf", ["noise", "{d}/img.zarr", "--dose", "inf", "-o", OUT + ".zarr"], "--dose"),
    ("noise dose 1e300", ["noise", "{d}/img.zarr", "--dose", "1e300", "-o", OUT + ".zarr"], "--dose"),
    ("noise truncated store", ["noise", "{d}/truncated.zarr", "--dose", "100", "-o", OUT + ".zarr"], "truncated.zarr"),
    ("noise not a store", ["noise", "{d}/notastore", "--dose", "100", "-o", OUT + ".zarr"], "notastore"),
    ("noise samples 1e9", ["noise", "{d}/img.zarr", "--dose", "100", "--samples", "1000000000", "-o", OUT + ".zarr"], "--samples"),
    ("noise samples 0", ["noise", "{d}/img.zarr", "--dose", "100", "--samples", "0", "-o", OUT + ".zarr"], "--samples"),
    ("noise samples-per-block 0", ["noise", "{d}/img.zarr", "--dose", "100", "--samples-per-block", "0", "-o", OUT + ".zarr"], "--samples-per-block"),
    ("noise sampling nan", ["noise", "{d}/img.zarr", "--dose", "100", "--sampling-a", "nan", "-o", OUT + ".zarr"], "--sampling-a"),
    ("noise output is input", ["noise", "{d}/img.zarr", "--dose", "100", "-o", "{d}/img.zarr"], "img.zarr"),
    ("noise samples 2.5", ["noise", "{d}/img.zarr", "--dose", "100", "--samples", "2.5", "-o", OUT + ".zarr"], "--samples"),
    # hrtem strain
    ("strain NaN rows", ["strain", "{d}/nan.csv", "-o", OUT + ".csv", "--template", "square4"], "nan.csv"),
    ("strain duplicate points", ["strain", "{d}/dup.csv", "-o", OUT + ".csv", "--template", "square4"], "dup.csv"),
    ("strain missing input", ["strain", "{d}/missing.csv", "-o", OUT + ".csv"], "missing.csv"),
    ("strain nn-distance nan", ["strain", "{d}/lattice.csv", "-o", OUT + ".csv", "--nn-distance", "nan"], "--nn-distance"),
    ("strain nn-distance negative", ["strain", "{d}/lattice.csv", "-o", OUT + ".csv", "--nn-distance", "-1"], "--nn-distance"),
    ("strain output not writable", ["strain", "{d}/lattice.csv", "-o", "/proc/hrtem-test/x.csv", "--template", "square4"], "/proc/hrtem-test"),
    ("strain truncated store", ["strain", "{d}/truncated.zarr", "-o", OUT + ".csv"], "truncated.zarr"),
    ("strain empty csv", ["strain", "{d}/empty.csv", "-o", OUT + ".csv"], "empty.csv"),
    # hrtem structure
    ("structure diameter nan", ["structure", "wulff", "--element", "Au", "--diameter-nm", "nan", "-o", OUT + ".xyz"], "--diameter-nm"),
    ("structure diameter 1e5", ["structure", "wulff", "--element", "Au", "--diameter-nm", "1e5", "-o", OUT + ".xyz"], "--diameter-nm"),
    ("structure diameter negative", ["structure", "wulff", "--element", "Au", "--diameter-nm", "-2", "-o", OUT + ".xyz"], "--diameter-nm"),
    ("structure grown count 0", ["structure", "grown", "--count", "0", "-o", OUT + ".xyz"], "--count"),
    ("structure grown params count 1e12", ["structure", "grown", "--params", '{"count": 1000000000000}', "-o", OUT + ".xyz"], "count"),
    ("structure cluster params NaN", ["structure", "fcc-cluster", "--params", '{"vacuum_a": NaN}', "-o", OUT + ".xyz"], "vacuum_a"),
    ("structure columns missing", ["structure", "columns", "{d}/missing.xyz", "-o", OUT + ".csv"], "missing.xyz"),
    ("structure columns tolerance nan", ["structure", "columns", "{d}/good.xyz", "--tolerance-a", "nan", "-o", OUT + ".csv"], "--tolerance-a"),
    ("structure output not writable", ["structure", "wulff", "--element", "Au", "--diameter-nm", "1", "-o", "/proc/hrtem-test/x.xyz"], "/proc/hrtem-test"),
    # hrtem md
    ("md support radius 1e4 Å", ["md", "support", "--params", '{"particle": {"radius_A": 10000}}', "-o", OUT + ".xyz"], "md."),
    ("md support rotation nan", ["md", "support", "--rotation", "nan", "-o", OUT + ".xyz"], "--rotation"),
    ("md support params inf", ["md", "support", "--params", '{"timestep_fs": Infinity}', "-o", OUT + ".xyz"], "md.timestep_fs"),
    ("md run missing input", ["md", "run", "{d}/missing.xyz", "-o", "{d}/out/md"], "missing.xyz"),
    ("md run ranks 0", ["md", "run", "{d}/good.xyz", "--ranks", "0", "-o", "{d}/out/md"], "--ranks"),
    ("md strain3d reference nan", ["md", "strain3d", "{d}/good.xyz", "--reference-a", "nan", "-o", OUT + ".xyz"], "--reference-a"),
    ("md image missing input", ["md", "image", "{d}/missing.xyz", "-o", OUT + ".zarr"], "missing.xyz"),
    ("md image reference nan", ["md", "image", "{d}/good.xyz", "--reference-a", "nan", "-o", OUT + ".zarr"], "--reference-a"),
    ("md image optics inf", ["md", "image", "{d}/good.xyz", "--reference-a", "3.9", "--optics",
                             '{"microscope": {"defocus_a": Infinity}}', "-o", OUT + ".zarr"], "images.microscope.defocus_a"),
    ("md support rotation on anatase", ["md", "support", "--system", "anatase_natural", "--rotation", "10",
                                        "-o", OUT + ".xyz"], "--rotation"),
    # hrtem figure
    ("figure unknown id", ["figure", "fig9_9", "-o", OUT + ".png"], "fig9_9"),
    ("figure fig4_10 missing chunk", ["figure", "fig4_10", "{d}/ens_missing_chunk.zarr", "-o", OUT + ".png", "--params", '{"fig4_10": {"defocus_a": 0, "tilt_deg": 0}}'], "ens_missing_chunk.zarr"),
    ("figure output not writable", ["figure", "fig3_9", "-o", "/proc/hrtem-test/x.png"], "/proc/hrtem-test"),
    ("figure fig3_6 reversed band_rows", ["figure", "fig3_6", "-o", OUT + ".png", "--params", '{"band_rows": [6, 3]}'], "band_rows"),
    ("figure missing input", ["figure", "fig4_10", "{d}/missing.zarr", "-o", OUT + ".png"], "missing.zarr"),
    # hrtem fidelity
    ("fidelity missing folder", ["fidelity", "fig2_3", "--dir", "{d}/missing_dir", "-o", OUT + ".csv"], "missing_dir"),
    ("fidelity output not writable", ["fidelity", "fig2_3", "--dir", "{d}/out", "-o", "/proc/hrtem-test/f.csv"], "/proc/hrtem-test"),
    ("fidelity html not writable", ["fidelity", "fig2_3", "--dir", "{d}/out", "-o", OUT + ".csv", "--html", "{d}/good.xyz/f.html"], "good.xyz"),
    ("fidelity unknown figure", ["fidelity", "fig9_9", "--dir", "{d}/out", "-o", OUT + ".csv"], "fig9_9"),
    # hrtem potentials, study, learn, detect, sweep, ceria, shapes, gold, classify
    ("potentials walker negative", ["potentials", "walk", "--element", "Pt", "--walker", "-1", "-o", OUT + ".json"], "--walker"),
    ("potentials table missing input", ["potentials", "table", "tab5_1", "{d}/missing.json", "-o", OUT + ".png"], "missing.json"),
    ("study model size nan", ["study", "model", "--size", "nan", "-o", OUT + ".xyz"], "--size"),
    ("study measure missing ensemble", ["study", "measure", "{d}/missing.zarr", "--truth", "{d}/img.zarr", "-o", OUT + ".zarr"], "missing.zarr"),
    ("learn train missing waves", ["learn", "train", "{d}/missing.zarr", "-o", OUT + ".keras"], "missing.zarr"),
    ("learn exit-waves output not writable", ["learn", "exit-waves", "train", "-o", "/proc/hrtem-test/w.zarr"], "/proc/hrtem-test"),
    ("detect missing image", ["detect", "{d}/missing.tif", "-m", "{d}/good.xyz", "-o", OUT + ".csv"], "missing.tif"),
    ("detect tile 0", ["detect", "{d}/img.zarr", "-m", "{d}/good.xyz", "--tile", "0", "-o", OUT + ".csv"], "--tile"),
    ("detect threshold nan", ["detect", "{d}/img.zarr", "-m", "{d}/good.xyz", "--threshold", "nan", "-o", OUT + ".csv"], "--threshold"),
    ("sweep missing file", ["sweep", "{d}/missing_sweep.yaml"], "missing_sweep.yaml"),
    ("ceria train missing waves", ["ceria", "train", "--waves", "{d}/missing.zarr", "--loss", "weighted", "-o", OUT + ".keras"], "missing.zarr"),
    ("shapes waves output not writable", ["shapes", "waves", "-o", "/proc/hrtem-test/s"], "/proc/hrtem-test"),
    ("shapes bank missing waves", ["shapes", "bank", "--waves", "{d}/missing.zarr", "-o", OUT + ".zarr"], "missing.zarr"),
    ("shapes train missing bank", ["shapes", "train", "--waves", "{d}/img.zarr", "--bank", "{d}/missing_bank.zarr", "-o", OUT + ".keras"], "missing_bank.zarr"),
    ("classify missing image", ["classify", "{d}/missing.npy", "--model", "{d}/good.xyz"], "missing.npy"),
    ("gold waves tilt huge", ["gold", "waves", "count", "-o", OUT + ".zarr", "--params", '{"learn": {"gold": {"structures": {"tilt_max_deg": 1e300}}}}'], "tilt_max_deg"),
    ("gold series output not writable", ["gold", "series", "-o", "/proc/hrtem-test/s"], "/proc/hrtem-test"),
    ("gold heldout diameter huge", ["gold", "heldout", "-o", OUT, "--params", '{"learn": {"gold": {"heldout": {"diameters_nm": [1e300]}}}}'], "diameters_nm"),
    ("gold train missing waves", ["gold", "train", "{d}/missing.zarr", "-o", OUT + ".keras"], "missing.zarr"),
    ("gold evaluate missing model", ["gold", "evaluate", "{d}/missing.keras", "--ideal", "{d}/img.zarr", "--relaxed", "{d}/img.zarr", "-o", OUT + ".csv"], "missing.keras"),
    ("gold-count test-waves diameter huge", ["gold-count", "test-waves", "-o", OUT + ".zarr", "--params", '{"learn": {"gold": {"counting": {"test_diameters_nm": [1e300]}}}}'], "test_diameters_nm"),
    ("gold-count train missing waves", ["gold-count", "train", "{d}/missing.zarr", "-o", OUT + ".keras"], "missing.zarr"),
    ("gold-count evaluate missing model", ["gold-count", "evaluate", "{d}/missing.keras", "{d}/img.zarr", "--columns", "{d}/c.csv", "-o", OUT + ".csv"], "missing.keras"),
    ("classify sampling nan", ["classify", "{d}/img.zarr", "--model", "{d}/good.xyz", "--sampling-a", "nan"], "--sampling-a"),
    # hrtem config
    ("config duplicate key", ["config", "{d}/dup_settings.yaml"], "duplicate key"),
    ("config missing file", ["config", "{d}/missing.yaml"], "missing.yaml"),
    ("usage unknown option", ["noise", "{d}/img.zarr", "--dose", "100", "--bogus", "-o", OUT + ".zarr"], "--bogus"),
]


def make_fixtures(d: Path) -> None:
    """Write every input the cases use into ``d`` (small: runs in seconds)."""
    import xarray as xr
    from ase import Atoms
    from ase.cluster import FaceCenteredCubic

    from hrtem.io import write_atoms, write_dataset

    d.mkdir(parents=True, exist_ok=True)
    (d / "out").mkdir(exist_ok=True)
    good = FaceCenteredCubic("Au", [(1, 0, 0), (1, 1, 0), (1, 1, 1)], [2, 2, 2], latticeconstant=4.078)
    good.center(vacuum=3.0)
    good.pbc = False
    write_atoms(good, d / "good.xyz")
    overlap = good.copy()
    overlap.positions[1] = overlap.positions[0] + [0.1, 0.0, 0.0]
    write_atoms(overlap, d / "overlap.xyz")
    outside = good.copy()
    outside.positions[0] = [-5.0, 1.0, 1.0]
    write_atoms(outside, d / "outside.xyz")
    novac = good.copy()
    novac.center(vacuum=0.0)
    write_atoms(novac, d / "novac.xyz")
    for name, side in (("huge_cell", 1e4), ("huger_cell", 1e6)):
        big = good.copy()
        big.set_cell([side, side, 20.0])
        big.center()
        write_atoms(big, d / f"{name}.xyz")
    base = "simulate:\n  sampling_a: 0.3\n  frozen_phonons: {model: none}\nmicroscope:\n  energy_kev: 300\n"
    (d / "settings.yaml").write_text(base)
    (d / "nan_settings.yaml").write_text(base.replace("0.3", ".nan"))
    (d / "dup_settings.yaml").write_text(base + "simulate:\n  sampling_a: 0.2\n")
    (d / "float_settings.yaml").write_text(base.replace("{model: none}", "{model: einstein, configurations: 2.0}"))
    x = np.arange(32) * 0.2
    img = xr.DataArray(np.ones((32, 32)), dims=("x", "y"), coords={"x": x, "y": x}, name="image")
    write_dataset(img, d / "img.zarr")
    shutil.copytree(d / "img.zarr", d / "truncated.zarr")
    for chunk in (d / "truncated.zarr" / "image" / "c").rglob("*"):
        if chunk.is_file():
            chunk.unlink()
    (d / "notastore").mkdir(exist_ok=True)
    pts = np.array([[i * 2.0, j * 2.0] for i in range(8) for j in range(8)]) + 5.0
    header = "x,y\n"
    (d / "lattice.csv").write_text(header + "\n".join(f"{a},{b}" for a, b in pts) + "\n")
    (d / "nan.csv").write_text(header + "\n".join(f"{a},{b}" for a, b in pts) + "\nnan,nan\n")
    (d / "dup.csv").write_text(header + "\n".join(f"{a},{b}" for a, b in np.vstack([pts, pts[10:11]])) + "\n")
    (d / "empty.csv").write_text(header)
    # a small ensemble store with one chunk deleted
    from hrtem.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["noise", str(d / "img.zarr"), "--dose", "100", "--samples", "2", "--samples-per-block", "1",
                   "-o", str(d / "ens_missing_chunk.zarr")])
    assert rc == 0, "could not build the ensemble fixture"
    chunks = sorted(p for p in (d / "ens_missing_chunk.zarr" / "image" / "c").rglob("*") if p.is_file())
    chunks[-1].unlink()


class _Timeout(Exception):
    pass


def run_case(argv: list[str], d: Path, time_limit_s: int = 120) -> tuple[int | None, str, str]:
    """(exit status or None, stderr, traceback text) of ``hrtem ARGV`` run in-process."""
    from hrtem.cli import main

    args = [a.replace("{d}", str(d)) for a in argv]
    err, out = io.StringIO(), io.StringIO()
    tb = ""
    rc: int | None = None

    def alarm(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(time_limit_s)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(args)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except _Timeout:
        tb = "timeout"
    except BaseException:  # noqa: BLE001 - counted as a traceback
        tb = traceback.format_exc()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return rc, err.getvalue(), tb


def classify(case: tuple[str, list[str], str], d: Path, time_limit_s: int = 120) -> tuple[str, str]:
    """(verdict, detail) of one case; see the module docstring."""
    _, argv, fragment = case
    out_dir = d / "out"
    before = set(out_dir.rglob("*"))
    rc, stderr, tb = run_case(argv, d, time_limit_s)
    written = set(out_dir.rglob("*")) - before
    for path in sorted(written, reverse=True):  # leave the folder clean for the next case
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("warning:")]
    if tb or "Traceback" in stderr:
        return "traceback", (tb or stderr).strip().splitlines()[-1][:200] if (tb or stderr).strip() else "?"
    if rc == 0:
        return "silently wrong", f"exit 0, wrote {len(written)} path(s)"
    one = len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]
    if one and not written:
        return "clean", lines[0]
    return "other", f"rc {rc}, {len(lines)} line(s), written {len(written)}: {' / '.join(lines)[:200]}"


def table(results: list[tuple[tuple, str, str]]) -> str:
    counts = Counter((case[1][0], verdict) for case, verdict, _ in results)
    verbs = list(dict.fromkeys(case[1][0] for case, _, _ in results))
    kinds = ("clean", "traceback", "silently wrong", "other")
    lines = ["| verb | cases | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for verb in verbs:
        n = sum(v for (vb, _), v in counts.items() if vb == verb)
        lines.append(f"| {verb} | {n} | " + " | ".join(str(counts[(verb, k)]) for k in kinds) + " |")
    tot = Counter(verdict for _, verdict, _ in results)
    lines.append(f"| **all** | {len(results)} | " + " | ".join(str(tot[k]) for k in kinds) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import resource
    import sys
    import tempfile

    resource.setrlimit(resource.RLIMIT_AS, (6 * 1024**3, 6 * 1024**3))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_fixtures(d)
        results = []
        for case in CASES:
            verdict, detail = classify(case, d, time_limit_s=60)
            results.append((case, verdict, detail))
            print(f"{verdict:15s} {case[0]:40s} {detail[:150]}", file=sys.stderr, flush=True)
        print(table(results))
