"""``folder_features``: the feature cache also covers folders with unreadable files.

Issue 20 item 10: a folder with one broken file wrote no cache, so every rerun extracted it again.
"""

from __future__ import annotations

from pathlib import Path

from iqa.api.features import folder_features
from tests.explain.test_fid_explain import CountingExtractor, _folder


def test_a_folder_with_a_broken_file_is_cached_with_its_failure(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs", 6, 0)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    ext, cache = CountingExtractor(), tmp_path / "cache"
    first = folder_features(root, ext, cache_dir=cache, batch_size=4, workers=0)
    assert ext.seen == 6 and len(first.failed) == 1 and "broken.png" in first.failed[0]
    again = folder_features(root, ext, cache_dir=cache, batch_size=4, workers=0)
    assert ext.seen == 6, "the rerun extracted again"
    assert again.names == first.names and again.failed == first.failed
    assert (again.features == first.features).all()
    # Another decompression limit can change which files fail: a fresh extraction.
    folder_features(root, ext, cache_dir=cache, batch_size=4, workers=0, max_pixels=10**8)
    assert ext.seen == 12
