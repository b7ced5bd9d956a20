"""The chaos harness's table-table join scenario (table_join): the pipeline, the updates the
producer writes to the two tables' topics, and the translation of what the topics hold into
chaos_check's table-join records.

Accounts (the source, read as a table) and owners (a table from `tables:`) are co-partitioned
topics keyed by the same KEYS keys, written by one producer at a steady rate: each update goes to
one of the two topics (half each) under a random key, with a value {seq, side}. The pipeline
outer-joins them (`join: {table: owners, type: outer, into: owner}`), so every update of either
side emits exactly one result, the key's joined value: the account's latest value with member
`owner` = the owner's latest (null while the key has none), or {owner: ...} while the key has no
account. No update deletes, so no result is a tombstone.

What the check (chaos_check.check_table_join) can say exactly, whatever the order in which a task
took the two topics' records: a key's results, in output order, name the account and owner
updates they were made of (their seqs); numbering each key's updates per side in topic order, the
results must walk from (0, 0) to (all of its account updates, all of its owner updates) one update
at a time: each result one more update of one side than the result before. A result missing is a
jump (lost), a result emitted again a repeat (duplicated), a state that goes back (a store
restored to an older value, a replay) out of order, a result naming an update that is not the
key's a wrong pair.
"""

from __future__ import annotations

import json
import random
import time
from typing import Callable

import chaos_stream_join
from chaos_check import join_output, table_update

JOIN_MEMBER = "owner"


def pipeline_yaml(*, scenario_name: str, name: str, delivery: str, commit_interval: str, accounts_topic: str,
                  owners_topic: str, output_topic: str) -> str:
    return "\n".join([
        f"# Written by tests/chaos/chaos_run.py for scenario '{scenario_name}'.",
        f"name: {name}",
        f"delivery: {delivery}",
        f"commit_interval: {commit_interval}",
        "sources:",
        f"  - topic: {accounts_topic}",
        "    as: table",
        "    key_format: string",
        "    value_format: json",
        "tables:",
        "  - name: owners",
        f"    topic: {owners_topic}",
        "    key_format: string",
        "    value_format: json",
        "steps:",
        f"  - join: {{ table: owners, type: outer, into: {JOIN_MEMBER} }}",
        "sink:",
        f"  topic: {output_topic}",
        "  key_format: string",
        "  value_format: json",
        "",
    ])


def updates(rng: random.Random, keys: int, accounts_topic: str,
            owners_topic: str) -> Callable[[], list[tuple[str, str, dict, int]]]:
    """chaos_topics' producer_thread source: each call makes one update, (topic, key, value fields,
    event time), to either table's topic under one of `keys` keys."""

    def next_update() -> list[tuple[str, str, dict, int]]:
        account = rng.random() < 0.5
        topic = accounts_topic if account else owners_topic
        key = f"k{rng.randrange(keys):03d}"
        return [(topic, key, {"side": "account" if account else "owner"}, int(time.time() * 1000))]

    return next_update


def table_updates(raw: list, accounts_topic: str) -> tuple[list[table_update], dict[tuple, int]]:
    """The records read back from both topics -> (the updates, (topic, partition, offset) -> seq)."""
    inputs, in_topic = [], {}
    for r in raw:
        seq = json.loads(r.value)["seq"]
        in_topic[(r.topic, r.partition, r.offset)] = seq
        side = "left" if r.topic == accounts_topic else "right"
        inputs.append(table_update(side, r.partition, r.offset, r.key.decode(), seq))
    return inputs, in_topic


def table_join_outputs(raw: list) -> list[join_output]:
    """The join results read back: the account's seq (None: no account) and the owner's (the
    member `owner`, None while null)."""
    return chaos_stream_join.join_outputs(raw, member=JOIN_MEMBER)
