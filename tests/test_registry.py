"""Registry contract: every registered metric passes the shared checks; names never vanish."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest
import torch

import iqa
from iqa.errors import DuplicateMetricError, UnknownMetricError, UnknownOptionError
from iqa.registry import MetricSpec, get_metric_class, register_metric
from tests.helpers.testers import DistributionContract, PerImageContract, make_metric

HERE = Path(__file__).parent
SNAPSHOT = HERE / "registry_snapshot.json"
PER_IMAGE = [n for n in iqa.list_metrics() if iqa.get_spec(n).kind in ("fr", "nr")]


def current_snapshot() -> dict:
    return {n: iqa.get_spec(n).to_dict() for n in iqa.list_metrics()}


# Every available device: the CPU always, CUDA when present (`pytest tests/test_registry.py` on a GPU
# machine runs the whole contract there too).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize(
    "device,name,check",
    [
        (d, n, c)
        for d in DEVICES
        for n in PER_IMAGE
        for c in PerImageContract.CHECKS
        if PerImageContract.applies(n, c, d)
    ],
)
def test_per_image_contract(device: str, name: str, check: str, photos) -> None:  # noqa: ANN001
    getattr(PerImageContract(name, photos, device), check)()


class TextContract:
    """Checks for text-image metrics (kind "text"): image i is scored against prompt i, alone."""

    PROMPTS = ["an astronaut in a white suit", "a cup of coffee", "", "Ünïcödé café 東京 🐶 a rocket on its pad"]

    def __init__(self, name: str, x: torch.Tensor, device: str = "cpu"):
        self.spec = iqa.get_spec(name)
        self.name, self.device = name, torch.device(device)
        self.m = make_metric(name).to(self.device)
        self.x = x.to(self.device)

    def shape_dtype_device(self) -> None:
        for dtype in (torch.float32, torch.float64):
            out = self.m(self.x.to(dtype), self.PROMPTS)
            assert out.shape == (len(self.PROMPTS),) and out.dtype == dtype and out.device.type == self.device.type

    def one_prompt_per_image(self) -> None:
        from iqa.errors import InputError

        with pytest.raises(InputError, match="got 4 images but 3 prompts"):
            self.m(self.x, self.PROMPTS[:3])
        with pytest.raises(InputError, match="got 1 images but 2 prompts"):
            self.m(self.x[:1], self.PROMPTS[:2])
        with pytest.raises(InputError, match="pass text="):
            self.m(self.x, None)
        with pytest.raises(InputError, match="must be strings"):
            self.m(self.x[:1], [3])
        assert self.m(self.x[:1], self.PROMPTS[0]).shape == (1,)  # one image, one string

    def batch_independence(self) -> None:
        """Each pair alone scores as in the batch, and reordering the pairs reorders the scores."""
        whole = self.m(self.x, self.PROMPTS)
        for i in range(len(self.PROMPTS)):
            alone = self.m(self.x[i : i + 1], [self.PROMPTS[i]])
            torch.testing.assert_close(alone, whole[i : i + 1], rtol=1e-5, atol=1e-5)  # float32 summation order
        order = [2, 0, 3, 1]
        shuffled = self.m(self.x[order], [self.PROMPTS[i] for i in order])
        torch.testing.assert_close(shuffled, whole[order], rtol=1e-5, atol=1e-5)

    def prompt_matters(self) -> None:
        """The same images against other prompts score otherwise (the text tower is read)."""
        other = self.m(self.x, ["a photograph of a bird"] * 4)
        assert not torch.equal(other, self.m(self.x, self.PROMPTS))

    def determinism(self) -> None:
        assert torch.equal(self.m(self.x, self.PROMPTS), self.m(self.x, self.PROMPTS))

    def value_range(self) -> None:
        lo, hi = self.spec.value_range
        for dtype in (torch.float32, torch.float64):
            out = self.m(self.x.to(dtype), self.PROMPTS)
            assert bool(((out >= lo) & (out <= hi)).all()), out

    def long_prompts_reported(self) -> None:
        from iqa.errors import InputError
        from iqa.metrics.base import PromptTruncatedWarning

        long = ["word " * 100, *self.PROMPTS[1:]]
        with pytest.warns(PromptTruncatedWarning, match="1 of 4 prompts are longer than 77 tokens"):
            self.m(self.x, long)
        refuse = make_metric(self.name, long_prompts="refuse").to(self.device)
        with pytest.raises(InputError, match="word word.*more than the text tower's 77"):
            refuse(self.x, long)

    def rejects_bad_input(self) -> None:
        from iqa.errors import InputError, ShapeError

        with pytest.raises(InputError, match=r"\[-1, 1\]"):
            self.m(self.x * 2 - 1, self.PROMPTS)
        with pytest.raises(InputError, match="dtype"):
            self.m((self.x * 255).to(torch.uint8), self.PROMPTS)
        with pytest.raises(ShapeError, match="4 dimensions"):
            self.m(self.x[0], self.PROMPTS[0])

    def data_range_scaling(self) -> None:
        a = self.m(self.x.double(), self.PROMPTS)
        b = make_metric(self.name, data_range=255).to(self.device)(self.x.double() * 255, self.PROMPTS)
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)

    def half_precision_accepted(self) -> None:
        out = self.m(self.x.half(), self.PROMPTS)
        assert out.dtype == torch.half and torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), self.m(self.x, self.PROMPTS), rtol=2e-2, atol=2e-2)  # fp16 inputs

    CHECKS = (
        "shape_dtype_device",
        "one_prompt_per_image",
        "batch_independence",
        "prompt_matters",
        "determinism",
        "value_range",
        "long_prompts_reported",
        "rejects_bad_input",
        "data_range_scaling",
        "half_precision_accepted",
    )


@pytest.mark.parametrize(
    "device,name,check",
    [(d, n, c) for d in DEVICES for n in iqa.list_metrics(kind="text") for c in TextContract.CHECKS],
)
def test_text_contract(device: str, name: str, check: str, photos) -> None:  # noqa: ANN001
    getattr(TextContract(name, photos, device), check)()


def test_text_kind_is_listed() -> None:
    """The text-image kind is a registry kind of its own: listed, filtered, never taken for NR."""
    from iqa.metrics.base import TextImageMetric

    text = iqa.list_metrics(kind="text")
    assert {"clipscore", "clipscore_torchmetrics"} <= set(text)
    assert not set(text) & set(iqa.list_metrics(kind="nr"))
    assert all(issubclass(get_metric_class(n), TextImageMetric) for n in text)


@pytest.mark.parametrize(
    "device,name,check",
    [
        (d, n, c)
        for d in DEVICES
        for n in iqa.list_metrics(kind="dist")
        for c in DistributionContract.CHECKS
        if c != "follows_input_device" or d != "cpu"  # on the CPU it would compare the CPU with itself
    ],
)
def test_distribution_contract(device: str, name: str, check: str, photos) -> None:  # noqa: ANN001
    getattr(DistributionContract(name, photos, device), check)()


def test_snapshot_keeps_every_name() -> None:
    """Removing or renaming a metric (or changing its spec) must update the snapshot in the same change.

    Regenerate with: python -m tests.update_registry_snapshot
    """
    old = json.loads(SNAPSHOT.read_text())
    now = current_snapshot()
    missing = sorted(set(old) - set(now))
    assert not missing, f"metrics disappeared from the registry: {missing}"
    new = sorted(set(now) - set(old))
    assert not new, f"new metrics not in {SNAPSHOT.name}: {new}; regenerate it"
    changed = [n for n in now if now[n] != old[n]]
    assert not changed, f"specs changed for {changed}; regenerate {SNAPSHOT.name} if intended"


@pytest.mark.parametrize("name", iqa.list_metrics())
def test_metric_is_documented(name: str) -> None:
    spec = iqa.get_spec(name)
    cls = get_metric_class(name)  # not create(): learned metrics need weights that may be absent
    module = inspect.getmodule(cls)
    assert module.__doc__ and len(module.__doc__) > 100, "module docstring must name paper and reference"
    assert spec.paper and spec.reference_impl and spec.tolerance and spec.summary
    test_file = HERE / "metrics" / Path(*module.__name__.split(".")[2:-1]) / f"test_{module.__name__.split('.')[-1]}.py"
    assert test_file.exists(), f"{module.__name__} has no test file {test_file}"


def test_every_metric_module_is_imported() -> None:
    pkg = Path(iqa.__file__).parent / "metrics"
    listed = ast.parse((pkg / "__init__.py").read_text())
    imported = {f"{n.module}.{a.name}" for n in ast.walk(listed) if isinstance(n, ast.ImportFrom) for a in n.names}
    files = {
        "iqa.metrics." + ".".join(p.relative_to(pkg).with_suffix("").parts)
        for p in pkg.glob("*/*.py")
        if not p.name.startswith("_")
    }
    assert files <= imported, f"metric modules not imported in iqa/metrics/__init__.py: {sorted(files - imported)}"


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownMetricError, match="ssim") as e:
        iqa.create("ssmi")
    assert isinstance(e.value, KeyError) and "ssim" in e.value.suggestions


def test_unknown_option_rejected() -> None:
    with pytest.raises(UnknownOptionError, match="did you mean 'sigma'"):
        iqa.create("ssim", sigm=2.0)
    with pytest.raises(TypeError):
        iqa.create("psnr", kernel_size=3)


def test_list_filters() -> None:
    assert iqa.list_metrics(pattern="ssim*") == ["ssim", "ssim_rgb"]
    assert set(iqa.list_metrics(kind="fr")) >= {"psnr", "psnr_y", "ssim", "ssim_rgb", "ms_ssim"}
    assert iqa.list_metrics(kind="nr", pattern="psnr*") == []


def test_duplicate_registration_raises() -> None:
    spec = iqa.get_spec("psnr")
    with pytest.raises(DuplicateMetricError):
        register_metric(spec)(type("Other", (), {}))


def test_spec_is_frozen_and_validated() -> None:
    spec = iqa.get_spec("ssim")
    with pytest.raises(AttributeError):
        spec.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="kind"):
        MetricSpec(
            name="x",
            kind="bad",
            higher_is_better=True,
            value_range=(0, 1),
            differentiable=True,  # type: ignore[arg-type]
            color="y",
            paper="p",
            reference_impl="r",
            tolerance="t",
        )


@pytest.mark.parametrize("name", [n for n in iqa.list_metrics() if iqa.get_spec(n).offline is not None])
def test_offline_build_names_real_options(name: str) -> None:
    """Every option an offline build feeds is a declared constructor option of the metric."""
    from iqa.options import option_infos

    offline = iqa.get_spec(name).offline
    assert offline is not None
    fed = [opt for opt, _ in offline.files] + [opt for opt, _ in offline.stand_ins]
    assert set(fed) <= set(option_infos(get_metric_class(name))), (name, fed)
