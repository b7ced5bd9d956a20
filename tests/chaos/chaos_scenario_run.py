"""One chaos scenario, start to end (chaos_run.py's docstring lists the steps): its topics and
pipeline, the instances, the fault phase (SIGKILL, SIGTERM, broker kills, restarts), the drain,
the read-back and the check, and its report.json.

Why one class of ~600 lines: the steps share one scenario's state (processes, logs, offsets, the
fault schedule) and are read top to bottom when a chaos run fails; the parts that need none of it
(processes, topics, logs) are in their own modules."""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

import chaos_check
import chaos_stream_join
import chaos_table_join
from chaos_check import input_record
from chaos_logs import analyse_log, log_tail
from chaos_processes import cluster, instance
from chaos_scenarios import (COMMIT_INTERVAL, KEYS, PARTITIONS, RESTART_BOUND_S, log, pipeline_yaml,
                             scenario)
from chaos_topics import aggregate_outputs, end_offsets, output_monitor, producer_thread, read_topic


@dataclass
class fault_counts:
    kill9: int = 0
    sigterm: int = 0
    broker_kill: int = 0
    unexpected_exits: int = 0
    sigterm_timeouts: int = 0
    broker_restart_failures: int = 0


@dataclass
class settings:
    run_dir: Path
    sluice: str
    run_flags: set[str]
    instances: int
    seed: int
    rate: float
    fault_phase_s: float
    drain_deadline_s: float
    min_broker_kills: int
    inject_defects: bool = False
    # Instance 1 talks to the cluster through sluice_test_proxy, which holds EndTxn and
    # TxnOffsetCommit responses this long: its commits are slow, so rebalances meet them in flight.
    slow_bootstrap: Optional[str] = None
    threads: int = 1  # `sluice run --threads N`: each instance is N members of the group
    extra_run_args: tuple[str, ...] = ()  # --run-arg: more `sluice run` flags for every instance


class scenario_run:
    def __init__(self, sc: scenario, cl: cluster, st: settings, rng: random.Random):
        self.sc, self.cl, self.st, self.rng = sc, cl, st, rng
        suffix = f"{st.seed}-{int(time.time()) % 100000}"
        self.name = f"chaos-{sc.name.replace('_', '-')}-{suffix}"
        self.input_topic = f"chaos-in-{sc.name.replace('_', '-')}-{suffix}"
        self.output_topic = f"chaos-out-{sc.name.replace('_', '-')}-{suffix}"
        self.table_topic = f"chaos-tab-{sc.name.replace('_', '-')}-{suffix}" if sc.join else None
        self.table_writes = 0
        self.payments_topic = f"chaos-pay-{suffix}" if sc.stream_join else None
        self.owners_topic = f"chaos-own-{suffix}" if sc.table_join else None
        self.directory = st.run_dir / sc.name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.faults = fault_counts()
        self.events: list[dict] = []
        self.instances: list[instance] = []
        self.broker_threads: list[threading.Thread] = []
        self.problems: list[str] = []
        self.crash_logs: list[dict] = []
        self.timings: dict[str, float] = {}

    def event(self, kind: str, **details) -> None:
        entry = {"t": round(time.time() - self.t0, 2), "event": kind, **details}
        self.events.append(entry)
        log(f"[{self.sc.name} +{entry['t']:.0f}s] {kind} " + " ".join(f"{k}={v}" for k, v in details.items()))

    # -- setup

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.cl.bootstrap, client_id="chaos-admin",
                                request_timeout_ms=30000)

    def create_topics(self) -> None:
        configs = {"retention.ms": "-1"}
        if self.cl.replication == 3:
            configs["min.insync.replicas"] = "2"
        admin = self.admin()
        try:
            topics = [self.input_topic, self.output_topic] + [t for t in (self.table_topic, self.payments_topic, self.owners_topic) if t]
            admin.create_topics([NewTopic(t, PARTITIONS, self.cl.replication, topic_configs=dict(configs))
                                 for t in topics], timeout_ms=30000)
            admin.wait_for_topics(topics, timeout_ms=30000)
        finally:
            admin.close()

    def write_table(self, stop: Optional[threading.Event] = None, every_s: float = 3.0) -> None:
        """Writes every key's row (factor 1) to the table topic; with `stop`, again every few
        seconds until it is set. The same key partitioner as the input's producer (kafka-python's
        murmur2, Java's), so a key's row and records meet in one task."""
        producer = KafkaProducer(bootstrap_servers=self.cl.bootstrap, acks="all", enable_idempotence=True,
                                 max_block_ms=30000, delivery_timeout_ms=120000, client_id="chaos-table")
        try:
            while True:
                for key in range(KEYS):
                    producer.send(self.table_topic, key=f"k{key:03d}".encode(),
                                  value=json.dumps({"factor": 1, "key": f"k{key:03d}"}).encode())
                producer.flush(timeout=120)
                self.table_writes += 1
                if stop is None or stop.wait(every_s):
                    return
        finally:
            producer.close(timeout=30)

    def write_pipeline(self) -> Path:
        path = self.directory / "pipeline.yaml"
        if self.sc.stream_join:
            path.write_text(chaos_stream_join.pipeline_yaml(
                scenario_name=self.sc.name, kind=self.sc.stream_join, name=self.name, delivery=self.sc.delivery,
                commit_interval=COMMIT_INTERVAL, orders_topic=self.input_topic, payments_topic=self.payments_topic,
                output_topic=self.output_topic))
        elif self.sc.table_join:
            path.write_text(chaos_table_join.pipeline_yaml(
                scenario_name=self.sc.name, name=self.name, delivery=self.sc.delivery,
                commit_interval=COMMIT_INTERVAL, accounts_topic=self.input_topic, owners_topic=self.owners_topic,
                output_topic=self.output_topic))
        else:
            path.write_text(pipeline_yaml(self.sc, self.name, self.input_topic, self.output_topic, self.table_topic))
        check = subprocess.run([self.st.sluice, "validate", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sluice validate {path} failed:\n{check.stdout}{check.stderr}")
        return path

    def instance_command(self, yaml_path: Path, number: int) -> list[str]:
        bootstrap = self.st.slow_bootstrap if number == 1 and self.st.slow_bootstrap else self.cl.bootstrap
        cmd = [self.st.sluice, "run", str(yaml_path), "--bootstrap-server", bootstrap]
        if "--instance-id" in self.st.run_flags:
            cmd += ["--instance-id", f"chaos-{number}"]
        if "--static-membership" in self.st.run_flags:
            cmd += ["--static-membership"]
        if "--replication-factor" in self.st.run_flags:
            cmd += ["--replication-factor", str(self.cl.replication)]
        if self.st.threads > 1:
            cmd += ["--threads", str(self.st.threads)]
        return cmd + list(self.st.extra_run_args)

    # -- the fault phase

    def check_instances(self) -> None:
        """Reaps exited processes, notices crashes, escalates a SIGTERM that is not obeyed,
        restarts what is due."""
        now = time.monotonic()
        for inst in self.instances:
            if inst.process is not None and inst.process.poll() is not None and inst.incarnations[-1].ended_at is None:
                rc = inst.process.returncode
                if inst.expect_exit:
                    how = "killed" if rc == -signal.SIGKILL else f"sigterm rc={rc}"
                    inst.reap(how)
                    if inst.restart_cause == "after_sigterm" and rc not in (0, -signal.SIGKILL):
                        self.problems.append(f"instance {inst.number} exited {rc} on SIGTERM (a graceful stop; log "
                                             f"{inst.incarnations[-1].log_file})")
                    if inst.restart_at is None and inst.restart_cause == "after_sigterm":
                        delay = self.rng.uniform(0.5, 3.0)
                        inst.restart_at = now + delay
                        self.event("instance_stopped", instance=inst.number, rc=rc, restart_in=f"{delay:.1f}s")
                else:
                    inst.reap(f"crashed rc={rc}")
                    self.faults.unexpected_exits += 1
                    self.crash_logs.append({"instance": inst.number, "incarnation": inst.incarnations[-1].number,
                                            "rc": rc, "tail": log_tail(inst.incarnations[-1].log_file)})
                    self.event("UNEXPECTED_EXIT", instance=inst.number, rc=rc,
                               log=str(inst.incarnations[-1].log_file))
                    inst.restart_cause = "after_crash"
                    inst.restart_at = now + 1.0
            if inst.running and inst.term_sent_at is not None and now - inst.term_sent_at > 30:
                self.faults.sigterm_timeouts += 1
                self.event("SIGTERM_TIMEOUT", instance=inst.number, note="no exit within 30s; SIGKILL")
                inst.term_sent_at = None
                inst.process.send_signal(signal.SIGKILL)
            if not inst.running and inst.restart_at is not None and now >= inst.restart_at:
                inst.start(inst.restart_cause)
                self.event("instance_started", instance=inst.number, incarnation=len(inst.incarnations),
                           cause=inst.restart_cause)

    def inject_fault(self, force_broker: bool) -> None:
        all_up = all(inst.up for inst in self.instances)
        kinds = []
        if all_up:
            kinds.append(("kill9", 0.45))
            if all(inst.settled for inst in self.instances):
                kinds.append(("sigterm", 0.3))
        if self.cl.can_kill and not self.cl.down:
            kinds.append(("broker", 0.25))
        if force_broker and self.cl.can_kill and not self.cl.down:
            kinds = [("broker", 1.0)]
        if not kinds:
            return
        kind = self.rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        if all_up and not force_broker and self.faults.kill9 == 0:
            kind = "kill9"  # every scenario meets a kill -9, even a short one: the first fault is one
        if kind in ("kill9", "sigterm"):
            inst = self.rng.choice(self.instances)
            if kind == "kill9":
                inst.signal(signal.SIGKILL)
                inst.wait(10)
                inst.reap("killed")
                delay = self.rng.uniform(0.5, 4.0)
                inst.restart_cause = "after_kill9"
                inst.restart_at = time.monotonic() + delay
                self.faults.kill9 += 1
                self.event("kill9", instance=inst.number, restart_in=f"{delay:.1f}s")
            else:
                inst.restart_cause = "after_sigterm"
                inst.restart_at = None  # set once it has exited
                inst.signal(signal.SIGTERM)
                self.faults.sigterm += 1
                self.event("sigterm", instance=inst.number)
        else:
            node = self.rng.randint(1, 3)
            down_for = self.rng.uniform(5.0, 15.0)
            self.faults.broker_kill += 1
            self.event("broker_kill", node=node, restart_in=f"{down_for:.1f}s")
            thread = threading.Thread(target=self.broker_outage, args=(node, down_for), daemon=True)
            thread.start()
            self.broker_threads.append(thread)

    def broker_outage(self, node: int, down_for: float) -> None:
        if not self.cl.kill_node(node):
            return
        time.sleep(down_for)
        started = time.monotonic()
        if self.cl.start_node(node):
            self.event("broker_started", node=node, took=f"{time.monotonic() - started:.1f}s")
        else:
            self.faults.broker_restart_failures += 1
            self.event("BROKER_RESTART_FAILED", node=node)

    def fault_phase(self) -> None:
        start = time.monotonic()
        end = start + self.st.fault_phase_s
        # The broker kills the pass must have, at random points of the phase; a broker kill the
        # random draw makes counts towards them.
        forced = sorted(start + self.rng.uniform(0.15, 0.7) * self.st.fault_phase_s
                        for _ in range(self.st.min_broker_kills if self.cl.can_kill else 0))
        next_fault = start + self.rng.uniform(3.0, 8.0)
        while time.monotonic() < end:
            self.check_instances()
            now = time.monotonic()
            before = self.faults.broker_kill
            if forced and now >= forced[0] and not self.cl.down:
                self.inject_fault(force_broker=True)
                next_fault = max(next_fault, now + self.rng.uniform(2.0, 6.0))
            elif now >= next_fault:
                self.inject_fault(force_broker=False)
                next_fault = now + self.rng.uniform(4.0, 12.0)
            if self.faults.broker_kill > before and forced:
                forced.pop(0)
            time.sleep(0.1)

    # -- after the faults

    def settle(self, deadline_s: float = 180) -> None:
        """Every broker back, every instance running (restarting any that is down): instances
        restart on their schedule while a broker outage ends."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            self.check_instances()
            for inst in self.instances:
                if not inst.running and inst.restart_at is None:
                    inst.restart_cause = inst.restart_cause or "final"
                    inst.restart_at = time.monotonic()
            brokers_busy = any(t.is_alive() for t in self.broker_threads)
            if not brokers_busy and all(i.up for i in self.instances):
                break
            time.sleep(0.2)
        for node in sorted(self.cl.down):
            log(f"node {node} still down after the fault phase: starting it")
            if not self.cl.start_node(node):
                self.faults.broker_restart_failures += 1

    def group_lag(self, admin: KafkaAdminClient, reader: KafkaConsumer) -> tuple[int, dict]:
        """(lag on the input topic, lag per other topic of the group) from the group's committed
        offsets and the end offsets (last stable offsets: read_committed reader). On a topic that
        the app writes in transactions, a committed offset a little short of the end may stop before
        the last commit marker (the current runtime commits the offset after the last record, not
        the consumer position past the marker): markers are not lag, and are not counted."""
        committed = admin.list_group_offsets({self.name: None}).get(self.name, {})
        input_ends = end_offsets(reader, self.input_topic, PARTITIONS)
        input_lag = 0
        for p, end in input_ends.items():
            c = committed.get(TopicPartition(self.input_topic, p))
            input_lag += end - (c.offset if c is not None and c.offset >= 0 else 0)
        others: dict[str, int] = {}
        other_topics = {tp.topic for tp in committed if tp.topic != self.input_topic}
        for topic in other_topics:
            ends = end_offsets(reader, topic, PARTITIONS)
            lag = 0
            for p, end in ends.items():
                c = committed.get(TopicPartition(topic, p))
                at = c.offset if c is not None and c.offset >= 0 else 0
                lag += self.data_lag(topic, p, at, end)
            others[topic] = lag
        return input_lag, others

    def data_lag(self, topic: str, partition: int, at: int, end: int) -> int:
        """Records a read_committed consumer at `at` still gets before `end`: transaction markers
        (and aborted records) take offsets but are not records. Looked at only when the gap is
        small, which is all markers can explain."""
        if end - at <= 0:
            return 0
        if end - at > 20:
            return end - at
        cache = self.__dict__.setdefault("_data_lag", {})
        if (topic, partition, at, end) in cache:
            return cache[(topic, partition, at, end)]
        probe = KafkaConsumer(bootstrap_servers=self.cl.bootstrap, group_id=None, enable_auto_commit=False,
                              isolation_level="read_committed", client_id="chaos-marker-probe")
        try:
            tp = TopicPartition(topic, partition)
            probe.assign([tp])
            probe.seek(tp, at)
            deadline = time.monotonic() + 5
            records = 0
            while time.monotonic() < deadline and probe.position(tp) < end:
                batch = probe.poll(timeout_ms=500)
                records += sum(1 for rs in batch.values() for r in rs if r.offset < end)
            if probe.position(tp) < end:
                records = end - at  # could not tell: count it all
        finally:
            probe.close()
        cache[(topic, partition, at, end)] = records
        return records

    def internal_topics(self) -> dict:
        """The app's own topics: partitions' log start and end offsets (a log start above 0 means
        the broker deleted records: retention) and the configs that differ from the broker's
        defaults."""
        out: dict[str, dict] = {}
        admin = self.admin()
        reader = KafkaConsumer(bootstrap_servers=self.cl.bootstrap, group_id=None, client_id="chaos-topics")
        try:
            names = sorted(t for t in admin.list_topics() if t.startswith(self.name + "-"))
            try:
                configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in names])
                configs = configs.get("topic", configs.get("TOPIC", {})) if isinstance(configs, dict) else {}
            except Exception as e:  # noqa: BLE001 - diagnostics only
                configs = {"error": repr(e)}
            for t in names:
                tps = [TopicPartition(t, p) for p in range(PARTITIONS)]
                starts = {tp.partition: o for tp, o in reader.beginning_offsets(tps, timeout_ms=10000).items()}
                ends = {tp.partition: o for tp, o in reader.end_offsets(tps, timeout_ms=10000).items()}
                entry = {"log_start": starts, "end": ends, "records_deleted_by_broker": sum(starts.values())}
                topic_configs = configs.get(t) if isinstance(configs, dict) else None
                if isinstance(topic_configs, dict):
                    entry["configs"] = {k: (v.get("value") if isinstance(v, dict) else v)
                                        for k, v in topic_configs.items()}
                out[t] = entry
        except Exception as e:  # noqa: BLE001 - diagnostics only
            out["error"] = {"error": repr(e)}
        finally:
            reader.close()
            admin.close()
        return out

    def drain(self, monitor: output_monitor) -> dict:
        admin = self.admin()
        reader = KafkaConsumer(bootstrap_servers=self.cl.bootstrap, group_id=None,
                               isolation_level="read_committed", client_id="chaos-lag")
        started = time.monotonic()
        deadline = started + self.st.drain_deadline_s
        last = {"input_lag": None, "other_lag": None}
        quiet_needed = 5.0
        try:
            while time.monotonic() < deadline:
                self.check_instances()
                try:
                    input_lag, other = self.group_lag(admin, reader)
                    last = {"input_lag": input_lag, "other_lag": other}
                except Exception as e:  # noqa: BLE001 - coordinator moving: try again, with fresh
                    # clients (a kafka-python client can keep failing after a broker restart)
                    last["error"] = repr(e)
                    for client in (reader, admin):
                        try:
                            client.close()
                        except Exception:  # noqa: BLE001
                            pass
                    time.sleep(1)
                    admin = self.admin()
                    reader = KafkaConsumer(bootstrap_servers=self.cl.bootstrap, group_id=None,
                                           isolation_level="read_committed", client_id="chaos-lag")
                    continue
                last.pop("error", None)
                internal_ok = all(v == 0 for v in (last["other_lag"] or {}).values())
                if input_lag == 0 and internal_ok and monitor.unchanged_for() >= quiet_needed:
                    last["drained"] = True
                    last["seconds"] = round(time.monotonic() - started, 1)
                    return last
                time.sleep(1)
            last["drained"] = False
            last["seconds"] = round(time.monotonic() - started, 1)
            return last
        finally:
            reader.close()
            admin.close()

    def stop_instances(self) -> None:
        for inst in self.instances:
            inst.restart_at = None
            inst.restart_cause = ""
            if inst.running:
                inst.signal(signal.SIGTERM)
        for inst in self.instances:
            if inst.process is None:
                continue
            if not inst.wait(30):
                self.faults.sigterm_timeouts += 1
                self.event("SIGTERM_TIMEOUT", instance=inst.number, note="final stop; SIGKILL")
                inst.process.send_signal(signal.SIGKILL)
                inst.wait(10)
                inst.reap("killed at the final stop")
            else:
                inst.reap(f"stopped rc={inst.process.returncode}")
                if inst.process.returncode != 0:
                    self.problems.append(f"instance {inst.number} exited {inst.process.returncode} "
                                         f"on the final SIGTERM (log {inst.incarnations[-1].log_file})")

    def speed_up_segment_rolls(self) -> None:
        """old_events: segment.ms=10s on the app's internal topics, once Sluice created them."""
        admin = self.admin()
        try:
            deadline = time.monotonic() + 60
            internal: list[str] = []
            while time.monotonic() < deadline:
                internal = [t for t in admin.list_topics() if t.startswith(self.name + "-")]
                if any(t.endswith("-changelog") for t in internal) and any(t.endswith("-repartition") for t in internal):
                    break
                time.sleep(1)
            if not internal:
                self.problems.append("old_events: no internal topics appeared within 60s")
                return
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"segment.ms": "10000"})
                                 for t in internal], incremental=True)
            self.event("segment_ms_set", topics=",".join(internal))
        finally:
            admin.close()

    # -- the whole scenario

    def run(self) -> dict:
        self.t0 = time.time()
        log(f"=== scenario {self.sc.name}: pipeline {self.name}, {self.st.instances} instances, "
            f"fault phase {self.st.fault_phase_s:.0f}s, delivery {self.sc.delivery}")
        self.create_topics()
        yaml_path = self.write_pipeline()
        for n in range(1, self.st.instances + 1):
            self.instances.append(instance(n, self.directory / f"instance-{n}",
                                           self.instance_command(yaml_path, n)))
        source = None
        if self.sc.stream_join:
            source = chaos_stream_join.orders_and_payments(random.Random(self.rng.random()), self.input_topic,
                                                           self.payments_topic)
        elif self.sc.table_join:
            source = chaos_table_join.updates(random.Random(self.rng.random()), KEYS, self.input_topic,
                                              self.owners_topic)
        producer = producer_thread(self.cl.bootstrap, self.input_topic, self.st.rate, self.rng,
                                   self.sc.time_offset_ms, source)
        monitor = output_monitor(self.cl.bootstrap, self.output_topic)
        table_stop = threading.Event()
        table_writer = None
        if self.table_topic:
            self.write_table()  # every row is there before the first input record
            table_writer = threading.Thread(target=self.write_table, args=(table_stop,), daemon=True)
        producer.start()
        monitor.start()
        if table_writer:
            table_writer.start()
        time.sleep(2.0)  # records wait in the input before the first instance starts
        for inst in self.instances:
            inst.start("initial")
            self.event("instance_started", instance=inst.number, incarnation=1, cause="initial")
        # The fault phase starts once the pipeline produces (or after 30 s, whatever it does).
        wait_until = time.monotonic() + 30
        while time.monotonic() < wait_until and not monitor.total():
            self.check_instances()
            time.sleep(0.2)
        self.timings["first_output_s"] = round(time.time() - self.t0, 1)
        if self.sc.fast_segment_roll:
            self.speed_up_segment_rolls()
        fault_start = time.time()
        self.fault_phase()
        fault_end = time.time()
        producer.stop_event.set()
        table_stop.set()
        if table_writer:
            table_writer.join(timeout=200)
            self.event("table_writes", rounds=self.table_writes, rows=self.table_writes * KEYS)
        producer.join(timeout=200)
        self.event("producer_stopped", sent=len(producer.records), acked=producer.acked_count(),
                   failed=len(producer.failed))
        self.settle()
        drain = self.drain(monitor)
        self.event("drained" if drain.get("drained") else "NOT_DRAINED", **{k: v for k, v in drain.items()
                                                                           if k != "drained"})
        if self.sc.stream_join == "outer" and drain.get("drained"):
            # Every record is processed: now close every window (chaos_stream_join.py says why
            # only now), and wait for the null results that follows.
            t = chaos_stream_join.write_window_closers(self.cl.bootstrap, [self.input_topic, self.payments_topic],
                                                       PARTITIONS, producer.max_t)
            self.event("window_closers_written", timestamp=t)
            drain = self.drain(monitor)
            self.event("drained" if drain.get("drained") else "NOT_DRAINED", after="window closers",
                       **{k: v for k, v in drain.items() if k != "drained"})
        self.stop_instances()
        monitor.stop_event.set()
        monitor.join(timeout=10)
        return self.check(producer, monitor, drain, fault_start, fault_end)

    def check(self, producer: producer_thread, monitor: output_monitor, drain: dict,
              fault_start: float, fault_end: float) -> dict:
        log(f"[{self.sc.name}] reading the input and output topics back")
        if producer.error:
            self.problems.append(f"the producer failed: {producer.error}")
        raw_in, _, in_complete = read_topic(self.cl.bootstrap, self.input_topic, PARTITIONS, "read_uncommitted")
        in_topic: dict[tuple, int] = {}
        inputs: list = []
        if self.sc.stream_join:
            raw_payments, _, payments_complete = read_topic(self.cl.bootstrap, self.payments_topic, PARTITIONS,
                                                            "read_uncommitted")
            in_complete = in_complete and payments_complete
            inputs, in_topic = chaos_stream_join.join_inputs(raw_in + raw_payments, self.input_topic)
        elif self.sc.table_join:
            raw_owners, _, owners_complete = read_topic(self.cl.bootstrap, self.owners_topic, PARTITIONS,
                                                        "read_uncommitted")
            in_complete = in_complete and owners_complete
            inputs, in_topic = chaos_table_join.table_updates(raw_in + raw_owners, self.input_topic)
        else:
            for r in raw_in:
                v = json.loads(r.value)
                seq = v["seq"]
                in_topic[(r.topic, r.partition, r.offset)] = seq
                key = v["group"] if self.sc.repartition else r.key.decode()
                inputs.append(input_record(r.partition, r.offset, key, r.timestamp, v["amount"], seq))
        with producer.lock:
            acked = {pos: seq for seq, pos in producer.acked.items()}
            failed = set(producer.failed)
        reconciled = chaos_check.reconcile(acked, in_topic, failed)
        if not in_complete:
            self.problems.append("the input topic could not be read to its end")
        if reconciled["acknowledged_missing_from_topic"]:
            self.problems.append(f"{reconciled['acknowledged_missing_from_topic']} acknowledged input records "
                                 "are not in the input topic (the cluster lost acknowledged writes)")
        raw_out, out_ends, out_complete = read_topic(self.cl.bootstrap, self.output_topic, PARTITIONS,
                                                     "read_committed")
        hw = {}
        try:
            probe = KafkaConsumer(bootstrap_servers=self.cl.bootstrap, group_id=None)
            hw = end_offsets(probe, self.output_topic, PARTITIONS)
            probe.close()
        except Exception:  # noqa: BLE001
            pass
        if self.sc.stream_join:
            outputs = chaos_stream_join.join_outputs(raw_out)
        elif self.sc.table_join:
            outputs = chaos_table_join.table_join_outputs(raw_out)
        else:
            outputs = aggregate_outputs(raw_out)
        if not out_complete:
            self.problems.append("the output topic could not be read to its last stable offset")
        hanging = {p: hw[p] - out_ends.get(p, 0) for p in hw if hw[p] > out_ends.get(p, 0) + 1}
        if hanging:
            self.problems.append(f"output partitions with a transaction still open after the stop "
                                 f"(high watermark - last stable offset): {hanging}")

        if self.st.inject_defects and len(outputs) > 2:
            # Harness self-test (--inject-defects): drop one result and repeat another, as a lost
            # and a duplicated input would look; the check must then fail with lost=1, duplicated=1.
            drop = outputs.pop(self.rng.randrange(len(outputs)))
            again = self.rng.choice([o for o in outputs if o.key != drop.key])
            outputs.append(dataclasses.replace(again, offset=1 << 40))
            self.event("INJECTED_DEFECTS", dropped=repr(drop), repeated=repr(again))
        if self.sc.stream_join:
            expected = chaos_check.expected_join_pairs(inputs, kind=self.sc.stream_join,
                                                       within_ms=chaos_stream_join.WITHIN_MS,
                                                       grace_ms=chaos_stream_join.GRACE_MS)
            result = chaos_check.check_join(expected, outputs, delivery=self.sc.delivery)
        elif self.sc.table_join:
            result = chaos_check.check_table_join(inputs, outputs, delivery=self.sc.delivery)
        else:
            expected = chaos_check.expected_groups(inputs, self.sc.spec())
            result = chaos_check.check(expected, outputs, delivery=self.sc.delivery, ordered=self.sc.ordered,
                                       session=self.sc.window == "session", table=self.sc.window == "table")
        if not drain.get("drained"):
            self.problems.append(f"not drained within {self.st.drain_deadline_s:.0f}s: {drain}")
        if self.faults.unexpected_exits:
            self.problems.append(f"{self.faults.unexpected_exits} unexpected instance exit(s)")
        if self.faults.sigterm_timeouts:
            self.problems.append(f"{self.faults.sigterm_timeouts} SIGTERM(s) not obeyed within 30s")
        if self.faults.broker_restart_failures:
            self.problems.append(f"{self.faults.broker_restart_failures} broker restart(s) failed")

        internal = self.internal_topics()
        notes = []
        for topic, entry in internal.items():
            deleted = entry.get("records_deleted_by_broker", 0)
            if deleted:
                notes.append(f"the broker deleted {deleted} record(s) at the start of {topic} (log start offsets "
                             f"{entry['log_start']}; retention.ms {entry.get('configs', {}).get('retention.ms', 'not set: the broker default')})")

        starts = []
        for inst in self.instances:
            for inc in inst.incarnations:
                info = analyse_log(inc)
                info["instance"] = inst.number
                starts.append(info)
        restarts = [s for s in starts if s["cause"] != "initial"]

        def med(values):
            values = [v for v in values if v is not None]
            return round(statistics.median(values), 2) if values else None

        passed = result["passed"] and not self.problems
        report = {
            "scenario": self.sc.name,
            "pipeline": self.name,
            "input_topic": self.input_topic,
            "output_topic": self.output_topic,
            "delivery": self.sc.delivery,
            "window": {"type": self.sc.window, "size_ms": self.sc.size_ms, "advance_ms": self.sc.advance_ms,
                       "gap_ms": self.sc.gap_ms, "grace_ms": self.sc.grace_ms},
            "repartition": self.sc.repartition,
            "time_offset_ms": self.sc.time_offset_ms,
            "passed": passed,
            "failures": result["failures"] + self.problems,
            "notes": notes,
            "produced": {"sent": len(producer.records), "acknowledged": len(acked),
                         "failed_sends": len(producer.failed), "send_errors": producer.send_errors,
                         "rate_per_s": round(len(acked) / max(1e-9, producer.stopped_at - producer.started_at), 1)
                         if producer.stopped_at else None},
            "input_topic_check": reconciled,
            "inputs": len(inputs),
            "outputs": len(outputs),
            "check": result,
            "faults": vars(self.faults),
            "drain": drain,
            "timings": {**self.timings,
                        "fault_phase_s": round(fault_end - fault_start, 1),
                        "output_stall_during_faults": monitor.longest_stall(fault_start, fault_end),
                        "total_s": round(time.time() - self.t0, 1)},
            "restarts": {"count": len(restarts),
                         "restored_records_total": sum(s["restored_records"] for s in restarts),
                         "restored_records_per_restart": [s["restored_records"] for s in restarts],
                         "restored_at_start_per_restart": [s["restored_at_start"] for s in restarts],
                         "restores_from_offset_0": sum(s["restores_from_offset_0"] for s in restarts),
                         "median_to_running_s": med(s["to_running_s"] for s in restarts),
                         "median_to_first_task_started_s": med(s["to_first_task_started_s"] for s in restarts),
                         "max_to_first_task_started_s": max((s["to_first_task_started_s"] for s in restarts
                                                             if s["to_first_task_started_s"] is not None), default=None),
                         "max_to_first_record_s": max((s["to_first_record_s"] for s in restarts
                                                       if s["to_first_record_s"] is not None), default=None),
                         "median_to_first_record_s": med(s["to_first_record_s"] for s in restarts),
                         # The runtime issue's bound: a restarted instance processes within 2 s.
                         "over_2s_to_first_record": sum(1 for s in restarts if s["to_first_record_s"] is not None
                                                        and s["to_first_record_s"] > RESTART_BOUND_S),
                         "first_record_logged": any(s["to_first_record_s"] is not None for s in starts)},
            "internal_topics": internal,
            "process_starts": starts,
            "crashes": self.crash_logs,
            "events": self.events,
        }
        (self.directory / "report.json").write_text(json.dumps(report, indent=2, default=str))
        return report
