# syntax=docker/dockerfile:1
# Prunerr production image; docs/install.md explains how to run it.

FROM python:3.13-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/prunerr
WORKDIR /src
COPY . .
RUN /opt/prunerr/bin/pip install ".[postgres,redis,apprise]"

FROM python:3.13-slim
# tzdata so that TZ applies to log times too (newer Debian slim images no longer carry it);
# unpinned, as time zone rules must stay current.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 prunerr \
    && useradd --uid 1000 --gid prunerr --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin prunerr \
    && mkdir /config \
    && chown prunerr:prunerr /config
COPY --from=build /opt/prunerr /opt/prunerr
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/prunerr-entrypoint

# Settings of the app (docs/configuration.md); PUID, PGID and UMASK are the entrypoint's.
ENV PATH=/opt/prunerr/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PRUNERR_DATA_DIR=/config \
    PRUNERR_RULES_DIR=/config/rules.d \
    PORT=3000 \
    TZ=UTC \
    PUID=1000 \
    PGID=1000 \
    UMASK=022

VOLUME /config
WORKDIR /config
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "prunerr.healthcheck"]
# Starts as root only to apply PUID/PGID, then runs the command as that user (setpriv);
# `--user UID:GID` skips the switch.
ENTRYPOINT ["prunerr-entrypoint"]
CMD ["prunerr", "serve"]
