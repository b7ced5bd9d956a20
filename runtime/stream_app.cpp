#include "runtime/stream_app.hpp"

#include <spdlog/spdlog.h>

#include "kafka/client/clock.hpp"
#include "runtime/metrics_exposition.hpp"
#include "runtime/stream_app_impl.hpp"

namespace sluice::runtime {
namespace {

using clock = std::chrono::steady_clock;
using kafka::topic_partition;

// While a task restores, the loop polls its input without waiting and gives the restore this
// long per turn; the other tasks' records still come every turn.
constexpr std::chrono::milliseconds restore_slice{20};

}  // namespace

stream_app::stream_app(asio::any_io_executor executor, operators::topology topology,
                       runtime_config config, const operators::function_registry& registry)
    : impl_(std::make_unique<impl>(*this, executor, std::move(topology), std::move(config),
                                   registry)) {}

stream_app::~stream_app() = default;

const operators::topology& stream_app::topology() const {
  return impl_->topology;
}

metrics_sources stream_app::scrape_sources() const {
  const auto& i = *impl_;
  metrics_sources sources{i.topology.name,  i.config.thread_label, &metrics_,
                          i.tasks.get(),    i.consumer.get(),      i.exactly_once(),
                          i.producer.get(), i.memory.get(),        !i.not_ready_reason()};
  for (const auto& [cluster, producer] : i.other_cluster_producers)
    sources.other_producers.push_back(producer.get());
  return sources;
}

const asio::any_io_executor& stream_app::executor() const {
  return impl_->executor;
}

std::optional<std::string> stream_app::not_ready_reason() const {
  return impl_->not_ready_reason();
}

std::chrono::steady_clock::duration stream_app::time_since_loop_turned() const {
  return clock::now() - impl_->last_turn;
}

std::vector<changelog_reader::store_progress_view> stream_app::restore_progress() const {
  return impl_->tasks ? impl_->tasks->restore_progress()
                      : std::vector<changelog_reader::store_progress_view>{};
}

asio::awaitable<void> stream_app::run() {
  co_await impl_->run();
}

asio::awaitable<void> stream_app::impl::run() {
  started = clock::now();
  last_turn = started;
  state_directory locked_directory(app_dir);  // locked until run() returns
  directory = &locked_directory;
  if (config.endpoint) open_endpoint();
  const auto instance_id = config.instance_id ? *config.instance_id : directory->instance_id();
  co_await start_clients(instance_id);
  spdlog::info("{}: running ({} sub-topologies, delivery {}, instance {}, {} membership)",
               topology.name, plan.sub_topologies.size(), operators::to_string(topology.delivery),
               instance_id, config.static_membership ? "static" : "dynamic");
  std::exception_ptr failure;
  try {
    co_await loop();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await shut_down(!failure);
  if (failure) std::rethrow_exception(failure);
}

std::optional<std::string> stream_app::impl::not_ready_reason() const {
  if (stopping) return "stopping";
  if (!consumer || !tasks || !rebalance) return "starting: connecting to the cluster";
  if (tasks->restoring()) return "restoring state";
  const auto group = consumer->group_stats();
  if (group.generation.value() <= 0 || group.in_rebalance || rebalance->pending())
    return "joining the group";
  return std::nullopt;
}

asio::awaitable<void> stream_app::impl::loop() {
  auto next_commit = clock::now() + topology.effective_commit_interval();
  while (!owner.stop_requested_) {
    last_turn = clock::now();
    co_await handle_rebalance_events();
    co_await follow_assignor_orders();
    if (tasks->restoring()) co_await tasks->restore(restore_slice);
    const auto wait = tasks->restoring() ? std::chrono::milliseconds(0) : config.poll_timeout;
    const auto poll_began = clock::now();
    auto batch = co_await consumer->getmany(wait);
    if (!batch.empty()) owner.metrics_.poll_time.observe(clock::now() - poll_began);
    // Events that arrived while polling go first: a revoked task's records are then skipped.
    co_await handle_rebalance_events();
    if (topology.delivery == operators::delivery_guarantee::at_most_once)
      co_await commit_at_most_once(batch);
    if (!batch.empty()) {
      const scoped_timer processing(owner.metrics_.processing_time);
      co_await process(std::move(batch));
    } else {
      co_await process_ordered_inputs();  // a task held back by an empty partition may go on now
    }
    co_await punctuate();
    if (const auto now = clock::now(); now >= next_commit || collector->failed()) {
      co_await commits->commit();
      // The interval runs from the commit's start, as Kafka Streams' does: counted from its end,
      // every commit's own duration would be added to the time results wait to become visible.
      next_commit = now + topology.effective_commit_interval();
    }
  }
  co_await handle_rebalance_events();
  co_await commits->commit();
}

asio::awaitable<void> stream_app::impl::handle_rebalance_events() {
  while (auto event = rebalance->next()) {
    owner.metrics_.rebalance_events.fetch_add(1, std::memory_order_relaxed);
    const scoped_timer handling(owner.metrics_.rebalance_time);
    switch (event->kind) {
      case rebalance_kind::revoked:
        // Commit what was processed while the partitions are still ours, then close their tasks.
        co_await commits->commit();
        tasks->close(tasks->task_ids_of(event->partitions), true);
        break;
      case rebalance_kind::assigned:
        // Opening may wait for a previous owner's transaction to be decided (up to its timeout):
        // no transaction of ours may stay open meanwhile, or it would time out too.
        co_await commits->commit();
        co_await fence_vanished_owners();
        co_await tasks->open(std::move(event->partitions));
        break;
      case rebalance_kind::lost: {
        auto lost = tasks->task_ids_of(event->partitions);
        std::string reason = "partitions lost";
        co_await commits->drop_interval(std::move(lost), std::move(reason));
        break;
      }
    }
    rebalance->handled();
  }
}

asio::awaitable<void> stream_app::impl::process(std::vector<kafka::consumer_record> batch) {
  // The decoder's worker decodes ahead while the loop processes; the records stay shared until
  // both have let go of them. Batch number 0: nothing decoded ahead (no decoder, a small batch).
  auto records = std::make_shared<const std::vector<kafka::consumer_record>>(std::move(batch));
  std::uint64_t number = 0;
  if (decoder && records->size() >= input_decoder::min_batch) number = decoder->start(records);
  for (std::size_t i = 0; i < records->size(); ++i) {
    const auto& in = (*records)[i];
    task* t = tasks->running_task_for(in.topic, in.partition);
    if (t == nullptr) continue;  // revoked since it was fetched
    if (t->orders_input()) {
      t->input().add(in, {number, i});  // its decoding is taken when its turn comes, below
      continue;
    }
    std::optional<decoded_record> decoded;
    if (number != 0) decoded = decoder->take({number, i});
    co_await process_record(*t, in, std::move(decoded));
  }
  co_await process_ordered_inputs();
  if (number != 0) {
    decoder->finish();
    owner.metrics_.decoded_ahead.store(decoder->taken_from_worker(), std::memory_order_relaxed);
  }
}

asio::awaitable<void> stream_app::impl::process_ordered_inputs() {
  for (auto& [id, t] : tasks->tasks()) {
    if (!t->processing() || !t->orders_input() || t->input().empty()) continue;
    auto lagging = co_await not_caught_up(t->input().empty_partitions());
    while (auto next = t->input().next(lagging, clock::now(), config.max_task_idle)) {
      const bool emptied = t->input().emptied_a_partition();
      // A named local, not a temporary of a conditional inside the co_await: g++ 12 destroys
      // such a temporary twice.
      std::optional<decoded_record> decoded;
      if (next->slot.batch != 0) decoded = decoder->take(next->slot);
      co_await process_record(*t, next->record, std::move(decoded));
      if (!t->processing()) break;  // an abort rewound the task (its buffers are gone)
      if (emptied) lagging = co_await not_caught_up(t->input().empty_partitions());
    }
  }
}

// Wall-clock punctuations that are due (a table's emit_every, a processor's punctuate_every),
// between records like a record: their outputs join the interval's transaction.
asio::awaitable<void> stream_app::impl::punctuate() {
  const auto now = kafka::wall_clock_ms();
  for (auto& [id, t] : tasks->tasks()) {
    if (!t->processing() || !t->processor().punctuation_due(now)) continue;
    commits->begin_record();
    outputs.clear();
    if (auto error = t->processor().punctuate(now, outputs)) {
      owner.metrics_.processing_errors.fetch_add(1, std::memory_order_relaxed);
      if (config.on_error == error_policy::stop) {
        throw processing_failure("pipeline '" + topology.name + "' stopped: task " +
                                 id.to_string() + ": punctuation failed: " + error->describe() +
                                 " (on_error: stop)");
      }
      spdlog::warn("{}: task {}: punctuation failed, its outputs dropped: {}", topology.name,
                   id.to_string(), error->describe());
      outputs.clear();
    }
    for (const auto& out : outputs) {
      co_await collector->send(out);
      count_output(out.topic);
    }
    owner.metrics_.records_out.fetch_add(outputs.size(), std::memory_order_relaxed);
    commits->record_done();
  }
}

// The empty partitions that still have records on the broker past the consumer's position.
asio::awaitable<std::vector<kafka::topic_partition>> stream_app::impl::not_caught_up(
    std::vector<kafka::topic_partition> empty) {
  std::vector<kafka::topic_partition> lagging;
  for (auto& tp : empty) {
    const auto end = exactly_once() ? consumer->last_stable_offset(tp) : consumer->highwater(tp);
    if (!end || co_await consumer->position(tp) < *end) lagging.push_back(std::move(tp));
  }
  co_return lagging;
}

asio::awaitable<void> stream_app::impl::process_record(task& t, const kafka::consumer_record& in,
                                                       std::optional<decoded_record> decoded) {
  commits->begin_record();
  owner.metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
  if (in.partition != counted_partition || in.topic != counted_topic) {
    counted_topic = in.topic;
    counted_partition = in.partition;
    records_in_of_partition = &owner.metrics_.records_in_of({std::string(in.topic), in.partition});
  }
  ++*records_in_of_partition;
  outputs.clear();
  auto error =
      decoded ? t.processor().process(std::move(decoded->raw), outputs, std::move(decoded->decoded))
              : t.processor().process(to_raw_record(in), outputs);
  if (error) co_await handle_error(*error, in);
  for (const auto& out : outputs) {
    co_await collector->send(out);
    count_output(out.topic);
  }
  owner.metrics_.records_out.fetch_add(outputs.size(), std::memory_order_relaxed);
  t.mark_consumed(in.topic, in.partition, in.offset + 1);
  commits->record_done();
  if (!processed_any) {
    processed_any = true;
    const std::chrono::duration<double> since_start = clock::now() - started;
    spdlog::info("{}: first record processed, {:.3f} s after start", topology.name,
                 since_start.count());
  }
}

asio::awaitable<void> stream_app::impl::handle_error(const operators::processing_error& error,
                                                     const kafka::consumer_record& in) {
  owner.metrics_.processing_errors.fetch_add(1, std::memory_order_relaxed);
  switch (config.on_error) {
    case error_policy::stop:
      throw processing_failure("pipeline '" + topology.name + "' stopped: " + error.describe() +
                               " (on_error: stop; use skip or dead_letter to go on)");
    case error_policy::skip:
      spdlog::warn("{}: skipped a record: {}", topology.name, error.describe());
      co_return;
    case error_policy::dead_letter: {
      operators::output_record dead;
      auto raw = to_raw_record(in);
      dead.topic = config.dead_letter_topic;
      dead.key = raw.key;
      dead.value = raw.value;
      dead.timestamp = raw.timestamp;
      dead.headers = raw.headers;
      dead.headers.push_back({"sluice.error", error.describe()});
      dead.headers.push_back({"sluice.error.kind", std::string(operators::to_string(error.kind))});
      dead.headers.push_back({"sluice.source", raw.origin.topic + "/" +
                                                   std::to_string(raw.origin.partition) + "/" +
                                                   std::to_string(raw.origin.offset)});
      co_await collector->send(dead);
      owner.metrics_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
      co_return;
    }
  }
}

asio::awaitable<void> stream_app::impl::commit_at_most_once(
    const std::vector<kafka::consumer_record>& batch) {
  std::map<topic_partition, kafka::offset_and_metadata> offsets;
  for (const auto& in : batch) {
    if (tasks->running_task_for(in.topic, in.partition))
      offsets[{std::string(in.topic), in.partition}].offset = in.offset + 1;
  }
  if (!offsets.empty()) co_await consumer->commit(std::move(offsets));
}

asio::awaitable<void> stream_app::impl::shut_down(bool clean) {
  stopping = true;
  // Nothing of a failed interval may be committed: its transaction is aborted, and its tasks
  // close with their uncommitted writes dropped.
  if (!clean && commits) co_await commits->abandon();
  // Tasks close before the group is left; the callbacks leaving causes find no loop to wait for.
  if (tasks) tasks->close_all(clean);
  if (tasks && tasks->standbys()) tasks->standbys()->close_all();
  if (rebalance) rebalance->close();
  if (consumer) co_await consumer->stop();
  if (restore_consumer) co_await restore_consumer->stop();
  if (standby_consumer) co_await standby_consumer->stop();
  if (producer) co_await producer->stop();
  for (auto& [cluster, other] : other_cluster_producers) {
    if (other) co_await other->stop();
  }
  if (admin_cluster) admin_cluster->close();
  if (endpoint) endpoint->close();
  if (decoder) {
    spdlog::info("{}: the decode thread decoded {} of {} input records ahead", topology.name,
                 decoder->taken_from_worker(),
                 owner.metrics_.records_in.load(std::memory_order_relaxed));
  }
  spdlog::info("{}: stopped", topology.name);
}

}  // namespace sluice::runtime
