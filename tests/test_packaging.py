"""Packaging: the wheel's metadata declares ranges, the requirements files are the exact lock."""

import configparser

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from .conftest import ROOT


def _setup_cfg_requirements() -> dict[str, Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in cfg["options.extras_require"].values():
        lines += extra.splitlines()
    reqs = [Requirement(line) for line in lines if line.strip()]
    return {r.name.lower(): r for r in reqs}


def _pins(path) -> dict[str, Version]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path}: {line} is not an exact pin"
        pins[req.name.lower()] = Version(spec.version)
    return pins


def test_package_metadata_has_ranges_not_exact_pins():
    for req in _setup_cfg_requirements().values():
        operators = {spec.operator for spec in req.specifier}
        assert "==" not in operators and "===" not in operators, f"setup.cfg pins {req}"
        assert ">=" in operators, f"setup.cfg: {req} has no tested lower bound"


@pytest.mark.parametrize("path", ["requirements.txt", "requirements-dev.txt"])
def test_the_lock_satisfies_the_declared_ranges(path):
    declared = _setup_cfg_requirements()
    for name, version in _pins(path).items():
        if name in declared:
            assert declared[name].specifier.contains(version), f"{path}: {name}=={version}"


def _lite_project() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "tflite" / "pyproject.toml").read_text())["project"]


def test_every_runtime_dependency_is_locked_at_its_lower_bound():
    """The lower bounds are what CI tests: the lock is exactly at them."""
    pins = _pins("requirements.txt")
    for name, req in _setup_cfg_requirements().items():
        if name in ("pytest", "pytest-xdist", "scikit-learn", "ruff"):
            continue  # dev tools: locked in requirements-dev.txt
        if name == "mininet-lite":
            continue  # this repository's tflite/, installed from source: test below
        (lower,) = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert pins.get(name) == lower, f"{name}: lock {pins.get(name)}, lower bound {lower}"


def test_mininet_lite_is_the_version_in_this_repository_with_locked_dependencies():
    """mininet-tf is tested against tflite/ of the same commit: its version is the lower bound
    setup.cfg declares, and its own dependencies are locked at their lower bounds too."""
    lite = _lite_project()
    (req,) = [r for n, r in _setup_cfg_requirements().items() if n == "mininet-lite"]
    (lower,) = [Version(s.version) for s in req.specifier if s.operator == ">="]
    assert Version(lite["version"]) == lower
    pins = _pins("requirements.txt")
    for line in lite["dependencies"]:
        dep = Requirement(line)
        (bound,) = [Version(s.version) for s in dep.specifier if s.operator == ">="]
        assert pins.get(dep.name.lower()) == bound, f"tflite/pyproject.toml: {line}"


def test_licence_is_shipped():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0" in text
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["license"] == "Apache-2.0"
