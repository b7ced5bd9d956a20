"""What the Python drivers share with the C and C++ ones (bench/peers/driver_common.h): the
command line, the payload and the one-line JSON report that bench/run.py parses."""
import argparse
import json
import math
import sys
import time


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("mode", choices=["produce", "consume", "group"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--acks", choices=["1", "all"], default="all")
    parser.add_argument("--compression", choices=["none", "lz4"], default="none")
    parser.add_argument("--idempotence", choices=["true", "false"], default="true")
    parser.add_argument("--batch-size", type=int, default=0, help="bytes; 0: the client's default")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--isolation", choices=["read_uncommitted", "read_committed"],
                        default="read_uncommitted")
    parser.add_argument("--rate", type=int, default=0,
                        help="records/s at a fixed rate, with per-record latency; 0: flat out")
    parser.add_argument("--transaction-ms", type=int, default=0,
                        help="transactional, committing every this many ms; 0: no transactions")
    parser.add_argument("--group", default="", help="group: the group id")
    parser.add_argument("--assignor", choices=["range", "cooperative-sticky"], default="range")
    args = parser.parse_args()
    if args.records < 1 or args.size < 1 or args.partitions < 1:
        parser.error("--records, --size and --partitions must be >= 1")
    return args


def payload(size):
    """`size` random upper-case letters from the same generator as driver_common.h."""
    mask = (1 << 64) - 1
    state = 0x9E3779B97F4A7C15
    out = bytearray(size)
    for i in range(size):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        out[i] = ord("A") + (state >> 33) % 26
    return bytes(out)


now = time.monotonic


def report(records, nbytes, seconds, errors):
    print(json.dumps({"records": records, "bytes": nbytes, "seconds": round(seconds, 6),
                      "errors": errors}), flush=True)
    return 0 if errors == 0 else 1


class ReadProgress:
    """What a consume run has read so far; it gives up when no record came for 60 s."""

    def __init__(self, name, wanted):
        self.name, self.wanted = name, wanted
        self.records = self.nbytes = 0
        self.last_progress = now()

    def reading(self):
        if self.records >= self.wanted:
            return False
        if now() - self.last_progress > 60:
            print(f"{self.name}: no record for 60 s after {self.records}", file=sys.stderr)
            return False
        return True

    def add(self, batches):
        """Counts one poll's answer: a dict of partition -> records."""
        for batch in batches.values():
            self.records += len(batch)
            for record in batch:
                self.nbytes += len(record.value)
        if batches:
            self.last_progress = now()

    def report(self, seconds):
        return report(self.records, self.nbytes, seconds, max(0, self.wanted - self.records))

def percentile(ordered, q):
    """Nearest rank, as in driver_common.h."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def report_latency(records, nbytes, seconds, errors, latencies_ms):
    """The report of a fixed-rate run: percentiles of send-to-acknowledgement times in ms."""
    ordered = sorted(latencies_ms)
    latency = {"p50": percentile(ordered, 0.5), "p99": percentile(ordered, 0.99),
               "p999": percentile(ordered, 0.999), "max": ordered[-1] if ordered else 0.0,
               "count": len(ordered)}
    print(json.dumps({"records": records, "bytes": nbytes, "seconds": round(seconds, 6),
                      "errors": errors, "latency_ms": {k: round(v, 3) for k, v in latency.items()}}),
          flush=True)
    return 0 if errors == 0 else 1


class group_log:
    """The group mode's record: every listener call of members "A" and "B" with its
    time.monotonic() (CLOCK_MONOTONIC, the clock of every driver), and what each owns."""

    def __init__(self):
        self.events = []
        self.owned = {"A": set(), "B": set()}

    def note(self, member, kind, partitions=()):
        numbers = [tp.partition for tp in partitions]
        self.events.append({"member": member, "event": kind, "t": now(), "partitions": numbers})
        if kind == "assigned":
            self.owned[member] |= set(numbers)
        elif kind in ("revoked", "lost"):
            self.owned[member] -= set(numbers)

    def settled(self, partitions):
        return bool(self.owned["B"]) and len(self.owned["A"]) + len(self.owned["B"]) == partitions

    def report(self, settled):
        print(json.dumps({"errors": 0 if settled else 1, "events": list(self.events)}), flush=True)
        return 0 if settled else 1


GROUP_TIMEOUT_S = 90


def die(message):
    print(message, file=sys.stderr)
    sys.exit(2)
