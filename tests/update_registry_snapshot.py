"""Regenerate tests/registry_snapshot.json: python -m tests.update_registry_snapshot"""

import json

from tests.test_registry import SNAPSHOT, current_snapshot

if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(current_snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} ({len(current_snapshot())} metrics)")
