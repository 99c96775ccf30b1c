"""The camera: resampling to the detector pixel, shot noise and MTF (thesis §2.6).

Order (thesis L1040, as PyQSTEM's ``detect``): resample → Poisson → MTF.

Conventions
-----------
Grid
    Arrays are indexed ``[x, y]`` (…, nx, ny); pixel ``i`` sits at
    ``x = i · sampling`` (abTEM's convention), images are periodic.
Resampling
    Bilinear interpolation (periodic) of the intensity at the camera pixel
    positions ``j · sampling_out``; ``n_out = floor(n_in·s_in/s_out)`` so the
    camera pixel is exactly ``sampling_out_a`` and covers the simulated cell.
    The result is scaled so its mean equals the input mean (bilinear point
    sampling of an incommensurate grid is only approximately mean-preserving;
    the dose must not change with the camera pixel).
Shot noise (Eq. 2.22)
    counts ~ Poisson(N), N = D·δx·δy·I with D the dose (e⁻/Å²), δ the camera
    pixel (Å) and I the intensity normalised to 1 for vacuum. ``normalise=True``
    returns counts/(D δ²) (mean ≈ I), else counts.
MTF (Eq. 2.21)
    ``MTF(q) = (1 − c1)/(1 + (q/(2 c2 q_N))^c3) + c1`` with q_N = 1/(2δ) the
    Nyquist frequency of the camera. MTF(0) = 1. The alternative ``exp_gauss``
    model is ``w·exp(−u/b) + (1 − w)·exp(−(u/g)²)``, u = q/q_N,
    ``w = exp_weight``, ``b = exp_width``, ``g = gauss_width``.
    As in PyQSTEM the noisy image is filtered with √MTF in Fourier space, so
    that the *noise spectral density* of a flat image equals MTF(q) — what the
    thesis measures and fits (Fig. 2.4). The same √MTF filter acts on the
    signal (also when the image is noise-free).
Noise spectral density
    ``NSD(u) = ⟨|F[N − N̄]|²⟩_ring / (n_pixels · v)`` with v the white-noise
    variance per pixel before the MTF (default: the image mean, exact for
    Poisson counts), radially averaged in rings of width 2/n in u = q/q_N.
    A flat Poisson image filtered with √MTF has NSD(u) = MTF(u).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from hrtem.errors import HrtemError
from hrtem.optics.ctf import _as_pair

__all__ = [
    "DETECTOR_DEFAULTS",
    "MTF_MODELS",
    "resample_bilinear",
    "resampled_shape",
    "shot_noise",
    "mtf_eq2_21",
    "mtf_exp_gauss",
    "mtf",
    "mtf_grid",
    "apply_mtf",
    "noise_spectral_density",
    "MtfFit",
    "fit_mtf",
    "Detector",
]

MTF_MODELS = ("eq2_21", "exp_gauss", "none")

#: Defaults of the config section ``detector`` (must equal the schema's; tested).
DETECTOR_DEFAULTS: dict[str, Any] = {
    "sampling_a": 0.18,
    "dose_e_per_a2": 1.0e4,
    "output": "normalised",
    "mtf": {
        "model": "eq2_21",
        "c1": 0.1,
        "c2": 0.5,
        "c3": 2.5,
        "exp_weight": 0.3,
        "exp_width": 0.4,
        "gauss_width": 0.8,
    },
}

_MTF_PARAMS = {"eq2_21": ("c1", "c2", "c3"), "exp_gauss": ("exp_weight", "exp_width", "gauss_width"), "none": ()}


# --------------------------------------------------------------------------- resampling
def resampled_shape(
    shape: tuple[int, int], sampling_in_a: float | tuple[float, float], sampling_out_a: float | tuple[float, float]
) -> tuple[int, int]:
    """Camera grid size: ``floor(n·s_in/s_out)`` per axis (at least 1)."""
    sin = _as_pair(sampling_in_a)
    sout = _as_pair(sampling_out_a)
    return tuple(max(1, int(np.floor(n * a / b + 1e-9))) for n, a, b in zip(shape, sin, sout))  # type: ignore[return-value]


def resample_bilinear(
    image: np.ndarray,
    sampling_in_a: float | tuple[float, float],
    sampling_out_a: float | tuple[float, float],
) -> np.ndarray:
    """Bilinear (periodic) resampling of the last two axes to the camera pixel.

    The output pixel ``j`` sits at ``x = j · sampling_out_a``; its shape is
    :func:`resampled_shape`. The mean intensity is conserved (see module
    docstring). Leading axes are carried along.
    """
    image = np.asarray(image, dtype=float)
    nx, ny = image.shape[-2:]
    sin = _as_pair(sampling_in_a)
    sout = _as_pair(sampling_out_a)
    if np.allclose(sin, sout, rtol=1e-12, atol=0):
        return image.copy()
    mx, my = resampled_shape((nx, ny), sin, sout)

    def weights(m: int, n: int, ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = np.arange(m) * ratio
        i0 = np.floor(f).astype(int)
        w = f - i0
        return i0 % n, (i0 + 1) % n, w

    x0, x1, wx = weights(mx, nx, sout[0] / sin[0])
    y0, y1, wy = weights(my, ny, sout[1] / sin[1])
    wx = wx[:, None]
    wy = wy[None, :]
    a = image[..., x0, :]
    b = image[..., x1, :]
    rows = a * (1.0 - wx) + b * wx  # (..., mx, ny)
    out = rows[..., :, y0] * (1.0 - wy) + rows[..., :, y1] * wy
    mean_in = image.mean(axis=(-2, -1), keepdims=True)
    mean_out = out.mean(axis=(-2, -1), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(mean_out != 0, mean_in / mean_out, 1.0)
    return out * scale


# --------------------------------------------------------------------------- shot noise
def shot_noise(
    image: np.ndarray,
    dose_e_per_a2: float,
    pixel_a: float | tuple[float, float],
    rng: np.random.Generator,
    normalise: bool = True,
) -> np.ndarray:
    """Poisson shot noise, mean counts N = D·δx·δy·I per pixel (Eq. 2.22).

    Parameters
    ----------
    image
        Intensity I normalised to 1 for vacuum (negative values are clipped to 0).
    dose_e_per_a2
        Dose D (e⁻/Å², > 0).
    pixel_a
        Camera pixel δ (Å), scalar or (δx, δy).
    rng
        Seeded generator (:func:`hrtem.seeding.rng`).
    normalise
        True: return counts/(D δx δy) (same units as ``image``); False: counts.
    """
    if not (dose_e_per_a2 is not None and dose_e_per_a2 > 0):
        raise HrtemError(f"detector.dose_e_per_a2 must be > 0 (or null for no noise), got {dose_e_per_a2}")
    dx, dy = _as_pair(pixel_a)
    per_pixel = dose_e_per_a2 * dx * dy
    lam = per_pixel * np.clip(np.asarray(image, dtype=float), 0.0, None)
    counts = rng.poisson(lam).astype(float)
    return counts / per_pixel if normalise else counts


# --------------------------------------------------------------------------- MTF
def mtf_eq2_21(u: np.ndarray | float, c1: float, c2: float, c3: float) -> np.ndarray:
    """Eq. 2.21 as a function of u = q/q_N: ``(1 − c1)/(1 + (u/(2 c2))^c3) + c1``."""
    u = np.abs(np.asarray(u, dtype=float))
    return (1.0 - c1) / (1.0 + (u / (2.0 * c2)) ** c3) + c1


def mtf_exp_gauss(u: np.ndarray | float, exp_weight: float, exp_width: float, gauss_width: float) -> np.ndarray:
    """Exponential + Gaussian MTF of u = q/q_N: ``w e^{−u/b} + (1 − w) e^{−(u/g)²}``."""
    u = np.abs(np.asarray(u, dtype=float))
    return exp_weight * np.exp(-u / exp_width) + (1.0 - exp_weight) * np.exp(-((u / gauss_width) ** 2))


def mtf(u: np.ndarray | float, model: str = "eq2_21", **params: float) -> np.ndarray:
    """MTF of the normalised frequency u = q/q_N for ``model`` in :data:`MTF_MODELS`."""
    if model == "eq2_21":
        return mtf_eq2_21(u, params["c1"], params["c2"], params["c3"])
    if model == "exp_gauss":
        return mtf_exp_gauss(u, params["exp_weight"], params["exp_width"], params["gauss_width"])
    if model == "none":
        return np.ones_like(np.asarray(u, dtype=float))
    raise HrtemError(f"detector.mtf.model must be one of {', '.join(MTF_MODELS)}, got {model!r}")


def _normalised_frequency(
    shape: tuple[int, int], sampling_a: float | tuple[float, float], half: bool = False
) -> np.ndarray:
    """u = q/q_N on the FFT grid, q_N = 1/(2δ) per axis (so u ∈ [0, √2]).

    ``half=True``: the ``rfft2`` half grid (last axis non-negative).
    """
    sx, sy = _as_pair(sampling_a)
    nx, ny = shape
    ux = np.fft.fftfreq(nx, sx) * (2.0 * sx)
    uy = (np.fft.rfftfreq(ny, sy) if half else np.fft.fftfreq(ny, sy)) * (2.0 * sy)
    return np.sqrt(ux[:, None] ** 2 + uy[None, :] ** 2)


def mtf_grid(
    shape: tuple[int, int],
    sampling_a: float | tuple[float, float],
    model: str = "eq2_21",
    half: bool = False,
    **params: float,
) -> np.ndarray:
    """MTF on the unshifted FFT grid (``half``: the ``rfft2`` grid) of a camera image."""
    return mtf(_normalised_frequency(shape, sampling_a, half), model, **params)


def apply_mtf(
    image: np.ndarray, sampling_a: float | tuple[float, float], model: str = "eq2_21", **params: float
) -> np.ndarray:
    """Filter the last two axes of a real image with √MTF in Fourier space (real output)."""
    image = np.asarray(image, dtype=float)
    if model == "none":
        return image.copy()
    shape = image.shape[-2:]
    root = np.sqrt(mtf_grid(shape, sampling_a, model, half=True, **params))
    return np.fft.irfft2(np.fft.rfft2(image, axes=(-2, -1)) * root, s=shape, axes=(-2, -1))


# --------------------------------------------------------------------------- NSD and fit
def noise_spectral_density(
    images: np.ndarray | Iterable[np.ndarray], white_variance: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radially averaged, normalised noise spectral density of flat noisy image(s).

    Parameters
    ----------
    images
        One image ``(nx, ny)``, a stack ``(k, nx, ny)``, or an iterable of
        equally shaped 2-D images (streamed: memory stays at one image). The
        periodograms of all images are averaged. The images must carry no
        signal (flat illumination), e.g. Poisson counts filtered by the MTF.
    white_variance
        Variance per pixel of the noise before the MTF. ``None``: the mean of
        the images (Poisson counts: variance = mean).

    Returns
    -------
    u, nsd, n
        Ring centres u = q/q_N (mean u over the ring, DC excluded), the
        normalised NSD (= MTF(u) for a √MTF-filtered flat Poisson image) and
        the number of independent Fourier samples per ring (half plane ×
        images; the relative error of ``nsd`` is about 1/√n).
    """
    if isinstance(images, np.ndarray):
        stack = images[None] if images.ndim == 2 else images.reshape(-1, *images.shape[-2:])
        iterable: Iterable[np.ndarray] = iter(stack)
    else:
        iterable = iter(images)
    power = None
    total_mean = 0.0
    k = 0
    shape: tuple[int, int] | None = None
    for img in iterable:
        img = np.asarray(img, dtype=float)
        if shape is None:
            shape = img.shape
            power = np.zeros((shape[0], shape[1] // 2 + 1))
        elif img.shape != shape:
            raise ValueError(f"all images must have the same shape, got {img.shape} and {shape}")
        m = img.mean()
        f = np.fft.rfft2(img - m)
        power += f.real**2 + f.imag**2
        total_mean += m
        k += 1
    if k == 0 or shape is None or power is None:
        raise ValueError("noise_spectral_density needs at least one image")
    nx, ny = shape
    var = total_mean / k if white_variance is None else float(white_variance)
    if not var > 0:
        raise ValueError("white_variance must be > 0 (the image mean is not positive)")
    power /= k * nx * ny * var
    u = _normalised_frequency((nx, ny), 1.0, half=True)
    du = 2.0 / min(nx, ny)
    ring = np.rint(u / du).astype(int).ravel()
    n = np.bincount(ring)
    with np.errstate(invalid="ignore", divide="ignore"):
        nsd = np.bincount(ring, power.ravel()) / n
        uc = np.bincount(ring, u.ravel()) / n
    keep = (n > 0) & (np.arange(len(n)) > 0)
    return uc[keep], nsd[keep], n[keep] * k


@dataclass(frozen=True)
class MtfFit:
    """Result of :func:`fit_mtf`: parameters, 1σ standard errors, model."""

    params: dict[str, float]
    stderr: dict[str, float]
    model: str
    cost: float


def fit_mtf(
    u: np.ndarray,
    nsd: np.ndarray,
    counts: np.ndarray | None = None,
    model: str = "eq2_21",
    fit_scale: bool = False,
    u_max: float | None = None,
) -> MtfFit:
    """Least-squares fit of an MTF model to a normalised NSD (scipy ``least_squares``).

    Residuals are relative, ``(model − nsd)/model · √n``: a ring average of n
    exponentially distributed |F|² values has relative error 1/√n.
    ``fit_scale`` adds a free amplitude (for an NSD whose normalisation is
    unknown); ``u_max`` drops rings beyond it (default: all, up to √2).
    """
    if model not in ("eq2_21", "exp_gauss"):
        raise HrtemError(f"fit_mtf: model must be eq2_21 or exp_gauss, got {model!r}")
    u = np.asarray(u, float)
    nsd = np.asarray(nsd, float)
    w = np.ones_like(u) if counts is None else np.sqrt(np.asarray(counts, float))
    if u_max is not None:
        sel = u <= u_max
        u, nsd, w = u[sel], nsd[sel], w[sel]
    names = list(_MTF_PARAMS[model])
    if model == "eq2_21":
        p0, lo, hi = [0.05, 0.5, 2.5], [0.0, 1e-3, 0.1], [1.0, 10.0, 20.0]
    else:
        p0, lo, hi = [0.3, 0.4, 0.8], [0.0, 1e-3, 1e-3], [1.0, 10.0, 10.0]
    if fit_scale:
        names.append("scale")
        p0, lo, hi = p0 + [float(np.median(nsd[: max(1, len(nsd) // 10)]))], lo + [0.0], hi + [np.inf]

    def residuals(p: np.ndarray) -> np.ndarray:
        kw = dict(zip(names, p))
        scale = kw.pop("scale", 1.0)
        m = scale * mtf(u, model, **kw)
        return (m - nsd) / np.maximum(m, 1e-12) * w

    res = optimize.least_squares(residuals, p0, bounds=(lo, hi), x_scale="jac")
    dof = max(1, len(u) - len(names))
    s2 = 2.0 * res.cost / dof
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac) * s2
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
    return MtfFit(
        params={k: float(v) for k, v in zip(names, res.x)},
        stderr={k: float(v) for k, v in zip(names, err)},
        model=model,
        cost=float(res.cost),
    )


# --------------------------------------------------------------------------- Detector
def _merged(section: Mapping[str, Any] | None) -> dict[str, Any]:
    section = dict(section or {})
    unknown = sorted(set(section) - set(DETECTOR_DEFAULTS))
    if unknown:
        raise HrtemError(f"detector: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(DETECTOR_DEFAULTS)}")
    mtf_in = dict(section.get("mtf") or {})
    bad = sorted(set(mtf_in) - set(DETECTOR_DEFAULTS["mtf"]))
    if bad:
        raise HrtemError(
            f"detector.mtf: unknown key(s) {', '.join(bad)}; allowed: {', '.join(DETECTOR_DEFAULTS['mtf'])}"
        )
    out = {**DETECTOR_DEFAULTS, **section}
    out["mtf"] = {**DETECTOR_DEFAULTS["mtf"], **mtf_in}
    return out


@dataclass(frozen=True)
class Detector:
    """A camera: pixel size, dose, MTF (module docstring for the model).

    Attributes
    ----------
    sampling_a
        Camera pixel δ (Å).
    dose_e_per_a2
        Dose D (e⁻/Å²); ``None`` = noise-free.
    mtf_model
        One of :data:`MTF_MODELS`.
    mtf_params
        The model's parameters (``c1, c2, c3`` or ``exp_weight, exp_width, gauss_width``).
    output
        ``"normalised"`` (counts/(Dδ²), mean ≈ intensity) or ``"counts"``.
    """

    sampling_a: float = 0.18
    dose_e_per_a2: float | None = 1.0e4
    mtf_model: str = "eq2_21"
    mtf_params: Mapping[str, float] | None = None
    output: str = "normalised"

    def __post_init__(self) -> None:
        if not self.sampling_a > 0:
            raise HrtemError(f"detector.sampling_a must be > 0 Å, got {self.sampling_a}")
        if self.dose_e_per_a2 is not None and not self.dose_e_per_a2 > 0:
            raise HrtemError(f"detector.dose_e_per_a2 must be > 0 or null, got {self.dose_e_per_a2}")
        if self.mtf_model not in MTF_MODELS:
            raise HrtemError(f"detector.mtf.model must be one of {', '.join(MTF_MODELS)}, got {self.mtf_model!r}")
        if self.output not in ("normalised", "counts"):
            raise HrtemError(f"detector.output must be 'normalised' or 'counts', got {self.output!r}")
        params = dict(self.mtf_params or {})
        defaults = DETECTOR_DEFAULTS["mtf"]
        full = {k: float(params.get(k, defaults[k])) for k in _MTF_PARAMS[self.mtf_model]}
        object.__setattr__(self, "mtf_params", full)

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None = None) -> Detector:
        """Build from the config section ``detector`` (missing keys take the defaults)."""
        s = _merged(section)
        m = s["mtf"]
        dose = s["dose_e_per_a2"]
        return cls(
            sampling_a=float(s["sampling_a"]),
            dose_e_per_a2=None if dose is None else float(dose),
            mtf_model=str(m["model"]),
            mtf_params={k: m[k] for k in _MTF_PARAMS.get(str(m["model"]), ())},
            output=str(s["output"]),
        )

    def to_config(self) -> dict[str, Any]:
        """The config section ``detector`` that rebuilds this object."""
        return {
            "sampling_a": self.sampling_a,
            "dose_e_per_a2": self.dose_e_per_a2,
            "output": self.output,
            "mtf": {**DETECTOR_DEFAULTS["mtf"], "model": self.mtf_model, **dict(self.mtf_params or {})},
        }

    def mtf(self, u: np.ndarray | float) -> np.ndarray:
        """This detector's MTF at u = q/q_N."""
        return mtf(u, self.mtf_model, **dict(self.mtf_params or {}))

    def detect(
        self,
        intensity: np.ndarray,
        sampling_a: float | tuple[float, float],
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Camera image of ``intensity`` (…, nx, ny) sampled at ``sampling_a`` Å.

        resample (bilinear, to :attr:`sampling_a`) → Poisson (if a dose is set;
        needs ``rng``) → √MTF filter. Output units per :attr:`output`; with
        ``"counts"`` and no dose the image is scaled by nothing (intensity).
        """
        img = resample_bilinear(intensity, sampling_a, self.sampling_a)
        if self.dose_e_per_a2 is not None:
            if rng is None:
                raise ValueError("Detector.detect needs a seeded rng when a dose is set")
            img = shot_noise(img, self.dose_e_per_a2, self.sampling_a, rng, normalise=self.output == "normalised")
        return apply_mtf(img, self.sampling_a, self.mtf_model, **dict(self.mtf_params or {}))
