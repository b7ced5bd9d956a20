"""Running and measuring one driver run: the topics it writes or reads (created, checked and
deleted through kafka-python), the child process and its CPU time (os.wait4) and peak memory,
the broker's CPU time and the batches it stored, and the result row of a produce, consume or
group run (with the group's join and pause times worked out from the drivers' events)."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from client_drivers import driver_json
from client_scenarios import GROUP_PARTITIONS, MB, consume_scenario, produce_scenario
from proc_stats import cpu_seconds, peak_rss_mb


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

