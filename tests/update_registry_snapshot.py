"""Regenerate every file derived from the registry, in one step:

    python -m tests.update_registry_snapshot

tests/registry_snapshot.json (the spec snapshot), iqa/cli/metric_index_data.py (what ``iqa list``
and ``iqa info`` read without importing torch), docs/metrics.md and the README's metric list.
"""

import json
import runpy
from pathlib import Path

from iqa.cli import metric_index
from tests.test_registry import SNAPSHOT, current_snapshot

if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(current_snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} ({len(current_snapshot())} metrics)")
    metric_index.main()
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "docs" / "generate_metrics_page.py"), run_name="__main__")
