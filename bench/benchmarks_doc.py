"""Rendering docs/benchmarks.md from a run's results (the JSON that bench/run.py writes): the
method text with the run's settings spliced in, a table per scenario, the Sluice ÷ peer ratios,
and the hand-written parts kept across runs (bench/findings.md, and the pipeline, failover and
runtime figures). `bench/run.py --render JSON` runs only this."""
import textwrap
from pathlib import Path

from client_scenarios import (FILL_TRANSACTION_MS, GROUP_PARTITIONS, PYTHON_SHARE, TRANSACTION_MS,
                              records_for)


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def client_rows(head, result, cells):
    """The header, the separator and one row per client of a result: `cells(row)` gives the cells
    after the client's name; a client that did not run gets its status instead."""
    columns = head.count("|") - 1
    lines = [head, "|---|" + "---:|" * (columns - 1)]
    for row in result["rows"]:
        name = row["client"] + (f" {row['version']}" if row.get("version") else "")
        if row["status"] != "ok":
            lines.append(f"| {name} | {row['status']} |" + "  |" * (columns - 2))
            continue
        lines.append("| " + " | ".join([name] + cells(row)) + " |")
    return lines


def latency_table(result):
    head = ("| client | records | records/s | p50 ms | p99 ms | p99.9 ms | max ms | CPU s / M records | "
            "max RSS MB |")

    def cells(row):
        lat = row["latency_ms"]
        digits = 0 if row["client"].startswith("Java") else 1  # ProducerPerformance: whole ms
        return [fmt(row["records"]), fmt(row["records_per_s"]), fmt(lat["p50"], digits),
                fmt(lat["p99"], digits), fmt(lat["p999"], digits), fmt(lat["max"], digits),
                fmt(row["cpu_s_per_m"], 2), fmt(row.get("max_rss_mb"))]
    return "\n".join(client_rows(head, result, cells))


def group_table(result):
    head = ("| client | first join ms | second member's join ms | first member's pause ms | "
            "moved partitions unowned ms | partitions A kept / moved to B | CPU s | max RSS MB |")

    def cells(row):
        return [fmt(row["join_ms"]), fmt(row["second_join_ms"]), fmt(row["pause_ms"]),
                fmt(row["handover_ms"]), f"{row['kept']} / {row['moved']}", fmt(row["cpu_s"], 2),
                fmt(row.get("max_rss_mb"))]
    return "\n".join(client_rows(head, result, cells))


def restore_table(result):
    intro = (f"One changelog partition of {fmt(result['records'])} records (distinct 16-byte keys, "
             f"{result['size']} B values), restored into a RocksDB store by a fresh process: Sluice's "
             "`bench_sluice_restore` (the runtime's `restore_store`: a read_committed, group-less "
             "consumer, each batch applied with its offset in one atomic write, an ingested SST file "
             "when it holds 10,000 records or more) and a Kafka Streams "
             "application with one persistent key-value store (`KafkaStreamsRestore`, its "
             "StateRestoreListener's clock). *Restore s* is the restore alone; *CPU* and *max RSS* "
             "are the whole process's (JVM start-up and group join included for Kafka Streams). The "
             "clean restart is a second process on the same state directory, which is up to date: "
             "*process s* is its whole run, start to exit.")
    head = ("| client | records | restore s | records/s | MB/s | CPU s | max RSS MB | clean restart: "
            "records restored | restore s | process s |")

    def cells(row):
        restart = row["restart"]
        return [fmt(row["records"]), fmt(row["seconds"], 2), fmt(row["records_per_s"]),
                fmt(row["mb_per_s"], 1), fmt(row["cpu_s"], 2), fmt(row.get("max_rss_mb")),
                fmt(restart["records"]), fmt(restart["restore_s"], 3), fmt(restart["wall_s"], 2)]
    intro_text = textwrap.fill(intro, 100, break_on_hyphens=False, break_long_words=False)
    return "\n".join([intro_text, ""] + client_rows(head, result, cells))



def scenario_table(result):
    if result["kind"] == "restore":
        return restore_table(result)
    if result["kind"] == "latency":
        return latency_table(result)
    if result["kind"] == "group":
        return group_table(result)
    produce = result["kind"] == "produce"
    head = ("| client | records | records/s | MB/s | CPU s / M records | net of start-up | "
            "broker CPU s / M |" + (" records / batch | stored B / record |" if produce else "") +
            " max RSS MB |")

    def cells(row):
        rate = fmt(row["records_per_s"])
        others = [r for r in row.get("runs_records_per_s", []) if r is not None]
        if len(others) > 1:
            rate += f" ({fmt(min(others))}–{fmt(max(others))})"
        if row.get("failed_runs"):
            rate += f", {len(row['failed_runs'])} run(s) failed"
        out = [fmt(row["records"]), rate, fmt(row["mb_per_s"], 1), fmt(row["cpu_s_per_m"], 2),
               fmt(row.get("cpu_s_per_m_net"), 2), fmt(row.get("broker_cpu_s_per_m"), 2)]
        if produce:
            out += [fmt(row.get("records_per_batch"), 1), fmt(row.get("stored_bytes_per_record"), 1)]
        return out + [fmt(row.get("max_rss_mb"))]
    return "\n".join(client_rows(head, result, cells))


def ratio_table(results):
    """Sluice ÷ peer per scenario: throughput (above 1: Sluice is faster) and CPU per record
    (below 1: Sluice uses less)."""
    peers = []
    for result in results:
        if result["kind"] not in ("produce", "consume"):
            continue
        for row in result["rows"]:
            if row["client"] != "Sluice" and row["client"] not in peers:
                peers.append(row["client"])
    lines = ["| scenario | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
    any_ratio = False
    for result in results:
        if result["kind"] not in ("produce", "consume"):
            continue  # a fixed rate, or no records: no throughput to compare
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
- **Transactional produce**: {fmt(records_for(cfg['records'], 100))} records of 100 B, acks=all,
  uncompressed, with a transactional id of its own per run; the driver commits the open
  transaction once {cfg.get('transaction_ms', TRANSACTION_MS)} ms have passed since it began (checked every 64 records;
  ProducerPerformance: its `--transaction-duration-ms`) and once more at the end; the clock stops
  when the last commit returns. The check counts the data records in the log segments (the end
  offsets include the commit markers).
- **Delivery latency at a fixed rate**: {fmt(cfg.get('latency_rate'))} records/s of 100 B, acks=all
  (idempotent), uncompressed, {fmt(cfg.get('latency_records'))} records for every client (the Python
  clients too), after one warm-up record that is acknowledged before the clock starts and is not
  counted (ProducerPerformance: `--warmup-records 1`, its steady-state line). Each driver sends
  every record that is due (record i at start + i / rate), waking at most once a millisecond, and
  takes each record's time from the send call to its acknowledgement (delivery handle, delivery
  report, future callback); the percentiles are nearest-rank over every record. Java's
  ProducerPerformance reports whole milliseconds, and its records/s includes the warm-up record's
  wait. The clients' default linger (5 ms for Sluice, Java and librdkafka, 0 for the Python
  clients) is part of what is measured.
- **Consuming read_committed** reads a topic written by librdkafka in transactions of
  {cfg.get('fill_transaction_ms', FILL_TRANSACTION_MS)} ms (commit markers in the log; the consumer
  must wait for the last stable offset and skip the markers), the other consume scenarios a topic
  written without transactions.
- **Group join and rebalance**: each client's group driver (`bench/sluice_group.cpp`,
  `bench/peers/rdkafka_group.c`, `bench/peers/GroupBench.java` against kafka-clients, and the
  Python drivers' `group` mode) runs two members of one new group in one process, on a fresh
  topic of {cfg.get('group_partitions', GROUP_PARTITIONS)} partitions, each polling all the time. Member A
  subscribes, gets its partitions (**first join**: subscribe to the first assignment callback,
  an empty group; the broker's `group.initial.rebalance.delay.ms` is 0), fetches for a second;
  then member B subscribes. **Second member's join**: B's subscribe to B's first partitions,
  the whole rebalance. A learns of the rebalance from its next heartbeat (every client's
  default interval is 3 s, counted from A's join; B subscribes about 1 s after it, so that wait
  is about 2 s for every client and dominates this column); a cooperative group needs a second
  rebalance, which again starts at a heartbeat, before B gets the partitions A gave up.
  **First member's pause**: how long A owned no partition (eager: from its revocation of
  everything to its new assignment; cooperative: A keeps the partitions that stay, so 0 unless
  it kept none). **Moved partitions unowned**: for the partitions that moved to B, the longest
  time from A's revocation to B's assignment. Times are the listener callbacks'
  CLOCK_MONOTONIC stamps; Java's first join includes warming up a fresh JVM. Everything else is the clients' default
  (session timeout, heartbeat); only the assignor is set, alone. The classic group protocol is
  used throughout: KIP-848's `consumer` protocol is not measured, as librdkafka 2.0.2 predates it
  (2.4 and newer speak it) and the Python clients do not have it.

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

`scripts/bench [--records N] [--quick] [--only clients|producer|consumer|restore|pipeline|failover] [--partitions P] [--repeat R] [--batch-size B] [--output DIR]`: installs the
Python clients into `~/.cache/sluice/bench-venv`, fetches the pinned Kafka jars, builds the
drivers (release preset, `build/release`; librdkafka drivers in `build/release/bench-peers`),
starts its own broker (stopped at exit), runs everything and rewrites this file (with
`--output DIR`, writes it and the JSON into DIR instead). `--only pipeline` runs the pipeline
benchmark alone (`bench/pipeline/README.md`; it also runs after the client suites by default,
which `--only clients` runs without it), `--only failover` the failover benchmark, which runs only when asked (`bench/failover/README.md`).
Whether a change made the client slower is `bench/compare_builds.py --old DIR --new DIR --bootstrap
B`: two builds' drivers interleaved on one broker, round by round, medians (two full runs days
apart also measure how busy the machine was); `--only producer --batch-size B --peer DIR` runs the
produce scenarios alone, at one batch.size for every producer, with librdkafka's driver (DIR: the
`bench-peers` build) in every round as a third contestant.
"""
    head, rest = text.split("## Published figures", 1)
    # The pipeline and failover benchmarks' last figures (bench/pipeline/run.py and
    # bench/failover/run.py write them) and hand-written figures of the runtime (WAL cost, faults
    # survived), kept across runs.
    for name in ("pipeline_figures.md", "failover_figures.md", "runtime_figures.md"):
        figures = Path(__file__).resolve().parent / name
        if figures.is_file():
            rest += "\n" + figures.read_text().strip() + "\n"
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
