#!/usr/bin/env bash
# ctest driver: builds the Java checker against the pinned Kafka jars and feeds it every sample.
#   run.sh <dump_samples binary> <scratch dir>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dump=$1 scratch=$2
libs=$("$here/../../../scripts/kafka-jars")/libs
mkdir -p "$scratch"
javac -nowarn -d "$scratch" -cp "$libs/*" "$here/MessageRoundTrip.java"
"$dump" | java -cp "$scratch:$libs/*" MessageRoundTrip
