// The commit path's ordering, without a broker: the checkpoint and the record collector over fake
// ports that record every call, and a real task (RocksDB in a temporary directory) that counts.
// The real-broker tests (restore_it, stream_app_it) and the chaos runs prove the guarantee; these
// pin the order of the steps and what a failure at each one leaves behind.

#include "runtime/checkpoint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "kafka/producer/batch_state.hpp"
#include "runtime/stream_app.hpp"
#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;
using kafka::topic_partition;

const topic_partition input{"in", 0};

// The restore consumer is never started here (no task is opened through the reader).
kafka::client_config unstarted_client() {
  kafka::client_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers("127.0.0.1:1");
  return config;
}

struct call_log {
  std::vector<std::string> calls;
  bool has(const std::string& name) const {
    return std::find(calls.begin(), calls.end(), name) != calls.end();
  }
  std::ptrdiff_t index(const std::string& name) const {
    return std::find(calls.begin(), calls.end(), name) - calls.begin();
  }
};

class fake_input final : public input_port {
 public:
  explicit fake_input(call_log& log) : log_(log) {}
  std::set<topic_partition> assignment() const override { return {input}; }
  kafka::consumer_group_metadata group_metadata() const override {
    return {"app", kafka::generation_id{7}, "member", std::nullopt};
  }
  void pause(const std::vector<topic_partition>&) override { log_.calls.push_back("pause"); }
  void resume(const std::vector<topic_partition>&) override { log_.calls.push_back("resume"); }
  asio::awaitable<std::map<topic_partition, std::optional<kafka::offset_and_metadata>>> committed(
      std::vector<topic_partition>) override {
    co_return std::map<topic_partition, std::optional<kafka::offset_and_metadata>>{};
  }
  asio::awaitable<void> commit(offset_map offsets) override {
    log_.calls.push_back("commit offsets " + std::to_string(offsets.at(input).offset));
    co_return;
  }
  asio::awaitable<void> seek_to_committed(std::vector<topic_partition> partitions) override {
    log_.calls.push_back("seek_to_committed " + std::to_string(partitions.size()));
    co_return;
  }

 private:
  call_log& log_;
};

// Deliveries complete on flush(), in order, or all fail when `fail_deliveries` is set.
class fake_output final : public output_port {
 public:
  fake_output(asio::any_io_executor executor, call_log& log)
      : executor_(std::move(executor)), log_(log) {}

  bool fail_deliveries = false;
  std::function<void()> on_commit_transaction;  // may throw
  std::string name;  // prefixes its sends and flushes in the log ("other: flush")

  std::optional<kafka::delivery> try_send(std::string_view topic,
                                          std::optional<kafka::protocol::bytes_view>,
                                          std::optional<kafka::protocol::bytes_view>,
                                          std::optional<kafka::partition_id>,
                                          std::optional<kafka::timestamp_ms>) override {
    log_.calls.push_back(name + "send " + std::string(topic));
    return queue(std::string(topic));
  }
  asio::awaitable<kafka::delivery> send(std::string topic, std::optional<kafka::protocol::bytes>,
                                        std::optional<kafka::protocol::bytes>,
                                        std::optional<kafka::partition_id>,
                                        std::optional<kafka::timestamp_ms>,
                                        std::vector<kafka::records::record_header>) override {
    log_.calls.push_back(name + "send " + topic);
    co_return queue(topic);
  }
  asio::awaitable<void> flush() override {
    log_.calls.push_back(name + "flush");
    for (auto& batch : pending_) {
      if (fail_deliveries) {
        batch->fail(std::make_exception_ptr(
            kafka::kafka_error(kafka::error_code::request_timed_out, "injected: delivery failed")));
      } else {
        batch->complete(next_offset_++, -1);
      }
    }
    pending_.clear();
    co_return;
  }
  void begin_transaction() override { log_.calls.push_back("begin_transaction"); }
  asio::awaitable<void> send_offsets_to_transaction(offset_map offsets,
                                                    kafka::consumer_group_metadata group) override {
    log_.calls.push_back("send_offsets_to_transaction " + std::to_string(offsets.at(input).offset) +
                         " generation " + std::to_string(group.generation_id.value()));
    co_return;
  }
  asio::awaitable<void> commit_transaction() override {
    log_.calls.push_back("commit_transaction");
    if (on_commit_transaction) on_commit_transaction();
    co_return;
  }
  asio::awaitable<void> abort_transaction() override {
    log_.calls.push_back("abort_transaction");
    co_return;
  }
  asio::awaitable<void> restart() override {
    log_.calls.push_back("restart");
    on_commit_transaction = nullptr;  // the new session is not fenced
    pending_.clear();
    co_return;
  }

 private:
  kafka::delivery queue(std::string topic) {
    auto batch = std::make_shared<kafka::detail::batch_state>(
        executor_, std::make_shared<const std::string>(topic), 0);
    batch->timestamps.push_back(0);
    pending_.push_back(batch);
    return {batch, 0};
  }

  asio::any_io_executor executor_;
  call_log& log_;
  std::vector<std::shared_ptr<kafka::detail::batch_state>> pending_;
  std::int64_t next_offset_ = 0;
};

int fixtures = 0;  // each fixture gets its own state directory

struct fixture {
  // sink_on_other_cluster: the sink topic "out" has a producer of its own (another cluster's).
  explicit fixture(operators::delivery_guarantee delivery, bool sink_on_other_cluster = false)
      : topology(test_support::counting_pipeline("checkpoint-test", input.topic, "out", delivery)),
        plan(operators::plan_topology(topology)),
        state_dir(fs::temp_directory_path() /
                  ("sluice-checkpoint-test-" + std::to_string(::getpid()) + "-" +
                   std::to_string(++fixtures))),
        memory(std::make_shared<state::rocksdb::memory_budget>(
            state::rocksdb::memory_budget_config{})),
        restore_consumer(context.get_executor(), restore_consumer_config(unstarted_client())),
        in(log),
        out(context.get_executor(), log),
        other(context.get_executor(), log),
        tasks(topology, plan, registry, state_dir, memory, in, restore_consumer, metrics),
        collector(out, sink_on_other_cluster ? record_collector::routes{{"out", &other}}
                                             : record_collector::routes{}),
        commits(topology, tasks, collector, in, out, hooks, metrics) {
    other.name = "other: ";
    fs::remove_all(state_dir);
    const task_id id{0, 0};
    auto database = state::rocksdb::task_database::open(
        {state_dir / id.to_string(), topology.name, id.to_string(), memory});
    auto t = std::make_unique<task>(id, plan.sub_topologies.at(0), std::move(database), registry);
    t->start_processing();
    the_task = t.get();
    tasks.tasks().emplace(id, std::move(t));
  }
  ~fixture() {
    tasks.close_all(false);
    fs::remove_all(state_dir);
  }

  template <typename Awaitable>
  void run(Awaitable awaitable) {
    auto done = asio::co_spawn(context, std::move(awaitable), asio::use_future);
    context.restart();
    context.run();
    done.get();
  }

  // Processes one order of `key` with offset `offset`, as the loop does.
  asio::awaitable<void> process(std::string key, std::int64_t offset) {
    commits.begin_record();
    operators::raw_record record;
    record.origin = {input.topic, input.partition, offset};
    record.key = std::move(key);
    record.value = R"({"amount": 5})";
    record.timestamp = test_support::base_time();
    std::vector<operators::output_record> outputs;
    auto error = the_task->processor().process(record, outputs);
    EXPECT_FALSE(error);
    for (const auto& output : outputs) co_await collector.send(output);
    the_task->mark_consumed(input, offset + 1);
    commits.record_done();
  }

  state::state_store& window_store() { return the_task->stores().at(0).store->store(); }

  asio::io_context context;
  operators::topology topology;
  operators::topology_plan plan;
  operators::function_registry registry;
  fs::path state_dir;
  std::shared_ptr<state::rocksdb::memory_budget> memory;
  kafka::consumer restore_consumer;
  call_log log;
  fake_input in;
  fake_output out;
  fake_output other;  // the producer of another cluster
  runtime_metrics metrics;
  commit_hooks hooks;
  task_manager tasks;
  record_collector collector;
  checkpoint commits;
  task* the_task = nullptr;
};

TEST(checkpoint,
     exactly_once_sends_changelogs_and_offsets_then_confirms_then_commits_then_applies) {
  fixture f(operators::delivery_guarantee::exactly_once);
  f.run(f.process("user-a", 0));
  f.run(f.process("user-a", 1));
  EXPECT_FALSE(f.window_store().committed_offset());
  f.run(f.commits.commit());

  const auto& log = f.log;
  ASSERT_TRUE(log.has("begin_transaction"));
  ASSERT_TRUE(log.has("send_offsets_to_transaction 2 generation 7"));
  ASSERT_TRUE(log.has("flush"));
  ASSERT_TRUE(log.has("commit_transaction"));
  EXPECT_EQ(log.index("begin_transaction"), 0);
  EXPECT_LT(log.index("send out"), log.index("send_offsets_to_transaction 2 generation 7"));
  EXPECT_LT(log.index("send_offsets_to_transaction 2 generation 7"), log.index("flush"));
  EXPECT_LT(log.index("flush"), log.index("commit_transaction"));
  // Every changelog record went out before the offsets joined the transaction.
  const auto offsets_at = log.index("send_offsets_to_transaction 2 generation 7");
  for (std::ptrdiff_t i = offsets_at; i < static_cast<std::ptrdiff_t>(log.calls.size()); ++i) {
    EXPECT_EQ(log.calls[static_cast<std::size_t>(i)].rfind("send ", 0), std::string::npos)
        << log.calls[i];
  }
  EXPECT_FALSE(log.has("abort_transaction"));
  EXPECT_TRUE(f.window_store().committed_offset()) << "the store did not apply after the commit";
  EXPECT_FALSE(f.commits.dirty());
  EXPECT_EQ(f.metrics.commits.load(), 1u);
}

TEST(checkpoint, a_failed_delivery_aborts_the_transaction_drops_the_store_writes_and_rewinds) {
  fixture f(operators::delivery_guarantee::exactly_once);
  f.out.fail_deliveries = true;
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());

  EXPECT_FALSE(f.log.has("commit_transaction"))
      << "a transaction with an undelivered record was committed";
  EXPECT_TRUE(f.log.has("abort_transaction"));
  EXPECT_TRUE(f.log.has("seek_to_committed 1"));
  EXPECT_LT(f.log.index("abort_transaction"), f.log.index("seek_to_committed 1"));
  EXPECT_FALSE(f.window_store().committed_offset());
  EXPECT_EQ(f.window_store().pending_writes(), 0u)
      << "the aborted interval's writes are still buffered";
  EXPECT_TRUE(f.the_task->consumed().empty())
      << "the aborted interval's offsets would be committed next";
  EXPECT_FALSE(f.commits.dirty());
  EXPECT_EQ(f.metrics.aborted_transactions.load(), 1u);

  // The next interval starts clean and commits.
  f.out.fail_deliveries = false;
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());
  EXPECT_TRUE(f.log.has("commit_transaction"));
  EXPECT_TRUE(f.window_store().committed_offset());
}

TEST(checkpoint, a_fenced_producer_is_replaced_by_a_new_session_and_the_interval_redone) {
  fixture f(operators::delivery_guarantee::exactly_once);
  f.out.on_commit_transaction = [] {
    throw kafka::kafka_error(kafka::error_code::invalid_producer_epoch,
                             "injected: the transaction timed out");
  };
  f.run(f.process("user-a", 0));
  EXPECT_NO_THROW(f.run(f.commits.commit()));
  ASSERT_TRUE(f.log.has("restart"));
  EXPECT_FALSE(f.log.has("abort_transaction"))
      << "a fenced producer cannot abort; the new session does";
  EXPECT_LT(f.log.index("restart"), f.log.index("seek_to_committed 1"));
  EXPECT_FALSE(f.window_store().committed_offset());
  EXPECT_TRUE(f.the_task->consumed().empty());

  // The new session commits the redone interval.
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());
  EXPECT_TRUE(f.window_store().committed_offset());
}

TEST(checkpoint, the_same_failure_five_commits_in_a_row_stops_the_app) {
  fixture f(operators::delivery_guarantee::exactly_once);
  f.out.on_commit_transaction = [] {
    throw kafka::kafka_error(kafka::error_code::coordinator_not_available,
                             "injected: not available");
  };
  for (int i = 0; i < 4; ++i) {
    f.run(f.process("user-a", 0));
    EXPECT_NO_THROW(f.run(f.commits.commit())) << "commit " << i;
  }
  f.run(f.process("user-a", 0));
  EXPECT_THROW(f.run(f.commits.commit()), kafka::kafka_error);
}

TEST(checkpoint, at_least_once_commits_the_offsets_last_and_only_after_every_delivery) {
  fixture f(operators::delivery_guarantee::at_least_once);
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());
  EXPECT_FALSE(f.log.has("begin_transaction"));
  ASSERT_TRUE(f.log.has("commit offsets 1"));
  EXPECT_LT(f.log.index("flush"), f.log.index("commit offsets 1"));
  EXPECT_TRUE(f.window_store().committed_offset());

  fixture failing(operators::delivery_guarantee::at_least_once);
  failing.out.fail_deliveries = true;
  failing.run(failing.process("user-a", 0));
  failing.run(failing.commits.commit());
  EXPECT_FALSE(failing.log.has("commit offsets 1"))
      << "offsets were committed over an undelivered record";
  EXPECT_TRUE(failing.log.has("seek_to_committed 1"));
  EXPECT_FALSE(failing.window_store().committed_offset());
}

TEST(checkpoint, at_least_once_sends_the_changelog_only_after_the_outputs_are_delivered) {
  fixture f(operators::delivery_guarantee::at_least_once);
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());
  const auto& log = f.log;
  ASSERT_TRUE(log.has("send out"));
  ASSERT_TRUE(log.has("flush"));
  const auto first_flush = log.index("flush");
  EXPECT_LT(log.index("send out"), first_flush);
  std::size_t changelog_sends = 0;
  for (std::size_t i = 0; i < log.calls.size(); ++i) {
    if (log.calls[i].find("-changelog") == std::string::npos) continue;
    ++changelog_sends;
    EXPECT_GT(static_cast<std::ptrdiff_t>(i), first_flush)
        << log.calls[i] << " went out before the outputs were confirmed";
  }
  EXPECT_GT(changelog_sends, 0u);
  // ... and the changelog is confirmed by a second flush before the offsets are committed.
  EXPECT_EQ(std::count(log.calls.begin(), log.calls.end(), "flush"), 2);
  const auto last_flush = std::find(log.calls.rbegin(), log.calls.rend(), "flush");
  const auto last_flush_at = log.calls.rend() - last_flush - 1;
  ASSERT_TRUE(log.has("commit offsets 1"));
  EXPECT_LT(last_flush_at, log.index("commit offsets 1"));
}

TEST(checkpoint, at_least_once_waits_for_the_deliveries_of_a_sink_on_another_cluster) {
  fixture f(operators::delivery_guarantee::at_least_once, true);
  f.run(f.process("user-a", 0));
  f.run(f.commits.commit());
  EXPECT_TRUE(f.log.has("other: send out")) << "the output went to the sink cluster's producer";
  EXPECT_FALSE(f.log.has("send out")) << "the home producer wrote the other cluster's sink";
  ASSERT_TRUE(f.log.has("other: flush"));
  ASSERT_TRUE(f.log.has("commit offsets 1"));
  EXPECT_LT(f.log.index("other: flush"), f.log.index("commit offsets 1"));
  EXPECT_TRUE(f.window_store().committed_offset());

  fixture failing(operators::delivery_guarantee::at_least_once, true);
  failing.other.fail_deliveries = true;
  failing.run(failing.process("user-a", 0));
  failing.run(failing.commits.commit());
  EXPECT_FALSE(failing.log.has("commit offsets 1"))
      << "offsets were committed over a record lost on the other cluster";
  EXPECT_TRUE(failing.log.has("seek_to_committed 1"));
  EXPECT_FALSE(failing.window_store().committed_offset());
}

TEST(checkpoint, lost_partitions_abort_the_open_transaction_and_close_their_tasks) {
  fixture f(operators::delivery_guarantee::exactly_once);
  f.run(f.process("user-a", 0));
  f.run(f.commits.drop_interval({{0, 0}}, "partitions lost"));
  EXPECT_TRUE(f.log.has("abort_transaction"));
  EXPECT_FALSE(f.log.has("commit_transaction"));
  EXPECT_TRUE(f.tasks.tasks().empty());
  EXPECT_FALSE(f.commits.dirty());
}

}  // namespace
}  // namespace sluice::runtime
