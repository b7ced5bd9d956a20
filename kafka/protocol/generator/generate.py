#!/usr/bin/env python3
"""Generates Sluice's C++ protocol messages from Apache Kafka's JSON message definitions.

Usage: generate.py --kafka-version X.Y.Z --definitions DIR --out DIR [--samples-out DIR]

DIR holds the `common/message/*.json` files shipped inside the kafka-clients jar. For every
request/response pair (and the header and data definitions) this writes one header and one source
file into --out, plus api_key.hpp/.cpp and all.hpp. With --samples-out it also writes test-only
code that fills every message with non-default values for a given version (used by the round-trip
and Java cross-check tests).

This file reads the definitions, groups them by API and writes the files. The rest, next to it:
- message_model.py: the definitions loaded into messages, structs, fields and version ranges, and
  the names of the files and of the nested structs;
- cpp_messages.py: the C++ of each message (declarations, encode, decode, size), api_key.hpp/.cpp;
  its docstring has the encoding rules and where they differ from Kafka's Java classes;
- cpp_samples.py: the test samples (--samples-out).
"""

import argparse
import os
import sys

from cpp_messages import banner, render_api_key, render_header, render_source
from cpp_samples import render_samples
from message_model import Message, Versions, assign_nested_names, file_stem, load


def write(path, text):
    """Writes only what changed: an untouched file keeps its timestamp, so builds that include the
    generated headers do not recompile after a regeneration that changed nothing."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kafka-version", required=True)
    parser.add_argument("--definitions", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples-out")
    args = parser.parse_args()

    groups = {}
    for file in sorted(os.listdir(args.definitions)):
        if not file.endswith(".json"):
            continue
        spec = load(os.path.join(args.definitions, file))
        if spec.get("type") not in ("request", "response", "header", "data"):
            continue
        if Versions(spec.get("validVersions")).empty():
            continue  # an API removed from this Kafka release (e.g. the ZooKeeper-era LeaderAndIsr)
        message = Message(spec, file)
        stem = file_stem(message)
        groups.setdefault(stem, {"stem": stem, "messages": []})["messages"].append(message)
    for group in groups.values():
        group["messages"].sort(key=lambda m: {"request": 0, "response": 1}.get(m.kind, 2))
    ordered = [groups[k] for k in sorted(groups)]
    assign_nested_names([m for g in ordered for m in g["messages"]])

    # Files of messages Kafka removed go away; the others are rewritten only where they changed.
    wanted = {f"{g['stem']}.{ext}" for g in ordered for ext in ("hpp", "cpp")} | {"api_key.hpp", "api_key.cpp", "all.hpp"}
    for old in os.listdir(args.out) if os.path.isdir(args.out) else []:
        if old.endswith((".hpp", ".cpp")) and old not in wanted:
            os.remove(os.path.join(args.out, old))
    for group in ordered:
        header_name = f"{group['stem']}.hpp"
        write(os.path.join(args.out, header_name), render_header(group, args.kafka_version))
        write(os.path.join(args.out, f"{group['stem']}.cpp"), render_source(group, args.kafka_version, header_name))

    requests = sorted((m for g in ordered for m in g["messages"] if m.kind == "request"), key=lambda m: m.api_key)
    api_header, api_source = render_api_key(requests, args.kafka_version)
    write(os.path.join(args.out, "api_key.hpp"), api_header)
    write(os.path.join(args.out, "api_key.cpp"), api_source)
    all_lines = [banner(args.kafka_version, ["*.json"]), "#pragma once", "",
                 '#include "kafka/protocol/messages/api_key.hpp"']
    all_lines += [f'#include "kafka/protocol/messages/{g["stem"]}.hpp"' for g in ordered]
    write(os.path.join(args.out, "all.hpp"), "\n".join(all_lines) + "\n")

    if args.samples_out:
        header, source = render_samples(ordered, args.kafka_version)
        write(os.path.join(args.samples_out, "message_samples.hpp"), header)
        write(os.path.join(args.samples_out, "message_samples.cpp"), source)
    count = sum(len(g["messages"]) for g in ordered)
    print(f"generate.py: {count} messages in {len(ordered)} files -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
