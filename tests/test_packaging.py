"""The wheel is what users install: it must carry the grammar once, run the CLI on its own and
declare the Python versions that `make test` and CI test."""

import configparser
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src") / "prunerr"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(src),
        ],
        check=True,
    )
    (wheel,) = out.glob("prunerr-*.whl")
    return wheel


def minor(version: str) -> int:
    return int(version.split(".")[1])


def supported_pythons() -> list[str]:
    """The versions of setup.cfg's classifiers, oldest first, e.g. ["3.11", "3.12", "3.13"]."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    classifiers = config["metadata"]["classifiers"]
    return sorted(
        re.findall(r"^Programming Language :: Python :: (3\.\d+)$", classifiers, re.M), key=minor
    )


def test_supported_pythons_agree_across_setup_cfg_makefile_and_ruff():
    versions = supported_pythons()
    oldest, newest = minor(versions[0]), minor(versions[-1])
    assert [minor(v) for v in versions] == list(range(oldest, newest + 1))  # no gap
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert config["options"]["python_requires"] == f">=3.{oldest},<3.{newest + 1}"
    makefile = (REPO / "Makefile").read_text()
    tested = re.search(r"^PYTHONS \?= (.+)$", makefile, re.M).group(1).split()
    assert tested == versions[::-1]  # newest first: the newest runs the whole suite
    assert f'target-version = "py3{oldest}"' in (REPO / "pyproject.toml").read_text()


def test_wheel_ships_the_grammar_and_its_reference_once(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.endswith(".lark")] == ["prunerr/grammar/prunerr.lark"]
    assert "prunerr/grammar/README.md" in names
    assert not any(n.startswith(("grammar/", "tests/", "rules.d/")) for n in names)


def test_wheel_ships_every_package_of_the_source(wheel: Path):
    """setup.cfg lists the packages: one left out works in a development checkout (an editable
    install reads the source tree) and fails to import for everyone who installs the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    inits = [*(REPO / "prunerr").rglob("__init__.py"), *(REPO / "plugins").rglob("__init__.py")]
    missing = [str(init.relative_to(REPO)) for init in inits if shipped_as(init) not in names]
    assert inits and missing == []


def shipped_as(source: Path) -> str:
    """A source file's name in the wheel (plugins/ is installed as prunerr_plugins)."""
    top, *rest = source.relative_to(REPO).parts
    return "/".join(("prunerr_plugins" if top == "plugins" else top, *rest))


def test_wheel_requires_a_supported_python(wheel: Path):
    (metadata,) = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("/METADATA")]
    lines = zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
    versions = supported_pythons()
    requires = f"Requires-Python: <3.{minor(versions[-1]) + 1},>={versions[0]}"
    assert requires in lines


def test_installed_wheel_runs_rules_check(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import prunerr.dsl.parser as p; print(p.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site))
    script = site / "bin" / "prunerr"
    result = subprocess.run(
        [sys.executable, str(script), "rules", "check", str(REPO / "rules.d")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmedia: movie\nwhen: size > 20\n")
    result = subprocess.run(
        [sys.executable, str(script), "rules", "check", str(bad)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "error[E201]" in result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_the_runtime_dependencies_only(tmp_path):
    """`make demo` on a fresh machine installs what the demo runs on, not the test tools
    (schemathesis, hypothesis... 175 MB); `make test` adds them. Read from make's dry run."""

    def plan(target: str) -> str:
        done = subprocess.run(
            ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    demo = plan("demo")
    assert "pip install --quiet -e .\n" in demo and "prunerr demo" in demo
    assert "[test]" not in demo
    assert "pip install --quiet -e '.[test]'" in plan("test")
