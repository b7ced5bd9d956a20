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

The scenarios are in client_scenarios.py, the rendering of docs/benchmarks.md in
benchmarks_doc.py (`--render JSON` runs only that).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks_doc import docs_markdown, ratio_table, results_markdown
from client_scenarios import (FILL_TRANSACTION_MS, GROUP_PARTITIONS, LATENCY_RATE, LATENCY_SECONDS, MB,
                              PYTHON_SHARE, TRANSACTION_MS, consume_scenario, produce_scenario, records_for,
                              scenarios)
from proc_stats import cpu_seconds, peak_rss_mb


# --- clients -----------------------------------------------------------------------------------

@dataclass
class client:
    name: str
    kind: str  # "native", "java", "python"
    produce_cmd: object = None  # (scenario, topic, records) -> argv
    consume_cmd: object = None  # (scenario, topic, partitions, records) -> argv
    parse_produce: object = None  # stdout -> dict(records, bytes, seconds, errors)
    parse_consume: object = None
    group_cmd: object = None  # (group_scenario, topic, group id) -> argv; prints group events
    group_unsupported: dict = field(default_factory=dict)  # assignor -> why this client cannot
    unavailable: dict = field(default_factory=dict)  # "produce"/"consume" -> reason
    version: str = ""

    def records(self, records):
        return max(1, records // PYTHON_SHARE) if self.kind == "python" else records


def driver_json(stdout):
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("the driver printed no JSON report")


def common_args(bootstrap, topic, records):
    return ["--bootstrap", bootstrap, "--topic", topic, "--records", str(records)]


BATCH_SIZE = 0  # --batch-size: the same batch.size for every producer; 0 = each one's default


def produce_args(s):
    return (["--size", str(s.size), "--acks", s.acks, "--compression", s.compression,
             "--idempotence", "true" if s.idempotent else "false"]
            + (["--batch-size", str(BATCH_SIZE)] if BATCH_SIZE else [])
            + (["--rate", str(s.rate)] if s.rate else [])
            + (["--transaction-ms", str(s.transaction_ms)] if s.transaction_ms else []))


def group_args(s, group):
    # --records is required by every driver's command line; the group drivers do not read it.
    return ["--partitions", str(GROUP_PARTITIONS), "--group", group, "--assignor", s.assignor]


def consume_args(s, partitions):
    return ["--partitions", str(partitions), "--isolation", s.isolation]


def native_client(name, produce_bin, consume_bin, group_bin, bootstrap, missing_reason, version):
    c = client(name, "native", version=version)
    for mode, binary in (("produce", produce_bin), ("consume", consume_bin), ("group", group_bin)):
        if binary is None or not Path(binary).is_file():
            c.unavailable[mode] = missing_reason(mode)
    c.produce_cmd = lambda s, t, n: [str(produce_bin)] + common_args(bootstrap, t, n) + produce_args(s)
    c.consume_cmd = lambda s, t, p, n: [str(consume_bin)] + common_args(bootstrap, t, n) + consume_args(s, p)
    c.group_cmd = lambda s, t, g: [str(group_bin)] + common_args(bootstrap, t, 1) + group_args(s, g)
    c.parse_produce = c.parse_consume = driver_json
    return c


def python_client(name, python, script, module, bootstrap):
    c = client(name, "python")
    probe = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version('{module}'))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        reason = f"{module} is not installed for {python}"
        c.unavailable = {"produce": reason, "consume": reason, "group": reason}
    c.version = probe.stdout.strip()
    c.produce_cmd = lambda s, t, n: [python, str(script), "produce"] + common_args(bootstrap, t, n) + produce_args(s)
    c.group_cmd = lambda s, t, g: [python, str(script), "group"] + common_args(bootstrap, t, 1) + group_args(s, g)
    c.consume_cmd = lambda s, t, p, n: ([python, str(script), "consume"] + common_args(bootstrap, t, n)
                                        + consume_args(s, p))
    c.parse_produce = c.parse_consume = driver_json
    return c


# kafka-run-class.sh's JVM settings for the perf tools (KAFKA_HEAP_OPTS of kafka-*-perf-test.sh,
# KAFKA_JVM_PERFORMANCE_OPTS).
JAVA_OPTIONS = ["-Xmx512M", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
                "-Djava.awt.headless=true"]

JAVA_PRODUCE_TOTAL = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\).*50th")
# After the summary, with --warmup-records: "N steady state records sent, R records/sec (M MB/sec),
# A ms avg latency, X ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
JAVA_STEADY_STATE = re.compile(r"(\d+) steady state records sent, ([\d.]+) records/sec .*?([\d.]+) ms max latency, "
                               r"(\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th")


def payload(size):
    """The payload every driver sends: the same generator as bench/peers/driver_common.h."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
    from driver_common import payload as make
    return make(size)


def java_client(libs, log_config, bootstrap, scratch, peers_src):
    c = client("Java (kafka-clients)", "java")
    tools = sorted(Path(libs).glob("kafka-tools-[0-9]*.jar")) if libs else []
    if not shutil.which("java") or not tools:
        reason = "java or the kafka-tools jar is missing (scripts/kafka-jars fetches it)"
        c.unavailable = {"produce": reason, "consume": reason, "group": reason}
    else:
        c.version = tools[0].name.removeprefix("kafka-tools-").removesuffix(".jar")
    base = ["java"] + JAVA_OPTIONS + [f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{libs}/*"]
    # The group driver is a small program of ours (Kafka's tools have none), compiled here
    # against the pinned jars.
    group_classes = Path(scratch) / "java-group"
    if "group" not in c.unavailable:
        if not shutil.which("javac"):
            c.unavailable["group"] = "javac is missing (the group driver is compiled at run time)"
        else:
            built = subprocess.run(["javac", "-d", str(group_classes), "-cp", f"{libs}/*",
                                    str(peers_src / "GroupBench.java")], capture_output=True, text=True)
            if built.returncode != 0:
                c.unavailable["group"] = f"compiling GroupBench.java failed: {built.stderr.strip()[-300:]}"
    c.group_cmd = lambda s, t, g: (["java"] + JAVA_OPTIONS + [f"-Dlog4j2.configurationFile={log_config}", "-cp",
                                   f"{group_classes}:{libs}/*", "GroupBench"]
                                   + common_args(bootstrap, t, 1) + group_args(s, g))

    def produce(s, topic, records):
        # Not --record-size: since Kafka 3.x ProducerPerformance draws new random bytes for every
        # record with it, which costs the tool CPU no other driver spends and gives lz4 different
        # data. A file holding the one payload every driver sends makes it send that, every time.
        payload_file = Path(scratch) / f"payload-{s.size}.txt"
        if not payload_file.exists():
            payload_file.write_bytes(payload(s.size))
        # A fixed-rate run sends one warm-up record more, left out of the steady-state line that
        # is read (the other drivers send theirs before the clock starts). Transactions: the
        # tool's own --transaction-duration-ms, which commits when that much time has passed.
        timing = (["--throughput", str(s.rate), "--num-records", str(records + 1), "--warmup-records", "1"]
                  if s.rate else ["--throughput", "-1", "--num-records", str(records)])
        transactions = (["--transactional-id", f"java-bench-{topic}", "--transaction-duration-ms",
                         str(s.transaction_ms)] if s.transaction_ms else [])
        return (base + ["org.apache.kafka.tools.ProducerPerformance", "--bootstrap-server", bootstrap,
                       "--topic", topic, "--payload-file", str(payload_file)] + timing + transactions
                + ["--command-property", f"acks={s.acks}", f"compression.type={s.compression}",
                   f"enable.idempotence={'true' if s.idempotent else 'false'}"]
                + ([f"batch.size={BATCH_SIZE}"] if BATCH_SIZE else []))

    def consume(s, topic, partitions, records):
        return base + ["org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap,
                       "--topic", topic, "--num-records", str(records), "--timeout", "60000",
                       "--hide-header", "--command-property", f"isolation.level={s.isolation}"]

    def parse_produce(stdout):
        steady = [m for m in map(JAVA_STEADY_STATE.search, stdout.splitlines()) if m]
        if steady:
            # The fixed-rate run: its percentiles are whole milliseconds (the tool's histogram).
            m = steady[-1]
            records = int(m.group(1))
            # The steady-state line's own rate is not the sending rate (its clock starts late);
            # the summary line's covers the warm-up record too, which is as close as it gets.
            totals = [t for t in map(JAVA_PRODUCE_TOTAL.search, stdout.splitlines()) if t]
            rate = float(totals[-1].group(2)) if totals else 0.0
            return {"records": records, "bytes": None, "seconds": records / rate if rate else 0.0, "errors": 0,
                    "latency_ms": {"p50": float(m.group(4)), "p99": float(m.group(6)),
                                   "p999": float(m.group(7)), "max": float(m.group(3)), "count": records}}
        totals = [m for m in map(JAVA_PRODUCE_TOTAL.search, stdout.splitlines()) if m]
        if not totals:
            raise ValueError("ProducerPerformance printed no summary line")
        records, rate = int(totals[-1].group(1)), float(totals[-1].group(2))
        # The tool counts successful sends only; its clock runs from the first send through
        # close(), which waits for every delivery.
        return {"records": records, "bytes": None, "seconds": records / rate if rate else 0.0, "errors": 0}

    def parse_consume(stdout):
        # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
        # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        for line in reversed(stdout.splitlines()):
            fields = [f.strip() for f in line.split(",")]
            if len(fields) >= 10 and re.fullmatch(r"\d+", fields[4]):
                # fetch.time.ms: from the end of the group join to the last record, the window the
                # other drivers time from their assign() (the join is not part of what they do).
                return {"records": int(fields[4]), "bytes": round(float(fields[2]) * MB),
                        "seconds": float(fields[7]) / 1000.0, "errors": 0,
                        "group_join_ms": float(fields[6])}
        raise ValueError("ConsumerPerformance printed no result line")

    c.produce_cmd, c.consume_cmd = produce, consume
    c.parse_produce, c.parse_consume = parse_produce, parse_consume
    return c


# --- the broker side ---------------------------------------------------------------------------

class admin:
    """Topic create/delete and end offsets, through kafka-python (the harness's own client; the
    drivers never share it)."""

    def __init__(self, bootstrap):
        from kafka import KafkaConsumer
        from kafka.admin import KafkaAdminClient
        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="sluice-bench-admin")
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="sluice-bench-check")

    def create(self, name, partitions):
        from kafka.admin import NewTopic
        self.admin.create_topics([NewTopic(name, partitions, 1)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described = self.admin.describe_topics([name])
            parts = described[0].get("partitions", []) if described else []
            if len(parts) == partitions and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in parts):
                return
            time.sleep(0.1)
        raise RuntimeError(f"topic {name}: not every partition has a leader after 30 s")

    def delete(self, name):
        try:
            self.admin.delete_topics([name])
        except Exception as e:  # a leftover topic costs disk, not correctness
            print(f"bench: deleting {name} failed: {e}", file=sys.stderr)

    def end_offset_sum(self, name, partitions):
        from kafka import TopicPartition
        tps = [TopicPartition(name, p) for p in range(partitions)]
        return sum(self.consumer.end_offsets(tps).values())


broker_cpu_seconds = cpu_seconds


def stored_batches(data_dir, topic, partitions):
    """(batches, records, bytes) of the topic's log segments, read straight from the broker's
    data folder: how a client batched (record batch v2 header: baseOffset int64, batchLength
    int32, ..., attributes int16 at byte 21, recordsCount int32 at byte 57; KIP-98). Control
    batches (attribute bit 5: transaction markers) are left out, so these are data records only.
    None without a data folder."""
    if data_dir is None:
        return None
    batches = records = size = 0
    for p in range(partitions):
        for segment in sorted((data_dir / f"{topic}-{p}").glob("*.log")):
            end = segment.stat().st_size
            with open(segment, "rb") as f:
                pos = 0
                while pos + 61 <= end:
                    f.seek(pos)
                    header = f.read(61)
                    length = int.from_bytes(header[8:12], "big", signed=True)
                    if len(header) < 61 or length <= 0 or pos + 12 + length > end:
                        break
                    if not int.from_bytes(header[21:23], "big") & 0x20:
                        batches += 1
                        records += int.from_bytes(header[57:61], "big")
                        size += 12 + length
                    pos += 12 + length
    return batches, records, size


# --- running one driver ------------------------------------------------------------------------

def run_driver(argv, timeout_s, log_dir, label, cwd):
    """Runs argv as a child, returns (exit code or None on timeout, stdout, rusage, wall seconds,
    peak RSS in MB). CPU comes from os.wait4 on that child: user + system time of the whole
    process."""
    out_path = log_dir / f"{label}.out"
    err_path = log_dir / f"{label}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                   start_new_session=True)
        timed_out = False
        peak_rss = None
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                break
            peak_rss = peak_rss_mb(process.pid) or peak_rss
            if time.monotonic() - started > timeout_s and not timed_out:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.02)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    stdout = out_path.read_text()
    return (None if timed_out else process.returncode), stdout, rusage, wall, peak_rss


def stderr_tail(log_dir, label, lines=3):
    try:
        text = (log_dir / f"{label}.err").read_text().strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def measure(c, mode, argv, expected_records, size, ctx, label, check=None):
    """One driver run → a result row."""
    row = {"client": c.name, "version": c.version}
    # Other work on the machine skews everything: each row says how busy it was just before.
    row["load_before"] = round(os.getloadavg()[0], 2)
    broker_before = broker_cpu_seconds(ctx.broker_pid)
    timeout = 120 + expected_records / 5_000
    code, stdout, rusage, wall, peak_rss = run_driver(argv, timeout, ctx.log_dir, label, ctx.peers_dir)
    broker_after = broker_cpu_seconds(ctx.broker_pid)
    cpu = rusage.ru_utime + rusage.ru_stime
    row.update({"wall_s": round(wall, 3), "cpu_user_s": round(rusage.ru_utime, 3),
                "cpu_sys_s": round(rusage.ru_stime, 3),
                "max_rss_mb": round(peak_rss, 1) if peak_rss is not None else None})
    if broker_before is not None and broker_after is not None:
        row["broker_cpu_s"] = round(broker_after - broker_before, 3)
    if code is None:
        row["status"] = f"failed: no result within {timeout:.0f} s (killed)"
        return row
    try:
        report = (c.parse_produce if mode == "produce" else c.parse_consume)(stdout)
    except (ValueError, json.JSONDecodeError) as e:
        row["status"] = f"failed: exit {code}, {e}; stderr: {stderr_tail(ctx.log_dir, label)}"
        return row
    records, seconds = report["records"], report["seconds"]
    nbytes = report["bytes"] if report["bytes"] is not None else records * size
    row.update({"records": records, "seconds": round(seconds, 4)})
    if "group_join_ms" in report:
        row["group_join_ms"] = report["group_join_ms"]
    if "latency_ms" in report:
        row["latency_ms"] = report["latency_ms"]
    if code != 0 or report.get("errors"):
        row["status"] = (f"failed: exit {code}, {report.get('errors', 0)} errors; "
                         f"stderr: {stderr_tail(ctx.log_dir, label)}")
        return row
    if records < expected_records or seconds <= 0:
        row["status"] = f"failed: {records} of {expected_records} records"
        return row
    if check is not None:
        problem = check()
        if problem:
            row["status"] = f"failed: {problem}"
            return row
    row.update({
        "status": "ok",
        "records_per_s": round(records / seconds),
        "mb_per_s": round(nbytes / MB / seconds, 2),
        "cpu_s_per_m": round(cpu / records * 1e6, 3),
    })
    if "broker_cpu_s" in row:
        row["broker_cpu_s_per_m"] = round(row["broker_cpu_s"] / records * 1e6, 3)
    if (c.name, mode) in ctx.startup_cpu:
        net = max(0.0, cpu - ctx.startup_cpu[(c.name, mode)])
        row["cpu_s_per_m_net"] = round(net / records * 1e6, 3)
    return row


@dataclass
class context:
    bootstrap: str
    broker_pid: object
    log_dir: Path
    peers_dir: Path
    partitions: int
    admin: object
    data_dir: object = None
    startup_cpu: dict = field(default_factory=dict)


def unique_topic(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run_produce(c, s, records, ctx):
    if "produce" in c.unavailable:
        return {"client": c.name, "version": c.version, "status": f"not measured: {c.unavailable['produce']}"}
    # A fixed-rate run lasts as long for every client: no smaller share for the Python clients.
    n = records if s.rate else c.records(records)
    topic = unique_topic("bench-produce")
    ctx.admin.create(topic, ctx.partitions)
    try:
        def check():
            if s.transaction_ms:
                # The end offsets count the commit markers too: count the data records stored.
                stored = stored_batches(ctx.data_dir, topic, ctx.partitions)
                if stored is None:
                    held = ctx.admin.end_offset_sum(topic, ctx.partitions)
                    return None if held >= n else f"the topic holds {held} records, {n} were sent"
                return None if stored[1] == n else f"the topic holds {stored[1]} data records, {n} were sent"
            held = ctx.admin.end_offset_sum(topic, ctx.partitions)
            # Exactly n: fewer is loss, more is duplicates (retries without idempotence). A
            # fixed-rate run sent one warm-up record more.
            expected = n + 1 if s.rate else n
            return None if held == expected else f"the topic holds {held} records, {expected} were sent"
        label = f"{s.key}-{slug(c.name)}"
        row = measure(c, "produce", c.produce_cmd(s, topic, n), n, s.size, ctx, label, check)
        stored = stored_batches(ctx.data_dir, topic, ctx.partitions)
        if row["status"] == "ok" and stored and stored[0]:
            batches, held, size = stored
            row.update({"batches": batches, "records_per_batch": round(held / batches, 1),
                        "stored_bytes_per_record": round(size / held, 1) if held else None})
        return row
    finally:
        ctx.admin.delete(topic)


def run_consume(c, s, topic, records, ctx):
    if "consume" in c.unavailable:
        return {"client": c.name, "version": c.version, "status": f"not measured: {c.unavailable['consume']}"}
    n = c.records(records)
    label = f"{s.key}-{slug(c.name)}"
    return measure(c, "consume", c.consume_cmd(s, topic, ctx.partitions, n), n, s.size, ctx, label)


def run_group(c, s, ctx):
    """One group run: the driver subscribes member A to a fresh topic, waits for its assignment,
    lets it fetch for a second, subscribes member B, and prints every listener call of both with
    its CLOCK_MONOTONIC time; the figures are computed here from those events (group_figures)."""
    row = {"client": c.name, "version": c.version}
    if "group" in c.unavailable:
        return dict(row, status=f"not measured: {c.unavailable['group']}")
    if s.assignor in c.group_unsupported:
        return dict(row, status=f"not measured: {c.group_unsupported[s.assignor]}")
    topic = unique_topic("bench-group")
    ctx.admin.create(topic, GROUP_PARTITIONS)
    label = f"{s.key}-{slug(c.name)}"
    try:
        row["load_before"] = round(os.getloadavg()[0], 2)
        code, stdout, rusage, wall, peak_rss = run_driver(c.group_cmd(s, topic, unique_topic("bench-group")), 120,
                                                          ctx.log_dir, label, ctx.peers_dir)
        row.update({"wall_s": round(wall, 3), "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 3),
                    "max_rss_mb": round(peak_rss, 1) if peak_rss is not None else None})
        if code is None:
            return dict(row, status="failed: no result within 120 s (killed)")
        try:
            report = driver_json(stdout)
            if code != 0 or report.get("errors"):
                return dict(row, status=f"failed: exit {code}; stderr: {stderr_tail(ctx.log_dir, label)}")
            figures = group_figures(report["events"], GROUP_PARTITIONS)
        except (ValueError, KeyError, StopIteration, json.JSONDecodeError) as e:
            return dict(row, status=f"failed: exit {code}, {e!r}; stderr: {stderr_tail(ctx.log_dir, label)}")
        row.update(figures)
        row["events"] = report["events"]
        row["status"] = "ok"
        return row
    finally:
        ctx.admin.delete(topic)


def group_figures(events, partitions):
    """From the drivers' listener events (member, event, t, partitions): how long member A took
    to join an empty group, how long B took to join (B's subscribe to B's first partitions, the
    whole rebalance), how long A owned no partition after B subscribed (the stop-the-world pause:
    every partition of an eager group is revoked; a cooperative member keeps what does not
    move), and how long the partitions that moved were owned by nobody (A's revocation to B's
    assignment, the longest of them)."""
    def of(member):
        return sorted((e for e in events if e["member"] == member), key=lambda e: e["t"])
    a, b = of("A"), of("B")
    a_sub = next(e["t"] for e in a if e["event"] == "subscribe")
    a_join = next(e["t"] for e in a if e["event"] == "assigned" and e["partitions"])
    b_sub = next(e["t"] for e in b if e["event"] == "subscribe")
    b_join = next(e["t"] for e in b if e["event"] == "assigned" and e["partitions"] and e["t"] >= b_sub)
    end = max(e["t"] for e in events)
    owned, before, pause, empty_since, revoked_at = set(), None, 0.0, None, {}
    for e in a:
        if e["t"] >= b_sub and before is None:
            before = set(owned)
        if e["event"] == "assigned":
            owned |= set(e["partitions"])
            if empty_since is not None and owned:
                pause += e["t"] - empty_since
                empty_since = None
        elif e["event"] in ("revoked", "lost"):
            owned -= set(e["partitions"])
            for partition in e["partitions"]:
                revoked_at[partition] = e["t"]
            if e["t"] >= b_sub and not owned and empty_since is None:
                empty_since = e["t"]
    if before is None:
        before = set(owned)
    if not before:
        raise ValueError("member A owned no partition when B subscribed (it had revoked them and not "
                         "rejoined yet): no steady state to measure the rebalance from")
    if not owned:
        raise ValueError(f"member A ended with no partition (B got all {partitions}): A dropped out of the "
                         "group instead of rebalancing")
    if empty_since is not None:
        pause += end - empty_since
    b_owned, handover = {}, 0.0
    for e in b:
        if e["event"] == "assigned":
            for partition in e["partitions"]:
                b_owned.setdefault(partition, e["t"])
    for partition, assigned_at in b_owned.items():
        if partition in revoked_at:
            handover = max(handover, assigned_at - revoked_at[partition])
    if len(owned) + len(b_owned) != partitions:
        raise ValueError(f"the group did not settle: A owns {sorted(owned)}, B {sorted(b_owned)}")
    return {"join_ms": round((a_join - a_sub) * 1000, 1), "second_join_ms": round((b_join - b_sub) * 1000, 1),
            "pause_ms": round(pause * 1000, 1), "handover_ms": round(handover * 1000, 1),
            "kept": len(before & owned), "moved": len(b_owned)}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def startup_costs(clients, ctx, mode, topic=None):
    """CPU seconds of each driver handling a single record: process start-up (JVM, interpreter,
    imports), connecting, metadata (and the producer id). Subtracted to give the 'net' CPU
    figure. Producers send to a fresh topic; consumers read the first record of `topic`."""
    produce = produce_scenario(100, "all", "none")
    consume = consume_scenario(100, "read_uncommitted")
    for c in clients:
        if mode in c.unavailable:
            continue
        fresh = topic is None
        name = topic or unique_topic("bench-startup")
        if fresh:
            ctx.admin.create(name, ctx.partitions)
        try:
            argv = (c.produce_cmd(produce, name, 1) if mode == "produce"
                    else c.consume_cmd(consume, name, ctx.partitions, 1))
            code, _, rusage, _, _ = run_driver(argv, 120, ctx.log_dir, f"startup-{mode}-{slug(c.name)}",
                                            ctx.peers_dir)
            if code == 0:
                ctx.startup_cpu[(c.name, mode)] = rusage.ru_utime + rusage.ru_stime
        finally:
            if fresh:
                ctx.admin.delete(name)


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


# --- the restore suite (bench/restore/) --------------------------------------------------------
#
# How fast a store comes back from its changelog. Sluice (bench_sluice_restore: the runtime's own
# restore_store into a RocksDB task database) and Kafka Streams (bench/restore/KafkaStreamsRestore
# .java: a one-store application) restore the same changelog topic: N records, 100-byte values,
# distinct keys, one partition, filled once by `bench_sluice_restore fill`. Each restores it twice,
# as two processes on one state directory: a full restore into an empty directory, then a clean
# restart (the state on disk is up to date: nothing to restore). --repeat does not apply here.

RESTORE_VALUE_SIZE = 100


def restore_clients(sluice_dir, sluice_missing, kafka_libs, java_log_config, log_dir, root, sluice_version):
    """[(name, version, why not measurable or None, argv(bootstrap, topic, app, state_dir, records))]"""
    sluice_bin = sluice_dir / "bench_sluice_restore" if sluice_dir else None
    sluice_reason = None if sluice_bin and sluice_bin.is_file() else f"{sluice_missing} (bench_sluice_restore)"

    def sluice_argv(bootstrap, topic, app, state_dir, records):
        return [str(sluice_bin), "restore", "--bootstrap", bootstrap, "--topic", topic, "--records", str(records),
                "--state-dir", str(state_dir)]

    java_reason, classes, streams_version = None, "", ""
    jars = sorted(Path(kafka_libs).glob("kafka-streams-[0-9]*.jar")) if kafka_libs else []
    if not jars or not shutil.which("java"):
        java_reason = "java or the kafka-streams jar is missing (scripts/kafka-jars fetches it)"
    else:
        streams_version = jars[0].name.removeprefix("kafka-streams-").removesuffix(".jar")
        built = subprocess.run([str(root / "bench" / "restore" / "build-java"), kafka_libs,
                                str(log_dir / "restore-java-classes")], capture_output=True, text=True)
        if built.returncode != 0:
            java_reason = f"compiling KafkaStreamsRestore.java failed: {built.stderr.strip()[-300:]}"
        else:
            classes = built.stdout.strip()
    log_options = [f"-Dlog4j2.configurationFile={java_log_config}"] if java_log_config else []

    def java_argv(bootstrap, topic, app, state_dir, records):
        # The changelog is <application.id>-store-changelog: `topic` names it already.
        return (["java"] + JAVA_OPTIONS + log_options +
                ["-cp", f"{kafka_libs}/*:{classes}", "KafkaStreamsRestore", "--bootstrap", bootstrap,
                 "--application-id", app, "--input", f"{app}-input", "--state-dir", str(state_dir),
                 "--records", str(records), "--size", str(RESTORE_VALUE_SIZE)])

    return [("Sluice", sluice_version, sluice_reason, sluice_argv),
            ("Kafka Streams", streams_version, java_reason, java_argv)]


def restore_process(argv, label, log_dir, records):
    """One restore process → its figures, or a failed status."""
    run = {"load_before": round(os.getloadavg()[0], 2)}
    timeout = 300 + records / 2_000
    code, stdout, rusage, wall, peak_rss = run_driver(argv, timeout, log_dir, label, log_dir)
    run.update({"wall_s": round(wall, 3), "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 3),
                "max_rss_mb": round(peak_rss, 1) if peak_rss is not None else None})
    if code is None:
        return dict(run, status=f"failed: no result within {timeout:.0f} s (killed)")
    try:
        report = driver_json(stdout)
    except (ValueError, json.JSONDecodeError) as e:
        return dict(run, status=f"failed: exit {code}, {e}; stderr: {stderr_tail(log_dir, label)}")
    if code != 0 or report.get("errors"):
        return dict(run, status=f"failed: exit {code}; stderr: {stderr_tail(log_dir, label)}")
    run.update({"records": report["records"], "restore_s": round(report["seconds"], 4)})
    for extra in ("to_running_s", "apply_s", "open_s", "close_s", "offsets"):
        if extra in report:
            run[extra] = report[extra]
    return dict(run, status="ok")


def restore_row(name, version, argv, bootstrap, topic, app, records, log_dir, progress):
    """A full restore into an empty state directory, then a clean restart on it."""
    row = {"client": name, "version": version}
    state_dir = Path(tempfile.mkdtemp(prefix="sluice-bench-restore."))
    try:
        progress(f"restore: {name}, full restore of {records:,} records")
        full = restore_process(argv(bootstrap, topic, app, state_dir, records), f"restore-full-{slug(name)}",
                               log_dir, records)
        if full["status"] == "ok" and full["records"] != records:
            full["status"] = f"failed: restored {full['records']} of {records} records"
        if full["status"] == "ok" and full["restore_s"] <= 0:
            full["status"] = "failed: no restore time reported"
        row["full"] = full
        if full["status"] != "ok":
            return dict(row, status=full["status"])
        progress(f"  → {full['restore_s']} s, {round(records / full['restore_s']):,} records/s; "
                 f"restart: {name}, state on disk up to date")
        restart = restore_process(argv(bootstrap, topic, app, state_dir, records), f"restore-restart-{slug(name)}",
                                  log_dir, records)
        row["restart"] = restart
        if restart["status"] != "ok":
            return dict(row, status=f"restart {restart['status']}")
        progress(f"  → restored {restart['records']} records in {restart['restore_s']} s "
                 f"(process: {restart['wall_s']} s)")
        seconds = full["restore_s"]
        return dict(row, status="ok", records=records, seconds=seconds,
                    records_per_s=round(records / seconds),
                    mb_per_s=round(records * RESTORE_VALUE_SIZE / MB / seconds, 2),
                    cpu_s=full["cpu_s"], max_rss_mb=full["max_rss_mb"], load_before=full["load_before"])
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def create_changelog_topic(admin_client, name):
    """One partition, cleanup.policy=compact: what Kafka Streams and Sluice create for a store."""
    from kafka.admin import NewTopic
    admin_client.admin.create_topics([NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = admin_client.admin.describe_topics([name])
        parts = described[0].get("partitions", []) if described else []
        if len(parts) == 1 and parts[0].get("leader_id", parts[0].get("leader", -1)) >= 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {name}: no leader after 30 s")


def run_restore_suite(records, ctx, progress, sluice_dir, sluice_missing, kafka_libs, java_log_config, root,
                      sluice_version):
    """The restore scenario: its result (kind "restore") for the JSON and the doc."""
    clients = restore_clients(sluice_dir, sluice_missing, kafka_libs, java_log_config, ctx.log_dir, root,
                              sluice_version)
    result = {"key": f"restore-{RESTORE_VALUE_SIZE}B", "kind": "restore", "size": RESTORE_VALUE_SIZE,
              "records": records, "title": f"Restore {records:,} records of {RESTORE_VALUE_SIZE} B from a changelog"}
    filler = clients[0]
    if filler[2]:
        reason = f"the changelog is filled by bench_sluice_restore, which is missing: {filler[2]}"
        result["rows"] = [{"client": name, "version": version, "status": f"not measured: {reason}"}
                          for name, version, _, _ in clients]
        return result
    app = unique_topic("bench-restore")
    topic = f"{app}-store-changelog"  # Kafka Streams' name for store "store" of application `app`
    create_changelog_topic(ctx.admin, topic)
    ctx.admin.create(f"{app}-input", 1)
    rows = []
    try:
        progress(f"restore: filling {topic} with {records:,} records of {RESTORE_VALUE_SIZE} B")
        fill = [str(sluice_dir / "bench_sluice_restore"), "fill", "--bootstrap", ctx.bootstrap, "--topic", topic,
                "--records", str(records), "--size", str(RESTORE_VALUE_SIZE)]
        code, _, _, _, _ = run_driver(fill, 600 + records / 5_000, ctx.log_dir, "restore-fill", ctx.log_dir)
        held = ctx.admin.end_offset_sum(topic, 1)
        if code != 0 or held != records:
            raise RuntimeError(f"filling {topic} failed (exit {code}, {held} of {records} records; "
                               f"stderr: {stderr_tail(ctx.log_dir, 'restore-fill')})")
        for name, version, reason, argv in clients:
            if reason:
                rows.append({"client": name, "version": version, "status": f"not measured: {reason}"})
                continue
            rows.append(restore_row(name, version, argv, ctx.bootstrap, topic, app, records, ctx.log_dir, progress))
            progress(f"  → {summary_restore(rows[-1])}")
    finally:
        ctx.admin.delete(topic)
        ctx.admin.delete(f"{app}-input")
    result["rows"] = rows
    return result


def summary_restore(row):
    if row["status"] != "ok":
        return row["status"]
    return (f"{row['records_per_s']:,} rec/s, {row['max_rss_mb']} MB peak RSS, clean restart "
            f"{row['restart']['restore_s']} s")


# --- main --------------------------------------------------------------------------------------

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
    global BATCH_SIZE
    BATCH_SIZE = args.batch_size
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
