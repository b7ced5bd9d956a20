// `sluice consume`: records to stdout, one per line, through a --format.
//
// Without --group the consumer is assigned every partition of the topics (or the one
// --partition) and commits nothing; it starts at the latest offset unless told otherwise. With
// --group it subscribes, the group decides the partitions, and the offsets of what was printed
// are committed (auto commit while running, and once more before leaving the group).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <csignal>
#include <regex>

#include "kafka/consumer/consumer.hpp"
#include "kafka/protocol/error_code.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/console_commands.hpp"
#include "pipelines/cli/console_format.hpp"
#include "pipelines/cli/properties.hpp"

namespace sluice::cli {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// How long one wait for records lasts, so that a stop request (a signal) is seen promptly.
constexpr std::chrono::milliseconds poll_slice{250};
// In a group, the idle clock does not run while the consumer waits for its first assignment
// (joining takes a few seconds), up to this long.
constexpr std::chrono::seconds join_grace{30};

// A failure the user caused (a topic that does not exist, a pattern that matches nothing).
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The partitions to assign without a group: every partition of each topic, or the one asked for.
asio::awaitable<std::vector<kafka::topic_partition>> partitions_to_assign(kafka::consumer* consumer,
                                                                          consume_args args) {
  std::vector<std::string> topics = args.topics;
  if (!args.pattern.empty()) {
    const std::regex pattern(args.pattern);
    for (const auto& topic : co_await consumer->topics()) {
      if (std::regex_match(topic, pattern)) topics.push_back(topic);
    }
    if (topics.empty()) throw input_error("no topic matches --pattern '" + args.pattern + "'");
  }
  std::vector<kafka::topic_partition> partitions;
  for (const auto& topic : topics) {
    auto found = co_await consumer->partitions_for_topic(topic);
    if (!found) throw input_error("topic '" + topic + "' does not exist");
    if (args.partition) {
      if (!found->contains(kafka::partition_id{*args.partition})) {
        throw input_error("--partition " + std::to_string(*args.partition) + ": topic '" + topic +
                          "' has " + std::to_string(found->size()) + " partition(s)");
      }
      partitions.push_back({topic, *args.partition});
      continue;
    }
    for (auto partition : *found) partitions.push_back({topic, partition.value()});
  }
  co_return partitions;
}

asio::awaitable<void> seek_to_start(kafka::consumer* consumer,
                                    std::vector<kafka::topic_partition> partitions,
                                    start_position start) {
  if (start.what == start_position::kind::offset) {
    // An offset past either end of a partition is reset by auto_offset_reset (latest).
    for (const auto& partition : partitions)
      consumer->seek(partition, kafka::log_offset{start.value});
  } else if (start.what == start_position::kind::timestamp) {
    std::map<kafka::topic_partition, kafka::timestamp_ms> times;
    for (const auto& partition : partitions)
      times.emplace(partition, kafka::timestamp_ms{start.value});
    auto found = co_await consumer->offsets_for_times(std::move(times));
    std::vector<kafka::topic_partition> none_after;
    for (const auto& [partition, offset] : found) {
      if (offset) {
        consumer->seek(partition, kafka::log_offset{offset->offset});
      } else {
        none_after.push_back(partition);  // every record is older: only new ones
      }
    }
    if (!none_after.empty()) co_await consumer->seek_to_end(std::move(none_after));
  }
  // earliest / latest: auto_offset_reset, set in the config.
}

struct consume_state {
  bool stop = false;  // set by SIGINT / SIGTERM
  std::int64_t printed = 0;
};

asio::awaitable<void> consume(kafka::consumer* consumer, consume_args args, std::ostream* out,
                              consume_state* state) {
  co_await consumer->start();
  const bool in_group = !args.group.empty();
  if (in_group) {
    for (const auto& topic : args.topics) {
      auto found = co_await consumer->partitions_for_topic(topic);
      if (!found) throw input_error("topic '" + topic + "' does not exist");
    }
    if (args.pattern.empty()) {
      consumer->subscribe(args.topics);
    } else {
      consumer->subscribe(std::regex(args.pattern));
    }
  } else {
    auto partitions = co_await partitions_to_assign(consumer, args);
    consumer->assign(partitions);
    co_await seek_to_start(consumer, std::move(partitions), args.start);
  }

  const auto format = parse_record_format(args.format);
  const auto started = clock::now();
  auto last_activity = started;
  std::string text;
  while (!state->stop) {
    std::size_t want = 0;  // max_poll_records
    if (args.max_messages) {
      const auto remaining = *args.max_messages - state->printed;
      if (remaining <= 0) break;
      want = static_cast<std::size_t>(
          std::min<std::int64_t>(remaining, consumer->config().max_poll_records));
    }
    auto wait = poll_slice;
    if (args.idle_timeout) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          last_activity + *args.idle_timeout - clock::now());
      wait = std::clamp(left, std::chrono::milliseconds(1), poll_slice);
    }
    auto records = co_await consumer->getmany(wait, want);
    const auto now = clock::now();
    if (records.empty()) {
      if (in_group && consumer->assignment().empty() && now - started < join_grace) {
        last_activity = now;
      }
      if (args.idle_timeout && now - last_activity >= *args.idle_timeout) break;
      continue;
    }
    last_activity = now;
    text.clear();
    for (const auto& record : records) {
      record_fields fields;
      fields.topic = record.topic;
      fields.partition = record.partition;
      fields.offset = record.offset;
      fields.timestamp = record.timestamp;
      if (record.key) fields.key = record.key_string();
      if (record.value) fields.value = record.value_string();
      fields.headers = record.headers;
      append_formatted(format, fields, text);
      text += '\n';
    }
    out->write(text.data(), static_cast<std::streamsize>(text.size()));
    out->flush();
    state->printed += static_cast<std::int64_t>(records.size());
  }
  // The offsets of what was printed, and nothing beyond (getmany never hands out more than asked).
  if (in_group && state->printed > 0) co_await consumer->commit();
}

asio::awaitable<void> run(kafka::consumer* consumer, consume_args args, std::ostream* out,
                          consume_state* state) {
  std::exception_ptr failure;
  try {
    co_await consume(consumer, std::move(args), out, state);
  } catch (...) {
    failure = std::current_exception();
  }
  co_await consumer->stop();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

int run_consume(const command_line& command, std::ostream& out, std::ostream& err) {
  const auto& args = std::get<consume_args>(command.args);
  kafka::consumer_config config;
  static_cast<kafka::client_config&>(config) = command.connection.client;
  // --timeout-ms is the idle timeout here; requests keep the client's own bounds (the defaults,
  // or request.timeout.ms / socket.connection.setup.timeout.ms of the properties).
  kafka::client_config own_bounds;
  apply_properties(command.connection.properties, own_bounds, "consume");
  config.request_timeout = own_bounds.request_timeout;
  config.connect_timeout = own_bounds.connect_timeout;
  config.group_id = args.group;
  config.offset_reset = args.start.what == start_position::kind::earliest
                            ? kafka::auto_offset_reset::earliest
                            : kafka::auto_offset_reset::latest;
  config.isolation = *kafka::parse_isolation_level(args.isolation_level);
  config.enable_auto_commit = !args.group.empty();
  for (const auto& warning :
       apply_command_properties(command.connection.properties, {.consumer = &config}, "consume"))
    err << "warning: " << warning << '\n';

  asio::io_context context;
  std::optional<kafka::consumer> consumer;
  try {
    consumer.emplace(context.get_executor(), config);
  } catch (const std::exception& e) {
    err << "error: sluice consume: " << e.what() << '\n';
    return static_cast<int>(exit_status::failed);
  }
  consume_state state;
  // SIGINT / SIGTERM: stop reading, commit, leave the group (Kafka's console consumer does the
  // same in its shutdown hook).
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&state](const boost::system::error_code& error, int) {
    if (!error) state.stop = true;
  });
  auto result = asio::co_spawn(context, run(&*consumer, args, &out, &state), asio::use_future);
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    context.run_one();
  }
  signals.cancel();
  int status = static_cast<int>(exit_status::ok);
  try {
    result.get();
  } catch (const std::exception& e) {
    err << "error: sluice consume: " << e.what() << '\n';
    status = static_cast<int>(exit_status::failed);
  }
  if (args.verbose) err << "Processed a total of " << state.printed << " messages\n";
  consumer.reset();
  context.run_for(std::chrono::milliseconds(200));
  return status;
}

}  // namespace sluice::cli
