#!/bin/sh
# Container entrypoint: prepare the data directory and an empty rules directory, then run the
# command as PUID:PGID (when started as root) with UMASK applied. No rule is installed by itself:
# `prunerr rules init` copies the examples, each delete rule disabled.
#
#   PUID, PGID          ids to run as when started as root (default 1000:1000)
#   UMASK               umask of the command (default 022)
#   PRUNERR_DATA_DIR    the data directory, the /config volume (default /config)
#   PRUNERR_RULES_DIR   rules directory (default $PRUNERR_DATA_DIR/rules.d)
#   PRUNERR_SYSROOT     root of the passwd and group files to edit (default /; for tests)
#
# A first argument that is not a program is a prunerr command: `worker` runs `prunerr worker`.
set -eu

PUID=${PUID:-1000}
PGID=${PGID:-1000}
UMASK=${UMASK:-022}
DATA_DIR=${PRUNERR_DATA_DIR:-/config}
RULES_DIR=${PRUNERR_RULES_DIR:-$DATA_DIR/rules.d}
SYSROOT=${PRUNERR_SYSROOT:-}
USER_NAME=prunerr

log() { echo "prunerr-entrypoint: $*" >&2; }

# `tool ARGS` on the passwd and group files under $SYSROOT.
userdb() {
    tool=$1
    shift
    if [ -n "$SYSROOT" ]; then "$tool" --prefix "$SYSROOT" "$@"; else "$tool" "$@"; fi
}

# Field $3 (the id) of the entry named $USER_NAME in $SYSROOT/etc/$1.
entry_id() {
    grep "^$USER_NAME:" "$SYSROOT/etc/$1" | cut -d: -f3
}

# Make the user and group $USER_NAME have the ids PUID and PGID; ids already taken are shared.
set_ids() {
    case "$PUID$PGID" in
        *[!0-9]*) log "PUID and PGID must be numbers (got $PUID:$PGID)"; exit 1 ;;
    esac
    gid=$(entry_id group)
    if [ -z "$gid" ]; then
        userdb groupadd --non-unique --gid "$PGID" "$USER_NAME"
    elif [ "$gid" != "$PGID" ]; then
        userdb groupmod --non-unique --gid "$PGID" "$USER_NAME"
    fi
    uid=$(entry_id passwd)
    if [ -z "$uid" ]; then
        userdb useradd --non-unique --uid "$PUID" --gid "$PGID" --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin "$USER_NAME"
    elif [ "$uid" != "$PUID" ]; then
        userdb usermod --non-unique --uid "$PUID" "$USER_NAME"
    fi
}

# Create the data directory and the rules directory, empty when it is new.
prepare_dirs() {
    mkdir -p "$DATA_DIR" "$RULES_DIR"
}

# Give PUID:PGID what they do not own yet in the data directory and the rules directory, without
# crossing into other mounts: a walk that changes nothing when ownership is already right.
take_ownership() {
    for dir in "$DATA_DIR" "$RULES_DIR"; do
        case "$dir" in "$DATA_DIR"/*) continue ;; esac
        [ -d "$dir" ] || continue
        find "$dir" -xdev \( ! -user "$PUID" -o ! -group "$PGID" \) \
            -exec chown -h "$PUID:$PGID" {} + ||
            log "could not give all of $dir to $PUID:$PGID"
    done
}

if [ $# -eq 0 ]; then
    set -- prunerr serve
else
    case "$1" in
        -*) set -- prunerr "$@" ;;
        *) command -v "$1" >/dev/null 2>&1 || set -- prunerr "$@" ;;
    esac
fi

umask "$UMASK"

if [ "$(id -u)" != 0 ]; then
    # --user or rootless: the ids are already chosen; prepare what this user may.
    prepare_dirs || log "could not prepare $DATA_DIR as $(id -u):$(id -g)"
    exec "$@"
fi

set_ids
prepare_dirs
take_ownership
exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups --no-new-privs -- "$@"
