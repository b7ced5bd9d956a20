"""What the Python drivers share with the C and C++ ones (bench/peers/driver_common.h): the
command line, the payload and the one-line JSON report that bench/run.py parses."""
import argparse
import json
import sys
import time


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("mode", choices=["produce", "consume"])
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


def die(message):
    print(message, file=sys.stderr)
    sys.exit(2)
