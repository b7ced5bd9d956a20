"""The two scenarios of the failover benchmark (bench/failover/README.md), each one run: start the
instances on the preloaded input, wait until they have processed all of it, then, with input
flowing at a steady rate and a watcher noting when each partition's outputs appear, kill -9 one
instance for good, or start a second one; measure from the logs and the watcher; then drain the
input, stop, and check the whole output exactly."""
import shutil
import time
import uuid

from instances import ASSIGNOR, JOINED, SESSION_TIMEOUT_MS, STANDBY_ACTIVE, TASK_CLOSED, WARMUPS_DONE
from traffic import PARTITIONS, check_exact, longest_gap, output_watcher, steady_input

SETTLE_S = 5      # after the preload is processed: standbys finish following, nothing is measured
BEFORE_S = 8      # steady input before the kill or the new instance
AFTER_S = 5       # steady input after the partitions are processed again
WAIT_S = 300      # the longest the harness waits for any step (then the run is marked failed)


class run_failed(Exception):
    pass


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(what, condition, members, timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not condition():
        for m in members:
            if m.killed_at is None and not m.alive():
                raise run_failed(f"instance {m.name} exited with {m.process.returncode} while waiting for {what} "
                                 f"(log {m.log_path})")
        if time.monotonic() > deadline:
            raise run_failed(f"no {what} after {timeout_s} s")
        time.sleep(0.2)


def processed(kafka, group, topic):
    """Whether the group's committed offsets have reached the input's current end."""
    ends = kafka.end_offsets(topic)
    committed = kafka.committed(group)
    return all(committed.get((topic, p), -1) >= end for p, end in ends.items())


class context:
    """What every run shares: the broker, the input and its log, the instance makers."""

    def __init__(self, kafka, bootstrap, input_topic, log, rate, scratch, makers, progress):
        self.kafka, self.bootstrap, self.input_topic, self.log = kafka, bootstrap, input_topic, log
        self.rate, self.scratch, self.makers, self.progress = rate, scratch, makers, progress


def start_app(ctx, system, standbys, names):
    """Fresh app and output topic; the instances started; waits until the preload is processed."""
    app = unique(f"bench-failover-{system.split()[0].lower()}")
    output = unique("bench-failover-out")
    ctx.kafka.create_topic(output, PARTITIONS)
    members = [ctx.makers[system](app, output, name, standbys) for name in names]
    started = time.time()
    for m in members:
        m.start(time.time())
    wait_until("processing of the preloaded input", lambda: processed(ctx.kafka, app, ctx.input_topic), members)
    row = {"system": system, "standbys": standbys, "app": app,
           "preload_processed_s": round(time.time() - started, 2)}
    ctx.progress(f"  {len(names)} instance(s) processed the input in {row['preload_processed_s']} s")
    time.sleep(SETTLE_S)
    watcher = output_watcher(ctx.bootstrap, output, ctx.kafka.end_offsets(output))
    steady = steady_input(ctx.log, ctx.rate)
    watcher.start()
    steady.start()
    time.sleep(BEFORE_S)
    return app, output, members, watcher, steady, row


def finish(ctx, app, output, members, watcher, steady, row):
    """Stops the input, waits until it is processed, stops everything, checks the output."""
    steady.stop()
    live = [m for m in members if m.killed_at is None]
    wait_until("processing of the steady input", lambda: processed(ctx.kafka, app, ctx.input_topic), live)
    watcher.stop()
    for m in live:
        m.stop()
    for m in members:  # a million keys per app and instance: the disk is shared
        shutil.rmtree(m.state_dir, ignore_errors=True)
    problems = check_exact(ctx.kafka, output, ctx.log)
    row["status"] = "ok" if not problems else "failed: output not exact: " + "; ".join(problems[:3])
    row["inputs_total"] = ctx.log.written
    row["logs"] = [str(m.log_path) for m in members]


def gaps(watcher, partitions, since, until):
    """partition (a string: the JSON's keys) -> the longest output gap in [since, until] and the
    seconds from `since` to that gap's end."""
    found = {}
    for p in partitions:
        gap, ended = longest_gap(watcher.arrivals[p], since, until)
        found[str(p)] = {"longest_gap_s": round(gap, 2), "gap_ended_after_s": round(ended - since, 2)}
    return found


def kill_one(ctx, system, standbys):
    """Two instances; one is killed with SIGKILL for good while input flows."""
    members = []
    try:
        app, output, members, watcher, steady, row = start_app(ctx, system, standbys, ["a", "b"])
        survivor, victim = members
        if not tasks_of(victim, members):
            survivor, victim = victim, survivor
        victim_tasks = sorted(tasks_of(victim, members))
        killed = time.time()
        victim.kill9(killed)
        ctx.progress(f"  killed instance {victim.name} (tasks {', '.join(victim_tasks) or 'unknown'})")
        # The group learns of the death after the session timeout at the earliest: every
        # partition writing again after that means the dead one's partitions moved.
        resumed_after = killed + SESSION_TIMEOUT_MS / 1000
        wait_until("output on every partition after the kill",
                   lambda: all(a and a[-1] > resumed_after for a in watcher.arrivals.values()), [survivor])
        if system == "Sluice":
            wait_until("the dead instance's tasks running on the survivor",
                       lambda: set(victim_tasks) <= set(survivor.tasks_started(killed)), [survivor])
        else:
            wait_until("the dead instance's tasks restored on the survivor",
                       lambda: set(victim_tasks) <= set(streams_tasks_started(survivor, killed)), [survivor])
        time.sleep(AFTER_S)
        steady_end = time.time()
        row["partition_gaps"] = gaps(watcher, range(PARTITIONS), killed - 1, steady_end)
        for gap in row["partition_gaps"].values():
            gap["gap_ended_after_s"] = round(gap["gap_ended_after_s"] - 1, 2)  # from the kill, not 1 s before
        row.update(kill_measures(system, survivor, victim_tasks, killed))
        finish(ctx, app, output, members, watcher, steady, row)
    except run_failed as e:
        row = locals().get("row", {"system": system, "standbys": standbys})
        row["status"] = f"failed: {e}"
        for m in members:
            if m.killed_at is None and m.process:
                m.stop()
    return row


def tasks_of(member, members):
    """The tasks `member` runs now. Sluice logs each task's start and close; Kafka Streams' restore
    listener reports the end of every active task's restore (records or not), so a task is where
    its latest restore ended."""
    if member.argv[0] != "java":
        return member.active_tasks()
    latest = {}
    for m in members:
        for stamp, message in m.events():
            if message.startswith("restored "):
                task = f"0_{message.split()[2]}"
                if stamp >= latest.get(task, (0, None))[0]:
                    latest[task] = (stamp, m.name)
    return {task for task, (_, name) in latest.items() if name == member.name}


def streams_tasks_started(member, since):
    """task -> (time, records restored, None) of the tasks whose restore ended here from `since`."""
    started = {}
    for stamp, message in member.events():
        if stamp >= since and message.startswith("restored "):
            _, _store, partition, records = message.split()
            task = f"0_{partition}"
            previous = started.get(task, (stamp, 0, None))
            started[task] = (previous[0], previous[1] + int(records), None)
    return started


def kill_measures(system, survivor, victim_tasks, killed):
    """What the survivor's log says about the dead instance's tasks after the kill."""
    measures = {"victim_tasks": victim_tasks}
    if system == "Sluice":
        started = survivor.tasks_started(killed)
        # Where the time went: the survivor's first join after the kill is the end of detection
        # and rebalance; from there to `running` it waited for the committed offsets and restored.
        joined = survivor.lines_matching(JOINED, killed)
        measures["rejoined_after_s"] = round(joined[0][0] - killed, 2) if joined else None
        measures["standby_takeovers"] = [m for _, m in survivor.lines_matching(STANDBY_ACTIVE, killed)]
    else:
        started = streams_tasks_started(survivor, killed)
    measures["tasks"] = {t: {"running_after_s": round(started[t][0] - killed, 2), "records_restored": started[t][1],
                             "restore_s": started[t][2]} for t in victim_tasks if t in started}
    measures["records_restored"] = sum(started[t][1] for t in victim_tasks if t in started)
    return measures


def lines_of(members, pattern, since):
    """The log lines of every instance that match, from `since`, in time order, named by instance."""
    lines = [(stamp, f"{m.name}: {message}") for m in members for stamp, message in m.lines_matching(pattern, since)]
    return [line for _, line in sorted(lines)]


def add_one(ctx, system, standbys):
    """One instance with the whole state; a second one starts while input flows."""
    members = []
    try:
        app, output, members, watcher, steady, row = start_app(ctx, system, standbys, ["a"])
        first = members[0]
        before = sorted(first.active_tasks())
        second = ctx.makers[system](app, output, "b", standbys)
        members.append(second)
        added = time.time()
        second.start(added)
        ctx.progress("  started instance b")
        wait_until("the tasks balanced over both instances",
                   lambda: len(second.active_tasks()) >= PARTITIONS // 2
                   and len(first.active_tasks()) + len(second.active_tasks()) == PARTITIONS, members)
        time.sleep(AFTER_S)
        steady_end = time.time()
        moved = second.tasks_started(added)
        moved_partitions = {t.split("_")[1] for t in moved}
        all_gaps = gaps(watcher, range(PARTITIONS), added, steady_end)
        row.update(tasks_before=before, tasks_moved=sorted(moved),
                   tasks={t: {"running_after_s": round(s - added, 2), "records_restored": r, "restore_s": rs}
                          for t, (s, r, rs) in moved.items()},
                   records_restored=sum(r for _, r, _ in moved.values()),
                   closed_on_first=[m for _, m in first.lines_matching(TASK_CLOSED, added)],
                   warmup_requests=lines_of(members, WARMUPS_DONE, added),
                   assignor_decisions=lines_of(members, ASSIGNOR, added),
                   partition_gaps=all_gaps,
                   moved_longest_gap_s=max((all_gaps[p]["longest_gap_s"] for p in moved_partitions), default=None),
                   stayed_longest_gap_s=max((g["longest_gap_s"] for p, g in all_gaps.items()
                                             if p not in moved_partitions), default=None))
        finish(ctx, app, output, members, watcher, steady, row)
    except run_failed as e:
        row = locals().get("row", {"system": system, "standbys": standbys})
        row["status"] = f"failed: {e}"
        for m in members:
            if m.process:
                m.stop()
    return row
