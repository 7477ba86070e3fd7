"""Record OpenCV's own BRISQUE scores (golden values for brisque_opencv).

    python tests/golden/make_brisque_opencv.py

Needs opencv-contrib (cv2.quality) and ../shared beside the checkout. Scores are
cv2.quality.QualityBRISQUE_compute on the 8-bit BGR files as cv2.imread reads them, with the
model and range files in ../shared/weights/brisque. Recorded once so the comparison runs even
where another OpenCV wheel has replaced the contrib build of cv2 (they share the module name).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared"
FILES = ("TID-refs/*.bmp", "Set14/*.bmp")


def inputs() -> list[str]:
    root = SHARED / "data" / "images"
    return [str(p.relative_to(root)) for pattern in FILES for p in sorted(root.glob(pattern))]


def main() -> None:
    import cv2

    folder = SHARED / "weights" / "brisque"
    model, rng = str(folder / "brisque_model_live.yml"), str(folder / "brisque_range_live.yml")
    values = {
        rel: float(cv2.quality.QualityBRISQUE_compute(cv2.imread(str(SHARED / "data" / "images" / rel)), model, rng)[0])
        for rel in inputs()
    }
    doc = {
        "metric": "brisque_opencv",
        "source": "cv2.quality.QualityBRISQUE_compute (opencv-contrib) with ../shared/weights/brisque/brisque_{model,range}_live.yml",
        "command": "python tests/golden/make_brisque_opencv.py",
        "date": datetime.date.today().isoformat(),
        "versions": {"opencv": cv2.__version__},
        "inputs": "../shared/data/images/" + " and ".join(FILES) + " read by cv2.imread (8-bit BGR)",
        "values": values,
        "rtol": 0.0,
        "atol": 1.0,
        "why_tolerance": "OpenCV computes in float32; flat-area MSCN values and near-ties of its AGGD grid walk "
        "differ between two float32 implementations: median |diff| about 1e-3, at most 0.6 measured (0-100 scale)",
    }
    (HERE / "brisque_opencv.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
