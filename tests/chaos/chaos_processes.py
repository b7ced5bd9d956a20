"""The processes the chaos harness controls: the brokers (kill and restart nodes through
scripts/kafka), the `sluice run` instances (one state dir each, one log file per process start)
and the slow proxy in front of instance 1. Every one it starts is registered here, so that
chaos_run.py leaves none running and no broker node down, however it ends."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from chaos_scenarios import log


# --- the cluster ------------------------------------------------------------------------------


class cluster:
    """The brokers: their address, how many, and (with a state dir of scripts/kafka) the means to
    kill and restart nodes."""

    def __init__(self, bootstrap: str, brokers: int, kafka_state: Optional[str], kafka_script: str):
        self.bootstrap = bootstrap
        self.brokers = brokers
        self.kafka_state = kafka_state
        self.kafka_script = kafka_script
        self.down: set[int] = set()
        self.lock = threading.Lock()

    @property
    def can_kill(self) -> bool:
        return self.brokers == 3 and self.kafka_state is not None

    @property
    def replication(self) -> int:
        return 3 if self.brokers == 3 else 1

    def kafka(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([self.kafka_script, *args, "--state-dir", self.kafka_state],
                              capture_output=True, text=True, timeout=timeout)

    def kill_node(self, node: int) -> bool:
        with self.lock:
            self.down.add(node)
        result = self.kafka("kill-node", str(node), timeout=60)
        if result.returncode != 0:
            log(f"kill-node {node} failed: {result.stderr.strip()}")
        return result.returncode == 0

    def start_node(self, node: int) -> bool:
        result = self.kafka("start-node", str(node))
        if result.returncode != 0:
            log(f"start-node {node} failed (retrying once): {result.stderr.strip()[-500:]}")
            result = self.kafka("start-node", str(node))
        with self.lock:
            if result.returncode == 0:
                self.down.discard(node)
        return result.returncode == 0


# --- the instances ----------------------------------------------------------------------------


@dataclass
class incarnation:
    """One process start of one instance."""

    number: int
    cause: str                       # initial | after_kill9 | after_sigterm | after_crash | final
    log_file: Path
    started_at: float
    ended_at: Optional[float] = None
    end: Optional[str] = None        # killed | sigterm (rc) | crashed (rc) | stopped (rc)
    returncode: Optional[int] = None


# Every instance this driver made: whatever way the driver ends, none of their processes is
# left running (they run in sessions of their own, so a Ctrl-C does not reach them).
ALL_INSTANCES: list["instance"] = []
CLUSTERS: list["cluster"] = []  # and no broker node it killed is left down
PROXIES: list[subprocess.Popen] = []  # sluice_test_proxy processes, stopped at exit


def start_slow_proxy(proxy: str, bootstrap: str, delay_ms: int, run_dir: Path) -> str:
    """Starts sluice_test_proxy in front of the cluster; returns its bootstrap address."""
    log_file = open(run_dir / "proxy.log", "w")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([proxy, "--bootstrap", bootstrap, "--delay-ms", str(delay_ms)],
                               stdout=subprocess.PIPE, stderr=log_file, text=True)
    PROXIES.append(process)
    line = process.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"{proxy} printed no bootstrap address (see {run_dir / 'proxy.log'})")
    return line


class instance:
    """One `sluice run` instance: its state dir survives restarts; every start logs to its own
    file."""

    def __init__(self, number: int, directory: Path, command: list[str]):
        self.number = number
        self.directory = directory
        self.state_dir = directory / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.command = command + ["--state-dir", str(self.state_dir)]
        self.process: Optional[subprocess.Popen] = None
        self.incarnations: list[incarnation] = []
        self.expect_exit = False     # we signalled it
        self.restart_at: Optional[float] = None
        self.restart_cause = ""
        self.term_sent_at: Optional[float] = None
        ALL_INSTANCES.append(self)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def up(self) -> bool:
        return self.running and not self.expect_exit

    @property
    def settled(self) -> bool:
        """Up for a second: a SIGTERM now is a stop request to sluice, not one that ends the
        process by the default action before (while the dynamic loader runs) it can take it."""
        return self.up and time.time() - self.incarnations[-1].started_at >= 1.0

    def start(self, cause: str) -> None:
        n = len(self.incarnations) + 1
        log_file = self.directory / f"run-{n}.log"
        out = open(log_file, "wb")
        self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.incarnations.append(incarnation(n, cause, log_file, time.time()))
        self.expect_exit = False
        self.restart_at = None
        self.term_sent_at = None

    def signal(self, sig: int) -> None:
        if self.running:
            self.expect_exit = True
            if sig == signal.SIGTERM:
                self.term_sent_at = time.monotonic()
            self.process.send_signal(sig)

    def reap(self, how: str) -> None:
        """Records the end of the current process (it has exited)."""
        inc = self.incarnations[-1]
        if inc.ended_at is None:
            inc.ended_at = time.time()
            inc.returncode = self.process.returncode
            inc.end = how

    def wait(self, timeout: float) -> bool:
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
