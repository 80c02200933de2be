"""Prunerr: rules-as-code cleanup for Plex, Radarr and Sonarr libraries."""

__version__ = "0.1.0"
