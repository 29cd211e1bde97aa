"""The lock files (deploy/lock.sh) agree with pyproject.toml's pins and hash every distribution they name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
LOCK_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s\\;]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    """pyproject requirements as {name: version}; each must be an exact `name==version` pin."""
    found = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"{requirement!r} is not pinned with =="
        found[normalized(match["name"])] = match["version"]
    return found


def lock_entries(text: str) -> dict[str, tuple[str, int]]:
    """A requirements file written by `uv pip compile --generate-hashes` as {name: (version, number of hashes)}."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in text.splitlines():
        match = LOCK_ENTRY.match(line)
        if match:
            name = normalized(match["name"])
            entries[name] = (match["version"], 0)
        if name and HASH.search(line):
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
    return entries


def lock_problems(declared: dict[str, str], lock: dict[str, tuple[str, int]]) -> list[str]:
    """Pins of pyproject the lock lacks or holds at another version, and lock entries without a hash."""
    problems = [
        f"{name}=={version} (lock: {lock[name][0] if name in lock else 'missing'})"
        for name, version in declared.items()
        if lock.get(name, ("",))[0] != version
    ]
    return problems + [f"{name} has no hash" for name, (_, hashes) in lock.items() if hashes == 0]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def project() -> dict:
    return pyproject()["project"]


def read_lock(name: str) -> dict[str, tuple[str, int]]:
    return lock_entries((ROOT / name).read_text(encoding="utf-8"))


def test_the_lock_check_catches_a_drifted_pin_a_missing_one_and_a_missing_hash() -> None:
    lock = lock_entries("flask==3.1.3 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via dvcq\npika==1.4.4\n")
    assert lock == {"flask": ("3.1.3", 1), "pika": ("1.4.4", 0)}
    problems = lock_problems({"flask": "3.1.2", "pika": "1.4.4", "pymongo": "4.20.0"}, lock)
    assert problems == ["flask==3.1.2 (lock: 3.1.3)", "pymongo==4.20.0 (lock: missing)", "pika has no hash"]


def test_the_runtime_lock_holds_every_pin_of_pyproject_with_hashes() -> None:
    assert lock_problems(pins(project()["dependencies"]), read_lock("requirements.lock")) == []


def test_the_test_lock_holds_the_runtime_and_test_pins_with_hashes() -> None:
    declared = pins(project()["dependencies"]) | pins(project()["optional-dependencies"]["test"])
    assert lock_problems(declared, read_lock("requirements-test.lock")) == []


def test_the_tests_run_what_production_runs() -> None:
    """Every distribution of the runtime lock is at the same version in the test lock."""
    runtime = {name: version for name, (version, _) in read_lock("requirements.lock").items()}
    test = {name: version for name, (version, _) in read_lock("requirements-test.lock").items()}
    assert len(runtime) > 20
    assert {name: test.get(name) for name in runtime} == runtime


def test_the_test_lock_holds_the_build_backend_the_venv_builds_the_project_with() -> None:
    """deploy/lib.sh installs the project with --no-build-isolation: its backend must come from the lock."""
    declared = pins(pyproject()["build-system"]["requires"])
    assert declared.keys() == {"setuptools"}
    assert lock_problems(declared, read_lock("requirements-test.lock")) == []
