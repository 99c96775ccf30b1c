"""Structural template matching: strain recovery, invariance, exactness, partial matches."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrtem.errors import HrtemError
from hrtem.strain import match_templates
from hrtem.strain.matching import branch_and_bound, local_lattices, match_template, sorted_correspondence
from hrtem.strain.naive import match_point
from hrtem.strain.synthetic import deform, deformation_gradient, lattice_points
from hrtem.strain.templates import TEMPLATES, Template

SQ = (np.eye(2), [[0, 0]])
HEX = (np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2]]), [[0, 0]])
HONEY = (np.array([[math.sqrt(3), 0.0], [math.sqrt(3) / 2, 1.5]]), [[0, 0], [1 / 3, 1 / 3]])  # bond 1
FCC110 = (np.array([[1 / math.sqrt(2), 0.0], [0.0, 1.0]]), [[0, 0], [0.5, 0.5]])  # a = 1

# template -> (cell, basis, nearest-neighbour distance of that cell)
LATTICES = {
    "square4": (*SQ, 1.0),
    "square8": (*SQ, 1.0),
    "square12": (*SQ, 1.0),
    "hexagonal6": (*HEX, 1.0),
    "graphene3": (*HONEY, 1.0),
    "graphene9": (*HONEY, 1.0),
    "graphene12": (*HONEY, 1.0),
    "fcc110": (*FCC110, math.sqrt(3 / 8)),
}

strain_component = st.floats(-0.05, 0.05)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(LATTICES)),
    exx=strain_component,
    eyy=strain_component,
    exy=strain_component,
    theta=st.floats(-math.pi, math.pi),
)
def test_homogeneous_strain_recovered_exactly(name, exx, eyy, exy, theta):
    """A lattice under a known homogeneous strain and rotation: ε and θ to 1e-4 (no noise)."""
    cell, basis, nn = LATTICES[name]
    scale = 2.5  # Å per cell unit
    ref = lattice_points(np.asarray(cell) * scale, basis, (40.0, 40.0))
    centre = np.array([20.0, 20.0])
    pts = deform(ref, deformation_gradient(exx, eyy, exy, theta), centre=centre)
    res = match_templates(pts, name, nn_distance=nn * scale)
    inner = np.linalg.norm(ref - centre, axis=1) < 12.0
    assert inner.sum() > 20
    t = TEMPLATES[name]
    assert np.all(res.matched[inner] == t.n_neighbours)
    assert np.max(np.abs(res.exx[inner] - exx)) < 1e-4
    assert np.max(np.abs(res.eyy[inner] - eyy)) < 1e-4
    assert np.max(np.abs(res.exy[inner] - exy)) < 1e-4
    period = t.rotation_period_rad
    dtheta = (res.rotation[inner] - theta + period / 2) % period - period / 2
    assert np.max(np.abs(dtheta)) < 1e-4


def _noisy_hex(rng, n=12, sigma=0.06):
    ref = lattice_points(HEX[0] * 2.0, HEX[1], (2.0 * n, 2.0 * n))
    return ref + rng.normal(0, sigma, ref.shape)


@settings(max_examples=25, deadline=None)
@given(
    angle=st.floats(-math.pi, math.pi),
    scale=st.floats(0.05, 20.0),
    shift=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
    seed=st.integers(0, 2**16),
)
def test_rmsd_invariant_to_rotation_translation_scale(angle, scale, shift, seed):
    rng = np.random.default_rng(seed)
    pts = _noisy_hex(rng)
    base = match_templates(pts, ["hexagonal6", "square4"], rmsd_cap=None)
    c, s = math.cos(angle), math.sin(angle)
    moved = scale * pts @ np.array([[c, s], [-s, c]]) + np.asarray(shift)
    res = match_templates(moved, ["hexagonal6", "square4"], rmsd_cap=None)
    np.testing.assert_allclose(res.rmsd, base.rmsd, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(res.template, base.template)
    # the strain tensor rotates with the points; its invariants do not change
    tr0, tr1 = base.exx + base.eyy, res.exx + res.eyy
    np.testing.assert_allclose(tr1, tr0, atol=1e-6)


def _all_rssd2(w, t):
    perms = np.array(list(itertools.permutations(range(len(w)))))
    tp = t[perms]
    cr = np.sum(w[:, 0] * tp[..., 0] + w[:, 1] * tp[..., 1], axis=1)
    ci = np.sum(w[:, 0] * tp[..., 1] - w[:, 1] * tp[..., 0], axis=1)
    return np.sum(t**2) - (cr**2 + ci**2) / np.sum(w**2), perms


@st.composite
def template_and_lattice(draw):
    n = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        names = [k for k, t in TEMPLATES.items() if t.n_neighbours <= 8]
        tmpl = TEMPLATES[draw(st.sampled_from(sorted(names)))]
    else:
        while True:
            pts = rng.normal(size=(n, 2))
            d = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(n)
            if d.min() > 0.1 and np.linalg.norm(pts, axis=1).min() > 0.1:
                break
        tmpl = Template.from_points("random", pts)
    noise = draw(st.floats(0.0, 0.5))
    n = tmpl.n_neighbours
    ang = rng.uniform(-math.pi, math.pi)
    c, s = math.cos(ang), math.sin(ang)
    w = rng.uniform(0.5, 3) * tmpl.vectors[rng.permutation(n)] @ np.array([[c, s], [-s, c]])
    w = w + rng.normal(0, noise, w.shape)
    w = w[np.argsort(np.linalg.norm(w, axis=1))]
    return tmpl, w


@settings(max_examples=60, deadline=None)
@given(template_and_lattice())
def test_branch_and_bound_equals_brute_force(case):
    """For N ≤ 8 the batched BnB and the per-point BnB return the brute-force optimum."""
    tmpl, w = case
    e_all, perms = _all_rssd2(w, tmpl.vectors)
    k = int(np.argmin(e_all))
    ua, ue = sorted_correspondence(w[None], tmpl)
    assert ue[0] >= e_all[k] - 1e-9  # sorting gives an upper bound
    res = branch_and_bound(w[None], tmpl, ue, upper_assign=ua, rmsd_cap=None, max_nodes=None)
    n = tmpl.n_neighbours
    e_bnb = res.rmsd[0] ** 2 * n
    assert e_bnb == pytest.approx(e_all[k], abs=1e-9)
    assert res.exact[0] and res.level[0] == n
    # the assignment itself, when the optimum is unique (no symmetric twin)
    second = np.partition(e_all, 1)[1] if len(e_all) > 1 else np.inf
    if second - e_all[k] > 1e-7:
        np.testing.assert_array_equal(res.assign[0], perms[k])
    e_loop, _ = match_point(w, tmpl)
    assert e_loop == pytest.approx(e_all[k], abs=1e-9)


def test_batched_equals_per_point_loop_on_noisy_lattice():
    rng = np.random.default_rng(3)
    pts = _noisy_hex(rng, n=12, sigma=0.15)
    t = TEMPLATES["hexagonal12"]
    _, w = local_lattices(pts, t.n_neighbours)
    sel = np.flatnonzero(np.linalg.norm(pts - pts.mean(0), axis=1) < 6.0)
    batched = match_template(w[sel], t, rmsd_cap=None, max_nodes=None)
    loop = np.array([match_point(wi, t)[0] for wi in w[sel]])
    assert len(sel) > 20 and batched.exact.all()
    np.testing.assert_allclose(batched.rmsd**2 * t.n_neighbours, loop, atol=1e-9)


def _disc_particle(radius_cells=7.0, a=2.5):
    ij = np.stack(np.meshgrid(np.arange(-10, 11), np.arange(-10, 11), indexing="ij"), -1).reshape(-1, 2)
    ij = ij[np.linalg.norm(ij, axis=1) <= radius_cells]
    return ij * a, a


def test_partial_matching_at_the_surface_of_a_particle():
    """Surface points get partial matches (fewer points, small RMSD, correct zero strain)."""
    pts, a = _disc_particle()
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    n_lattice_nb = ((d > 0) & (d < a * math.sqrt(2) * 1.01)).sum(1)
    bulk, surface = n_lattice_nb == 8, n_lattice_nb < 8
    full = match_templates(pts, "square8", nn_distance=a)
    part = match_templates(pts, "square8", nn_distance=a, r_max=0.05, min_level=3)
    assert np.all(part.matched[bulk] == 8) and np.all(part.rmsd[bulk] < 1e-9)
    ok = part.matched[surface] > 0
    assert ok.mean() > 0.9
    assert np.all(part.matched[surface][ok] < 8)
    assert np.all(part.rmsd[surface][ok] < 0.05)
    # the partial template measures the (zero) strain of the surface; the full one does not
    err_part = np.nanmax(np.abs(np.r_[part.exx[surface], part.eyy[surface]]))
    err_full = np.nanmax(np.abs(np.r_[full.exx[surface], full.eyy[surface]]))
    assert err_part < 1e-9 < 0.05 < err_full
    assert np.nanmin(full.rmsd[surface]) > 0.05


def test_min_level_rejects_too_small_partial_matches():
    pts, a = _disc_particle()
    res = match_templates(pts, "square8", nn_distance=a, r_max=0.05, min_level=8)
    assert np.all((res.matched == 0) | (res.matched == 8))
    assert np.all(np.isnan(res.exx[res.matched == 0]))


def test_calibration_sets_mean_planar_strain_of_reference_to_zero():
    ref = lattice_points(np.eye(2) * 2.0, [[0, 0]], (40.0, 40.0))
    pts = ref.copy()
    top = ref[:, 1] > 20.0
    pts[top, 1] = 20.0 + (ref[top, 1] - 20.0) * 0.97  # 3 % compression in y above y = 20 Å
    inner_x = (ref[:, 0] > 4) & (ref[:, 0] < 36) & (ref[:, 1] < 36)
    reference = inner_x & (ref[:, 1] > 4.0) & (ref[:, 1] < 14.0)
    res = match_templates(pts, "square8", reference=reference)
    assert abs(np.nanmean(res.planar[reference])) < 1e-12
    deep = ref[:, 1] > 26.0
    np.testing.assert_allclose(res.eyy[deep & inner_x], -0.03, atol=1e-9)
    assert res.reference_distance["square8"] == pytest.approx(2.0 * TEMPLATES["square8"].mean_over_nn, rel=1e-9)


def test_best_template_is_chosen_per_point():
    sq = lattice_points(np.eye(2) * 2.0, [[0, 0]], (20.0, 30.0))
    hx = lattice_points(HEX[0] * 2.0, HEX[1], (20.0, 30.0)) + [40.0, 0.0]
    pts = np.r_[sq, hx]
    res = match_templates(pts, ["square4", "hexagonal6"], nn_distance=2.0)
    centre_sq = np.linalg.norm(pts - [10, 15], axis=1) < 6
    centre_hx = np.linalg.norm(pts - [50, 15], axis=1) < 6
    assert np.all(res.template[centre_sq] == 0) and np.all(res.template[centre_hx] == 1)
    assert np.nanmax(np.abs(res.exx[centre_sq | centre_hx])) < 1e-9


def test_bad_input_raises_hrtem_error():
    with pytest.raises(HrtemError, match="too few"):
        match_templates(np.zeros((3, 2)), "square8")
    with pytest.raises(HrtemError, match="min_level"):
        match_templates(np.random.default_rng(0).random((20, 2)), "square4", min_level=1)
