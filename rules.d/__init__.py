"""The example rules, shipped inside the package as `prunerr.example_rules` (setup.cfg maps this
directory to it: one copy). Nothing installs them by itself: `prunerr rules init` copies them,
each delete rule disabled, into a rules directory; `prunerr demo` runs them."""

from importlib.resources import as_file, files
from pathlib import Path


def directory() -> Path:
    """The installed examples, as a directory (rules.d of a checkout, or of the wheel)."""
    with as_file(files(__name__)) as path:  # a real directory: installs are unzipped
        return Path(path)
