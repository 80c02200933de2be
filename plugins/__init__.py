"""Prunerr's built-in plugins, installed as `prunerr_plugins` and registered through the same
`prunerr` entry-point group as third-party plugins."""
