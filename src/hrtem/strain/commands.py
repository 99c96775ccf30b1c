"""``hrtem strain``: per-point strain (CSV) and strain maps (Zarr) from an image or positions.

INPUT is an image (an hrtem Zarr store with an ``image`` variable, ``.npy``
or ``.tif``, indexed [x, y]) or a CSV of column positions ``x, y`` in Å.
``--method stm`` detects columns (images; every default from the lattice
of the first ``--template``: nearest-neighbour distance from ``--nn-distance``
or the image's autocorrelation, ``--min-distance`` a Euclidean distance in Å,
vacuum peaks and peaks off the template lattice rejected) and runs structural
template matching; ``--method gpa`` runs geometric phase analysis (images only) and
samples its maps at the detected columns. The CSV has the columns
x, y, exx, eyy, exy, rotation (rad), rmsd, matched; for images the maps go to
a Zarr store beside it (``OUT`` with suffix ``.zarr``, or ``--maps``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError

__all__ = ["register", "run_strain"]


def _parse_g(text: str | None) -> np.ndarray | None:
    if not text:
        return None
    try:
        rows = [[float(v) for v in part.split(",")] for part in text.split(";")]
        g = np.array(rows, float)
    except ValueError:
        g = None
    if g is None or g.shape != (2, 2):
        raise HrtemError(f"--g must look like 'gx1,gy1;gx2,gy2' (1/Å), got {text!r}")
    return g


def _maps_dataset(maps: dict[str, np.ndarray], image: np.ndarray, sampling, origin, attrs: dict):
    import xarray as xr

    nx, ny = image.shape
    x = origin[0] + np.arange(nx) * sampling[0]
    y = origin[1] + np.arange(ny) * sampling[1]
    desc = {
        "exx": ("1", "strain ε_xx"),
        "eyy": ("1", "strain ε_yy"),
        "exy": ("1", "strain ε_xy"),
        "rotation": ("rad", "lattice rotation, counter-clockwise"),
        "image": ("a.u.", "input image"),
    }
    data = {}
    for k, v in {**maps, "image": image}.items():
        u, d = desc[k]
        data[k] = xr.DataArray(np.asarray(v, float), dims=("x", "y"), attrs={"units": u, "description": d})
    ds = xr.Dataset(data, coords={"x": ("x", x, {"units": "Å"}), "y": ("y", y, {"units": "Å"})})
    ds.attrs.update(attrs)
    return ds


def run_strain(args: argparse.Namespace) -> int:
    """Execute the verb (see module docstring)."""
    from hrtem.io import provenance, write_dataset
    from hrtem.strain.compare import to_grid
    from hrtem.strain.gpa import gpa
    from hrtem.strain.io import read_image, read_positions, write_table
    from hrtem.strain.lattice import detect_lattice_columns
    from hrtem.strain.matching import match_templates
    from hrtem.strain.peaks import detect_columns
    from hrtem.strain.templates import get_template

    src = Path(args.input)
    if not src.exists():
        raise HrtemError(f"input {src} does not exist; give an image (.zarr, .npy, .tif) or a CSV of x, y in Å")
    templates = [get_template(t) for t in (args.template or ["hexagonal6"])]
    out = Path(args.output)
    is_positions = src.suffix.lower() in (".csv", ".txt")
    settings = {k: v for k, v in vars(args).items() if k != "func"}
    attrs = provenance(config=settings, rule="hrtem strain", input=str(src), method=args.method)

    if is_positions:
        if args.method == "gpa":
            raise HrtemError("GPA needs an image; for a CSV of positions use --method stm")
        points = read_positions(src)
        image = None
    else:
        image, sampling = read_image(src, variable=args.variable, sampling=args.sampling)
        origin = (0.0, 0.0)
        if args.method == "stm" or args.template:
            # defaults from the lattice of the (first) template; peaks off the lattice rejected
            det = detect_lattice_columns(
                image, sampling, templates[0], nn_distance_a=args.nn_distance, min_distance_a=args.min_distance,
                threshold_rel=args.threshold, dark=args.dark, filter=args.filter, filter_size_px=args.filter_size,
                filter_sigma_px=args.filter_sigma, window_px=args.window, lattice_check=args.lattice_check,
            )
            points = det.positions
            attrs["detection"] = {**det.settings, "rejected": det.rejected, "lattice_score": det.lattice.score}
            print(f"columns: nearest-neighbour distance {det.lattice.nn_distance_a:.3f} Å "
                  f"({det.settings['nn_distance_from']}), min distance {det.settings['min_distance_a']:.2f} Å, "
                  f"{len(points)} kept, rejected {det.rejected}")
        else:
            points = detect_columns(
                image, sampling, filter=args.filter, filter_size_px=args.filter_size, filter_sigma_px=args.filter_sigma,
                min_distance_a=1.0 if args.min_distance is None else args.min_distance,
                threshold_rel=0.2 if args.threshold is None else args.threshold, dark=args.dark,
                window_px=3 if args.window is None else args.window,
            )

    if args.method == "stm":
        res = match_templates(points, templates, nn_distance=args.nn_distance, r_max=args.r_max,
                              min_level=args.min_level)
        table = res.columns()
        table.pop("template")
        write_table(table, out)
        if image is not None:
            maps = {k: to_grid(points, table[k], image.shape, sampling[0], origin=origin)
                    for k in ("exx", "eyy", "exy", "rotation")}
    else:
        r = gpa(image, sampling, g=_parse_g(args.g), mask_radius=args.mask_radius)
        vals = r.at(points)
        n = len(points)
        write_table({"x": points[:, 0], "y": points[:, 1], **vals,
                     "rmsd": np.full(n, np.nan), "matched": np.zeros(n, int)}, out)
        maps = {k: getattr(r, k) for k in ("exx", "eyy", "exy", "rotation")}
        attrs["g_inv_a"] = r.g.tolist()
        attrs["g_reference_inv_a"] = r.g_reference.tolist()
    if image is not None:
        maps_path = Path(args.maps) if args.maps else out.with_suffix(".zarr")
        write_dataset(_maps_dataset(maps, image, sampling, origin, attrs), maps_path)
    print(f"strain ({args.method}): {len(points)} points -> {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``strain`` verb."""
    p = sub.add_parser(
        "strain",
        help="strain by template matching or GPA",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="image (.zarr store with 'image', .npy, .tif) or CSV of x, y (Å)")
    p.add_argument("-o", "--output", required=True, help="output CSV (per point)")
    p.add_argument("--method", choices=("stm", "gpa"), default="stm", help="structural template matching or GPA")
    p.add_argument("--template", action="append", metavar="NAME",
                   help="STM template (repeatable; default hexagonal6), e.g. square4, square8, graphene9, fcc110")
    p.add_argument("--nn-distance", type=float, default=None,
                   help="unstrained nearest-neighbour distance in Å (default: calibrate to zero mean planar strain)")
    p.add_argument("--r-max", type=float, default=None, help="partial-matching RMSD threshold (template units)")
    p.add_argument("--min-level", type=int, default=2, help="fewest matched neighbours of a partial match")
    p.add_argument("--maps", default=None, help="output Zarr store for maps (images only; default OUT.zarr)")
    p.add_argument("--variable", default="image", help="image variable in a Zarr store")
    p.add_argument("--sampling", type=float, default=None, help="pixel size in Å (.npy/.tif; default 1 or the store's)")
    p.add_argument("--filter", choices=("wiener", "gaussian", "none"), default="wiener", help="noise filter")
    p.add_argument("--filter-size", type=int, default=5, help="Wiener window in pixels")
    p.add_argument("--filter-sigma", type=float, default=1.0, help="Gaussian filter sigma in pixels")
    p.add_argument("--min-distance", type=float, default=None,
                   help="minimum (Euclidean) column separation in Å (default: 0.7 × the lattice's nearest-neighbour "
                        "distance, from --nn-distance or the image's own autocorrelation)")
    p.add_argument("--threshold", type=float, default=None,
                   help="relative intensity threshold for peaks (0–1; default: automatic, vacuum level + noise)")
    p.add_argument("--dark", action="store_true", help="columns are dark (intensity minima)")
    p.add_argument("--window", type=int, default=None,
                   help="sub-pixel fitting window in pixels (odd; default: ≈ 0.4 × the nearest-neighbour distance)")
    p.add_argument("--no-lattice-check", dest="lattice_check", action="store_false",
                   help="keep peaks that do not fit the template lattice (default: rejected)")
    p.add_argument("--mask-radius", type=float, default=0.15, help="GPA Gaussian mask sigma as a fraction of |g|")
    p.add_argument("--g", default=None, help="GPA Bragg spots 'gx1,gy1;gx2,gy2' in 1/Å (default: automatic)")
    p.set_defaults(func=run_strain)
