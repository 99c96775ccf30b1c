"""``hrtem classify``: the 3D shape of the particle in a user's HRTEM image (abstract 002).

Reads ``.npy`` (2-D array), ``.tif``/``.png`` (via Pillow) or a Zarr image store
written by hrtem (variable ``image``); the pixel size comes from the Zarr
coordinates or ``--sampling-a`` (required for the other formats). Writes (or
prints) a CSV with one row per shape: ``shape, probability``, most probable first.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from hrtem.errors import HrtemError


def read_image(path: Path) -> tuple[np.ndarray, float | None]:
    """A 2-D image and its pixel size in Å (None when the file does not say)."""
    if not path.exists():
        raise HrtemError(f"image {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False), None
        if suffix in (".tif", ".tiff", ".png"):
            from PIL import Image

            with Image.open(path) as im:
                return np.asarray(im.convert("F"), float).T, None  # [x, y] convention
        if suffix == ".zarr" or path.is_dir():
            from hrtem.io import read_dataset

            ds = read_dataset(path)
            if "image" not in ds:
                raise HrtemError(f"{path} has no variable 'image'; give a .npy, .tif, .png or an hrtem image store")
            img = ds["image"]
            while img.ndim > 2:
                img = img.isel({img.dims[0]: 0})
            x = np.asarray(img[img.dims[0]].values, float)
            return np.asarray(img.values, float), float(x[1] - x[0]) if len(x) > 1 else None
    except HrtemError:
        raise
    except Exception as err:  # unreadable file of a known type
        raise HrtemError(f"cannot read image {path}: {err}") from err
    raise HrtemError(f"image {path}: unknown format {suffix!r}; use .npy, .tif, .png or a .zarr image store")


def load_classifier(path: Path):
    """The keras model and its JSON sidecar; refuses files that are not an hrtem shape classifier."""
    meta_path = Path(path).with_suffix(".json")
    if not Path(path).is_file() or not meta_path.is_file():
        raise HrtemError(f"model {path} or its sidecar {meta_path.name} is missing; train one with 'hrtem shapes train'")
    meta = json.loads(meta_path.read_text())
    if meta.get("hrtem_model") != "shape_classifier":
        raise HrtemError(f"{path} is not an hrtem shape classifier (sidecar says {meta.get('hrtem_model')!r})")
    import keras

    from hrtem.learn.network import custom_objects

    return keras.models.load_model(path, custom_objects=custom_objects(), compile=False), meta


def _cmd(args: argparse.Namespace) -> int:
    from hrtem.learn.shapes import classify_image

    image, sampling = read_image(Path(args.image))
    if args.sampling_a is not None:
        sampling = args.sampling_a
    if sampling is None:
        raise HrtemError(f"the pixel size of {args.image} is unknown; give --sampling-a (Å per pixel)")
    model, meta = load_classifier(Path(args.model))
    prob = classify_image(model, meta, image, float(sampling))
    order = np.argsort(prob)[::-1]
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(["shape", "probability"])
        for i in order:
            w.writerow([meta["shapes"][i], f"{prob[i]:.4f}"])
    finally:
        if args.output:
            out.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify`` verb."""
    p = sub.add_parser("classify", help="3D shape of the particle in an HRTEM image (shape classifier)")
    p.add_argument("image", help="image: .npy, .tif, .png or an hrtem .zarr image store")
    p.add_argument("--model", required=True, help="classifier (.keras with its .json sidecar) from 'hrtem shapes train'")
    p.add_argument("--sampling-a", type=float, default=None, help="pixel size in Å (overrides the file's)")
    p.add_argument("-o", "--output", default=None, help="CSV path (default: print)")
    p.set_defaults(func=_cmd)
