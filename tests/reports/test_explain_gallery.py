"""The ``iqa explain fid`` gallery: the value's name with a ridge, and what a negative contribution means.

Sign convention checked against the code: ``contribution = fid_with - fid_without``
(:func:`iqa.explain.fid_sensitivity.sensitivity_maps`; tested in
tests/explain/test_sensitivity_maps.py::test_leave_one_out_contribution_is_fid_with_minus_without).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from iqa.explain.fid_explain import ExplainedImage, FIDExplanation
from iqa.reports.explain_gallery import write_explain_gallery


def _explanation(leave_one_out: bool, ridge: float) -> FIDExplanation:
    g = torch.Generator().manual_seed(0)
    items = [
        ExplainedImage(name, torch.rand(3, 16, 16, generator=g), torch.rand(4, 4, generator=g), 10.0 + c, c, [])
        for name, c in (("raises.png", 0.5), ("lowers.png", -0.2))
    ]
    settings = {"leave_one_out": leave_one_out, "ridge": ridge, "weighting": "grad_sq", "route": "closed_form"}
    return FIDExplanation("tiny", 10.3, 20, 12, items, None, settings)


def _cards(page: str) -> dict[str, str]:
    """Card HTML by image name."""
    return {re.match(r"<h3>([^<]+)</h3>", c)[1]: c for c in page.split('<div class="card">')[1:]}  # type: ignore[index]


def test_negative_contributions_are_explained_beside_the_number(tmp_path: Path) -> None:
    paths = write_explain_gallery(_explanation(True, 0.0), tmp_path / "loo")
    page = paths["html"].read_text()
    cards = _cards(page)
    assert "FID contribution <b>-0.2000</b>" in cards["lowers.png"]
    assert "removing it would raise the distance" in cards["lowers.png"]
    assert "Negative" not in cards["raises.png"]  # a positive contribution needs no sentence
    assert "negative ones lower it (removing them would raise FID)" in page  # the convention, in the header
    page = write_explain_gallery(_explanation(False, 0.0), tmp_path / "added")["html"].read_text()
    assert "adding this image to the generated set would lower its FID" in _cards(page)["lowers.png"]


def test_a_ridge_names_the_value_fd_not_fid(tmp_path: Path) -> None:
    paths = write_explain_gallery(_explanation(True, 1e-3), tmp_path)
    page = paths["html"].read_text()
    header = page.split("<h2>")[0].split("</h1>")[1]
    assert header.startswith("<p>FD (ridge 0.001) 10.3000 between 20 reference and 12 generated images")
    assert "so not FID" in header and header.replace("so not FID", "").count("FID") == 0
    assert "FD (ridge 0.001) contribution <b>+0.5000</b>" in _cards(page)["raises.png"]
    summary = json.loads(paths["summary"].read_text())
    assert summary["value_label"] == "FD (ridge 0.001)" and summary["fid"] == 10.3
