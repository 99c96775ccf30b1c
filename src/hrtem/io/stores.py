"""Atomic Zarr v3 stores written and read through xarray."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from hrtem.errors import StoreError

# Snakemake drops a `.snakemake_timestamp` file into directory() outputs; zarr
# warns that it is not part of the hierarchy. It is harmless.
warnings.filterwarnings("ignore", message=r"Object at \.snakemake_timestamp is not recognized")

# Write every chunk, also one that holds only the fill value (NaN maps, zero
# images): a store is complete exactly when every chunk file is there, which
# open_store checks for every array.
zarr.config.set({"array.write_empty_chunks": True})

#: attribute that marks a store as written by hrtem (and by which layout version)
FORMAT_TAG = "hrtem-store/1"
#: variable attribute holding a digest of the values, verified by read_dataset
CHECKSUM_ATTR = "hrtem_checksum"


def _checksum(values: np.ndarray) -> str:
    """BLAKE2b digest of an array's dtype, shape and bytes."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{values.dtype.str}{values.shape}".encode())
    h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples in attributes to JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path; on success rename it to ``path``.

    Works for files and directories (Zarr stores). An existing target is
    replaced only after the new one is complete; on an exception the temporary
    path is removed and the target is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if target.exists():
            trash = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, trash)
            os.replace(tmp, target)
            _remove(trash)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_dataset(
    data: xr.Dataset | xr.DataArray,
    path: str | os.PathLike,
    *,
    attrs: Mapping[str, Any] | None = None,
    encoding: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``data`` atomically as a Zarr v3 store with provenance attributes.

    Parameters
    ----------
    data
        Dataset, or a named DataArray (stored as a one-variable Dataset).
    path
        Target store path (a directory, conventionally ending in ``.zarr``).
    attrs
        Extra global attributes, typically :func:`hrtem.io.provenance` output.
    encoding
        Per-variable Zarr encoding passed to :meth:`xarray.Dataset.to_zarr`.

    Returns
    -------
    Path
        The written store's path.
    """
    if isinstance(data, xr.DataArray):
        if data.name is None:
            raise ValueError("write_dataset needs a named DataArray (set .name)")
        ds = data.to_dataset()
    else:
        ds = data.copy(deep=False)
    ds.attrs = _jsonable({**ds.attrs, **(attrs or {}), "hrtem_format": FORMAT_TAG})
    for var in ds.variables.values():
        var.attrs = _jsonable({k: v for k, v in var.attrs.items() if k != CHECKSUM_ATTR})
    for name, var in ds.data_vars.items():
        # in-memory variables get a digest so a truncated store is detected on
        # read; lazily written (dask) ensembles are checked chunk-wise elsewhere
        if isinstance(var.data, np.ndarray):
            var.attrs[CHECKSUM_ATTR] = _checksum(var.values)
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, encoding=dict(encoding or {}))
    return Path(path)


def _check_store(path: Path) -> None:
    if not path.exists():
        raise StoreError(f"store {path} does not exist; run the rule that makes it first")
    meta = path / "zarr.json"
    if not meta.is_file():
        raise StoreError(
            f"{path} is not a Zarr v3 store (no zarr.json); "
            "it is truncated or was not written by hrtem: delete it and re-run"
        )
    try:
        root = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise StoreError(f"{path}/zarr.json is unreadable ({err}); delete the store and re-run") from err
    if root.get("attributes", {}).get("hrtem_format") != FORMAT_TAG:
        raise StoreError(
            f"{path} is a Zarr store but not an hrtem store (attribute hrtem_format != "
            f"{FORMAT_TAG!r}); point to a store written by hrtem"
        )


def missing_chunks(path: str | os.PathLike) -> dict[str, int]:
    """Number of chunk files missing per array of a Zarr v3 store (regular grid, default keys).

    Counts files, so it costs a directory listing, not a read: the check every
    :func:`open_store` makes, for single stores and chunked ensembles alike.
    """
    path = Path(path)
    out: dict[str, int] = {}
    for meta in sorted(path.glob("*/zarr.json")):
        try:
            node = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            out[meta.parent.name] = -1
            continue
        if node.get("node_type") != "array":
            continue
        grid = node.get("chunk_grid", {})
        keys = node.get("chunk_key_encoding", {})
        if grid.get("name") != "regular" or keys.get("name") != "default":
            continue
        shape = node["shape"]
        chunk = grid["configuration"]["chunk_shape"]
        expected = int(np.prod([-(-n // c) for n, c in zip(shape, chunk)])) if shape else 1
        if 0 in shape:
            expected = 0
        root = meta.parent / "c" if shape else meta.parent
        found = 0
        if shape:
            for _, _, files in os.walk(root):
                found += len(files)
        else:
            found = 1 if (meta.parent / "c").exists() else 0
        if found < expected:
            out[meta.parent.name] = expected - found
    return out


def open_store(path: str | os.PathLike, *, variables: tuple[str, ...] = ()) -> xr.Dataset:
    """Open an hrtem store lazily (dask-backed) after checking it is one.

    Parameters
    ----------
    path
        Store path.
    variables
        Variables that must be present; a clear :class:`StoreError` otherwise.
    """
    path = Path(path)
    _check_store(path)
    missing = missing_chunks(path)
    if missing:
        name, count = next(iter(missing.items()))
        raise StoreError(
            f"store {path}: {'its metadata is unreadable' if count < 0 else f'{count} chunk(s) of {name!r} are missing'} "
            f"({len(missing)} array(s) incomplete); delete the store and re-run the rule that made it"
        )
    try:
        ds = xr.open_zarr(path, zarr_format=3, consolidated=False)
    except Exception as err:  # zarr raises many types for broken stores
        raise StoreError(f"cannot open store {path}: {err}; delete it and re-run the rule") from err
    missing = [v for v in variables if v not in ds.variables]
    if missing:
        raise StoreError(
            f"store {path} lacks variable(s) {missing}; it holds {sorted(ds.data_vars)}"
        )
    return ds


def read_dataset(path: str | os.PathLike, *, variables: tuple[str, ...] = ()) -> xr.Dataset:
    """Read a whole hrtem store into memory (see :func:`open_store`).

    Raises :class:`StoreError` if a chunk is missing or corrupt.
    """
    ds = open_store(path, variables=variables)
    try:
        ds = ds.load()
    except Exception as err:
        raise StoreError(f"store {path} is corrupt or truncated ({err}); delete it and re-run") from err
    for name, var in ds.data_vars.items():
        expected = var.attrs.get(CHECKSUM_ATTR)
        if expected is not None and _checksum(var.values) != expected:
            raise StoreError(
                f"store {path}: variable {name!r} does not match its checksum (missing or "
                "corrupt chunks); delete the store and re-run the rule that made it"
            )
    return ds
