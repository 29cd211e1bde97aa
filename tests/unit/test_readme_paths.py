"""The README's "Where to change what" names real paths: a reader who follows it lands on a file that exists."""

from __future__ import annotations

import re

from shared.settings import ROOT


def _where_to_change_what() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Where to change what", 1)[1].split("\n## ", 1)[0]


def test_every_path_in_where_to_change_what_exists() -> None:
    section = _where_to_change_what()
    paths = [p for p in re.findall(r"`([\w./<>-]+)`", section) if "/" in p]
    assert len(paths) >= 15, paths
    services = [d.name for d in (ROOT / "services").iterdir() if (d / "service.py").exists()]
    missing = []
    for path in paths:
        expanded = [path.replace("<name>", s) for s in services] if "<name>" in path else [path]
        if not any((ROOT / p.rstrip("/")).exists() for p in expanded):
            missing.append(path)
    assert not missing, missing
