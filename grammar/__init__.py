"""The rule language's grammar, reference and conformance corpus, shipped as `prunerr.grammar`."""

from importlib.resources import files

GRAMMAR_FILE = "prunerr.lark"


def read_grammar() -> str:
    """Return the text of the Lark grammar installed with the package."""
    return files(__name__).joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
