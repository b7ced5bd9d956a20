#!/usr/bin/env python3
"""The failover benchmark: what killing an instance for good, and adding one, costs a stateful
exactly-once app with a million keys of state (bench/failover/README.md has the method).
scripts/bench --only failover prepares everything (broker, release `sluice`, the pipeline venv,
the Kafka jars) and runs this file with the pipeline venv's Python.

Runs, each on a fresh app and output topic over the same input: kill -9 of one of two Sluice
instances with 0 and with 1 standby replica, the same with Kafka Streams (num.standby.replicas=1),
and a second Sluice instance added to one. Writes bench/results/<date>-failover.json,
bench/failover_figures.md and the "Failover" section of docs/benchmarks.md.
"""
import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "pipeline"))

import instances  # noqa: E402
import figures  # noqa: E402
import scenarios  # noqa: E402
from kafka_io import cluster  # noqa: E402  (bench/pipeline's confluent-kafka helpers)
from traffic import PARTITIONS, input_log  # noqa: E402

STREAMS = "Kafka Streams 4.3.1"
# (scenario, system, standby replicas), in the order they run. Sluice's kills run twice: where the
# kill lands in the dead instance's transaction matters (README.md, "Why the output can come much
# later than the log").
RUNS = [("kill", "Sluice", 0), ("kill", "Sluice", 1), ("kill", "Sluice", 0), ("kill", "Sluice", 1),
        ("kill", STREAMS, 1), ("add", "Sluice", 0), ("add", "Sluice", 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--sluice", help="the sluice binary (release build)")
    parser.add_argument("--sluice-missing", default="not built")
    parser.add_argument("--kafka-libs", required=True)
    parser.add_argument("--java-log-config", required=True)
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys of the preloaded state")
    parser.add_argument("--rate", type=int, default=2_000, help="input records/s while measuring")
    parser.add_argument("--runs", default="all", help="comma-separated, e.g. kill-sluice-1,add-sluice-1")
    parser.add_argument("--results-dir", default=str(HERE.parent / "results"))
    parser.add_argument("--figures", default=str(HERE.parent / "failover_figures.md"))
    parser.add_argument("--docs", default=str(HERE.parent.parent / "docs" / "benchmarks.md"),
                        help="the doc whose Failover section is replaced by this run's figures")
    parser.add_argument("--command-line", default="")
    args = parser.parse_args()

    def progress(text):
        print(f"bench failover: {text}", file=sys.stderr, flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="sluice-bench-failover."))
    progress(f"logs and state in {scratch}")
    kafka = cluster(args.bootstrap)
    java_classes = scratch / "classes"
    subprocess.run(["javac", "-nowarn", "-d", str(java_classes), "-cp", f"{args.kafka_libs}/*",
                    str(HERE.parent / "pipeline" / "KafkaStreamsPipeline.java")], check=True)
    sluice_bin = Path(args.sluice) if args.sluice else None
    makers = {
        "Sluice": lambda app, output, name, standbys: instances.sluice_instance(
            sluice_bin, app, args.bootstrap, input_topic, output, scratch, name, standbys),
        STREAMS: lambda app, output, name, standbys: instances.streams_instance(
            java_classes, args.kafka_libs, args.java_log_config, app, args.bootstrap, input_topic, output, scratch,
            name, standbys),
    }

    input_topic = scenarios.unique("bench-failover-in")
    kafka.create_topic(input_topic, PARTITIONS)
    log = input_log(args.bootstrap, input_topic, args.keys)
    started = time.monotonic()
    log.preload()
    progress(f"wrote {args.keys:,} keys to {input_topic} in {time.monotonic() - started:.1f} s")
    ctx = scenarios.context(kafka, args.bootstrap, input_topic, log, args.rate, scratch, makers, progress)

    wanted = [r for r in RUNS if args.runs == "all" or run_key(*r) in args.runs.split(",")]
    rows = []
    for scenario, system, standbys in wanted:
        progress(f"{scenario}, {system}, {standbys} standby replica(s)")
        if system == "Sluice" and not (sluice_bin and sluice_bin.is_file()):
            rows.append({"scenario": scenario, "system": system, "standbys": standbys,
                         "status": f"not measured: {args.sluice_missing}"})
            continue
        measure = scenarios.kill_one if scenario == "kill" else scenarios.add_one
        row = {"scenario": scenario, **measure(ctx, system, standbys)}
        progress(f"  → {figures.summary(row)}")
        rows.append(row)

    run = {"date": datetime.date.today().isoformat(), "command_line": args.command_line, "keys": args.keys,
           "rate": args.rate, "partitions": PARTITIONS, "session_timeout_ms": instances.SESSION_TIMEOUT_MS,
           "rows": rows}
    out = Path(args.results_dir) / f"{run['date']}-failover.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, indent=1) + "\n")
    text = figures.markdown(run)
    Path(args.figures).write_text(text)
    figures.splice(Path(args.docs), text)
    progress(f"wrote {out}, {args.figures} and its section of {args.docs}")
    return 1 if any(r["status"].startswith("failed") for r in rows) else 0


def run_key(scenario, system, standbys):
    return f"{scenario}-{system.split()[0].lower()}-{standbys}"


if __name__ == "__main__":
    sys.exit(main())
