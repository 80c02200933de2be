"""A minimal third-party Prunerr plugin.

It adds one field to the rule language, computed from the item's own `year`, so rules can say
`example.decade < 1990`. The entry point in pyproject.toml (`[project.entry-points.prunerr]`) is
all it takes for Prunerr to load it; the entry point's name, `example`, namespaces the field.
"""

from prunerr.dsl import UNKNOWN
from prunerr.hookspecs import hookimpl


def decade(fields):
    """1994 -> 1990; null when the year is null, unknown when it is unknown."""
    year = fields.get("year", UNKNOWN)
    if year is UNKNOWN or year is None:
        return year
    return year // 10 * 10


@hookimpl
def prunerr_register_dsl(dsl):
    dsl.field("example.decade", "number?", "Decade of release (1990 for 1994).", compute=decade)
