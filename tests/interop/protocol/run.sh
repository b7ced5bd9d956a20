#!/usr/bin/env bash
# ctest driver: builds the Java checker against the pinned Kafka jars, then checks both directions:
# Kafka's classes re-encode every Sluice sample byte for byte, and Sluice re-encodes Java's
# default-constructed messages byte for byte.
#   run.sh <protocol_dump_samples binary> <scratch dir>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dump=$1 scratch=$2
libs=$("$here/../../../scripts/kafka-jars")/libs
mkdir -p "$scratch"
javac -nowarn -d "$scratch" -cp "$libs/*" "$here/MessageRoundTrip.java"
"$dump" >"$scratch/samples.txt"
java -cp "$scratch:$libs/*" MessageRoundTrip <"$scratch/samples.txt"
java -cp "$scratch:$libs/*" MessageRoundTrip --defaults <"$scratch/samples.txt" >"$scratch/java_defaults.txt"
"$dump" --reencode <"$scratch/java_defaults.txt"
