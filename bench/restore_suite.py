"""The restore suite (bench/restore/): how fast a store comes back from its changelog, Sluice
beside Kafka Streams.

Sluice (bench_sluice_restore: the runtime's own restore_store into a RocksDB task database) and
Kafka Streams (bench/restore/KafkaStreamsRestore.java: a one-store application) restore the same
changelog topic: N records, 100-byte values, distinct keys, one partition, filled once by
`bench_sluice_restore fill`. Each restores it twice, as two processes on one state directory: a
full restore into an empty directory, then a clean restart (the state on disk is up to date:
nothing to restore). --repeat does not apply here."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from client_drivers import JAVA_OPTIONS, driver_json
from client_scenarios import MB
from driver_runs import run_driver, slug, stderr_tail, unique_topic


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

