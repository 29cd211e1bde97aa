"""A wheel built from the repository holds every module, every service's templates and static files and every
package's data files, so a non-editable install (the Dockerfile's) serves the same pages and counts the same
working days as the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services")

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The paths inside a wheel built from a copy of the tree (a build in place would leave build/ behind)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    # The backend comes from the venv (the test lock pins it), so the build needs no index.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work / "dist")]
        + [str(source)],
        check=True,
        timeout=150,
    )
    (wheel,) = (work / "dist").glob("dvcq-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def repository_files(pattern: str) -> set[str]:
    """Files of shared/ and services/ matching a glob, as paths relative to the repository root."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_every_template_and_static_file(wheel_files: set[str]) -> None:
    assets = repository_files("**/templates/**/*") | repository_files("**/static/**/*")
    for service in ("intake", "notifier", "aggregator"):
        assert f"services/{service}/templates/base.html" in assets, service
    assert sorted(assets - wheel_files) == []


def test_the_wheel_holds_every_data_file(wheel_files: set[str]) -> None:
    """shared/data/holidays_vn.csv: the official days off that the ladder's working days count."""
    data = repository_files("**/data/**/*")
    assert "shared/data/holidays_vn.csv" in data
    assert sorted(data - wheel_files) == []


def test_the_wheel_holds_every_module(wheel_files: set[str]) -> None:
    """A subpackage that packages.find misses (no __init__.py, or outside its include) would be absent."""
    modules = repository_files("**/*.py")
    assert "shared/settings.py" in modules
    assert sorted(modules - wheel_files) == []
