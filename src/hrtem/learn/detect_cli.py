"""``hrtem detect``: find the atoms in a user's micrograph with a trained model (issue 10 §8).

Reads ``.npy``, ``.tif``/``.tiff``, ``.png``, an hrtem Zarr image store, Gatan
``.dm3``/``.dm4`` and ``.emd`` (the last three, and the pixel size of TIFFs,
through rosettasciio), or a folder of such files (one frame each, sorted by
name). A 3-D array is a stack of frames (first axis).

Orientation
    Image files are read as displayed: rows are y, columns are x, so the atom
    at row r, column c is at ``x = c·δ``, ``y = r·δ`` (δ the pixel size; origin
    at the centre of the first pixel). hrtem Zarr stores carry named ``x``/``y``
    dimensions and are read by name.
Pixel size
    From the file (rosettasciio axes, TIFF resolution tags, hrtem store
    coordinates); ``--sampling-a`` overrides it and is required for .npy/.png.
Processing per frame
    rescale to the model's pixel (bilinear; a Gaussian pre-filter of
    0.42·ratio px when shrinking by more than 1.5×, i.e. the camera's pixel
    averaging) → local contrast normalisation with the model's window
    (:func:`hrtem.learn.data.local_contrast_normalise`, as in training) →
    the network on tiles of ``--tile`` px overlapping by ``--overlap`` px (the
    centre of each tile is kept) → :func:`hrtem.learn.postprocess.find_atoms`.
Focal series (models with C > 1 input channels, e.g. the gold counting network)
    The input is a stack of C images of one area in order of increasing
    defocus Δf (the channel order of training, thesis Eq. 6.19): a 3-D array
    ``(C, ny, nx)`` (``.npy``/``.tif``; an hrtem store's ``image (frame, x, y)``
    with C frames) or a folder of C images whose names sort in Δf order
    (e.g. ``df0_-170.tif``, ``df1_-40.tif``, ``df2_90.tif``). A stack of n·C
    frames is n focal series (frames s·C … s·C + C − 1 form series s, reported
    as ``frame`` s). The channels are rescaled one by one and normalised
    together (relative intensities kept, as in training).
Outputs
    A CSV with ``frame, x_a, y_a, class, confidence`` (Å, one table for all
    frames; for a counting model, whose classes are column heights, also
    ``height`` = the class in atoms) and, with ``--maps``, the probability maps
    as a Zarr store (``probability (frame, x, y, class)`` at the model's pixel).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "Micrograph",
    "Detector",
    "read_micrograph",
    "load_detector",
    "rescale",
    "tiled_probabilities",
    "detect_array",
    "series_of",
    "register",
]

IMAGE_SUFFIXES = (".npy", ".tif", ".tiff", ".png", ".dm3", ".dm4", ".emd", ".zarr")
_LENGTH_TO_A = {"a": 1.0, "å": 1.0, "angstrom": 1.0, "ångström": 1.0, "nm": 10.0, "pm": 0.01, "um": 1e4,
                "µm": 1e4, "μm": 1e4, "micron": 1e4, "m": 1e10, "mm": 1e7, "cm": 1e8}
MIN_SIDE_PX = 16


@dataclass
class Micrograph:
    """Frames ``(F, nx, ny)`` float32 indexed [x, y], their pixel size (Å or None) and source."""

    frames: np.ndarray
    sampling_a: float | None
    source: str


@dataclass
class Detector:
    """A loaded model with what it needs to know about its inputs."""

    model: Any
    info: dict
    sampling_a: float
    channels: int
    lcn_sigma_a: float | None
    postprocess: dict = field(default_factory=dict)

    @property
    def counts_atoms(self) -> bool:
        """True for a counting model: its classes are column heights (``class_meaning`` "height")."""
        return str(self.info.get("class_meaning", "")) == "height"


# --------------------------------------------------------------------------- reading
def _unit_scale(scale: float, units: Any, where: str) -> float | None:
    if scale is None or not np.isfinite(scale) or scale <= 0:
        return None
    u = str(units or "").strip().lower().replace("angstroms", "angstrom")
    if u in ("", "<undefined>", "pixel", "pixels", "px", "none"):
        return None
    if u not in _LENGTH_TO_A:
        raise HrtemError(
            f"{where}: pixel size unit {units!r} is not a length (a diffraction pattern?); "
            "give a real-space image or --sampling-a in Å"
        )
    return float(scale) * _LENGTH_TO_A[u]


def _from_rsciio(path: Path) -> tuple[np.ndarray, float | None]:
    """Read with rosettasciio: the first signal with 2 signal axes (rows = y, columns = x)."""
    try:
        if path.suffix.lower() in (".dm3", ".dm4"):
            from rsciio.digitalmicrograph import file_reader
        elif path.suffix.lower() == ".emd":
            from rsciio.emd import file_reader
        else:
            from rsciio.tiff import file_reader
    except ImportError as err:  # pragma: no cover - rosettasciio is a dependency of hrtem[learn]
        raise HrtemError(f"reading {path.suffix} files needs rosettasciio: pip install rosettasciio") from err
    try:
        signals = file_reader(str(path))
    except Exception as err:  # noqa: BLE001 - any parser failure is an unreadable file for the user
        raise HrtemError(f"{path}: cannot read it as {path.suffix} ({type(err).__name__}: {err}); is the file complete?") from err
    for sig in signals:
        data = np.asarray(sig.get("data"))
        axes = [a for a in sig.get("axes", []) if not a.get("navigate", False)]
        if data.ndim in (2, 3) and data.dtype.kind in "biuf":
            pixel = None
            if len(axes) >= 2:
                scales = [_unit_scale(a.get("scale"), a.get("units"), str(path)) for a in axes[-2:]]
                if all(s is not None for s in scales):
                    if abs(scales[0] - scales[1]) > 1e-3 * max(scales):
                        raise HrtemError(f"{path}: non-square pixels {scales} Å are not supported; resample the image")
                    pixel = scales[1]
            return data, pixel
    raise HrtemError(f"{path}: holds no 2-D image (found {len(signals)} signal(s)); export the image itself")


def _from_tiff(path: Path) -> tuple[np.ndarray, float | None]:
    """TIFF through rosettasciio (DM/FEI/ImageJ calibrations); then ImageJ's 'unit'; then the resolution tags."""
    data, pixel = _from_rsciio(path)
    if pixel is not None:
        return data, pixel
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            unit = (tif.imagej_metadata or {}).get("unit")
            tags = tif.pages[0].tags
            xres = tags.get("XResolution")
            res_unit = tags.get("ResolutionUnit")
            if xres is not None:
                num, den = xres.value
                per_pixel = den / num if num else None
                if unit and per_pixel:
                    u = str(unit).replace("\\u00B5", "µ")
                    scaled = _unit_scale(per_pixel, u, str(path))
                    if scaled is not None:
                        return data, scaled
                if res_unit is not None and per_pixel and int(res_unit.value) == 3 and per_pixel < 1e-4:
                    # plain TIFF tags in centimetres per pixel, below 1 µm (dpi of ordinary images ignored)
                    return data, per_pixel * 1e8
    except (tifffile.TiffFileError, OSError, ValueError, KeyError):
        pass
    return data, None


def _from_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("RGB", "RGBA", "P", "LA", "CMYK"):
                im = im.convert("L")
            return np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError) as err:
        raise HrtemError(f"{path}: cannot read it as an image ({err})") from err


def _from_zarr(path: Path) -> tuple[np.ndarray, float | None, bool]:
    """hrtem store (variable ``image``, dims x/y [+ a frame dim]) -> ([frames,] x, y) array, sampling."""
    from hrtem.errors import StoreError
    from hrtem.io import open_store

    try:
        ds = open_store(path)
    except StoreError as err:
        raise HrtemError(str(err)) from err
    names = [n for n, v in ds.data_vars.items() if {"x", "y"} <= set(v.dims)]
    if not names:
        raise HrtemError(f"{path}: no variable with x and y dimensions; write the image with dims (x, y)")
    var = ds["image"] if "image" in names else ds[names[0]]
    other = [d for d in var.dims if d not in ("x", "y")]
    if len(other) > 1:
        raise HrtemError(f"{path}: variable {var.name!r} has extra dims {other}; select one frame axis")
    var = var.transpose(*other, "x", "y")
    sampling = None
    if var.sizes["x"] > 1:
        sampling = float(var["x"][1] - var["x"][0])
    return np.asarray(var.values), sampling, True


def _read_file(path: Path) -> tuple[np.ndarray, float | None]:
    """One file -> ``(F, nx, ny)`` [x, y] frames and its pixel size (Å or None)."""
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        data, sampling, xy = _from_zarr(path)
    else:
        xy = False
        sampling = None
        if suffix == ".npy":
            try:
                data = np.load(path, allow_pickle=False)
            except (ValueError, OSError) as err:
                raise HrtemError(f"{path}: cannot read it as a .npy array ({err})") from err
        elif suffix in (".tif", ".tiff"):
            data, sampling = _from_tiff(path)
        elif suffix == ".png":
            data = _from_png(path)
        elif suffix in (".dm3", ".dm4", ".emd"):
            data, sampling = _from_rsciio(path)
        else:
            raise HrtemError(f"{path}: unknown image type {suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)} or a folder")
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise HrtemError(f"{path}: image data of type {data.dtype} is not a real intensity")
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise HrtemError(f"{path}: expected a 2-D image or a 3-D stack, got an array of shape {data.shape}")
    if not xy:
        data = np.swapaxes(data, -1, -2)  # rows = y, columns = x  ->  [x, y]
    return data.astype(np.float32), sampling


def read_micrograph(path: str | os.PathLike, sampling_a: float | None = None) -> Micrograph:
    """Read a micrograph, a stack or a folder of images (module docstring).

    ``sampling_a`` overrides the pixel size in the file. Raises :class:`HrtemError`
    with one line for a missing, unreadable, empty, too small or non-finite image.
    """
    path = Path(path)
    if not path.exists():
        raise HrtemError(f"{path} does not exist; give an image file or a folder of images")
    if path.is_dir() and path.suffix.lower() != ".zarr":
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        if not files:
            raise HrtemError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        parts = [_read_file(f) for f in files]
        shapes = {p[0].shape[1:] for p in parts}
        if len(shapes) > 1:
            raise HrtemError(f"{path}: the images have different sizes {sorted(shapes)}; a stack needs one size")
        frames = np.concatenate([p[0] for p in parts])
        pixels = {p[1] for p in parts}
        pixel = pixels.pop() if len(pixels) == 1 else None
    else:
        frames, pixel = _read_file(path)
    if frames.size == 0:
        raise HrtemError(f"{path}: the image is empty (shape {frames.shape})")
    if not np.all(np.isfinite(frames)):
        raise HrtemError(f"{path}: the image contains NaN or infinite values; clean or crop it first")
    if sampling_a is not None:
        if not (np.isfinite(sampling_a) and sampling_a > 0):
            raise HrtemError(f"--sampling-a must be a positive pixel size in Å, got {sampling_a}")
        pixel = float(sampling_a)
    if pixel is None:
        raise HrtemError(f"{path}: no pixel size in the file; give it with --sampling-a (Å per pixel)")
    return Micrograph(frames, float(pixel), str(path))


# --------------------------------------------------------------------------- model
def load_detector(path: str | os.PathLike) -> Detector:
    """Load an hrtem ``.keras`` model and the input settings stored in it.

    Reads ``sampling_a`` (required), ``input_channels`` (default 1),
    ``lcn_sigma_a`` (default: ``learn.data.lcn_sigma_a``'s default; ``None`` =
    global normalisation) and ``postprocess`` (keyword arguments of
    :func:`hrtem.learn.postprocess.find_atoms`), directly or under ``learn.data`` /
    ``learn.postprocess`` of a stored config section.
    """
    from hrtem.learn.data import DATA_DEFAULTS
    from hrtem.learn.train import load_model, read_model_info

    info = read_model_info(path)  # HrtemError when missing or not ours, before TensorFlow starts
    learn = info.get("learn") or {}
    data = learn.get("data") or {}
    sampling = info.get("sampling_a", data.get("sampling_a"))
    if sampling is None or not float(sampling) > 0:
        raise HrtemError(f"{path}: the model does not record its pixel size (sampling_a); retrain it with hrtem")
    lcn = info["lcn_sigma_a"] if "lcn_sigma_a" in info else data.get("lcn_sigma_a", DATA_DEFAULTS["lcn_sigma_a"])
    post = dict(info.get("postprocess") or learn.get("postprocess") or {})
    model, info = load_model(path)
    channels = int(info.get("input_channels", data.get("channels", 1)))
    return Detector(model, info, float(sampling), channels, None if lcn is None else float(lcn), post)


# --------------------------------------------------------------------------- processing
def rescale(image: np.ndarray, sampling_in_a: float, sampling_out_a: float) -> np.ndarray:
    """Bilinear resampling of ``(nx, ny)`` so that output pixel j sits at ``j·sampling_out_a`` Å.

    Output size ``floor((n − 1)·s_in/s_out) + 1`` (the same field of view);
    when shrinking by more than 1.5× the image is first smoothed by a Gaussian
    of 0.42·(s_out/s_in) input pixels (≈ averaging over the larger pixel).
    """
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float32)
    ratio = sampling_out_a / sampling_in_a
    if abs(ratio - 1.0) < 1e-9:
        return image.copy()
    if ratio > 1.5:
        image = ndimage.gaussian_filter(image, 0.42 * ratio, mode="nearest")
    n = [int(np.floor((m - 1) / ratio + 1e-9)) + 1 for m in image.shape]
    grid = np.meshgrid(np.arange(n[0]) * ratio, np.arange(n[1]) * ratio, indexing="ij")
    return ndimage.map_coordinates(image, grid, order=1, mode="nearest").astype(np.float32)


def _starts(n: int, tile: int, step: int) -> list[int]:
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile, step)) + [n - tile]
    return sorted(set(starts))


def _keep(starts: list[int], tile: int, n: int) -> list[tuple[int, int]]:
    """Per tile the part [lo, hi) it contributes: the tiles' overlaps are split in the middle."""
    bounds = [0] + [(starts[t + 1] + min(starts[t] + tile, n)) // 2 for t in range(len(starts) - 1)] + [n]
    return [(bounds[t], bounds[t + 1]) for t in range(len(starts))]


def tiled_probabilities(model: Any, image: np.ndarray, tile_px: int = 512, overlap_px: int = 32,
                        batch: int = 4) -> np.ndarray:
    """Probability maps ``(nx, ny, K+1)`` of a normalised image ``(nx, ny, C)`` by overlapping tiles.

    Tiles of ``tile_px`` (made a multiple of 8) overlap by ``2·overlap_px``;
    each overlap is split in its middle, so every pixel comes from a tile in
    which it lies at least ``overlap_px`` from an inner tile edge.
    """
    from hrtem.learn.train import predict

    x = np.asarray(image, np.float32)
    nx, ny = x.shape[:2]
    tile = max(16, int(tile_px) // 8 * 8)
    ov = max(0, min(int(overlap_px), tile // 4))
    step = tile - 2 * ov
    sx, sy = _starts(nx, tile, step), _starts(ny, tile, step)
    kx, ky = _keep(sx, tile, nx), _keep(sy, tile, ny)
    boxes = [(a, b) for a in range(len(sx)) for b in range(len(sy))]
    out: np.ndarray | None = None
    for first in range(0, len(boxes), batch):
        chunk = boxes[first : first + batch]
        tiles = np.stack([x[sx[a] : sx[a] + tile, sy[b] : sy[b] + tile] for a, b in chunk])
        probs = predict(model, tiles, batch=batch)
        if out is None:
            out = np.zeros((nx, ny, probs.shape[-1]), np.float32)
        for (a, b), p in zip(chunk, probs):
            (x0, x1), (y0, y1) = kx[a], ky[b]
            out[x0:x1, y0:y1] = p[x0 - sx[a] : x1 - sx[a], y0 - sy[b] : y1 - sy[b]]
    assert out is not None
    return out


def series_of(frames: np.ndarray, channels: int, source: str = "the input") -> np.ndarray:
    """Frames ``(F, nx, ny)`` → inputs ``(F / C, C, nx, ny)`` of a model with ``channels`` = C inputs.

    C = 1: every frame is one input. C > 1: consecutive groups of C frames are
    focal series in increasing defocus (module docstring); F must be a
    multiple of C.
    """
    f = np.asarray(frames)
    c = int(channels)
    if c < 1:
        raise HrtemError(f"the model has {c} input channels; retrain it with hrtem")
    if len(f) % c:
        raise HrtemError(
            f"{source}: {len(f)} image(s) but the model reads focal series of {c} images (increasing defocus); "
            f"give a multiple of {c} frames, e.g. a ({c}, ny, nx) stack or a folder of {c} images"
        )
    return f.reshape(len(f) // c, c, *f.shape[1:])


def detect_array(frame: np.ndarray, det: Detector, sampling_a: float, tile_px: int = 512, overlap_px: int = 32,
                 threshold: float | None = None, min_separation_a: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Atoms of one frame ``(nx, ny)`` [x, y] (or focal series ``(C, nx, ny)``) with pixel ``sampling_a`` Å.

    A focal series has the model's number of channels, in increasing defocus.
    Returns ``positions_a (M, 2)`` [x, y] in Å (origin at the first pixel's
    centre), ``classes (M,)``, ``confidence (M,)`` and the probability map
    ``(mx, my, K+1)`` at the model's pixel.
    """
    from hrtem.learn.data import local_contrast_normalise
    from hrtem.learn.postprocess import find_atoms

    stack = np.asarray(frame, np.float32)
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or len(stack) != det.channels:
        raise HrtemError(
            f"the model expects {det.channels} input channel(s) (a focal series in increasing defocus when > 1), "
            f"got an input of shape {tuple(np.shape(frame))}"
        )
    chans = [rescale(ch, sampling_a, det.sampling_a) for ch in stack]
    img = chans[0]
    if min(img.shape) < MIN_SIDE_PX:
        raise HrtemError(
            f"the image is {stack.shape[1]}x{stack.shape[2]} px at {sampling_a:g} Å/px, i.e. {img.shape[0]}x{img.shape[1]} px "
            f"at the model's {det.sampling_a:g} Å/px; at least {MIN_SIDE_PX} px per side are needed (check --sampling-a)"
        )
    for k, ch in enumerate(chans):
        if float(ch.std()) == 0.0:
            raise HrtemError(f"the image{f' of channel {k}' if len(chans) > 1 else ''} is constant (no contrast); check the file")
    x = np.stack(chans, axis=-1)
    x = local_contrast_normalise(x, None if det.lcn_sigma_a is None else det.lcn_sigma_a / det.sampling_a)
    probs = tiled_probabilities(det.model, x, tile_px, overlap_px)
    kw = dict(det.postprocess)
    if threshold is not None:
        kw["threshold"] = float(threshold)
    if min_separation_a is not None:
        kw["min_separation_a"] = float(min_separation_a)
    kw = {k: v for k, v in kw.items() if k in ("threshold", "level", "mode", "core", "min_separation_a")}
    pos, cls, conf = find_atoms(probs, det.sampling_a, **kw)
    return np.asarray(pos, float).reshape(-1, 2), np.asarray(cls, int), np.asarray(conf, float), probs


# --------------------------------------------------------------------------- CLI
def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``detect`` verb."""
    p = subparsers.add_parser(
        "detect",
        help="find the atoms in a micrograph with a trained model",
        description=(
            "Find the atoms in a micrograph (.npy, .tif, .png, hrtem .zarr store, .dm3/.dm4, .emd, or a folder "
            "of frames) with an hrtem .keras model; writes a CSV (frame, x_a, y_a, class, confidence; Å, x along "
            "the image columns, y along the rows) and optionally the probability maps (Zarr)."
        ),
    )
    p.add_argument("input", type=Path, help="image file, 3-D stack, or folder of images")
    p.add_argument("--model", "-m", type=Path, required=True, help="trained model (.keras written by hrtem)")
    p.add_argument("-o", "--output", type=Path, required=True, help="CSV of the atoms")
    p.add_argument("--maps", type=Path, default=None, help="Zarr store for the probability maps (optional)")
    p.add_argument("--sampling-a", type=float, default=None, help="pixel size in Å (overrides the file's)")
    p.add_argument("--threshold", type=float, default=None, help="post-processing threshold t (default: the model's)")
    p.add_argument("--min-separation-a", type=float, default=None,
                   help="of two atoms closer than this (Å) keep the more confident (default: the model's, else 0)")
    p.add_argument("--tile", type=int, default=512, help="tile side in px at the model's pixel (default 512)")
    p.add_argument("--overlap", type=int, default=32, help="overlap margin of tiles in px (default 32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``hrtem detect`` (see :func:`register`)."""
    from hrtem.io.tables import write_table

    if args.output.suffix.lower() != ".csv":
        raise HrtemError(f"-o {args.output}: the atom table is a CSV file; end the name in .csv")
    if args.tile < 16 or args.overlap < 0:
        raise HrtemError("--tile must be >= 16 px and --overlap >= 0 px")
    mic = read_micrograph(args.input, args.sampling_a)
    det = load_detector(args.model)
    rows: dict[str, list] = {"frame": [], "x_a": [], "y_a": [], "class": [], "confidence": []}
    if det.counts_atoms:
        rows["height"] = []
    maps = []
    inputs = series_of(mic.frames, det.channels, mic.source)
    for f, frame in enumerate(inputs):
        pos, cls, conf, probs = detect_array(frame, det, mic.sampling_a, args.tile, args.overlap, args.threshold,
                                               args.min_separation_a)
        rows["frame"] += [f] * len(pos)
        rows["x_a"] += pos[:, 0].tolist()
        rows["y_a"] += pos[:, 1].tolist()
        rows["class"] += cls.tolist()
        rows["confidence"] += conf.tolist()
        if det.counts_atoms:
            rows["height"] += cls.tolist()
        if args.maps is not None:
            maps.append(probs)
    write_table({k: np.asarray(v) for k, v in rows.items()}, args.output)
    if args.maps is not None:
        _write_maps(maps, det, mic, args)
    what = "columns" if det.counts_atoms else "atoms"
    unit = f"focal series of {det.channels} images" if det.channels > 1 else "frame(s)"
    print(f"{args.output}: {len(rows['frame'])} {what} in {len(inputs)} {unit} of {mic.source} "
          f"({mic.sampling_a:g} Å/px, model {det.sampling_a:g} Å/px)")
    return 0


def _write_maps(maps: Sequence[np.ndarray], det: Detector, mic: Micrograph, args: argparse.Namespace) -> None:
    import xarray as xr

    from hrtem.io import provenance, write_dataset

    arr = np.stack(maps)
    s = det.sampling_a
    ds = xr.Dataset(
        {"probability": (("frame", "x", "y", "class"), arr, {"long_name": "class probability", "units": "1"})},
        coords={
            "frame": np.arange(arr.shape[0]),
            "x": ("x", np.arange(arr.shape[1]) * s, {"units": "Å"}),
            "y": ("y", np.arange(arr.shape[2]) * s, {"units": "Å"}),
            "class": np.arange(arr.shape[3]),
        },
        attrs={"source": mic.source, "model": str(args.model), "sampling_a": s,
               "input_sampling_a": mic.sampling_a, "classes": "0 = background, k = class k"},
    )
    write_dataset(ds, args.maps, attrs=provenance(config={"model": str(args.model)}, seed=0, rule="detect"))
