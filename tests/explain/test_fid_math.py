"""Closed-form FID gradients and the exact "N - 1 + 1" statistics update (float64).

Oracles: ``torch.cov`` for the statistics, autograd for the gradient, and an independent
scipy construction of the optimal-transport map T' = R (R S' R)^(-1/2) R (seed-methods 2.4).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from iqa.errors import InputError
from iqa.stats import FrechetReference, add_one, feature_gradient, frechet_distance, remove_one


def _sets(d: int = 24, n_r: int = 90, n_g: int = 70, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    real = torch.randn(n_r, d, generator=g, dtype=torch.float64) @ mix
    gen = torch.randn(n_g, d, generator=g, dtype=torch.float64) @ (mix * 1.3) + 0.2
    f = torch.randn(d, generator=g, dtype=torch.float64) * 2
    return real, gen, f


def test_add_one_is_the_unbiased_statistics_of_n_plus_one_samples() -> None:
    _, gen, f = _sets()
    mean, cov = add_one(gen.mean(0), torch.cov(gen.T), len(gen), f)
    both = torch.cat([gen, f[None]])
    torch.testing.assert_close(mean, both.mean(0), rtol=0, atol=1e-13)
    torch.testing.assert_close(cov, torch.cov(both.T), rtol=0, atol=1e-13)


def test_remove_one_inverts_add_one() -> None:
    _, gen, f = _sets()
    both = torch.cat([gen, f[None]])
    mean, cov = remove_one(both.mean(0), torch.cov(both.T), len(both), f)
    torch.testing.assert_close(mean, gen.mean(0), rtol=0, atol=1e-13)
    torch.testing.assert_close(cov, torch.cov(gen.T), rtol=0, atol=1e-13)
    with pytest.raises(InputError, match="at least 3"):
        remove_one(both.mean(0)[:2], torch.eye(2), 2, f[:2])


def test_distance_equals_the_scipy_route() -> None:
    real, gen, _ = _sets()
    ref = FrechetReference.build(real.mean(0), torch.cov(real.T))
    ours = ref.distance(gen.mean(0), torch.cov(gen.T))
    scipy_fd = frechet_distance(real.mean(0), torch.cov(real.T), gen.mean(0), torch.cov(gen.T), method="scipy")
    assert abs(float(ours) - float(scipy_fd)) < 1e-10 * abs(float(scipy_fd))


@pytest.mark.parametrize("ridge", [0.0, 1e-3])
def test_closed_form_feature_gradient_matches_autograd(ridge: float) -> None:
    """Acceptance (issue 5): closed-form and autograd gradients agree to < 1e-6 relative in float64."""
    real, gen, f = _sets()
    ref = FrechetReference.build(real.mean(0), torch.cov(real.T), ridge)
    x = f.clone().requires_grad_(True)
    fd = ref.distance(*add_one(gen.mean(0), torch.cov(gen.T), len(gen), x))
    (auto,) = torch.autograd.grad(fd, x)
    fd_closed, closed = feature_gradient(ref, gen.mean(0), torch.cov(gen.T), len(gen), f)
    assert float((closed - auto).norm() / auto.norm()) < 1e-6
    assert abs(float(fd_closed) - fd.item()) < 1e-10 * abs(fd.item())


def test_gradient_is_the_spec_formula_with_an_independent_transport_map() -> None:
    """dFD/df = (2/N)(mu' - mu_r) + (2/N)(I - T')(f - mu_g), T' built with scipy.linalg.sqrtm."""
    real, gen, f = _sets()
    n = len(gen)
    mu_r, s_r = real.mean(0).numpy(), np.cov(real.numpy(), rowvar=False)
    mean2, cov2 = (t.numpy() for t in add_one(gen.mean(0), torch.cov(gen.T), n, f))
    root = linalg.sqrtm(s_r).real
    t_map = root @ np.linalg.inv(linalg.sqrtm(root @ cov2 @ root).real) @ root
    np.testing.assert_allclose(t_map @ cov2 @ t_map, s_r, atol=1e-9)  # T' pushes N(S') onto N(S_r)
    big_n = n + 1
    expected = 2 / big_n * (mean2 - mu_r) + 2 / big_n * (np.eye(len(f)) - t_map) @ (f.numpy() - gen.mean(0).numpy())
    _, ours = feature_gradient(
        FrechetReference.build(real.mean(0), torch.cov(real.T)), gen.mean(0), torch.cov(gen.T), n, f
    )
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-7, atol=1e-12)


def test_covariance_gradient_matches_autograd() -> None:
    real, gen, _ = _sets()
    ref = FrechetReference.build(real.mean(0), torch.cov(real.T))
    mean, cov = gen.mean(0).clone().requires_grad_(True), torch.cov(gen.T).clone().requires_grad_(True)
    g_mean, g_cov = torch.autograd.grad(ref.distance(mean, cov), (mean, cov))
    _, c_mean, c_cov = ref.gradients(mean.detach(), cov.detach())
    torch.testing.assert_close(c_mean, g_mean, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(c_cov, (g_cov + g_cov.T) / 2, rtol=1e-7, atol=1e-10)
