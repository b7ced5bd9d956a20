#!/usr/bin/env bash
# ctest driver of the Kafka Streams conformance check (run.py) against the broker the
# environment names (SLUICE_BOOTSTRAP, from scripts/kafka's env file).
#   run.sh <sluice binary> <scratch dir>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SLUICE_BOOTSTRAP:?the conformance check needs the broker that scripts/kafka starts (scripts/test exports it)}"
libs=$("$here/../../../scripts/kafka-jars")/libs
exec "${SLUICE_PYTHON:-$HOME/.cache/sluice/python/bin/python}" "$here/run.py" --sluice "$1" \
  --bootstrap "$SLUICE_BOOTSTRAP" --kafka-libs "$libs" --scratch "$2"
