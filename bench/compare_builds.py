#!/usr/bin/env python3
"""Two builds of Sluice's client drivers side by side: did a change make the producer or the
consumer slower? The full client benchmark (scripts/bench) compares Sluice with its peers in one
run, but two such runs days apart also measure how busy the machine was; this runs an older and a
newer build's drivers (bench_sluice_produce, bench_sluice_consume) interleaved, round by round,
on one broker (which goes first alternates), so that both see the same machine, and prints each scenario's median records/s
and CPU per record.

    bench/compare_builds.py --old DIR --new DIR --bootstrap HOST:PORT [--rounds 5] [--records N]

DIR holds the drivers (a release build's bench/ folder: cmake --preset release -B B
-DSLUICE_BUILD_BENCH=ON, then build bench_sluice_produce and bench_sluice_consume; check an older
commit out with `git worktree add --detach`). Topics are created with the newer build's `sluice`
(DIR/../sluice) or the one given with --sluice.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

# name, driver arguments past the common ones, and the scenario whose topic (written in the same
# round) a consume scenario reads. 1 KB scenarios move the bytes of --records 100 B records, as
# scripts/bench does.
SCENARIOS = [
    ("produce 100 B, acks=1, none", ["--size", "100", "--acks", "1", "--compression", "none",
                                     "--idempotence", "false"], None),
    ("consume 100 B, read_uncommitted", ["--partitions", "1", "--isolation", "read_uncommitted"],
     "produce 100 B, acks=1, none"),
    ("produce 100 B, acks=all (idempotent), none", ["--size", "100", "--acks", "all", "--compression",
                                                    "none", "--idempotence", "true"], None),
    ("produce 100 B, acks=all (idempotent), lz4", ["--size", "100", "--acks", "all", "--compression",
                                                   "lz4", "--idempotence", "true"], None),
    ("produce 100 B transactionally, a commit every 100 ms", ["--size", "100", "--acks", "all",
                                                              "--compression", "none", "--idempotence",
                                                              "true", "--transaction-ms", "100"], None),
    ("consume 100 B, read_committed", ["--partitions", "1", "--isolation", "read_committed"],
     "produce 100 B transactionally, a commit every 100 ms"),
    ("produce 1 KB, acks=all (idempotent), none", ["--size", "1024", "--acks", "all", "--compression",
                                                   "none", "--idempotence", "true"], None),
    ("consume 1 KB, read_uncommitted", ["--partitions", "1", "--isolation", "read_uncommitted"],
     "produce 1 KB, acks=all (idempotent), none"),
]


def run_driver(binary, args):
    """Runs one driver; its records/s from its JSON report and its CPU seconds from wait4."""
    started = time.monotonic()
    process = subprocess.Popen([str(binary)] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    _, status, usage = os.wait4(process.pid, 0)
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{binary.name} {' '.join(args)} failed: {stderr.strip()[-500:]}")
    report = json.loads(stdout.strip().splitlines()[-1])
    if report["errors"] or report["seconds"] <= 0:
        raise RuntimeError(f"{binary.name} reported errors: {report}")
    return {"records_per_s": report["records"] / report["seconds"],
            "cpu_us_per_record": (usage.ru_utime + usage.ru_stime) * 1e6 / report["records"],
            "wall_s": time.monotonic() - started}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, type=Path)
    parser.add_argument("--new", required=True, type=Path)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=400_000)
    parser.add_argument("--sluice", type=Path, help="the sluice binary that creates the topics")
    args = parser.parse_args()
    sluice = args.sluice or args.new.parent / "sluice"
    for build in (args.old, args.new):
        for driver in ("bench_sluice_produce", "bench_sluice_consume"):
            if not (build / driver).is_file():
                parser.error(f"{build / driver} does not exist")
    if not sluice.is_file():
        parser.error(f"{sluice} does not exist (give --sluice)")

    figures = {(build, name): [] for build in ("old", "new") for name, _, _ in SCENARIOS}
    for round_number in range(1, args.rounds + 1):
        order = [("old", args.old), ("new", args.new)]
        # Alternating who goes first: the broker's log and page cache grow through a round.
        for build, folder in order if round_number % 2 else reversed(order):
            written = {}
            for name, scenario_args, reads in SCENARIOS:
                records = args.records * 100 // 1024 if "1 KB" in name else args.records
                common = ["--bootstrap", args.bootstrap, "--records", str(records)]
                if reads is None:
                    topic = f"compare-{build}-{uuid.uuid4().hex[:8]}"
                    subprocess.run([str(sluice), "topics", "create", "--bootstrap", args.bootstrap,
                                    "--topic", topic, "--partitions", "1"], check=True,
                                   capture_output=True)
                    written[name] = topic
                    driver = folder / "bench_sluice_produce"
                else:
                    topic = written[reads]
                    driver = folder / "bench_sluice_consume"
                result = run_driver(driver, common + ["--topic", topic] + scenario_args)
                figures[(build, name)].append(result)
                print(f"round {round_number} {build}: {name}: {result['records_per_s']:,.0f} records/s, "
                      f"{result['cpu_us_per_record']:.3f} µs CPU / record", file=sys.stderr)

    print(f"| scenario ({args.records:,} records of 100 B or their bytes in 1 KB records, median of "
          f"{args.rounds} interleaved rounds) | "
          "old records/s | new records/s | new ÷ old | old CPU µs / record | new CPU µs / record | "
          "new ÷ old |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in SCENARIOS:
        old_rate = statistics.median(r["records_per_s"] for r in figures[("old", name)])
        new_rate = statistics.median(r["records_per_s"] for r in figures[("new", name)])
        old_cpu = statistics.median(r["cpu_us_per_record"] for r in figures[("old", name)])
        new_cpu = statistics.median(r["cpu_us_per_record"] for r in figures[("new", name)])
        print(f"| {name} | {old_rate:,.0f} | {new_rate:,.0f} | {new_rate / old_rate:.2f} | "
              f"{old_cpu:.3f} | {new_cpu:.3f} | {new_cpu / old_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
