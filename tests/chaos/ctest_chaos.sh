#!/usr/bin/env bash
# ctest driver of the chaos short pass (label `chaos`): scripts/chaos against the broker the
# environment names, with broker kills when it is a 3-node cluster of scripts/kafka.
#   ctest_chaos.sh <sluice binary> <run dir> [<sluice_test_proxy binary>]
# With the proxy, instance 1's commits are slowed down (scripts/chaos --slow-commits-ms).
# Environment: SLUICE_BOOTSTRAP (required), SLUICE_KAFKA_BROKERS and SLUICE_KAFKA_STATE_DIR (from
# scripts/kafka's env file), SLUICE_CHAOS_MINUTES (default 2), SLUICE_CHAOS_SCENARIOS (default
# tumbling,repartition,table,join), SLUICE_CHAOS_SEED (default: random, printed). Arguments after
# the proxy go to every `sluice run` (scripts/chaos --run-arg), e.g. --standby-replicas=1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sluice=${1:?usage: ctest_chaos.sh <sluice binary> <run dir>}
run_dir=${2:?usage: ctest_chaos.sh <sluice binary> <run dir>}
if [[ -z ${SLUICE_BOOTSTRAP:-} ]]; then
  echo "SLUICE_BOOTSTRAP is not set: the chaos pass needs the broker that 'scripts/kafka start' runs" \
       "(scripts/test starts it and exports the variables)" >&2
  exit 1
fi
# Each run gets a fresh directory; the last one stays for a look at its logs.
rm -rf "$run_dir"
args=(--bootstrap "$SLUICE_BOOTSTRAP" --sluice "$sluice" --run-dir "$run_dir"
      --minutes "${SLUICE_CHAOS_MINUTES:-2}" --instances 2
      --scenario "${SLUICE_CHAOS_SCENARIOS:-tumbling,repartition,table,join}")
if [[ -n ${3:-} ]]; then args+=(--proxy "$3"); else args+=(--slow-commits-ms 0); fi
for run_arg in "${@:4}"; do args+=(--run-arg "$run_arg"); done
if [[ ${SLUICE_KAFKA_BROKERS:-1} == 3 && -n ${SLUICE_KAFKA_STATE_DIR:-} ]]; then
  args+=(--kafka-state "$SLUICE_KAFKA_STATE_DIR")
else
  echo "chaos: a single broker (or no SLUICE_KAFKA_STATE_DIR): no broker kills in this pass" >&2
fi
if [[ -n ${SLUICE_CHAOS_SEED:-} ]]; then args+=(--seed "$SLUICE_CHAOS_SEED"); fi
exec "$here/../../scripts/chaos" "${args[@]}"
