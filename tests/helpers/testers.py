"""Contract checks shared by every metric of a kind (driven by the registry in test_registry.py).

Tolerances by dtype: a score must not depend on the rest of the batch beyond float rounding of
the same operations (float32: 1e-5 absolute on scores of order 1; PSNR scales by ~1e1 so we use
relative tolerances).
"""

from __future__ import annotations

import math

import pytest
import torch

import iqa
from iqa.errors import InputError, ShapeError
from iqa.metrics.base import FRMetric
from tests.helpers.distort import noisy

RTOL = {torch.float32: 1e-5, torch.float64: 1e-10}
ATOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _call(m: iqa.api.core.Metric, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
    return m(img, ref) if isinstance(m, FRMetric) else m(img)


def _close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> bool:
    finite = torch.isfinite(a) & torch.isfinite(b)
    same_inf = (a == b) | finite
    return bool(same_inf.all()) and torch.allclose(a[finite], b[finite], rtol=RTOL[dtype], atol=ATOL[dtype])


def make_metric(name: str, **options: object) -> object:
    """``iqa.create(name)`` with the weights its spec's ``offline`` build names (real or stand-in)."""
    from tests.helpers.stand_ins import offline_options

    return iqa.create(name, **offline_options(name, options), **options)


class PerImageContract:
    """Checks for FR/NR metrics on real photos ``x`` (N, 3, H, W)."""

    def __init__(self, name: str, x: torch.Tensor, device: str = "cpu"):
        self.name = name
        self.spec = iqa.get_spec(name)
        self.device = torch.device(device)
        self.m = make_metric(name).to(self.device)
        self.x = x.to(self.device)
        self.y = noisy(x, 0.05).to(self.device)

    def shape_and_dtype(self) -> None:
        for dtype in (torch.float32, torch.float64):
            out = _call(self.m, self.y.to(dtype), self.x.to(dtype))
            assert out.shape == (self.x.shape[0],)
            assert out.dtype == dtype
            assert out.device.type == self.device.type, (
                f"scores came back on {out.device}, the input is on {self.device}"
            )

    def device_agrees_with_cpu(self) -> None:
        """On an accelerator the metric follows its input and agrees with the CPU result (float64 inputs)."""
        here = _call(self.m, self.y.double(), self.x.double())
        cpu = _call(make_metric(self.name), self.y.double().cpu(), self.x.double().cpu())
        assert here.device.type == self.device.type
        assert torch.allclose(here.cpu(), cpu, rtol=1e-6, atol=1e-6), (here, cpu)

    def half_precision_accepted(self) -> None:
        out = _call(self.m, self.y.half(), self.x.half())
        ref = _call(self.m, self.y, self.x)
        assert out.shape == ref.shape and torch.isfinite(out).all()
        assert torch.allclose(out.float(), ref, rtol=2e-2, atol=2e-2)  # inputs rounded to fp16 (~5e-4)

    def batch_independence(self) -> None:
        whole = _call(self.m, self.y, self.x)
        for i in range(self.x.shape[0]):
            alone = _call(self.m, self.y[i : i + 1], self.x[i : i + 1])
            assert _close(alone, whole[i : i + 1], torch.float32), (alone, whole[i])

    def determinism(self) -> None:
        a = _call(self.m, self.y, self.x)
        b = _call(self.m, self.y, self.x)
        assert torch.equal(a, b)

    def float64_agrees(self) -> None:
        a = _call(self.m, self.y, self.x).double()
        b = _call(self.m, self.y.double(), self.x.double())
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)

    def _in_range(self, out: torch.Tensor, what: str) -> None:
        """Inside the declared ``value_range`` with no tolerance (a bound is a promise; NaN fails)."""
        lo, hi = self.spec.value_range
        assert bool(((out >= lo) & (out <= hi)).all()), f"{what} ({out.dtype}): {out.tolist()} not in [{lo}, {hi}]"

    def value_range(self) -> None:
        """Scores of distorted images (and, NR, of the photos) lie in ``value_range``, float32 and float64."""
        for dtype in (torch.float32, torch.float64):
            self._in_range(_call(self.m, self.y.to(dtype), self.x.to(dtype)), "distorted")
            if self.spec.kind == "nr":  # the photos themselves: NR metrics have no pair to make identical
                self._in_range(_call(self.m, self.x.to(dtype), self.x.to(dtype)), "photos")

    def identity_is_best(self) -> None:
        """Identical inputs give the spec's identity value, inside ``value_range``, float32 and float64.

        The identity value is met within 1e-6 absolute (float rounding of a ratio or a sum of
        zeros; an infinite identity exactly); the range has no tolerance: a score of 1.0000062 for a
        metric declared in [0, 1] fails.
        """
        for dtype in (torch.float32, torch.float64):
            x = self.x.to(dtype)
            out = _call(self.m, x, x)
            assert out.dtype == dtype
            self._in_range(out, "identical inputs")
            if not self.spec.identity_fixed:  # no fixed value: at least better than a heavily distorted copy
                worse = _call(self.m, noisy(self.x, 0.3).to(dtype), x)
                assert bool(((out >= worse) if self.spec.higher_is_better else (out <= worse)).all()), (out, worse)
                continue
            if self.spec.identity_is_head_intercept:  # a learned head on feature differences: zero difference
                target = float(self.m.regressor.intercept)
                assert torch.allclose(out, torch.full_like(out, target), atol=1e-6), (dtype, out, target)
                continue
            best = self.spec.identity
            if math.isinf(best):
                assert bool((out == best).all()), (dtype, out)
            else:
                assert torch.allclose(out, torch.full_like(out, best), rtol=0, atol=1e-6), (dtype, out.tolist())

    def direction(self) -> None:
        """Scores get worse as noise grows, in the direction the spec declares."""
        # A spec may declare the noise level from which its scores are monotone (NR statistics can
        # stay flat under noise far below an image's own texture).
        start = self.spec.noise_monotone_from
        levels = [s for s in (0.01, 0.03, 0.1, 0.3) if s >= start]
        scores = torch.stack([_call(self.m, noisy(self.x, s), self.x) for s in levels])  # (L, N)
        diffs = scores[1:] - scores[:-1]
        worse = diffs < 0 if self.spec.higher_is_better else diffs > 0
        assert bool(worse.all()), scores

    def gradients(self) -> None:
        y = self.y.clone().requires_grad_(True)
        iqa.as_loss(self.m)(y, self.x if self.spec.kind == "fr" else None).backward()
        assert y.grad is not None and torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0

    def data_range_scaling(self) -> None:
        a = _call(self.m, self.y.double(), self.x.double())
        m255 = make_metric(self.name, data_range=255).to(self.device)
        b = _call(m255, self.y.double() * 255, self.x.double() * 255)
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-9)

    def rejects_bad_input(self) -> None:
        with pytest.raises(InputError, match=r"\[-1, 1\]"):
            _call(self.m, self.y * 2 - 1, self.x * 2 - 1)
        with pytest.raises(InputError, match="dtype"):
            _call(self.m, (self.y * 255).to(torch.uint8), (self.x * 255).to(torch.uint8))
        with pytest.raises(ShapeError, match="4 dimensions"):
            _call(self.m, self.y[0], self.x[0])
        if self.spec.kind == "fr":
            with pytest.raises(ShapeError, match="same shape"):
                self.m(self.y[:, :, :-2], self.x)

    def too_small_is_clear(self) -> None:
        tiny = self.x[:, :, : self.spec.min_size - 1, : self.spec.min_size - 1]
        with pytest.raises(InputError, match="at least|needs"):
            _call(self.m, tiny, tiny)

    @staticmethod
    def applies(name: str, check: str, device: str = "cpu") -> bool:
        """Whether ``check`` is meaningful for metric ``name`` (decided at collection, not skipped)."""
        import iqa

        spec = iqa.get_spec(name)
        from iqa.registry import get_metric_class

        cls = get_metric_class(name)
        return {
            "identity_is_best": spec.kind == "fr",
            "gradients": spec.differentiable,
            "data_range_scaling": "data_range" in cls.option_names(),
            "too_small_is_clear": spec.min_size > 1,
            "device_agrees_with_cpu": device != "cpu",  # on the CPU it would compare the CPU with itself
        }.get(check, True)

    CHECKS = (
        "shape_and_dtype",
        "device_agrees_with_cpu",
        "half_precision_accepted",
        "batch_independence",
        "determinism",
        "float64_agrees",
        "value_range",
        "identity_is_best",
        "direction",
        "gradients",
        "data_range_scaling",
        "rejects_bad_input",
        "too_small_is_clear",
    )


class DistributionContract:
    """Checks for distribution metrics, with a small injected extractor (the real ones need weights).

    The metric and the images live on ``device``; its state must follow them.
    """

    def __init__(self, name: str, x: torch.Tensor, device: str = "cpu"):
        self.name = name
        self.spec = iqa.get_spec(name)
        self.device = torch.device(device)
        x = x.to(self.device)
        self.x = torch.cat([x, x.flip(-1), x.flip(-2), x.transpose(-1, -2)] * 6)  # 96 images, 16-d features
        self.y = (self.x * 0.6 + 0.3).clamp(0, 1)

    def make(self, device: torch.device | None = None):  # noqa: ANN201
        from tests.helpers.fake_extractor import TinyExtractor

        return iqa.create(self.name, extractor=TinyExtractor()).to(device or self.device)

    def _result(self, m, x, y, split: int | None = None):  # noqa: ANN001, ANN202
        from iqa.metrics.base import DistributionResult

        step = split or len(x)
        for i in range(0, len(x), step):
            m.update(x[i : i + step], real=True)
            m.update(y[i : i + step], real=False)
        out = m.compute()
        assert isinstance(out, DistributionResult) and math.isfinite(out.value), out
        assert (out.n_real, out.n_fake) == (len(x) if m.uses_real else None, len(y)), out
        return out

    def _value(self, m, x, y, split: int | None = None) -> float:  # noqa: ANN001
        return self._result(m, x, y, split).value

    def _features(self, m):  # noqa: ANN001, ANN202
        with torch.no_grad():
            return m.extractor(self.x), m.extractor(self.y)

    def batching_does_not_matter(self) -> None:
        a = self._value(self.make(), self.x, self.y)
        b = self._value(self.make(), self.x, self.y, split=13)
        assert b == pytest.approx(a, rel=1e-6)

    def reset_starts_over(self) -> None:
        m = self.make()
        first = self._value(m, self.x, self.y)
        m.reset()
        assert self._value(m, self.x, self.y) == pytest.approx(first, rel=1e-12)

    def different_sets_score_worse(self) -> None:
        if not self.make().uses_real:  # one-sided (IS, Vendi): the real set is ignored, the generated one counts
            value = self._value(self.make(), self.x, self.y)
            assert self._value(self.make(), self.y, self.y) == pytest.approx(value, rel=1e-12)
            assert self._value(self.make(), self.y, self.x) != pytest.approx(value, rel=1e-6)
            return
        same = self._value(self.make(), self.x, self.x.flip(0))
        diff = self._value(self.make(), self.x, self.y)
        assert (diff > same) if not self.spec.higher_is_better else (diff < same)

    def features_equal_images(self) -> None:
        """update_features with the extractor's features gives what update gives with the images."""
        a = self._value(self.make(), self.x, self.y)
        m = self.make()
        fx, fy = self._features(m)
        m.update_features(fx, real=True)
        m.update_features(fy, real=False)
        assert float(m.compute()) == pytest.approx(a, rel=1e-9)
        with pytest.raises(InputError, match="shape"):
            m.update_features(fx[:, :-1], real=False)

    def stats_merge_or_clear_refusal(self) -> None:
        """Statistics: merged exactly where the metric can use them, else refused with a clear error."""
        from iqa.stats import GaussianStats

        m = self.make()
        fx, fy = self._features(m)
        sx, sy = GaussianStats.from_features(fx), GaussianStats.from_features(fy)
        if not m.uses_real:  # one-sided: generated statistics refused, a real side in any form ignored
            with pytest.raises(InputError, match="needs the features"):
                m.update_stats(sy, real=False)
            m.set_reference(sx)
            m.update_stats(sx, real=True)
            m.update_features(fy, real=False)
            out = m.compute()
            assert out.value == pytest.approx(self._value(self.make(), self.x, self.y), rel=1e-9)
            assert (out.n_real, out.n_fake) == (None, len(self.y))
            return
        try:
            m.update_stats(sy, real=False)
        except InputError as e:
            assert "needs the features" in str(e)
            with pytest.raises(InputError, match="needs the features"):
                m.set_reference(sx)
            return
        m.set_reference(sx)
        with pytest.raises(InputError, match="set_reference"):
            m.update(self.x, real=True)
        out = m.compute()
        assert out.value == pytest.approx(self._value(self.make(), self.x, self.y), rel=1e-9)
        assert (out.n_real, out.n_fake) == (len(self.x), len(self.y))

    def follows_input_device(self) -> None:
        """Given images on an accelerator, a CPU-built metric follows them and agrees with the CPU."""
        dev = self.device if self.device.type != "cpu" else torch.device("cuda") if torch.cuda.is_available() else None
        if dev is None:
            pytest.skip("needs CUDA: on the CPU alone it would compare the CPU with itself")
        cpu = self._value(self.make(torch.device("cpu")), self.x.cpu(), self.y.cpu())
        m = self.make(torch.device("cpu"))
        here = self._value(m, self.x.to(dev), self.y.to(dev))
        assert m.extractor.weights_device().type == dev.type
        assert here == pytest.approx(cpu, rel=1e-4, abs=1e-6)  # float32 convolutions differ by device

    CHECKS = (
        "batching_does_not_matter",
        "reset_starts_over",
        "different_sets_score_worse",
        "features_equal_images",
        "stats_merge_or_clear_refusal",
        "follows_input_device",
    )
