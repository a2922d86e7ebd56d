"""Blob trigger path patterns: ``{name}`` matches any text, the rest literally, over the whole blob path."""

from __future__ import annotations

from devhost.storage.binding_expressions import blob_pattern


def test_a_blob_path_pattern_matches_the_whole_path() -> None:
    pattern = blob_pattern("in/{name}.txt")
    found = pattern.match("in/a/b.txt")
    assert found is not None and found.group("name") == "a/b"
    # $ would match before a trailing newline: such a blob is not a .txt blob of the pattern.
    assert pattern.match("in/a.txt\n") is None
    assert pattern.match("in/a.txt.bak") is None
