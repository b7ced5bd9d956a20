#!/usr/bin/env bash
# ctest driver for the records interop check against Kafka's own Java implementation.
#   run.sh <records_interop binary> <scratch dir>
# Both sides write the same logical batches with every codec; then
#   1. every file (ours and Java's) decodes to identical text with both decoders, and Java's
#      ensureValid() accepts our CRCs;
#   2. our file and Java's file for the same codec hold the same batches and records
#      (only the compressed size and CRC differ, so the `raw` lines are left out).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tool=$1 scratch=$2
libs=$("$here/../../../scripts/kafka-jars")/libs
rm -rf "$scratch" && mkdir -p "$scratch/classes" "$scratch/data"
javac -nowarn -d "$scratch/classes" -cp "$libs/*" "$here/RecordsInterop.java"
java_tool() { java -cp "$scratch/classes:$libs/*" RecordsInterop "$@"; }
java_tool write "$scratch/data"
"$tool" write "$scratch/data"

failed=0 checked=0
for file in "$scratch/data"/*.bin; do
  name=$(basename "$file" .bin)
  "$tool" dump "$file" > "$scratch/$name.sluice.txt" || { echo "FAIL sluice cannot decode $name"; failed=1; continue; }
  java_tool dump "$file" > "$scratch/$name.java.txt" || { echo "FAIL java cannot decode $name"; failed=1; continue; }
  if ! cmp -s "$scratch/$name.sluice.txt" "$scratch/$name.java.txt"; then
    echo "FAIL decoders disagree on $name:"; diff "$scratch/$name.sluice.txt" "$scratch/$name.java.txt" | cut -c1-300 | head -20
    failed=1
  fi
  checked=$((checked + 1))
done
for codec in none gzip snappy lz4 zstd markers; do
  if ! diff <(grep -v '^raw ' "$scratch/sluice-$codec.java.txt") <(grep -v '^raw ' "$scratch/java-$codec.java.txt") > /dev/null; then
    echo "FAIL sluice-$codec.bin and java-$codec.bin differ in content:"
    diff <(grep -v '^raw ' "$scratch/sluice-$codec.java.txt") <(grep -v '^raw ' "$scratch/java-$codec.java.txt") | cut -c1-300 | head -20
    failed=1
  fi
done
[[ $checked -eq 12 ]] || { echo "FAIL expected 12 files, checked $checked"; failed=1; }
[[ $failed -eq 0 ]] && echo "records interop: $checked files decoded identically by Sluice and Kafka $(basename "$(ls "$libs"/kafka-clients-*.jar)" .jar)"
exit $failed
