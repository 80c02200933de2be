"""The wheel is what users install: it must carry the grammar once and run the CLI on its own."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


def test_wheel_ships_the_grammar_and_its_reference_once(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.endswith(".lark")] == ["prunerr/grammar/prunerr.lark"]
    assert "prunerr/grammar/README.md" in names
    assert not any(n.startswith(("grammar/", "tests/", "rules.d/")) for n in names)


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
