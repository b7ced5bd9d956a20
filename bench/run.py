#!/usr/bin/env python3
"""Sluice's benchmark harness: every client's driver against one broker, scenario by scenario.

scripts/bench prepares everything (venv, jars, builds, broker) and runs this file with the venv's
Python. For each scenario it runs every client in turn on the same broker, each producer run on a
fresh topic, each driver as a child process whose CPU time it takes from os.wait4 (the same
method for every client, JVM and interpreters included). It writes bench/results/<date>.json,
prints a markdown table, and rewrites docs/benchmarks.md (method, tables, Sluice/peer ratios).

A client that cannot run (not built, not installed) gets rows "not measured: <reason>"; a run
that fails or whose topic does not end up holding exactly the records sent is marked failed.
Figures are only ever what a run printed.

The harness is split along its jobs, in bench/:
- client_scenarios.py: the scenarios and the record counts they share;
- client_drivers.py: each client's driver command lines and the parsing of what it prints;
- driver_runs.py: running and measuring one driver, the topics and the broker's side;
- restore_suite.py: the restore suite (Sluice and Kafka Streams restoring a changelog);
- benchmarks_doc.py: docs/benchmarks.md from a results JSON (`--render JSON` runs only that);
- this file: the command line, the run loop over scenarios and rounds, and the results JSON.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import client_drivers
from benchmarks_doc import docs_markdown, ratio_table, results_markdown
from client_drivers import JAVA_OPTIONS, java_client, native_client, python_client
from client_scenarios import (FILL_TRANSACTION_MS, GROUP_PARTITIONS, LATENCY_RATE, LATENCY_SECONDS,
                              PYTHON_SHARE, TRANSACTION_MS, produce_scenario, records_for, scenarios)
from driver_runs import (admin, context, run_consume, run_driver, run_group, run_produce, startup_costs,
                         stored_batches, unique_topic)
from restore_suite import run_restore_suite


def main():
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render", metavar="JSON",
                        help="only rewrite the doc from a results file (e.g. after editing findings.md)")
    parser.add_argument("--bootstrap")
    parser.add_argument("--broker-pid", type=int, help="for the broker's CPU time per run")
    parser.add_argument("--broker-data-dir", help="the broker's log.dirs, for the batches each client wrote")
    parser.add_argument("--records", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["producer", "consumer", "restore"])
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=0,
                        help="batch.size in bytes for every producer (default: each one's own)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds per scenario; each client's median run is reported")
    parser.add_argument("--sluice-dir", help="folder with bench_sluice_produce / bench_sluice_consume")
    parser.add_argument("--sluice-missing", default="the Sluice drivers were not built",
                        help="why a Sluice driver is missing, for the 'not measured' rows")
    parser.add_argument("--peers-dir", help="folder with rdkafka_produce / rdkafka_consume")
    parser.add_argument("--kafka-libs", help="the pinned Kafka release's jars")
    parser.add_argument("--java-log-config", default="")
    parser.add_argument("--librdkafka-version", default="")
    parser.add_argument("--command-line", default="")
    parser.add_argument("--results-dir", default=str(root / "bench" / "results"))
    parser.add_argument("--docs", default=str(root / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if args.render:
        Path(args.docs).write_text(docs_markdown(json.loads(Path(args.render).read_text())))
        print(f"bench: rewrote {args.docs} from {args.render}", file=sys.stderr)
        return 0
    if not args.bootstrap or not (args.peers_dir or args.only == "restore"):
        parser.error("--bootstrap and --peers-dir are required (scripts/bench passes them)")
    if not 1 <= args.partitions <= 3:
        parser.error("--partitions must be 1, 2 or 3")
    if not 1 <= args.repeat <= 9:
        parser.error("--repeat must be between 1 and 9")
    if not 0 <= args.batch_size <= 1_000_000:
        parser.error("--batch-size must be at most 1000000 bytes (max.request.size is 1 MiB)")
    client_drivers.BATCH_SIZE = args.batch_size  # every producer's command line reads it
    records = args.records or (100_000 if args.quick else 1_000_000)
    if records < PYTHON_SHARE:
        parser.error(f"--records must be at least {PYTHON_SHARE}")

    # The Python drivers import driver_common: no __pycache__ left in the source tree.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    produce_scenarios, consume_scenarios, group_scenarios = scenarios(args.quick, args.only)
    if args.only == "restore":  # the restore suite alone (run_restore_suite)
        produce_scenarios, consume_scenarios, group_scenarios = [], [], []
    log_dir = Path(tempfile.mkdtemp(prefix="sluice-bench-logs."))
    peers_src = root / "bench" / "peers"
    sluice_dir = Path(args.sluice_dir).resolve() if args.sluice_dir else None
    peers_dir = Path(args.peers_dir or tempfile.gettempdir()).resolve()  # unused by --only restore
    kafka_libs = str(Path(args.kafka_libs).resolve()) if args.kafka_libs else None
    python = sys.executable

    sluice = native_client(
        "Sluice",
        sluice_dir / "bench_sluice_produce" if sluice_dir else None,
        sluice_dir / "bench_sluice_consume" if sluice_dir else None,
        sluice_dir / "bench_sluice_group" if sluice_dir else None,
        args.bootstrap, lambda mode: f"{args.sluice_missing} (bench_sluice_{mode})", git_version(root))
    rdkafka = native_client("librdkafka", peers_dir / "rdkafka_produce", peers_dir / "rdkafka_consume",
                            peers_dir / "rdkafka_group", args.bootstrap,
                            lambda mode: f"rdkafka_{mode} was not built", args.librdkafka_version)
    java = java_client(kafka_libs, args.java_log_config, args.bootstrap, log_dir, peers_src)
    aiokafka = python_client("aiokafka", python, peers_src / "aiokafka_bench.py", "aiokafka", args.bootstrap)
    kafka_python = python_client("kafka-python", python, peers_src / "kafka_python_bench.py", "kafka-python",
                                 args.bootstrap)
    aiokafka.group_unsupported["cooperative-sticky"] = (
        "aiokafka has no cooperative assignor and no incremental rebalance protocol (KIP-429)")
    clients = [sluice, rdkafka, java, aiokafka, kafka_python]

    ctx = context(args.bootstrap, args.broker_pid, log_dir, peers_src, args.partitions, admin(args.bootstrap),
                  Path(args.broker_data_dir) if args.broker_data_dir else None)
    started = time.monotonic()

    def progress(text):
        print(f"bench: [{time.monotonic() - started:5.0f}s] {text}", file=sys.stderr, flush=True)

    warmup_records = min(records, 200_000)
    if "produce" not in rdkafka.unavailable and args.only != "restore":
        progress(f"warming the broker up with {warmup_records:,} records")
        topic = unique_topic("bench-warmup")
        ctx.admin.create(topic, args.partitions)
        run_driver(rdkafka.produce_cmd(produce_scenario(100, "all", "none"), topic, warmup_records), 300,
                   log_dir, "warmup", peers_src)
        ctx.admin.delete(topic)
    if produce_scenarios:
        progress("measuring each producer's start-up cost (one record)")
        startup_costs(clients, ctx, "produce")

    results = []
    latency_records = LATENCY_RATE * (LATENCY_SECONDS // 2 if args.quick else LATENCY_SECONDS)
    for s in produce_scenarios:
        n = latency_records if s.rate else records_for(records, s.size)
        rank = (lambda r: -r["latency_ms"]["p99"]) if s.rate else None
        rows = rounds(clients, args.repeat, s.title, progress, lambda c: run_produce(c, s, n, ctx), rank)
        results.append({"key": s.key, "title": s.title, "kind": s.kind, "size": s.size, "acks": s.acks,
                        "compression": s.compression, "idempotent": s.idempotent, "records": n,
                        "rate": s.rate or None, "transaction_ms": s.transaction_ms or None, "rows": rows})

    # Plain topics are written by librdkafka as fast as it goes; read_committed ones in
    # transactions of FILL_TRANSACTION_MS (issue 4: reading committed data past commit markers).
    for size, transactional in sorted({(s.size, s.isolation == "read_committed") for s in consume_scenarios}):
        n = records_for(records, size)
        topic = unique_topic(f"bench-consume-{size}")
        ctx.admin.create(topic, args.partitions)
        try:
            progress(f"producing {n:,} records of {size} B to read back"
                     + (f" (transactions of {FILL_TRANSACTION_MS} ms)" if transactional else ""))
            if "produce" in rdkafka.unavailable:
                raise RuntimeError("the consumer scenarios need rdkafka_produce to fill their topic")
            fill = produce_scenario(size, "all", "none", transaction_ms=FILL_TRANSACTION_MS if transactional else 0)
            code, _, _, _, _ = run_driver(rdkafka.produce_cmd(fill, topic, n), 600,
                                       log_dir, f"fill-{size}" + ("-transactional" if transactional else ""), peers_src)
            stored = stored_batches(ctx.data_dir, topic, args.partitions) if transactional else None
            held = stored[1] if stored else ctx.admin.end_offset_sum(topic, args.partitions)
            if code != 0 or held < n or (held != n and not transactional):
                raise RuntimeError(f"filling {topic} failed (exit {code}, {held} of {n} records)")
            if not any(mode == "consume" for _, mode in ctx.startup_cpu):
                progress("measuring each consumer's start-up cost (one record)")
                startup_costs(clients, ctx, "consume", topic)
            for s in [s for s in consume_scenarios
                      if s.size == size and (s.isolation == "read_committed") == transactional]:
                rows = rounds(clients, args.repeat, s.title, progress,
                              lambda c: run_consume(c, s, topic, n, ctx))
                results.append({"key": s.key, "title": s.title, "kind": "consume", "size": s.size,
                                "isolation": s.isolation, "records": n,
                                "transaction_ms": FILL_TRANSACTION_MS if transactional else None, "rows": rows})
        finally:
            ctx.admin.delete(topic)

    for s in group_scenarios:
        rows = rounds(clients, args.repeat, s.title, progress, lambda c: run_group(c, s, ctx),
                      lambda r: -r["second_join_ms"])
        results.append({"key": s.key, "title": s.title, "kind": "group", "assignor": s.assignor,
                        "partitions": GROUP_PARTITIONS, "rows": rows})

    if args.only in (None, "restore"):
        results.append(run_restore_suite(records, ctx, progress, sluice_dir, args.sluice_missing, kafka_libs,
                                         args.java_log_config, root, sluice.version))

    now = datetime.datetime.now(datetime.timezone.utc)
    # A run with every producer on one batch size is an experiment beside the default run of
    # the day, not a replacement for it.
    json_name = now.strftime("%Y-%m-%d") + (f"-batch-size-{args.batch_size}" if args.batch_size else "") + ".json"
    run = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "json_name": json_name,
        "machine": machine(),
        "versions": {"Sluice": sluice.version, "librdkafka": rdkafka.version,
                     "Java kafka-clients": java.version, "aiokafka": aiokafka.version,
                     "kafka-python": kafka_python.version, "Kafka broker": java.version,
                     "Python": platform.python_version(), "JDK": java_version()},
        "config": {"records": records, "partitions": args.partitions, "quick": args.quick, "repeat": args.repeat,
                   "batch_size": args.batch_size or None,
                   "only": args.only, "python_share": PYTHON_SHARE, "warmup_records": warmup_records,
                   "command_line": args.command_line, "java_options": JAVA_OPTIONS,
                   "latency_rate": LATENCY_RATE, "latency_records": latency_records,
                   "transaction_ms": TRANSACTION_MS, "fill_transaction_ms": FILL_TRANSACTION_MS,
                   "group_partitions": GROUP_PARTITIONS},
        "startup_cpu_s": {f"{name} {mode}": round(v, 3) for (name, mode), v in ctx.startup_cpu.items()},
        "duration_s": round(time.monotonic() - started),
        "results": results,
    }
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / json_name).write_text(json.dumps(run, indent=2) + "\n")
    Path(args.docs).write_text(docs_markdown(run))
    print(results_markdown(results))
    ratios = ratio_table(results)
    if ratios:
        print("### Sluice ÷ peer\n\n" + ratios)
    if any(row["status"].startswith("failed") or row.get("failed_runs") for r in results for row in r["rows"]):
        progress(f"wrote {results_dir / json_name} and {args.docs}; some runs failed, their driver "
                 f"logs are in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
        progress(f"wrote {results_dir / json_name} and {args.docs}")
    return 0


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f", Linux {platform.release()}"
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(memory),
            "os": os_name}


def git_version(root):
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "kafka", "bench"],
                               capture_output=True, text=True).stdout.strip()
        return commit + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"



def java_version():
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "([^"]+)"', out)
        return m.group(1) if m else ""
    except OSError:
        return ""


def rounds(clients, repeat, title, progress, run_one, rank=None):
    """Runs every client once per round, `repeat` rounds (so a burst of load elsewhere on the
    machine hits one round, not one client's every run), and keeps each client's median run by
    records/s (or by `rank(row)`, higher is better), with every run's rate in
    `runs_records_per_s`."""
    rank = rank or (lambda r: r["records_per_s"])
    runs = {c.name: [] for c in clients}
    for round_no in range(repeat):
        for c in clients:
            if round_no and "not measured" in runs[c.name][0]["status"]:
                continue
            progress(f"{title}: {c.name}" + (f" (round {round_no + 1} of {repeat})" if repeat > 1 else ""))
            runs[c.name].append(run_one(c))
            progress(f"  → {summary(runs[c.name][-1])}")
    rows = []
    for c in clients:
        ok = sorted((r for r in runs[c.name] if r["status"] == "ok"), key=rank)
        if not ok:
            rows.append(runs[c.name][0])
            continue
        row = dict(ok[(len(ok) - 1) // 2])  # the median (the lower one of an even count)
        row["runs"] = len(runs[c.name])
        row["runs_records_per_s"] = [r.get("records_per_s") for r in runs[c.name]]
        failed = [r["status"] for r in runs[c.name] if r["status"] != "ok"]
        if failed:
            row["failed_runs"] = failed
        rows.append(row)
    return rows


def summary(row):
    if row["status"] != "ok":
        return row["status"]
    if "second_join_ms" in row:
        return (f"join {row['join_ms']} ms, second member's join {row['second_join_ms']} ms, "
                f"pause {row['pause_ms']} ms, handover {row['handover_ms']} ms, kept {row['kept']}")
    if "latency_ms" in row:
        lat = row["latency_ms"]
        return (f"{row['records_per_s']:,} rec/s, latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
                f"p99.9 {lat['p999']} ms, max {lat['max']} ms, {row['cpu_s_per_m']} CPU s/M")
    return (f"{row['records_per_s']:,} rec/s, {row['mb_per_s']} MB/s, {row['cpu_s_per_m']} CPU s/M "
            f"({row['records']:,} records in {row['seconds']} s)")


if __name__ == "__main__":
    sys.exit(main())
