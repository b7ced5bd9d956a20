"""The chaos harness's driver (scripts/chaos runs it): runs Sluice pipelines in several real
processes while it kills them (SIGKILL), stops them (SIGTERM), restarts them and, on a 3-node
cluster, kills and restarts brokers; then checks with an independent read_committed reader that
every input was counted exactly once (chaos_check.py says what exactly is checked).

One scenario, start to end:
  1. a fresh input topic (4 partitions, replication 3 on 3 nodes) and output topic, both with no
     time retention, and a pipeline YAML (unique name: the group and the internal topics' prefix);
  2. a steady producer (kafka-python, acks=all, idempotent) starts BEFORE the first instance: JSON
     values {seq, amount, group, src} over 200 keys at --rate records/s, event times chosen by the
     scenario; only acknowledged sends are recorded as produced;
  3. --instances `sluice run` processes start, each with its own state dir and log files (one log
     per process start);
  4. the fault phase: at random intervals (seeded: --seed) SIGKILL an instance and restart it
     after a short delay on the same state dir, SIGTERM one (it leaves) and restart it, and with a
     broker state dir SIGKILL a broker node and start it again some seconds later;
  5. the producer stops; the instances drain (the group's lag 0, the output quiet), then get
     SIGTERM;
  6. the input topic is read back (every acknowledged record must be in it), the output topic is
     read with read_committed, and chaos_check compares; the instances' logs give the records
     restored per start and the time from process start to "running" and "task started".

The stream-join scenarios (stream_join, stream_join_outer) have two input topics, orders and
payments, no aggregation, and a check of the emitted pairs (chaos_stream_join.py). The
table-table join scenario (table_join) has two tables' topics, accounts and owners, outer-joined,
and a check that each key's results walk through every update of both once (chaos_table_join.py).

Prints a summary table and writes report.json into the run dir. Exit status 1 when any check of
any scenario failed, 2 on a harness error.

Where the parts live: chaos_scenarios.py (the scenarios, their pipeline YAML, the shared
constants), chaos_processes.py (brokers, `sluice run` instances, the slow proxy),
chaos_topics.py (the input producer, reading topics back, the output monitor), chaos_logs.py
(what a process's log says), chaos_scenario_run.py (one scenario's steps above, faults, drain,
check and report); this file keeps the options, the pass over the scenarios and the summary.
The independent check lives apart on purpose (chaos_check.py), so the verdict does not share
code with the driver.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import traceback
from datetime import datetime
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import kafka  # noqa: F401 - the harness's modules need it
except ImportError as e:  # pragma: no cover
    sys.exit(f"chaos: kafka-python is missing ({e}); scripts/setup installs it into "
             "~/.cache/sluice/python (or set SLUICE_PYTHON)")

from chaos_processes import ALL_INSTANCES, CLUSTERS, PROXIES, cluster, start_slow_proxy  # noqa: E402
from chaos_scenario_run import scenario_run, settings  # noqa: E402
from chaos_scenarios import DEFAULT_SCENARIOS, SCENARIO_NAMES, log, make_scenario  # noqa: E402


# --- the summary ------------------------------------------------------------------------------


def summary_table(reports: list[dict]) -> str:
    columns = [("scenario", lambda r: r["scenario"]),
               ("delivery", lambda r: r["delivery"].replace("exactly_once", "EOS").replace("at_least_once", "ALOS")),
               ("inputs", lambda r: r["inputs"]),
               ("outputs", lambda r: r["outputs"]),
               ("lost", lambda r: r["check"]["problems"]["lost"]),
               ("dup", lambda r: r["check"]["problems"]["duplicated"]),
               ("over", lambda r: r["check"]["problems"]["overcounted"]),
               ("bad final", lambda r: r["check"]["problems"]["final_mismatch"]),
               ("final over", lambda r: r["check"]["problems"].get("final_overcount", 0)),
               ("groups ok", lambda r: f"{r['check']['groups_ok']}/{r['check']['groups']}"),
               ("kill9", lambda r: r["faults"]["kill9"]),
               ("term", lambda r: r["faults"]["sigterm"]),
               ("broker", lambda r: r["faults"]["broker_kill"]),
               ("crash", lambda r: r["faults"]["unexpected_exits"]),
               ("restored/restart", lambda r: _per_restart(r)),
               ("to task started", lambda r: _fmt_s(r["restarts"]["median_to_first_task_started_s"])),
               ("to 1st record", lambda r: _fmt_s(r["restarts"]["median_to_first_record_s"])),
               ("max", lambda r: _fmt_s(r["restarts"]["max_to_first_record_s"])),
               (">2s", lambda r: r["restarts"].get("over_2s_to_first_record", 0)),
               ("max stall", lambda r: _fmt_s(r["timings"]["output_stall_during_faults"]["one_partition_s"])),
               ("result", lambda r: "PASS" if r["passed"] else "FAIL")]
    rows = [[name for name, _ in columns]] + [[str(f(r)) for _, f in columns] for r in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt_s(v) -> str:
    return "-" if v is None else f"{v:.1f}s"


def _per_restart(r: dict) -> str:
    per = r["restarts"]["restored_records_per_restart"]
    if not per:
        return "-"
    return f"{round(statistics.median(per))} (max {max(per)})"


def binary_identity(sluice: Path) -> dict:
    """Which binary ran: its hash and build time, and the source tree's commit at the run."""
    import hashlib
    digest = hashlib.sha256(sluice.read_bytes()).hexdigest()[:16]
    root = Path(__file__).resolve().parents[2]
    commit = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    return {"sha256_16": digest, "modified": datetime.fromtimestamp(sluice.stat().st_mtime).isoformat(timespec="seconds"),
            "source_tree": commit or None}


def sluice_run_flags(sluice: str) -> set[str]:
    result = subprocess.run([sluice, "run", "--help"], capture_output=True, text=True)
    return set(re.findall(r"--[a-z][a-z-]+", result.stdout + result.stderr))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    parser.add_argument("--kafka-state", help="scripts/kafka state dir of a 3-node cluster: broker kills")
    parser.add_argument("--kafka-script", default=str(Path(__file__).resolve().parents[2] / "scripts" / "kafka"))
    parser.add_argument("--sluice", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--scenario", default=",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--minutes", type=float, default=2.0, help="the whole pass, split over the scenarios")
    parser.add_argument("--instances", type=int, choices=(2, 3), default=2)
    parser.add_argument("--threads", type=int, default=1, help="sluice run --threads N for every instance")
    parser.add_argument("--run-arg", action="append", default=[],
                        help="one more `sluice run` flag for every instance, e.g. --run-arg=--standby-replicas=1 "
                             "(repeat for several)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--rate", type=float, default=1500.0)
    parser.add_argument("--proxy", help="sluice_test_proxy binary, for --slow-commits-ms")
    parser.add_argument("--slow-commits-ms", type=int, default=0,
                        help="route instance 1 through the proxy, which holds its EndTxn and TxnOffsetCommit "
                             "responses this long, so that rebalances meet its commits in flight")
    parser.add_argument("--inject-defects", action="store_true",
                        help="harness self-test: drop one result and repeat another before the check, "
                             "which must then fail")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    names = SCENARIO_NAMES if args.scenario == "all" else tuple(s.strip() for s in args.scenario.split(",") if s.strip())
    for n in names:
        if n not in SCENARIO_NAMES:
            print(f"chaos: unknown scenario '{n}' (known: {', '.join(SCENARIO_NAMES)}, all)", file=sys.stderr)
            return 2
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)

    # The binary is copied once: a rebuild during the run does not change what runs.
    sluice = Path(args.sluice).resolve()
    if sluice.parent != run_dir / "bin":
        (run_dir / "bin").mkdir(exist_ok=True)
        shutil.copy2(sluice, run_dir / "bin" / "sluice")
        sluice = run_dir / "bin" / "sluice"
    flags = sluice_run_flags(str(sluice))
    if "--dynamic-membership" in flags:
        # Static membership with an instance id kept in the state directory is the default: the
        # run proves fast restarts without a flag. Older binaries (dynamic by default) get both.
        flags -= {"--instance-id", "--static-membership"}
    identity = binary_identity(sluice)
    log(f"sluice {identity['sha256_16']} built {identity['modified']}, source tree {identity['source_tree']}")

    cl = cluster(args.bootstrap, args.brokers, args.kafka_state if args.brokers == 3 else None, args.kafka_script)
    CLUSTERS.append(cl)
    slow_bootstrap = None
    if args.slow_commits_ms > 0:
        if not args.proxy:
            print("chaos: --slow-commits-ms needs --proxy (build/<preset>/tests/sluice_test_proxy)", file=sys.stderr)
            return 2
        slow_bootstrap = start_slow_proxy(args.proxy, cl.bootstrap, args.slow_commits_ms, run_dir)
        log(f"instance 1 goes through the proxy at {slow_bootstrap}: EndTxn and TxnOffsetCommit responses held "
            f"{args.slow_commits_ms} ms")
    per_scenario_s = args.minutes * 60 / len(names)
    # Set-up, the wait for the first output, drain and the check take about 35 s of each share
    # (a 2-minute pass of 2 scenarios: 25 s of faults each; 9 minutes of all 6: 55 s each).
    fault_phase_s = max(20.0, per_scenario_s - 35)
    st = settings(run_dir=run_dir, sluice=str(sluice), run_flags=flags, instances=args.instances, seed=seed,
                  rate=args.rate, fault_phase_s=fault_phase_s,
                  drain_deadline_s=max(90.0, fault_phase_s),
                  # At least one broker kill in a short pass, three in a longer one (--minutes
                  # above 2.5), spread over the scenarios (each gets at least one).
                  min_broker_kills=-(-(1 if args.minutes <= 2.5 else 3) // len(names)),
                  inject_defects=args.inject_defects, slow_bootstrap=slow_bootstrap, threads=args.threads,
                  extra_run_args=tuple(args.run_arg))
    log(f"seed {seed} (--seed {seed} repeats the random draws: fault kinds, targets, delays; what they "
        f"hit also depends on timing); run dir {run_dir}")
    log(f"cluster {cl.bootstrap}: {cl.brokers} node(s), broker kills {'on' if cl.can_kill else 'off'}; "
        f"scenarios {', '.join(names)}; {args.instances} instances; `sluice run` flags used: "
        f"{', '.join(f for f in ('--instance-id', '--static-membership', '--replication-factor') if f in flags) or 'none'}")
    rng = random.Random(seed)
    reports = []
    status = 0
    for n in names:
        sc = make_scenario(n, int(fault_phase_s * 1000))
        runner = scenario_run(sc, cl, st, random.Random(rng.random()))
        try:
            report = runner.run()
        except Exception:  # noqa: BLE001 - the harness itself failed: say so, stop its processes
            traceback.print_exc()
            for inst in runner.instances:
                inst.restart_at = None
                if inst.running:
                    inst.process.kill()
            for thread in runner.broker_threads:
                thread.join(timeout=150)
            return 2
        reports.append(report)
        if not report["passed"]:
            status = 1
        log(f"[{n}] {'PASS' if report['passed'] else 'FAIL'}: " + ("; ".join(report["failures"]) or "every check held"))
    summary = {"seed": seed, "command": " ".join(sys.argv), "cluster": {"bootstrap": cl.bootstrap, "brokers": cl.brokers,
               "broker_kills": cl.can_kill}, "instances": args.instances, "minutes": args.minutes,
               "rate": args.rate, "slow_commits_ms": args.slow_commits_ms, "sluice": str(sluice), "sluice_source": str(Path(args.sluice).resolve()),
               "sluice_binary": identity,
               "passed": status == 0, "scenarios": reports}
    (run_dir / "report.json").write_text(json.dumps(summary, indent=2, default=str))
    print()
    print(summary_table(reports))
    print()
    for r in reports:
        if r["failures"]:
            print(f"{r['scenario']}: " + "; ".join(r["failures"]))
            for problem, examples in r["check"]["examples"].items():
                print(f"  {problem}: {json.dumps(examples[:3], default=str)}")
            for crash in r["crashes"][:3]:
                last = crash["tail"].splitlines()[-1] if crash["tail"] else ""
                print(f"  crash of instance {crash['instance']} (start {crash['incarnation']}, rc {crash['rc']}): {last}")
        for note in r["notes"]:
            print(f"{r['scenario']}: note: {note}")
    if not any(r["restarts"]["first_record_logged"] for r in reports):
        print("note: this binary logs no 'first record processed' line; 'to task started' (process start to its "
              "first 'task ... started', after the restore) stands in for the time to the first record")
    print("restored/restart: median (max) records restored per restart; to task started / to 1st record: median "
          "seconds from a restart's spawn to its first task running / first record processed; max stall: the "
          "longest time one output partition did not grow during the fault phase")
    print(f"seed {seed}; report {run_dir / 'report.json'}")
    return status


def kill_leftovers() -> None:
    for process in PROXIES:
        if process.poll() is None:
            process.terminate()
            process.wait(10)
    for inst in ALL_INSTANCES:
        inst.restart_at = None
        if inst.running:
            inst.process.kill()
            inst.wait(10)
    for cl in CLUSTERS:
        for node in sorted(cl.down):
            log(f"starting node {node} again before leaving")
            cl.start_node(node)


def raise_exit(signum, _frame) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, raise_exit)
    try:
        sys.exit(main())
    finally:
        kill_leftovers()
