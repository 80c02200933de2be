from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """An empty rules.d for a test to write into."""
    path = tmp_path / "rules.d"
    path.mkdir()
    return path
