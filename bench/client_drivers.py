"""Each client's driver: how to start it for a scenario (Sluice's and librdkafka's native drivers,
the aiokafka and kafka-python drivers in bench/peers/, Kafka's own ProducerPerformance and
ConsumerPerformance and bench/peers/GroupBench.java for the Java client) and how to read the
figures it prints."""
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from client_scenarios import GROUP_PARTITIONS, MB, PYTHON_SHARE


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

