"""The example third-party plugin, installed like any package, contributes a field rules use,
and its own tests (which start Prunerr's emulators) pass against the installed package."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "prunerr-example-plugin"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """A copy of the example package: building it writes into its directory."""
    copy = tmp_path_factory.mktemp("example") / "prunerr-example-plugin"
    shutil.copytree(
        EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    return copy


@pytest.fixture(scope="module")
def site(tmp_path_factory, package) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
    )
    return target


def prunerr(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "prunerr", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_installed_plugin_is_listed_with_its_field(site, tmp_path):
    result = prunerr(site, tmp_path, "plugins", "--format", "json")
    assert result.returncode == 0, result.stderr
    example = next(p for p in json.loads(result.stdout) if p["name"] == "example")
    assert example["fields"] == ["example.decade"]
    assert example["version"] == "1.0.0"


def test_a_rule_uses_the_plugin_field(site, tmp_path):
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "old.yaml").write_text(
        "name: Old and big\nmedia: movie\nwhen: example.decade < 1990 and size > 10 GB\n"
    )
    (rules / "old.test.yaml").write_text(
        "now: 2026-01-01\ncases:\n"
        "  - {name: eighties, item: {year: 1984, size: 30 GB}, expect: match}\n"
        "  - {name: nineties, item: {year: 1994, size: 30 GB}, expect: no_match}\n"
        "  - {name: no year, item: {year: null, size: 30 GB}, expect: unknown}\n"
        "  - {name: year unknown, item: {size: 30 GB}, expect: unknown}\n"
    )
    check = prunerr(site, tmp_path, "rules", "check", str(rules))
    assert check.returncode == 0, check.stdout + check.stderr
    test = prunerr(site, tmp_path, "rules", "test", str(rules))
    assert test.stdout.splitlines()[-1] == "4 passed, 0 failed", test.stdout


def test_without_the_plugin_the_field_is_unknown_to_the_checker(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "prunerr", "rules", "eval", "example.decade < 1990"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "error[E101]" in result.stdout


def test_the_example_plugin_tests_pass_against_the_installed_package(site, package):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout.splitlines()[-1]
