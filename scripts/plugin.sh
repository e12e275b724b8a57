#!/usr/bin/env bash
# Install or remove ovn-driver as a Docker managed plugin, without a registry.
# Usage: scripts/plugin.sh install [NAME] [DIR] [KEY=VALUE...]
#                                                 build DIR (scripts/build-plugin.sh), then docker plugin
#                                                 create NAME DIR; set NAME KEY=VALUE...; enable NAME
#        scripts/plugin.sh remove [NAME]          docker plugin disable NAME; docker plugin rm NAME
# NAME defaults to ovn-driver (Docker's driver name is then ovn-driver:latest), DIR to build/plugin.
# install replaces a plugin of that name that no network uses; Docker refuses while one does.
# remove of a plugin that is not installed succeeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=${DOCKER:-docker}
cmd=${1:-}
name=${2:-ovn-driver}
dir=${3:-$root/build/plugin}
fail() { echo "plugin: $*" >&2; exit 1; }

installed() { "$DOCKER" plugin inspect --format '{{.Enabled}}' "$name" 2>/dev/null; }

remove() {
  local enabled
  enabled=$(installed) || return 0 # not installed: nothing to remove
  if [ "$enabled" = true ]; then
    "$DOCKER" plugin disable "$name" >/dev/null ||
      fail "failed to disable plugin \"$name\": remove the networks that use it first (docker network ls --filter driver=$name)"
  fi
  "$DOCKER" plugin rm "$name" >/dev/null || fail "failed to remove plugin \"$name\""
  echo "plugin: removed $name" >&2
}

case "$cmd" in
  install)
    bash "$root/scripts/build-plugin.sh" "$dir" >/dev/null
    remove
    "$DOCKER" plugin create "$name" "$dir" >/dev/null || fail "failed to create plugin \"$name\" from $dir"
    if [ $# -gt 3 ]; then
      "$DOCKER" plugin set "$name" "${@:4}" || fail "failed to set ${*:4} on plugin \"$name\" (docker plugin inspect $name lists the settings)"
    fi
    "$DOCKER" plugin enable "$name" >/dev/null ||
      fail "failed to enable plugin \"$name\": see dockerd's log (journalctl -u docker) for the plugin's own lines"
    echo "plugin: $name enabled; docker network create -d $name:latest ..." >&2
    ;;
  remove) remove ;;
  *) fail "unknown command \"$cmd\"; usage: plugin.sh install [NAME] [DIR] | remove [NAME]" ;;
esac
