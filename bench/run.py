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
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024  # MB/s as Kafka's perf tools print it (MiB)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON_SHARE = 10  # the Python clients get 1/PYTHON_SHARE of the records (they are 10-50x slower)


# --- scenarios ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class produce_scenario:
    size: int
    acks: str  # "1" or "all"
    compression: str  # "none" or "lz4"

    @property
    def idempotent(self):
        # Idempotence needs acks=all (KIP-98, and every client refuses it otherwise).
        return self.acks == "all"

    @property
    def key(self):
        return f"produce-{self.size}B-acks{self.acks}-{self.compression}"

    @property
    def title(self):
        idem = "idempotent" if self.idempotent else "not idempotent"
        return f"Produce {self.size} B records, acks={self.acks} ({idem}), {self.compression}"


@dataclass(frozen=True)
class consume_scenario:
    size: int
    isolation: str

    @property
    def key(self):
        return f"consume-{self.size}B-{self.isolation}"

    @property
    def title(self):
        return f"Consume {self.size} B records, {self.isolation}"


def scenarios(quick, only):
    sizes = [100] if quick else [100, 1024]
    produce = [produce_scenario(size, acks, compression)
               for size in sizes
               for acks in (["all"] if quick else ["1", "all"])
               for compression in ["none", "lz4"]]
    consume = [consume_scenario(size, isolation)
               for size in sizes
               for isolation in (["read_uncommitted"] if quick else ["read_uncommitted", "read_committed"])]
    return ([] if only == "consumer" else produce), ([] if only == "producer" else consume)


def records_for(total_100b, size):
    """1 KB runs send about as many bytes as 100 B runs, not 10x as many."""
    return max(1, total_100b * 100 // size) if size > 100 else total_100b


# --- clients -----------------------------------------------------------------------------------

@dataclass
class client:
    name: str
    kind: str  # "native", "java", "python"
    produce_cmd: object = None  # (scenario, topic, records) -> argv
    consume_cmd: object = None  # (scenario, topic, partitions, records) -> argv
    parse_produce: object = None  # stdout -> dict(records, bytes, seconds, errors)
    parse_consume: object = None
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
            + (["--batch-size", str(BATCH_SIZE)] if BATCH_SIZE else []))


def consume_args(s, partitions):
    return ["--partitions", str(partitions), "--isolation", s.isolation]


def native_client(name, produce_bin, consume_bin, bootstrap, missing_reason, version):
    c = client(name, "native", version=version)
    for mode, binary in (("produce", produce_bin), ("consume", consume_bin)):
        if binary is None or not Path(binary).is_file():
            c.unavailable[mode] = missing_reason(mode)
    c.produce_cmd = lambda s, t, n: [str(produce_bin)] + common_args(bootstrap, t, n) + produce_args(s)
    c.consume_cmd = lambda s, t, p, n: [str(consume_bin)] + common_args(bootstrap, t, n) + consume_args(s, p)
    c.parse_produce = c.parse_consume = driver_json
    return c


def python_client(name, python, script, module, bootstrap):
    c = client(name, "python")
    probe = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version('{module}'))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        reason = f"{module} is not installed for {python}"
        c.unavailable = {"produce": reason, "consume": reason}
    c.version = probe.stdout.strip()
    c.produce_cmd = lambda s, t, n: [python, str(script), "produce"] + common_args(bootstrap, t, n) + produce_args(s)
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


def payload(size):
    """The payload every driver sends: the same generator as bench/peers/driver_common.h."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
    from driver_common import payload as make
    return make(size)


def java_client(libs, log_config, bootstrap, scratch):
    c = client("Java (kafka-clients)", "java")
    tools = sorted(Path(libs).glob("kafka-tools-[0-9]*.jar")) if libs else []
    if not shutil.which("java") or not tools:
        reason = "java or the kafka-tools jar is missing (scripts/kafka-jars fetches it)"
        c.unavailable = {"produce": reason, "consume": reason}
    else:
        c.version = tools[0].name.removeprefix("kafka-tools-").removesuffix(".jar")
    base = ["java"] + JAVA_OPTIONS + [f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{libs}/*"]

    def produce(s, topic, records):
        # Not --record-size: since Kafka 3.x ProducerPerformance draws new random bytes for every
        # record with it, which costs the tool CPU no other driver spends and gives lz4 different
        # data. A file holding the one payload every driver sends makes it send that, every time.
        payload_file = Path(scratch) / f"payload-{s.size}.txt"
        if not payload_file.exists():
            payload_file.write_bytes(payload(s.size))
        return (base + ["org.apache.kafka.tools.ProducerPerformance", "--bootstrap-server", bootstrap,
                       "--topic", topic, "--num-records", str(records), "--payload-file", str(payload_file),
                       "--throughput", "-1", "--command-property", f"acks={s.acks}",
                       f"compression.type={s.compression}",
                       f"enable.idempotence={'true' if s.idempotent else 'false'}"]
                       + ([f"batch.size={BATCH_SIZE}"] if BATCH_SIZE else []))

    def consume(s, topic, partitions, records):
        return base + ["org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap,
                       "--topic", topic, "--num-records", str(records), "--timeout", "60000",
                       "--hide-header", "--command-property", f"isolation.level={s.isolation}"]

    def parse_produce(stdout):
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


def broker_cpu_seconds(pid):
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def stored_batches(data_dir, topic, partitions):
    """(batches, records, bytes) of the topic's log segments, read straight from the broker's
    data folder: how a client batched (record batch v2 header: baseOffset int64, batchLength
    int32, ..., recordsCount int32 at byte 57; KIP-98). None without a data folder."""
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
                    batches += 1
                    records += int.from_bytes(header[57:61], "big")
                    size += 12 + length
                    pos += 12 + length
    return batches, records, size


# --- running one driver ------------------------------------------------------------------------

def peak_rss_mb(pid):
    """VmHWM: the peak resident memory of the process's current image. (wait4's ru_maxrss is no
    use here: Linux carries the forking harness's own peak across exec into it.)"""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


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
    n = c.records(records)
    topic = unique_topic("bench-produce")
    ctx.admin.create(topic, ctx.partitions)
    try:
        def check():
            held = ctx.admin.end_offset_sum(topic, ctx.partitions)
            # Exactly n: fewer is loss, more is duplicates (retries without idempotence).
            return None if held == n else f"the topic holds {held} records, {n} were sent"
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


# --- output ------------------------------------------------------------------------------------

def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def scenario_table(result):
    produce = result["kind"] == "produce"
    head = ("| client | records | records/s | MB/s | CPU s / M records | net of start-up | "
            "broker CPU s / M |" + (" records / batch | stored B / record |" if produce else "") +
            " max RSS MB |")
    columns = head.count("|") - 1
    lines = [head, "|---|" + "---:|" * (columns - 1)]
    for row in result["rows"]:
        name = row["client"] + (f" {row['version']}" if row.get("version") else "")
        if row["status"] != "ok":
            lines.append(f"| {name} | {row['status']} |" + "  |" * (columns - 2))
            continue
        rate = fmt(row["records_per_s"])
        others = [r for r in row.get("runs_records_per_s", []) if r is not None]
        if len(others) > 1:
            rate += f" ({fmt(min(others))}–{fmt(max(others))})"
        if row.get("failed_runs"):
            rate += f", {len(row['failed_runs'])} run(s) failed"
        cells = [name, fmt(row["records"]), rate, fmt(row["mb_per_s"], 1),
                 fmt(row["cpu_s_per_m"], 2), fmt(row.get("cpu_s_per_m_net"), 2),
                 fmt(row.get("broker_cpu_s_per_m"), 2)]
        if produce:
            cells += [fmt(row.get("records_per_batch"), 1), fmt(row.get("stored_bytes_per_record"), 1)]
        cells.append(fmt(row.get("max_rss_mb")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_table(results):
    """Sluice ÷ peer per scenario: throughput (above 1: Sluice is faster) and CPU per record
    (below 1: Sluice uses less)."""
    peers = []
    for result in results:
        for row in result["rows"]:
            if row["client"] != "Sluice" and row["client"] not in peers:
                peers.append(row["client"])
    lines = ["| scenario | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
    any_ratio = False
    for result in results:
        rows = {row["client"]: row for row in result["rows"]}
        sluice = rows.get("Sluice")
        if not sluice or sluice["status"] != "ok":
            continue
        cells = []
        for peer in peers:
            other = rows.get(peer)
            if not other or other["status"] != "ok":
                cells.append("–")
                continue
            speed = sluice["records_per_s"] / other["records_per_s"]
            cpu = sluice["cpu_s_per_m"] / other["cpu_s_per_m"] if other["cpu_s_per_m"] else None
            cells.append(f"{speed:.2f}× speed, {cpu:.2f}× CPU" if cpu is not None else f"{speed:.2f}× speed")
            any_ratio = True
        lines.append(f"| {result['title']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if any_ratio else None


def results_markdown(results):
    parts = []
    for result in results:
        parts.append(f"### {result['title']}\n\n{scenario_table(result)}\n")
    return "\n".join(parts)


CLIENT_NAMES = ["Sluice", "librdkafka", "Java kafka-clients", "aiokafka", "kafka-python"]


def wrap_bullets(text, width=100):
    """Re-wraps the '- ' bullets of a block (the method text has values spliced into it)."""
    out, item = [], None
    for line in text.splitlines() + [""]:
        if line.startswith("- ") or not line.strip():
            if item is not None:
                out.extend(textwrap.wrap(item, width, initial_indent="- ", subsequent_indent="  ",
                                         break_on_hyphens=False, break_long_words=False))
                item = None
            if line.startswith("- "):
                item = line[2:]
            else:
                out.append(line)
        elif item is not None:
            item += " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out[:-1])


def docs_markdown(run):
    m = run["machine"]
    cfg = run["config"]
    v = run["versions"]
    versions = ", ".join(f"{k} {v[k]}" for k in CLIENT_NAMES if v.get(k))
    versions += f" (Python {v.get('Python', '?')}, JDK {v.get('JDK', '?')})"
    ratios = ratio_table(run["results"])
    not_measured = sorted({row["status"] for r in run["results"] for row in r["rows"]
                           if row["client"] == "Sluice" and row["status"] != "ok"})
    findings = ""
    findings_file = Path(__file__).resolve().parent / "findings.md"
    if findings_file.is_file():
        # Hand-written analysis (bench/findings.md), kept across runs; it says which run it read.
        findings = "## Findings\n\n" + findings_file.read_text().strip() + "\n\n"
    sluice_note = ""
    if not_measured:
        sluice_note = ("\nSluice rows without figures in this run: " + "; ".join(not_measured) +
                       ". No figure is shown for them, and no ratio.\n")
    text = f"""# Benchmarks

Written by `scripts/bench` (bench/run.py); do not edit by hand: run it again, or edit
`bench/findings.md` (the Findings section) and `bench/run.py --render <json>`. This run:
{run['date']}, `{('scripts/bench ' + cfg['command_line']).strip()}`, Sluice {run['versions'].get('Sluice', '')}.
Raw figures: `bench/results/{run['json_name']}`.

## Method

- **Machine**: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, {m['os']}. The broker
  and the client under test share these cores, as every client does, so the figures are for
  comparing clients with each other, not for sizing a cluster.
- **Load**: the 1-minute load average just before each run was between {load_range(run)} (in
  the JSON per run); with 2 cores, a figure well above 1 means something besides the broker and
  the client under test was running, and that run's numbers are lower than they should be.
- **Broker**: one Apache Kafka {run['versions'].get('Kafka broker', '')} node (KRaft, combined
  broker + controller, `scripts/kafka`, JVM `-Xmx512m`) on loopback, started for this run;
  every client ran against the same broker in the same run, one after the other (never two at
  once). Before the first measurement a warm-up producer sent {fmt(cfg['warmup_records'])}
  records so the broker's JIT and producer-id machinery were warm for the first client too.
- **Clients**: {versions}. Each client runs as its own driver process: `bench/sluice_produce.cpp`
  and `bench/sluice_consume.cpp` for Sluice; small drivers in `bench/peers/` for librdkafka (C),
  aiokafka and kafka-python; Kafka's own `ProducerPerformance` and `ConsumerPerformance`
  (`kafka-tools`) for the Java client, with `kafka-run-class.sh`'s JVM options.
- **Producing**: {fmt(cfg['records'])} records of 100 B (1 KB scenarios: the same number of bytes,
  {fmt(records_for(cfg['records'], 1024))} records) to a fresh topic of {cfg['partitions']}
  partition(s) per run, no key (sticky partitioning), one payload of random upper-case letters
  reused for every record (the same bytes for every client, so lz4 sees the same data; ProducerPerformance gets it as a one-line `--payload-file`,
  because with `--record-size` it draws fresh random bytes for every record). acks=1 runs are not idempotent (idempotence needs
  acks=all); acks=all runs are idempotent. {batching_text(cfg.get('batch_size'))} The clock runs from the first send to the moment
  every record is acknowledged (flush; for ProducerPerformance, through close()). After each run
  the harness checks that the topic holds exactly the records sent; a run that fails the check
  is marked failed.
- **Consuming**: {fmt(cfg['records'])} 100 B records ({fmt(records_for(cfg['records'], 1024))} of
  1 KB) produced beforehand by librdkafka (acks=all, uncompressed) into a {cfg['partitions']}-partition
  topic, read from the beginning. Sluice, librdkafka and the Python clients assign the partitions
  (no group); the clock runs from the assignment to the last record. ConsumerPerformance
  subscribes with a group; its fetch time (after the group join) is used, and its join time is in
  the JSON. CRC checks are off in every consumer: ConsumerPerformance forces `check.crcs=false`
  and librdkafka defaults to it, so the others are set the same way.
- **Rounds**: {rounds_text(cfg.get('repeat', 1))}
- **Python clients** get 1/{PYTHON_SHARE} of the records (they are 10-50× slower; rates per second
  and CPU per record do not depend on the count, start-up costs aside).
- **CPU**: user + system seconds of the whole driver process, from `os.wait4` on that child
  (start-up, JIT and interpreter included: what running the client costs), per million records.
  "Net of start-up" subtracts what the same driver spends to send (or read) a single record
  (process start, connecting, metadata, producer id), which matters for the JVM and Python.
  Max RSS is the driver's peak resident memory (`VmHWM`, sampled every 20 ms).
- **What the broker saw**: broker CPU seconds (from `/proc/<pid>/stat`) during each run, per
  million records; and, read from the broker's log segments after each produce run, the average
  records per stored batch and the stored bytes per record (batch headers and compression
  included). Small batches cost the broker CPU and the client throughput; these two columns
  usually say why one producer is slower than another.
- **Not measured here** (issue 3/4 asks for them; not in this harness yet): transactional
  produce, p50/p99 latency at a fixed rate, group join and rebalance pauses (beyond
  ConsumerPerformance's join time in the JSON).

## Published figures, for context

librdkafka has reported 850k msgs/s producing 100 B records on a 4-core desktop with two local
brokers (and claims >1M produce, >3M consume); the Java producer ~820k rec/s on one thread;
franz-go consuming 2.2M rec/s; aiokafka ~76k-140k msgs/s; kafka-python ~14k msgs/s. Those were
other machines and brokers; only the side-by-side figures below compare like with like.

## Results
{sluice_note}
{results_markdown(run['results'])}
{findings}## Sluice ÷ peer

{ratios if ratios else 'No Sluice figures in this run, so no ratios.'}

Speed above 1 means Sluice moved more records per second than that peer; CPU below 1 means it
used less CPU per record.

## Running it

`scripts/bench [--records N] [--quick] [--only producer|consumer] [--partitions P] [--repeat R]`: installs the
Python clients into `~/.cache/sluice/bench-venv`, fetches the pinned Kafka jars, builds the
drivers (release preset, `build/release`; librdkafka drivers in `build/release/bench-peers`),
starts its own broker (stopped at exit), runs everything and rewrites this file.
"""
    head, rest = text.split("## Published figures", 1)
    return wrap_bullets(head) + "\n## Published figures" + rest


def batching_text(batch_size):
    defaults = ("Sluice and Java linger 5 ms / batch 16 KB, librdkafka linger 5 ms / batch up to "
                "1 MB, aiokafka and kafka-python linger 0 / batch 16 KB")
    if batch_size:
        return (f"Every producer was given batch.size = {batch_size:,} bytes (`--batch-size`); "
                f"everything else is each client's default (their defaults: {defaults}).")
    return (f"Everything else is each client's default (batching: {defaults}; `--batch-size B` "
            "gives every producer the same batch.size).")


def rounds_text(repeat):
    if repeat == 1:
        return ("one run per client and scenario (`--repeat N` runs N rounds and reports each "
                "client's median run, with the range in brackets).")
    return (f"{repeat} rounds; in each, every client ran once, in turn. The tables show each "
            "client's median run by records/s (of an even count, the slower middle one; its CPU "
            "and broker figures are that run's), and the range over the rounds in brackets.")


def load_range(run):
    loads = [row["load_before"] for r in run["results"] for row in r["rows"] if "load_before" in row]
    return f"{min(loads):.2f} and {max(loads):.2f}" if loads else "(no runs)"


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
    parser.add_argument("--only", choices=["producer", "consumer"])
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
    if not args.bootstrap or not args.peers_dir:
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
    produce_scenarios, consume_scenarios = scenarios(args.quick, args.only)
    log_dir = Path(tempfile.mkdtemp(prefix="sluice-bench-logs."))
    peers_src = root / "bench" / "peers"
    sluice_dir = Path(args.sluice_dir).resolve() if args.sluice_dir else None
    peers_dir = Path(args.peers_dir).resolve()
    kafka_libs = str(Path(args.kafka_libs).resolve()) if args.kafka_libs else None
    python = sys.executable

    sluice = native_client(
        "Sluice",
        sluice_dir / "bench_sluice_produce" if sluice_dir else None,
        sluice_dir / "bench_sluice_consume" if sluice_dir else None,
        args.bootstrap, lambda mode: f"{args.sluice_missing} (bench_sluice_{mode})", git_version(root))
    rdkafka = native_client("librdkafka", peers_dir / "rdkafka_produce", peers_dir / "rdkafka_consume",
                            args.bootstrap, lambda mode: f"rdkafka_{mode} was not built", args.librdkafka_version)
    java = java_client(kafka_libs, args.java_log_config, args.bootstrap, log_dir)
    aiokafka = python_client("aiokafka", python, peers_src / "aiokafka_bench.py", "aiokafka", args.bootstrap)
    kafka_python = python_client("kafka-python", python, peers_src / "kafka_python_bench.py", "kafka-python",
                                 args.bootstrap)
    clients = [sluice, rdkafka, java, aiokafka, kafka_python]

    ctx = context(args.bootstrap, args.broker_pid, log_dir, peers_src, args.partitions, admin(args.bootstrap),
                  Path(args.broker_data_dir) if args.broker_data_dir else None)
    started = time.monotonic()

    def progress(text):
        print(f"bench: [{time.monotonic() - started:5.0f}s] {text}", file=sys.stderr, flush=True)

    warmup_records = min(records, 200_000)
    if "produce" not in rdkafka.unavailable:
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
    for s in produce_scenarios:
        n = records_for(records, s.size)
        rows = rounds(clients, args.repeat, s.title, progress, lambda c: run_produce(c, s, n, ctx))
        results.append({"key": s.key, "title": s.title, "kind": "produce", "size": s.size, "acks": s.acks,
                        "compression": s.compression, "idempotent": s.idempotent, "records": n,
                        "rows": rows})

    for size in sorted({s.size for s in consume_scenarios}):
        n = records_for(records, size)
        topic = unique_topic(f"bench-consume-{size}")
        ctx.admin.create(topic, args.partitions)
        try:
            progress(f"producing {n:,} records of {size} B to read back")
            if "produce" in rdkafka.unavailable:
                raise RuntimeError("the consumer scenarios need rdkafka_produce to fill their topic")
            code, _, _, _, _ = run_driver(rdkafka.produce_cmd(produce_scenario(size, "all", "none"), topic, n), 600,
                                       log_dir, f"fill-{size}", peers_src)
            held = ctx.admin.end_offset_sum(topic, args.partitions)
            if code != 0 or held != n:
                raise RuntimeError(f"filling {topic} failed (exit {code}, {held} of {n} records)")
            if not any(mode == "consume" for _, mode in ctx.startup_cpu):
                progress("measuring each consumer's start-up cost (one record)")
                startup_costs(clients, ctx, "consume", topic)
            for s in [s for s in consume_scenarios if s.size == size]:
                rows = rounds(clients, args.repeat, s.title, progress,
                              lambda c: run_consume(c, s, topic, n, ctx))
                results.append({"key": s.key, "title": s.title, "kind": "consume", "size": s.size,
                                "isolation": s.isolation, "records": n, "rows": rows})
        finally:
            ctx.admin.delete(topic)

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
                   "command_line": args.command_line, "java_options": JAVA_OPTIONS},
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


def rounds(clients, repeat, title, progress, run_one):
    """Runs every client once per round, `repeat` rounds (so a burst of load elsewhere on the
    machine hits one round, not one client's every run), and keeps each client's median run by
    records/s, with every run's rate in `runs_records_per_s`."""
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
        ok = sorted((r for r in runs[c.name] if r["status"] == "ok"), key=lambda r: r["records_per_s"])
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
    return (f"{row['records_per_s']:,} rec/s, {row['mb_per_s']} MB/s, {row['cpu_s_per_m']} CPU s/M "
            f"({row['records']:,} records in {row['seconds']} s)")


if __name__ == "__main__":
    sys.exit(main())
