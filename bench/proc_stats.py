"""What the benchmark harnesses read of a running process from /proc: its CPU time and its peak
resident memory (bench/run.py's drivers and broker, bench/pipeline's stream processors)."""
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of the process so far, or None when it cannot be read."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def peak_rss_mb(pid):
    """VmHWM: the peak resident memory of the process's current image. (wait4's ru_maxrss is no
    use here: Linux carries the forking harness's own peak across exec into it.)"""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
