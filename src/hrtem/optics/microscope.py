"""The objective lens as one object: transfer function and image formation.

:class:`Microscope` holds the optics of one image (thesis Eq. 2.20) and is built
from the config section ``microscope`` (schema
``schemas/sections/microscope.schema.yaml``). Conventions (units, the thesis's
defocus sign, envelope definitions) are those of :mod:`hrtem.optics.ctf`:
lengths in Å, ``defocus_a`` = C10 (negative = underfocus = Scherzer side for
Cs > 0), abTEM ``defocus`` = −C10.

Image formation per frozen-phonon configuration: FFT the exit wave, multiply by
H(q) = exp(−iχ)·A·Es·Et·Ed, inverse FFT, take |·|²; the image is the mean of
these intensities over configurations — complex waves are never averaged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.fft

from hrtem.errors import HrtemError
from hrtem.optics import ctf as _ctf

__all__ = ["Microscope", "MICROSCOPE_DEFAULTS"]

MM_TO_A = 1e7

#: Defaults of the config section ``microscope`` (must equal the schema's; tested).
MICROSCOPE_DEFAULTS: dict[str, Any] = {
    "energy_kev": 300.0,
    "defocus_a": "scherzer",
    "cs_mm": 0.6,
    "c5_mm": 0.0,
    "astigmatism_a": 0.0,
    "astigmatism_angle_deg": 0.0,
    "focal_spread_a": 30.0,
    "illumination_semiangle_mrad": 0.0,
    "deflection_sigma_a": 0.0,
    "objective_aperture_mrad": None,
    "envelopes": {"spatial": True, "temporal": True, "deflection": True},
}


def _merged(section: Mapping[str, Any] | None, where: str = "microscope") -> dict[str, Any]:
    """The section with defaults filled in; unknown keys are a user error."""
    section = dict(section or {})
    unknown = sorted(set(section) - set(MICROSCOPE_DEFAULTS))
    if unknown:
        raise HrtemError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(MICROSCOPE_DEFAULTS)}"
        )
    out = {**MICROSCOPE_DEFAULTS, **section}
    env = dict(MICROSCOPE_DEFAULTS["envelopes"])
    env_in = dict(section.get("envelopes") or {})
    bad = sorted(set(env_in) - set(env))
    if bad:
        raise HrtemError(f"{where}.envelopes: unknown key(s) {', '.join(bad)}; allowed: spatial, temporal, deflection")
    env.update(env_in)
    out["envelopes"] = env
    return out


@dataclass(frozen=True)
class Microscope:
    """Objective lens, partial coherence and aperture of one image.

    All lengths in Å (the config's mm values are converted by
    :meth:`from_config`); ``defocus_a`` is C10 in the thesis convention.

    Attributes
    ----------
    energy_kev
        Beam energy (keV).
    defocus_a
        C10 (Å); negative = underfocus; Scherzer for Cs > 0 is negative.
    cs_a, c5_a
        Third- and fifth-order spherical aberration C30, C50 (Å).
    astigmatism_a, astigmatism_angle_rad
        Two-fold astigmatism |C12| (Å) and its angle φ12 (rad).
    focal_spread_a
        1/e focal spread Δ of Et (Å).
    illumination_semiangle_mrad
        β of Es (mrad).
    deflection_sigma_a
        σ of Ed (Å).
    objective_aperture_mrad
        Hard aperture semi-angle (mrad), ``None`` = no aperture.
    spatial, temporal, deflection
        Switch each envelope on/off.
    """

    energy_kev: float = 300.0
    defocus_a: float = 0.0
    cs_a: float = 0.0
    c5_a: float = 0.0
    astigmatism_a: float = 0.0
    astigmatism_angle_rad: float = 0.0
    focal_spread_a: float = 0.0
    illumination_semiangle_mrad: float = 0.0
    deflection_sigma_a: float = 0.0
    objective_aperture_mrad: float | None = None
    spatial: bool = True
    temporal: bool = True
    deflection: bool = True
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None = None) -> Microscope:
        """Build from the config section ``microscope`` (missing keys take the defaults).

        ``defocus_a: "scherzer"`` resolves to :func:`hrtem.optics.ctf.scherzer_defocus_a`
        (needs ``cs_mm`` ≠ 0).
        """
        s = _merged(section)
        cs_a = float(s["cs_mm"]) * MM_TO_A
        energy = float(s["energy_kev"])
        if not energy > 0:
            raise HrtemError(f"microscope.energy_kev must be > 0, got {energy}")
        defocus = s["defocus_a"]
        if isinstance(defocus, str):
            if defocus.lower() != "scherzer":
                raise HrtemError(
                    f"microscope.defocus_a must be a number (Å) or 'scherzer', got {defocus!r}"
                )
            if cs_a == 0:
                raise HrtemError(
                    "microscope.defocus_a is 'scherzer' but cs_mm is 0; give defocus_a in Å"
                )
            defocus = _ctf.scherzer_defocus_a(cs_a, energy)
        aperture = s["objective_aperture_mrad"]
        env = s["envelopes"]
        return cls(
            energy_kev=energy,
            defocus_a=float(defocus),
            cs_a=cs_a,
            c5_a=float(s["c5_mm"]) * MM_TO_A,
            astigmatism_a=float(s["astigmatism_a"]),
            astigmatism_angle_rad=math.radians(float(s["astigmatism_angle_deg"])),
            focal_spread_a=float(s["focal_spread_a"]),
            illumination_semiangle_mrad=float(s["illumination_semiangle_mrad"]),
            deflection_sigma_a=float(s["deflection_sigma_a"]),
            objective_aperture_mrad=None if aperture is None else float(aperture),
            spatial=bool(env["spatial"]),
            temporal=bool(env["temporal"]),
            deflection=bool(env["deflection"]),
        )

    def to_config(self) -> dict[str, Any]:
        """The config section ``microscope`` that rebuilds this object (defocus resolved)."""
        return {
            "energy_kev": self.energy_kev,
            "defocus_a": self.defocus_a,
            "cs_mm": self.cs_a / MM_TO_A,
            "c5_mm": self.c5_a / MM_TO_A,
            "astigmatism_a": self.astigmatism_a,
            "astigmatism_angle_deg": math.degrees(self.astigmatism_angle_rad),
            "focal_spread_a": self.focal_spread_a,
            "illumination_semiangle_mrad": self.illumination_semiangle_mrad,
            "deflection_sigma_a": self.deflection_sigma_a,
            "objective_aperture_mrad": self.objective_aperture_mrad,
            "envelopes": {
                "spatial": self.spatial,
                "temporal": self.temporal,
                "deflection": self.deflection,
            },
        }

    def attrs(self) -> dict[str, Any]:
        """Flat, JSON-friendly parameters (Å, rad, mrad) for store attributes."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["defocus_convention"] = "C10 (thesis): negative = underfocus; abTEM defocus = -C10"
        return d

    def with_(self, **changes: Any) -> Microscope:
        """A copy with some fields changed (e.g. ``m.with_(defocus_a=-500.0)``)."""
        return replace(self, **changes)

    # ----------------------------------------------------------------- physics
    @property
    def wavelength_a(self) -> float:
        """Relativistic electron wavelength (Å)."""
        return _ctf.wavelength_a(self.energy_kev)

    @property
    def aberrations(self) -> dict[str, float]:
        """Keyword arguments of :func:`hrtem.optics.ctf.chi`."""
        return {
            "defocus_a": self.defocus_a,
            "cs_a": self.cs_a,
            "c5_a": self.c5_a,
            "astigmatism_a": self.astigmatism_a,
            "astigmatism_angle_rad": self.astigmatism_angle_rad,
        }

    def chi(self, qx: np.ndarray | float, qy: np.ndarray | float) -> np.ndarray:
        """Phase error χ (rad) at spatial frequencies (1/Å)."""
        return _ctf.chi(qx, qy, self.wavelength_a, **self.aberrations)

    def envelopes(self, qx: np.ndarray | float, qy: np.ndarray | float) -> dict[str, np.ndarray]:
        """Each factor of |H| separately: ``aperture``, ``spatial``, ``temporal``, ``deflection``.

        A switched-off (or zero-width) envelope is 1.
        """
        lam = self.wavelength_a
        shape = np.broadcast(np.asarray(qx), np.asarray(qy)).shape
        one = np.ones(shape)
        out = {
            "aperture": _ctf.aperture(qx, qy, lam, self.objective_aperture_mrad) * one,
            "spatial": one,
            "temporal": one,
            "deflection": one,
        }
        if self.spatial and self.illumination_semiangle_mrad != 0:
            out["spatial"] = _ctf.spatial_envelope(
                qx, qy, lam, self.illumination_semiangle_mrad, **self.aberrations
            ) * one
        if self.temporal and self.focal_spread_a != 0:
            out["temporal"] = _ctf.temporal_envelope(qx, qy, lam, self.focal_spread_a) * one
        if self.deflection and self.deflection_sigma_a != 0:
            out["deflection"] = _ctf.deflection_envelope(qx, qy, self.deflection_sigma_a) * one
        return out

    def transfer_at(self, qx: np.ndarray | float, qy: np.ndarray | float) -> np.ndarray:
        """Complex H(q) = exp(−iχ)·A·Es·Et·Ed at given frequencies (1/Å)."""
        env = self.envelopes(qx, qy)
        amplitude = env["aperture"] * env["spatial"] * env["temporal"] * env["deflection"]
        return amplitude * np.exp(-1j * self.chi(qx, qy))

    def transfer(
        self, shape: tuple[int, int], sampling_a: float | tuple[float, float]
    ) -> np.ndarray:
        """H(q) on the unshifted FFT grid of an array ``[x, y]`` of ``shape`` (complex128).

        Cached per (shape, sampling): reusing one Microscope over many exit
        waves of the same grid evaluates H once.
        """
        shape = (int(shape[-2]), int(shape[-1]))
        key = (shape, _ctf._as_pair(sampling_a))
        if key not in self._cache:
            qx, qy = _ctf.spatial_frequencies(shape, sampling_a)
            self._cache.clear()
            self._cache[key] = self._transfer_grid(qx, qy)
        return self._cache[key]

    def _transfer_grid(self, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
        """H on a grid, evaluated only inside the objective aperture (0 outside).

        The aperture passes a small disk of the grid (15 mrad at 300 kV and
        0.05 Å sampling: 0.5 % of the points), so χ and the envelopes are
        computed there only; the values are those of :meth:`transfer_at`.
        """
        inside = _ctf.aperture(qx, qy, self.wavelength_a, self.objective_aperture_mrad) > 0
        if inside.all():
            return self.transfer_at(qx, qy)
        qx_in = np.broadcast_to(qx, inside.shape)[inside]
        qy_in = np.broadcast_to(qy, inside.shape)[inside]
        out = np.zeros(inside.shape, dtype=complex)
        out[inside] = self.transfer_at(qx_in, qy_in)
        return out

    def apply(self, waves: np.ndarray, sampling_a: float | tuple[float, float]) -> np.ndarray:
        """Image-plane waves: ψ = F⁻¹[F[ψ0]·H] over the last two axes (complex)."""
        waves = np.asarray(waves)
        h = self.transfer(waves.shape[-2:], sampling_a)
        return np.fft.ifft2(np.fft.fft2(waves, axes=(-2, -1)) * h, axes=(-2, -1))

    def image(
        self, exit_waves: np.ndarray, sampling_a: float | tuple[float, float], workers: int | None = None
    ) -> np.ndarray:
        """Mean image-plane intensity over frozen-phonon configurations.

        Parameters
        ----------
        exit_waves
            Complex exit waves, ``(n_config, nx, ny)`` or one wave ``(nx, ny)``,
            indexed ``[x, y]``.
        sampling_a
            Real-space sampling of the waves (Å), scalar or (sx, sy).
        workers
            Threads of each FFT (``scipy.fft`` workers; the result does not
            depend on it). None = the ``num_workers`` of the Dask config when
            set (the CLI sets it to the rule's threads), else 1.

        Returns
        -------
        numpy.ndarray
            ``(nx, ny)`` float64: ``mean_c |F⁻¹[F[ψ_c]·H]|²``. Intensities are
            averaged, never complex waves. Configurations are processed one at
            a time, so memory stays at about one wave.
        """
        waves = np.asarray(exit_waves)
        if waves.ndim == 2:
            waves = waves[None]
        if waves.ndim != 3:
            raise ValueError(f"exit_waves must be (n_config, nx, ny) or (nx, ny), got shape {waves.shape}")
        # FFTs in the precision of the waves: abTEM's complex64 exit waves take
        # the single-precision path (2.6x faster than complex128 here), complex128
        # input stays exact; intensities accumulate in float64
        dtype = np.result_type(waves.dtype, np.complex64)
        h = self.transfer(waves.shape[-2:], sampling_a).astype(dtype)
        if workers is None:
            import dask  # noqa: PLC0415

            workers = int(dask.config.get("num_workers", None) or 1)
        total = np.zeros(waves.shape[-2:], dtype=float)
        for wave in waves:
            spectrum = scipy.fft.fft2(np.asarray(wave, dtype=dtype), workers=workers)
            spectrum *= h
            psi = scipy.fft.ifft2(spectrum, workers=workers, overwrite_x=True)
            total += psi.real**2 + psi.imag**2
        return total / waves.shape[0]

    # ------------------------------------------------------------------ abTEM
    def to_abtem_ctf(self, **grid: Any):
        """The equivalent ``abtem.CTF`` (without Ed, which abTEM lacks).

        The boundary conversion of the defocus convention: abTEM's
        ``defocus`` = −C10, so ``defocus = -self.defocus_a``; abTEM's aperture
        here is hard (``soft=False``). ``grid``: ``gpts``/``sampling``/``extent``.
        """
        from abtem.transfer import CTF

        return CTF(
            semiangle_cutoff=np.inf if self.objective_aperture_mrad is None else self.objective_aperture_mrad,
            soft=False,
            focal_spread=self.focal_spread_a if self.temporal else 0.0,
            angular_spread=self.illumination_semiangle_mrad if self.spatial else 0.0,
            energy=self.energy_kev * 1e3,
            defocus=-self.defocus_a,
            Cs=self.cs_a,
            C5=self.c5_a,
            astigmatism=self.astigmatism_a,
            astigmatism_angle=self.astigmatism_angle_rad,
            **grid,
        )
