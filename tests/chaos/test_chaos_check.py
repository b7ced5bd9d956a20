"""Unit tests of the chaos checker (ctest label `unit`, no broker): a checker that cannot fail
proves nothing, so each test hands it a hand-made output with one known defect (a gap, a
duplicate, an overcount, a replay, a wrong total, a split session, ...) and checks that it is
found, and that a correct output passes.

    python3 tests/chaos/test_chaos_check.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos_check import (expected_groups, check, reconcile, input_record, output_record,  # noqa: E402
                         window_spec, join_input, join_output, expected_join_pairs, check_join,
                         table_update, check_table_join)

DAY = 86_400_000
TUMBLING = window_spec("tumbling", DAY, DAY)


def inputs(key="k1", amounts=(5, 7, 11), t0=1000, partition=0):
    return [input_record(partition, i, key, t0 + i, a, i) for i, a in enumerate(amounts)]


def results(key, window_start, counts_totals, partition=0, first_offset=0, window_end=None):
    return [output_record(partition, first_offset + i, key, window_start,
                          window_end if window_end is not None else (window_start or 0) + DAY, c, t)
            for i, (c, t) in enumerate(counts_totals)]


class window_starts(unittest.TestCase):
    def test_tumbling(self):
        self.assertEqual(TUMBLING.starts(DAY + 5), [DAY])
        self.assertEqual(TUMBLING.starts(0), [0])

    def test_hopping_is_every_window_holding_t(self):
        w = window_spec("hopping", 30, 10)
        self.assertEqual(w.starts(35), [10, 20, 30])
        self.assertEqual(w.starts(5), [0])      # no negative starts
        self.assertEqual(w.starts(30), [10, 20, 30])  # [0, 30) does not hold 30

    def test_session_groups_by_key(self):
        self.assertEqual(window_spec("session").starts(123), [None])


class exactly_once(unittest.TestCase):
    def setUp(self):
        self.expected = expected_groups(inputs(), TUMBLING)

    def run_check(self, outs, delivery="exactly_once", ordered=True):
        return check(self.expected, outs, delivery=delivery, ordered=ordered, session=False)

    def test_exact_output_passes(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (3, 23)]))
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["groups_ok"], 1)

    def test_a_gap_is_a_loss(self):
        r = self.run_check(results("k1", 0, [(1, 5), (3, 23)]))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["lost"], 1)
        self.assertEqual(r["examples"]["lost"][0]["missing"], "2")

    def test_a_missing_tail_is_a_loss_and_a_wrong_final_state(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12)]))
        self.assertEqual(r["problems"]["lost"], 1)
        self.assertEqual(r["problems"]["final_mismatch"], 1)

    def test_a_repeated_count_is_a_duplicate(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (2, 12), (3, 23)]))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["duplicated"], 1)
        self.assertEqual(r["problems"]["lost"], 0)

    def test_a_replay_from_an_older_state_is_caught_even_with_a_correct_end(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (1, 5), (2, 12), (3, 23)]))
        self.assertEqual(r["problems"]["duplicated"], 2)
        self.assertEqual(r["problems"]["out_of_order"], 1)
        self.assertEqual(r["problems"]["final_mismatch"], 0)
        self.assertFalse(r["passed"])

    def test_an_input_counted_twice_is_an_overcount(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (3, 19), (4, 30)]))
        self.assertEqual(r["problems"]["overcounted"], 1)
        self.assertEqual(r["problems"]["final_mismatch"], 1)
        self.assertFalse(r["passed"])

    def test_a_wrong_total_is_caught_where_the_order_is_fixed(self):
        outs = results("k1", 0, [(1, 5), (2, 13), (3, 23)])
        self.assertEqual(self.run_check(outs)["problems"]["wrong_totals"], 1)
        # After a repartition the order of a group's inputs is not fixed: only the final counts.
        self.assertTrue(self.run_check(outs, ordered=False)["passed"])

    def test_a_wrong_final_total(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (3, 24)]), ordered=False)
        self.assertEqual(r["problems"]["final_mismatch"], 1)
        self.assertFalse(r["passed"])

    def test_a_group_with_no_result_loses_all_its_inputs(self):
        r = self.run_check([])
        self.assertEqual(r["problems"]["missing_groups"], 1)
        self.assertEqual(r["problems"]["lost"], 3)

    def test_results_nobody_asked_for(self):
        outs = results("k1", 0, [(1, 5), (2, 12), (3, 23)]) + results("k9", 0, [(1, 1)], first_offset=9)
        r = self.run_check(outs)
        self.assertEqual(r["problems"]["unexpected_groups"], 1)
        self.assertFalse(r["passed"])

    def test_a_result_without_a_count(self):
        outs = results("k1", 0, [(1, 5), (2, 12), (3, 23)])
        outs.append(output_record(0, 9, "k1", 0, DAY, None, 3))
        self.assertEqual(self.run_check(outs)["problems"]["malformed"], 1)

    def test_counts_given_as_floats_are_counts(self):
        r = self.run_check(results("k1", 0, [(1.0, 5.0), (2.0, 12.0), (3.0, 23.0)]))
        self.assertTrue(r["passed"], r)


class at_least_once(unittest.TestCase):
    def setUp(self):
        self.expected = expected_groups(inputs(), TUMBLING)

    def run_check(self, outs):
        return check(self.expected, outs, delivery="at_least_once", ordered=True, session=False)

    def test_duplicates_are_reported_not_failed(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (1, 5), (2, 12), (3, 23)]))
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["problems"]["duplicated"], 2)

    def test_a_loss_still_fails(self):
        r = self.run_check(results("k1", 0, [(1, 5), (3, 23)]))
        self.assertFalse(r["passed"])

    def test_an_overcount_in_the_final_state_is_reported_not_failed(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (3, 23), (4, 34)]))
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["problems"]["final_overcount"], 1)

    def test_a_final_state_below_n_fails(self):
        r = self.run_check(results("k1", 0, [(1, 5), (2, 12), (3, 23), (1, 5), (2, 12)]))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["final_mismatch"], 1)


class hopping(unittest.TestCase):
    def test_each_window_counts_on_its_own(self):
        w = window_spec("hopping", 30, 10)
        ins = [input_record(0, 0, "k", 5, 1, 0), input_record(0, 1, "k", 15, 2, 1)]
        expected = expected_groups(ins, w)
        self.assertEqual(sorted(expected), [("k", 0), ("k", 10)])
        self.assertEqual(expected[("k", 0)].n, 2)
        self.assertEqual(expected[("k", 10)].n, 1)
        good = (results("k", 0, [(1, 1), (2, 3)], window_end=30) +
                results("k", 10, [(1, 2)], first_offset=5, window_end=40))
        self.assertTrue(check(expected, good, delivery="exactly_once", ordered=True, session=False)["passed"])
        # The same counts under the wrong window: one group lost, one unexpected.
        bad = results("k", 0, [(1, 1), (2, 3)], window_end=30) + results("k", 20, [(1, 2)], first_offset=5)
        r = check(expected, bad, delivery="exactly_once", ordered=True, session=False)
        self.assertEqual(r["problems"]["missing_groups"], 1)
        self.assertEqual(r["problems"]["unexpected_groups"], 1)


class session(unittest.TestCase):
    def setUp(self):
        self.expected = expected_groups(inputs(t0=1000), window_spec("session"))

    def test_a_growing_session_passes(self):
        outs = [output_record(0, i, "k1", 1000, 1000 + i, i + 1, t)
                for i, t in enumerate((5, 12, 23))]
        r = check(self.expected, outs, delivery="exactly_once", ordered=True, session=True)
        self.assertTrue(r["passed"], r)

    def test_a_session_restarted_from_a_lost_state(self):
        outs = [output_record(0, 0, "k1", 1000, 1000, 1, 5), output_record(0, 1, "k1", 1001, 1001, 1, 7),
                output_record(0, 2, "k1", 1001, 1002, 2, 18)]
        r = check(self.expected, outs, delivery="exactly_once", ordered=True, session=True)
        self.assertFalse(r["passed"])
        self.assertGreaterEqual(r["problems"]["session_mismatch"], 2)


class table(unittest.TestCase):
    """Group by key, no window: results carry no window start."""

    def setUp(self):
        self.expected = expected_groups(inputs(t0=5 * DAY) + inputs(key="k2", t0=9 * DAY, amounts=(1,)),
                                        window_spec("table"))

    def run_check(self, outs):
        return check(self.expected, outs, delivery="exactly_once", ordered=True, session=False, table=True)

    def test_one_group_per_key_across_days(self):
        outs = [output_record(0, i, "k1", None, None, i + 1, t) for i, t in enumerate((5, 12, 23))]
        outs.append(output_record(1, 0, "k2", None, None, 1, 1))
        self.assertTrue(self.run_check(outs)["passed"])

    def test_a_count_emitted_twice_is_a_duplicate(self):
        outs = [output_record(0, i, "k1", None, None, c, t) for i, (c, t) in enumerate(((1, 5), (2, 12), (2, 12), (3, 23)))]
        outs.append(output_record(1, 0, "k2", None, None, 1, 1))
        r = self.run_check(outs)
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["duplicated"], 1)

    def test_windowed_results_are_not_table_results(self):
        r = check(self.expected, [output_record(0, 0, "k1", None, None, 1, 5)], delivery="exactly_once",
                  ordered=True, session=False)
        self.assertEqual(r["problems"]["malformed"], 1)


WITHIN = 60_000
GRACE = 30_000


def join_inputs():
    """o1 pairs with p1 (the payment 20 s before the order); o2's payment p2 is 61 s after it,
    outside the window; p3 has no order. A far later order (o9) on the same partition closes
    every window but its own."""
    return [join_input("right", 0, 0, "o1", 80_000, 101), join_input("left", 0, 0, "o1", 100_000, 1),
            join_input("left", 0, 1, "o2", 100_000, 2), join_input("right", 0, 1, "o2", 161_000, 102),
            join_input("right", 0, 2, "o3", 120_000, 103), join_input("left", 0, 2, "o9", 900_000, 9)]


def pairs(*triples, partition=0):
    return [join_output(partition, i, key, left, right) for i, (key, left, right) in enumerate(triples)]


class stream_join(unittest.TestCase):
    def run_check(self, outs, kind="inner", delivery="exactly_once"):
        expected = expected_join_pairs(join_inputs(), kind=kind, within_ms=WITHIN, grace_ms=GRACE)
        return check_join(expected, outs, delivery=delivery)

    def test_inner_expects_only_the_pairs_within_the_window(self):
        expected = expected_join_pairs(join_inputs(), kind="inner", within_ms=WITHIN, grace_ms=GRACE)
        self.assertEqual(expected, {("o1", 1, 101): 1})

    def test_exact_inner_output_passes(self):
        r = self.run_check(pairs(("o1", 1, 101)))
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["groups_ok"], 1)

    def test_a_missing_pair_is_lost(self):
        r = self.run_check([])
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["lost"], 1)

    def test_a_pair_emitted_twice_is_a_duplicate(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o1", 1, 101)))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["duplicated"], 1)
        self.assertEqual(r["problems"]["lost"], 0)

    def test_records_outside_the_window_must_not_pair(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o2", 2, 102)))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["wrong_pairs"], 1)

    def test_a_partner_under_another_key_is_a_wrong_pair(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o3", 1, 101)))
        self.assertEqual(r["problems"]["wrong_pairs"], 1)

    def test_an_inner_join_emits_no_null_results(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o2", 2, None)))
        self.assertEqual(r["problems"]["wrong_pairs"], 1)

    def test_outer_expects_closed_unmatched_records_of_both_sides_but_not_open_ones(self):
        expected = expected_join_pairs(join_inputs(), kind="outer", within_ms=WITHIN, grace_ms=GRACE)
        self.assertEqual(expected, {("o1", 1, 101): 1, ("o2", 2, None): 1, ("o2", None, 102): 1,
                                    ("o3", None, 103): 1})
        left = expected_join_pairs(join_inputs(), kind="left", within_ms=WITHIN, grace_ms=GRACE)
        self.assertEqual(left, {("o1", 1, 101): 1, ("o2", 2, None): 1})

    def test_a_null_result_for_a_record_that_had_a_partner_is_wrong(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o1", 1, None), ("o2", 2, None)), kind="left")
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["wrong_pairs"], 1)

    def test_a_window_still_open_emits_nothing_yet(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o2", 2, None), ("o9", 9, None)), kind="left")
        self.assertEqual(r["problems"]["wrong_pairs"], 1)

    def test_at_least_once_reports_duplicates_but_fails_losses_and_wrong_pairs(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o1", 1, 101)), delivery="at_least_once")
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["problems"]["duplicated"], 1)
        self.assertFalse(self.run_check([], delivery="at_least_once")["passed"])
        self.assertFalse(self.run_check(pairs(("o1", 1, 101), ("o2", 2, 102)), delivery="at_least_once")["passed"])

    def test_a_result_without_either_record_is_malformed(self):
        r = self.run_check(pairs(("o1", 1, 101), ("o1", None, None)))
        self.assertEqual(r["problems"]["malformed"], 1)


def table_updates():
    """Key k1: accounts 1, 2 (offsets 0, 1 of partition 0) and owners 11, 12; key k2: account 3."""
    return [table_update("left", 0, 0, "k1", 1), table_update("left", 0, 1, "k1", 2),
            table_update("left", 0, 2, "k2", 3),
            table_update("right", 0, 0, "k1", 11), table_update("right", 0, 1, "k1", 12)]


def joined(*triples, partition=0):
    """(key, account seq, owner seq) results at consecutive offsets."""
    return [join_output(partition, i, k, left, right) for i, (k, left, right) in enumerate(triples)]


# One walk through all of k1's updates (owner 11, account 1, account 2, owner 12) and k2's.
TABLE_WALK = [("k1", None, 11), ("k1", 1, 11), ("k1", 2, 11), ("k1", 2, 12), ("k2", 3, None)]


class table_table_join(unittest.TestCase):
    def run_check(self, outs, delivery="exactly_once"):
        return check_table_join(table_updates(), outs, delivery=delivery)

    def test_any_interleaving_of_the_two_sides_passes(self):
        for walk in (TABLE_WALK,
                     [("k1", 1, None), ("k1", 2, None), ("k1", 2, 11), ("k1", 2, 12), ("k2", 3, None)]):
            r = self.run_check(joined(*walk))
            self.assertTrue(r["passed"], r)
            self.assertEqual(r["groups_ok"], 2)
            self.assertEqual(r["expected_results"], 5)

    def test_a_skipped_update_is_lost(self):
        r = self.run_check(joined(*[w for w in TABLE_WALK if w != ("k1", 2, 11)]))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["lost"], 1)

    def test_a_missing_last_update_is_lost_and_a_wrong_final_state(self):
        r = self.run_check(joined(*TABLE_WALK[:3], TABLE_WALK[4]))
        self.assertEqual(r["problems"]["lost"], 1)
        self.assertEqual(r["problems"]["final_mismatch"], 1)

    def test_a_result_emitted_again_is_a_duplicate(self):
        r = self.run_check(joined(*TABLE_WALK[:3], TABLE_WALK[2], *TABLE_WALK[3:]))
        self.assertFalse(r["passed"])
        self.assertEqual(r["problems"]["duplicated"], 1)
        self.assertEqual(r["problems"]["lost"], 0)

    def test_a_side_restored_to_an_older_value_is_out_of_order(self):
        # After account 2, owner 12 is joined with account 1 again: the left store went back.
        r = self.run_check(joined(*TABLE_WALK[:3], ("k1", 1, 12), ("k1", 2, 12), TABLE_WALK[4]))
        self.assertEqual(r["problems"]["out_of_order"], 1)
        self.assertFalse(r["passed"])

    def test_a_result_naming_another_keys_update_is_malformed(self):
        r = self.run_check(joined(*TABLE_WALK, ("k2", 1, None)))
        self.assertEqual(r["problems"]["malformed"], 1)
        self.assertFalse(r["passed"])

    def test_a_key_without_results_loses_all_its_updates(self):
        r = self.run_check(joined(*TABLE_WALK[:4]))
        self.assertEqual(r["problems"]["missing_groups"], 1)
        self.assertEqual(r["problems"]["lost"], 1)

    def test_at_least_once_reports_a_repeat_and_fails_a_loss(self):
        r = self.run_check(joined(*TABLE_WALK, TABLE_WALK[4]), delivery="at_least_once")
        self.assertTrue(r["passed"], r)
        self.assertEqual(r["problems"]["duplicated"], 1)
        self.assertFalse(self.run_check(joined(*TABLE_WALK[1:]), delivery="at_least_once")["passed"])


class reconciling_the_input(unittest.TestCase):
    def test_an_acknowledged_record_missing_from_the_topic(self):
        r = reconcile({(0, 0): 1, (0, 1): 2}, {(0, 0): 1}, set())
        self.assertEqual(r["acknowledged_missing_from_topic"], 1)

    def test_a_failed_send_the_broker_wrote(self):
        r = reconcile({(0, 0): 1}, {(0, 0): 1, (0, 1): 2}, {2})
        self.assertEqual(r["written_without_ack"], 1)
        self.assertEqual(r["written_without_ack_known_failed"], 1)
        self.assertEqual(r["acknowledged_missing_from_topic"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
