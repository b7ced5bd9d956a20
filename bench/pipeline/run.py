#!/usr/bin/env python3
"""The pipeline benchmark: Sluice, Kafka Streams and Quix Streams run the same jobs on the same
broker, one after another, each from a fresh application id (bench/pipeline/README.md has the
method). scripts/bench prepares everything and runs this file with the pipeline venv's Python.

For every job and system: one process reads the pre-written input topic and writes a fresh
output topic; the harness polls the group's committed offsets until they reach the end of the
input (and of the repartition topic, where there is one), takes the process's CPU time and peak
memory at that moment, reads the output back `read_committed` and checks it exactly against what
the input implies (jobs.py), then stops the process. A run whose output is not exact is marked
failed and gets no ratio. Then the latency run: the windowed count at a fixed input rate.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # proc_stats

import jobs  # noqa: E402
import latency  # noqa: E402
import report  # noqa: E402
import systems  # noqa: E402
from kafka_io import cluster  # noqa: E402
from proc_stats import cpu_seconds, peak_rss_mb  # noqa: E402

PARTITIONS = 4
RECORDS_PER_KEY = 100
QUIX_SHARE = 5  # Quix Streams gets 1/QUIX_SHARE of the records: it is 10-20x slower


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class inputs:
    """The input topics, written once per size and shared by every system's runs."""

    def __init__(self, kafka, progress):
        self.kafka, self.progress, self.topics = kafka, progress, {}

    def get(self, records):
        if records not in self.topics:
            keys = records // RECORDS_PER_KEY
            orders, customers = unique("bench-pipeline-orders"), unique("bench-pipeline-customers")
            self.kafka.create_topic(orders, PARTITIONS)
            self.kafka.create_topic(customers, PARTITIONS)
            started = time.monotonic()
            self.kafka.write_customers(customers, keys)
            written = self.kafka.write_orders(orders, records, keys)
            if written != records:
                raise RuntimeError(f"{orders}: {written} of {records} records acknowledged")
            self.progress(f"wrote {records:,} orders over {keys:,} keys to {orders} "
                          f"in {time.monotonic() - started:.1f} s")
            self.topics[records] = (orders, customers, keys)
        return self.topics[records]


def done(kafka, group, input_topic, input_ends, guarantee):
    """Whether the group's committed offsets cover the input and every partition of the app's
    repartition topics (named after the app, which is the group, in all three systems). Under
    exactly-once a committed offset on an app-written topic may stop one short of the end: the
    last offset there is a commit marker."""
    committed = kafka.committed(group)
    if any(committed.get((input_topic, p), -1) < end for p, end in input_ends.items()):
        return False, committed
    slack = 1 if guarantee == "exactly_once" else 0
    for topic in kafka.topics():
        repartition = topic.endswith("-repartition") or topic.startswith("repartition__")  # KS, Sluice; Quix
        if group not in topic or not repartition:
            continue
        for partition, end in kafka.end_offsets(topic).items():
            if committed.get((topic, partition), 0) < end - slack:
                return False, committed
    return True, committed


def stop(process, log):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            log.write("bench: no exit 45 s after SIGTERM, killed\n")
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_one(kafka, broker_pid, system_name, launch, job, records, input_topic, input_ends, output_topic,
            log_dir, timeout_s):
    """One system on one job: its figures and status."""
    label = f"{job.key}-{system_name.split()[0].lower()}"
    row = {"system": system_name, "records": records, "status": "ok"}
    broker_before = cpu_seconds(broker_pid)
    with open(log_dir / f"{label}.log", "w") as log:
        started = time.monotonic()
        process = subprocess.Popen(launch.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=launch.cwd, start_new_session=True)
        first = None
        try:
            while True:
                if process.poll() is not None:
                    row["status"] = f"failed: exited with {process.returncode} (log {log.name})"
                    return row
                elapsed = time.monotonic() - started
                if elapsed > timeout_s:
                    row["status"] = f"failed: not done after {timeout_s} s (log {log.name})"
                    return row
                finished, committed = done(kafka, launch.group, input_topic, input_ends, job.guarantee)
                if first is None:
                    progressed = sum(o for (t, _), o in committed.items() if t == input_topic)
                    if progressed > 0:
                        first = (elapsed, cpu_seconds(process.pid), progressed)
                if finished:
                    cpu = cpu_seconds(process.pid)
                    row.update(seconds=round(elapsed, 2), cpu_s=cpu, peak_rss_mb=peak_rss_mb(process.pid),
                               broker_cpu_s=None if broker_before is None else cpu_seconds(broker_pid) - broker_before)
                    if first and elapsed > first[0] and records > first[2]:
                        row["steady_records_per_s"] = (records - first[2]) / (elapsed - first[0])
                        row["steady_cpu_us"] = (cpu - first[1]) * 1e6 / (records - first[2])
                    break
                # Every 0.2 s until the input is nearly all committed, then every 0.02 s: a run of
                # Sluice's takes about 2.5 s, and a 0.2 s step at the end would add 0.1 s to it
                # on average (4%) against about 1% to a run of 8 s.
                near_end = sum(o for (t, _), o in committed.items() if t == input_topic) >= 0.9 * records
                time.sleep(0.02 if near_end else 0.2)
            problems = job_check(kafka, job, records, output_topic)
            if problems:
                row["status"] = "failed: output not exact: " + "; ".join(problems[:3])
        finally:
            stop(process, log)
    row["records_per_s"] = records / row["seconds"]
    row["cpu_us_per_record"] = row["cpu_s"] * 1e6 / records
    if row.get("broker_cpu_s") is not None:
        row["broker_cpu_us_per_record"] = row["broker_cpu_s"] * 1e6 / records
    return row


def job_check(kafka, job, records, output_topic):
    expectation = jobs.expectation(job.name, job.guarantee, records, records // RECORDS_PER_KEY)
    return expectation.check(kafka.read(output_topic))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--broker-pid", type=int)
    parser.add_argument("--sluice", help="the sluice binary (release build)")
    parser.add_argument("--sluice-missing", default="not built")
    parser.add_argument("--kafka-libs", required=True)
    parser.add_argument("--java-log-config", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--jobs", default="all", help="comma-separated job keys, e.g. window-exactly_once")
    parser.add_argument("--systems", default="sluice,streams,quix")
    parser.add_argument("--latency-rate", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-warmup", action="store_true",
                        help="measure from the first run on (the broker's JIT still cold for it)")
    parser.add_argument("--results-dir", default=str(HERE.parent / "results"))
    parser.add_argument("--figures", default=str(HERE.parent / "pipeline_figures.md"))
    parser.add_argument("--docs", default=str(HERE.parent.parent / "docs" / "benchmarks.md"),
                        help="the doc whose pipeline section is replaced by this run's figures")
    parser.add_argument("--command-line", default="")
    args = parser.parse_args()

    def progress(text):
        print(f"bench pipeline: {text}", file=sys.stderr, flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="sluice-bench-pipeline."))
    log_dir = scratch / "logs"
    log_dir.mkdir()
    progress(f"logs in {log_dir}")
    kafka = cluster(args.bootstrap)
    jobs.BASE_TIME_MS = (int(time.time() * 1000) - jobs.SPAN_MS) // jobs.WINDOW_MS * jobs.WINDOW_MS
    data = inputs(kafka, progress)

    java_classes = scratch / "classes"
    subprocess.run(["javac", "-nowarn", "-d", str(java_classes), "-cp", f"{args.kafka_libs}/*",
                    str(HERE / "KafkaStreamsPipeline.java")], check=True)
    wanted = set(args.systems.split(","))
    sluice_bin = Path(args.sluice) if args.sluice else None
    runners = []
    if "sluice" in wanted:
        runners.append(("Sluice", args.records, None if sluice_bin and sluice_bin.is_file() else args.sluice_missing,
                        lambda job, app, t: systems.sluice(sluice_bin, job, app, args.bootstrap, *t, scratch)))
    if "streams" in wanted:
        runners.append(("Kafka Streams 4.3.1", args.records, None,
                        lambda job, app, t: systems.kafka_streams(java_classes, args.kafka_libs, args.java_log_config,
                                                                  job, app, args.bootstrap, *t, scratch)))
    if "quix" in wanted:
        runners.append((f"Quix Streams {quix_version()}", args.records // QUIX_SHARE, None,
                        lambda job, app, t: systems.quix(sys.executable, job, app, args.bootstrap, *t, scratch)))

    def measure(job, name, records, make):
        orders, customers, _ = data.get(records)
        output = unique(f"bench-pipeline-{job.name}-out")
        kafka.create_topic(output, PARTITIONS)
        app = unique(f"bench-{job.name}-{name.split()[0].lower()}")
        launch = make(job, app, (orders, output, customers if job.name == "join" else ""))
        return run_one(kafka, args.broker_pid, name, launch, job, records, orders, kafka.end_offsets(orders),
                       output, log_dir, timeout_s=120 + records / 2_000)

    selected = [j for j in jobs.JOBS if args.jobs == "all" or j.key in args.jobs.split(",")]
    if not args.no_warmup:
        # A broker started for the benchmark compiles its hot paths (the JVM's JIT) during its first
        # half-minute or so of load, and the systems that ran first paid for it: on a fresh broker
        # the same Sluice binary ran the stateless job at 322,581 records/s with 2.13 µs of broker
        # CPU per record, and at 409,836-413,223 with 0.40-0.45 two runs later; the windowed count
        # after a single stateless run at 164,204 (3.93 µs of broker CPU), later at 205,339-215,517
        # (0.83-1.48). So every selected job runs once, unreported, by the first system, before
        # anything is measured: every system then meets the same warm broker.
        available = [(name, records, make) for name, records, missing, make in runners if not missing]
        if available:
            name, records, make = available[0]
            for job in selected:
                progress(f"warm-up (not reported): {job.key}: {name}, {records:,} records")
                progress(f"  → {report.summary(measure(job, name, records, make))}")
    results = []
    for job in selected:
        rows = []
        for name, records, missing, make in runners:
            if missing:
                rows.append({"system": name, "status": f"not measured: {missing}"})
                continue
            progress(f"{job.key}: {name}, {records:,} records")
            row = measure(job, name, records, make)
            progress(f"  → {report.summary(row)}")
            rows.append(row)
        results.append({"job": job.key, "title": job.title, "rows": rows})

    if not args.no_latency and sluice_bin:
        results.append(latency.run_all(kafka, args, sluice_bin, java_classes, scratch, log_dir, progress, stop))

    run = {"date": datetime.date.today().isoformat(), "command_line": args.command_line,
           "records": args.records, "results": results}
    out = Path(args.results_dir) / f"{run['date']}-pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, indent=1) + "\n")
    figures = report.markdown(run)
    Path(args.figures).write_text(figures)
    report.splice(Path(args.docs), figures)
    progress(f"wrote {out}, {args.figures} and its section of {args.docs}")
    failed = [r for res in results for r in res.get("rows", []) if r["status"].startswith("failed")]
    return 1 if failed else 0


def quix_version():
    try:
        import quixstreams
        return quixstreams.__version__
    except ImportError:
        return "(not installed)"


if __name__ == "__main__":
    sys.exit(main())
