"""Quix Streams' side of the pipeline benchmark (bench/pipeline/README.md): the same jobs as the
Sluice pipelines and KafkaStreamsPipeline.java, written with Quix Streams' StreamingDataFrame
the way its documentation shows, every update emitted (`.current()`). Runs until SIGTERM.

    python quix_pipeline.py --bootstrap B --group G --state-dir D --scenario S
        --guarantee exactly_once|at_least_once --input T --output O [--table T]
        [--commit-interval-ms 100]

The join is Quix's `join_asof` (the latest customer record at or before the order's time), its
closest counterpart of a stream-table join: with every customer written before the orders, the
results are the same.
"""

import argparse
import signal
from datetime import timedelta

from quixstreams import Application
from quixstreams.dataframe.windows.aggregations import Count, Sum

GRACE = timedelta(hours=1)


def windowed(result):
    return {"window_start": result["start"], "window_end": result["end"],
            "count": result["count"], "sum": result["sum"]}


def add_to_table(value, state):
    counts = state.get("counts", [0, 0])
    counts = [counts[0] + 1, counts[1] + value["amount"]]
    state.set("counts", counts)
    return {"count": counts[0], "sum": counts[1]}


def build(app, scenario, input_name, output_name, table_name):
    orders_topic = app.topic(input_name, key_deserializer="string", value_deserializer="json")
    output = app.topic(output_name, key_serializer="string", value_serializer="json")
    sdf = app.dataframe(orders_topic)
    if scenario == "stateless":
        sdf = sdf.filter(lambda v: v["amount"] >= 10).apply(lambda v: {"seq": v["seq"], "cents": v["amount"] * 100})
    elif scenario in ("window", "repartition"):
        if scenario == "repartition":
            sdf = sdf.group_by("group")
        sdf = sdf.tumbling_window(timedelta(minutes=1), grace_ms=GRACE).agg(count=Count(), sum=Sum("amount"))
        sdf = sdf.current().apply(windowed)
    elif scenario == "session":
        sdf = sdf.session_window(timedelta(seconds=30), grace_ms=GRACE).agg(count=Count(), sum=Sum("amount"))
        sdf = sdf.current().apply(windowed)
    elif scenario == "table":
        sdf = sdf.apply(add_to_table, stateful=True)
    elif scenario == "join":
        customers = app.dataframe(app.topic(table_name, key_deserializer="string", value_deserializer="json"))
        sdf = sdf.join_asof(customers, how="left", on_merge=lambda order, customer: {**order, "customer": customer})
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    sdf.to_topic(output)


def main():
    parser = argparse.ArgumentParser()
    for name in ("--bootstrap", "--group", "--state-dir", "--scenario", "--guarantee", "--input", "--output"):
        parser.add_argument(name, required=True)
    parser.add_argument("--table", default="")
    parser.add_argument("--commit-interval-ms", type=int, default=100)
    args = parser.parse_args()
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        state_dir=args.state_dir,
        auto_offset_reset="earliest",
        commit_interval=args.commit_interval_ms / 1000,
        processing_guarantee="exactly-once" if args.guarantee == "exactly_once" else "at-least-once",
        loglevel="WARNING",
    )
    build(app, args.scenario, args.input, args.output, args.table)
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    app.run()


if __name__ == "__main__":
    main()
