"""The client suites' scenarios (produce, fixed-rate latency, transactional produce, consume,
group join and rebalance) and the record counts and units they share. bench/run.py runs them;
bench/benchmarks_doc.py describes them in docs/benchmarks.md."""
from dataclasses import dataclass

MB = 1024 * 1024  # MB/s as Kafka's perf tools print it (MiB)
PYTHON_SHARE = 10  # the Python clients get 1/PYTHON_SHARE of the records (they are 10-50x slower)


@dataclass(frozen=True)
class produce_scenario:
    size: int
    acks: str  # "1" or "all"
    compression: str  # "none" or "lz4"
    rate: int = 0  # records/s at a fixed rate, per-record latency (the "latency" kind); 0: flat out
    transaction_ms: int = 0  # transactional, a commit every this many ms; 0: no transactions

    @property
    def idempotent(self):
        # Idempotence needs acks=all (KIP-98, and every client refuses it otherwise).
        return self.acks == "all"

    @property
    def kind(self):
        return "latency" if self.rate else "produce"

    @property
    def key(self):
        key = f"produce-{self.size}B-acks{self.acks}-{self.compression}"
        if self.rate:
            key = f"latency-{self.rate}-per-s-{self.size}B-acks{self.acks}"
        return key + (f"-transactional-{self.transaction_ms}ms" if self.transaction_ms else "")

    @property
    def title(self):
        idem = "idempotent" if self.idempotent else "not idempotent"
        if self.rate:
            return (f"Delivery latency at {self.rate:,} records/s, {self.size} B records, acks={self.acks} "
                    f"({idem}), {self.compression}")
        if self.transaction_ms:
            return (f"Produce {self.size} B records transactionally, a commit every {self.transaction_ms} ms, "
                    f"acks={self.acks}, {self.compression}")
        return f"Produce {self.size} B records, acks={self.acks} ({idem}), {self.compression}"


@dataclass(frozen=True)
class consume_scenario:
    size: int
    isolation: str

    @property
    def key(self):
        return f"consume-{self.size}B-{self.isolation}"

    @property
    def title(self):
        if self.isolation == "read_committed":
            return (f"Consume {self.size} B records, read_committed (a topic written in transactions of "
                    f"{FILL_TRANSACTION_MS} ms)")
        return f"Consume {self.size} B records, {self.isolation}"


@dataclass(frozen=True)
class group_scenario:
    """A consumer group of one member, then a second member joining (bench/README.md)."""
    assignor: str  # "range" (eager) or "cooperative-sticky" (KIP-429)

    @property
    def key(self):
        return f"group-{self.assignor}"

    @property
    def title(self):
        protocol = "cooperative" if self.assignor == "cooperative-sticky" else "eager"
        return f"Group join and rebalance, {self.assignor} ({protocol})"


LATENCY_RATE = 10_000  # records/s of the latency scenario
LATENCY_SECONDS = 10  # its length (5 with --quick)
TRANSACTION_MS = 100  # the transactional produce scenario commits this often
FILL_TRANSACTION_MS = 100  # the read_committed consume scenario's topic was written in transactions this long
GROUP_PARTITIONS = 6  # the group scenarios' topic: 3 partitions stay with the first member, 3 move


def scenarios(quick, only):
    sizes = [100] if quick else [100, 1024]
    produce = [produce_scenario(size, acks, compression)
               for size in sizes
               for acks in (["all"] if quick else ["1", "all"])
               for compression in ["none", "lz4"]]
    produce.append(produce_scenario(100, "all", "none", transaction_ms=TRANSACTION_MS))
    produce.append(produce_scenario(100, "all", "none", rate=LATENCY_RATE))
    consume = [consume_scenario(size, isolation)
               for size in sizes
               for isolation in ["read_uncommitted", "read_committed"]
               if not (quick and isolation == "read_committed" and size != 100)]
    group = [group_scenario("range"), group_scenario("cooperative-sticky")]
    return (([] if only == "consumer" else produce), ([] if only == "producer" else consume),
            ([] if only == "producer" else group))


def records_for(total_100b, size):
    """1 KB runs send about as many bytes as 100 B runs, not 10x as many."""
    return max(1, total_100b * 100 // size) if size > 100 else total_100b

