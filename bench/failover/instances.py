"""The processes of the failover benchmark: instances of one app (Sluice's `sluice run`, or the
pipeline benchmark's Kafka Streams program), each with a state directory and a log of its own,
and what their logs say about tasks (bench/failover/README.md)."""
import datetime
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pipeline"))

import systems  # noqa: E402  (the pipeline benchmark's Sluice YAML and Kafka Streams command line)
from jobs import JOBS  # noqa: E402

SESSION_TIMEOUT_MS = 6000
TABLE_JOB = next(j for j in JOBS if j.key == "table-exactly_once")

# "[2026-12-06 22:41:32.123] [info] app: task 0_1 running (restored 12 records in 0.01 s)"
SLUICE_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\] \[\w+\] (.*)$")
TASK_RUNNING = re.compile(r"task (\d+_\d+) running \(restored (\d+) records in ([\d.]+) s\)")
TASK_CLOSED = re.compile(r"task (\d+_\d+) closed")
STANDBY_ACTIVE = re.compile(r"task (\d+_\d+): standby becomes active at offset sum (-?\d+)")
ASSIGNOR = re.compile(r"task assignor: .*")
JOINED = re.compile(r"consumer: joined group '[^']*' generation (\d+)")
WARMUPS_DONE = re.compile(r"\d+ warm-up task\(s\) .*: asking for a rebalance")
# Kafka Streams (the restore listener of KafkaStreamsPipeline): "<epoch ms> restored <store> <partition> <records>"
STREAMS_RESTORED = re.compile(r"^(\d+) restored (\S+) (\d+) (\d+)$")


@dataclass
class instance:
    name: str
    argv: list
    log_path: Path
    state_dir: Path
    process: subprocess.Popen = None
    started_at: float = 0.0
    killed_at: float = None
    stats: dict = field(default_factory=dict)

    def start(self, now):
        self.log_file = open(self.log_path, "w")
        self.started_at = now
        self.process = subprocess.Popen(self.argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill9(self, now):
        self.killed_at = now
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(45)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()

    def events(self):
        """(wall time, message) of every log line with a timestamp."""
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = SLUICE_LINE.match(line)
            if match:
                stamp = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                events.append((stamp, match.group(2)))
                continue
            match = STREAMS_RESTORED.match(line)
            if match:
                events.append((int(match.group(1)) / 1000, line.split(" ", 1)[1]))
        return events

    def active_tasks(self, until=None):
        """The tasks running here at `until` (default: now), from the running and closed lines."""
        active = set()
        for stamp, message in self.events():
            if until is not None and stamp > until:
                break
            if (m := TASK_RUNNING.search(message)):
                active.add(m.group(1))
            elif (m := TASK_CLOSED.search(message)):
                active.discard(m.group(1))
        return active

    def tasks_started(self, since):
        """task -> (time, records restored, seconds restoring) of the tasks that started running
        here after `since` (the first start of each)."""
        started = {}
        for stamp, message in self.events():
            if stamp >= since and (m := TASK_RUNNING.search(message)) and m.group(1) not in started:
                started[m.group(1)] = (stamp, int(m.group(2)), float(m.group(3)))
        return started

    def lines_matching(self, pattern, since):
        return [(stamp, message) for stamp, message in self.events() if stamp >= since and pattern.search(message)]


def own_state_dir(argv, scratch, app, name):
    """The pipeline benchmark's command line with a state directory of this instance's own."""
    shared = str(scratch / f"{app}-state")
    return [str(state_dir_of(scratch, app, name)) if a == shared else a for a in argv]


def state_dir_of(scratch, app, name):
    return scratch / f"{app}-state-{name}"


def sluice_instance(sluice_bin, app, bootstrap, input_topic, output_topic, scratch, name, standbys,
                    session_timeout_ms=SESSION_TIMEOUT_MS):
    """`sluice run` of the table aggregation, as the pipeline benchmark runs it, as one of several
    instances: the classic protocol (the runtime's task assignor) whatever the standby count, so
    that 0 and 1 standby differ in nothing else."""
    launch = systems.sluice(sluice_bin, TABLE_JOB, app, bootstrap, input_topic, output_topic, "", scratch)
    argv = own_state_dir(launch.argv, scratch, app, name) + [
        "--instance-id", name, "--group-protocol", "classic", "--session-timeout-ms", str(session_timeout_ms),
        "--standby-replicas", str(standbys)]
    return instance(name, argv, scratch / f"{app}-{name}.log", state_dir_of(scratch, app, name))


def streams_instance(java_classes, kafka_libs, log_config, app, bootstrap, input_topic, output_topic, scratch, name,
                     standbys, session_timeout_ms=SESSION_TIMEOUT_MS):
    """The pipeline benchmark's Kafka Streams program on the table job, as one of several
    instances, with num.standby.replicas and the session timeout set."""
    launch = systems.kafka_streams(java_classes, kafka_libs, log_config, TABLE_JOB, app, bootstrap, input_topic,
                                   output_topic, "", scratch)
    argv = own_state_dir(launch.argv, scratch, app, name) + [
        "--standby-replicas", str(standbys), "--session-timeout-ms", str(session_timeout_ms)]
    return instance(name, argv, scratch / f"{app}-{name}.log", state_dir_of(scratch, app, name))
