# shellcheck shell=bash
# Helpers shared by scripts/kafka, scripts/test and scripts/demo. Sourced, never run.
# The sourcing script sets `script_name` first so messages say where they come from.

sluice_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { printf '%s: %s\n' "${script_name:-sluice}" "$*" >&2; }
die() { log "$*"; exit 1; }

# Starts a broker with scripts/kafka in its own state dir, stops it when the calling script exits
# (whatever the reason), and exports its env file (SLUICE_BOOTSTRAP and friends).
#   start_private_broker <state dir> [scripts/kafka start options...]
start_private_broker() {
  local state_dir=$1; shift
  # The trap is set before the start so that a start failing half-way still cleans up.
  # shellcheck disable=SC2064  # expand state_dir now: it is local to this function
  trap "'$sluice_root/scripts/kafka' stop --state-dir '$state_dir' || true" EXIT
  "$sluice_root/scripts/kafka" start --state-dir "$state_dir" "$@" >/dev/null
  # shellcheck disable=SC1091
  source "$state_dir/env"
  log "broker ready at $SLUICE_BOOTSTRAP (env: $state_dir/env)"
}
