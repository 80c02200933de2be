"""Compatibility with the original Prunerr: what its API's clients send and expect that this
project's own model says differently. `envelope`: the shape of every answer; `rules`: its
spellings (a show is `tv`, a rule's other field names); `conditions`: its JSON condition trees,
converted to rule conditions. The answers' camelCase names are the `prunerr.wire` shapes'."""
