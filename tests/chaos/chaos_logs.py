"""What the chaos harness reads in a `sluice run` process's log: the spdlog lines it recognises
(restores, tasks started, running, the first record, aborted transactions, the stop summary) and
one process start's figures from them (restored records, time to running and to the first
record, warnings, errors)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Optional

from chaos_processes import incarnation


SPDLOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\] \[(\w+)\] (.*)$")
RESTORED = re.compile(r"store (\S+) restored (\d+) records \((\d+) offsets\) in ([\d.]+) s")
RESTORING = re.compile(r"restoring store (\S+) from (\S+) offsets (\d+)\.\.(\d+)")
# "task 0_1 started" (before the runtime rewrite) or "task 0_1 running (restored N records in S s)":
# the task restored its stores and processes from here on.
TASK_STARTED = re.compile(r"task (\S+) (?:started$|running \(restored)")
RUNNING = re.compile(r": running \(")
WIPED = re.compile(r"state directory was wiped")
# A commit that failed and whose interval is processed again (before and after the rewrite).
ABORTED = re.compile(r"transaction failed, aborting|commit failed, dropping the interval|"
                     r"dropping the uncommitted interval")
STOPPED_SUMMARY = re.compile(r"sluice: stopped; (\d+) records in, (\d+) out, (\d+) commits, (\d+) errors, "
                             r"(\d+) records restored")
# "first record processed, 1.257 s after start": the process's first record after a start (the
# runtime rewrite logs it). The report measures from the harness's own spawn time to the line's
# timestamp, and keeps the runtime's figure as well. Binaries without the line (before the
# rewrite) get the time to "running" and to their last "task ... started" (after its restore)
# instead, and the summary says so.
FIRST_RECORD = re.compile(r"first record processed(?:, ([\d.]+) s after start)?", re.IGNORECASE)


def parse_time(text: str) -> Optional[float]:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).timestamp()  # spdlog writes local time
        except ValueError:
            continue
    return None


def analyse_log(inc: incarnation) -> dict:
    """What one process start's log says: restores, when it ran, problems."""
    info = {"incarnation": inc.number, "cause": inc.cause, "end": inc.end, "returncode": inc.returncode,
            "log": str(inc.log_file), "restored_records": 0, "restored_offsets": 0, "restored_at_start": 0,
            "restores": 0, "restores_from_offset_0": 0, "restore_seconds": 0.0, "tasks_started": 0,
            "to_running_s": None, "to_first_task_started_s": None, "to_last_task_started_s": None,
            "to_first_record_s": None, "first_record_after_start_by_runtime_s": None, "wiped": 0, "aborted_transactions": 0, "warnings": 0,
            "errors": 0, "summary": None}
    try:
        text = inc.log_file.read_text(errors="replace")
    except OSError:
        return info
    for line in text.splitlines():
        if m := STOPPED_SUMMARY.search(line):
            info["summary"] = dict(zip(("records_in", "records_out", "commits", "errors", "restored"),
                                       map(int, m.groups())))
        m = SPDLOG_LINE.match(line)
        if not m:
            continue
        when = parse_time(m.group(1))
        since = None if when is None else round(when - inc.started_at, 3)
        level, message = m.group(2), m.group(3)
        if level in ("warning", "warn"):
            info["warnings"] += 1
        elif level in ("error", "critical"):
            info["errors"] += 1
        if r := RESTORED.search(message):
            info["restores"] += 1
            info["restored_records"] += int(r.group(2))
            # Before the first record: the tasks the start came back to (later restores are
            # tasks that moved to this process while it ran).
            if info["to_first_record_s"] is None:
                info["restored_at_start"] += int(r.group(2))
            info["restored_offsets"] += int(r.group(3))
            info["restore_seconds"] = round(info["restore_seconds"] + float(r.group(4)), 3)
        elif r := RESTORING.search(message):
            if int(r.group(3)) == 0 and int(r.group(4)) > 0:
                info["restores_from_offset_0"] += 1
        elif TASK_STARTED.search(message):
            info["tasks_started"] += 1
            if info["to_first_task_started_s"] is None:
                info["to_first_task_started_s"] = since
            info["to_last_task_started_s"] = since
        elif RUNNING.search(message) and info["to_running_s"] is None:
            info["to_running_s"] = since
        elif WIPED.search(message):
            info["wiped"] += 1
        elif ABORTED.search(message):
            info["aborted_transactions"] += 1
        if (f := FIRST_RECORD.search(message)) and info["to_first_record_s"] is None:
            info["to_first_record_s"] = since
            if f.group(1):
                info["first_record_after_start_by_runtime_s"] = float(f.group(1))
    return info


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
