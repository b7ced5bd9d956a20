// `sluice produce`: stdin lines to a topic, one record per line.
//
// The input is read on a thread of its own in chunks of whatever is available (a file or pipe
// fills them, a terminal hands over each line at once) and passed to the producer's coroutine,
// which splits it into lines and queues each record with try_send (no coroutine frame per record;
// send() when try_send declines: the buffer is full, the topic's metadata is missing, or the
// producer's sender is due to run and needs the executor). At most
// `max_queued_chunks` chunks wait, so a fast input is throttled by the producer, never buffered
// whole. Deliveries are checked in order as they complete; the first failure ends the command and
// names the input line of the record.

#include <poll.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "kafka/client/cluster.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/protocol/error_code.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/console_commands.hpp"
#include "pipelines/cli/console_format.hpp"
#include "pipelines/cli/properties.hpp"

namespace sluice::cli {

namespace asio = boost::asio;

namespace {

constexpr std::size_t chunk_size = std::size_t{64} * 1024;
constexpr std::size_t max_queued_chunks = 8;
// How often the reader of a terminal or pipe looks whether it should stop (after a failure).
constexpr int stop_check_ms = 100;

// The input, read on its own thread. Shared with that thread and with the wake-ups it posts, so
// that neither can outlive what it touches.
struct input_state {
  explicit input_state(asio::io_context& context) : wake(context) {}
  asio::steady_timer wake;  // the consumer side waits on it; the reader cancels it
  std::mutex mutex;
  std::condition_variable room;
  std::deque<std::string> chunks;
  bool eof = false;
  bool stopping = false;
  bool interrupted = false;  // SIGINT / SIGTERM: the input ends here
  std::string error;
};

class input_reader {
 public:
  input_reader(std::istream& in, asio::io_context& context)
      : state_(std::make_shared<input_state>(context)) {
    // std::cin is read through its file descriptor, with poll(), so that a reader waiting on a
    // terminal notices a stop; other streams (tests) never block.
    const bool use_stdin = &in == &std::cin;
    thread_ = std::thread([state = state_, &in, use_stdin] { read_all(state, in, use_stdin); });
  }
  ~input_reader() { stop(); }
  input_reader(const input_reader&) = delete;
  input_reader& operator=(const input_reader&) = delete;

  // On the io_context's thread (a signal): the input ends now; next() returns the end.
  void interrupt() {
    {
      std::lock_guard lock(state_->mutex);
      state_->interrupted = true;
      state_->stopping = true;
    }
    state_->room.notify_all();
    state_->wake.cancel();
  }
  bool interrupted() const {
    std::lock_guard lock(state_->mutex);
    return state_->interrupted;
  }

  void stop() {
    {
      std::lock_guard lock(state_->mutex);
      state_->stopping = true;
    }
    state_->room.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // On the io_context's thread: the next chunk, empty at the end of the input. Throws
  // std::runtime_error when reading failed.
  asio::awaitable<std::string> next() {
    auto state = state_;
    for (;;) {
      {
        std::unique_lock lock(state->mutex);
        if (state->interrupted) co_return std::string{};
        if (!state->chunks.empty()) {
          auto chunk = std::move(state->chunks.front());
          state->chunks.pop_front();
          lock.unlock();
          state->room.notify_one();
          co_return chunk;
        }
        if (!state->error.empty()) throw std::runtime_error(state->error);
        if (state->eof) co_return std::string{};
        // The reader's wake-up is posted to this thread, so it cannot slip in between this check
        // and the wait below.
        state->wake.expires_at(asio::steady_timer::time_point::max());
      }
      auto [ignored] = co_await state->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ignored;
    }
  }

 private:
  static void read_all(std::shared_ptr<input_state> state, std::istream& in, bool use_stdin) {
    std::string error;
    for (;;) {
      std::string chunk(chunk_size, '\0');
      std::size_t got = 0;
      if (use_stdin) {
        pollfd watched{STDIN_FILENO, POLLIN, 0};
        const int ready = ::poll(&watched, 1, stop_check_ms);
        {
          std::lock_guard lock(state->mutex);
          if (state->stopping) return;
        }
        if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
        const auto n = ready < 0 ? -1 : ::read(STDIN_FILENO, chunk.data(), chunk.size());
        if (n < 0) {
          if (errno == EINTR || errno == EAGAIN) continue;
          error = std::string("reading stdin: ") + std::strerror(errno);
          break;
        }
        got = static_cast<std::size_t>(n);
      } else {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        got = static_cast<std::size_t>(in.gcount());
        if (in.bad()) {
          error = "reading the input failed";
          break;
        }
      }
      if (got == 0) break;  // end of input
      chunk.resize(got);
      std::unique_lock lock(state->mutex);
      state->room.wait(lock,
                       [&] { return state->stopping || state->chunks.size() < max_queued_chunks; });
      if (state->stopping) return;
      state->chunks.push_back(std::move(chunk));
      lock.unlock();
      asio::post(state->wake.get_executor(), [state] { state->wake.cancel(); });
    }
    {
      std::lock_guard lock(state->mutex);
      state->eof = true;
      state->error = std::move(error);
    }
    asio::post(state->wake.get_executor(), [state] { state->wake.cancel(); });
  }

  std::shared_ptr<input_state> state_;
  std::thread thread_;
};

// A record queued and not yet known to be delivered, with the input line it came from.
struct pending_record {
  std::int64_t line;
  kafka::delivery handle;
};

// A record the cluster refused; the message names the input line.
class record_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check_delivered(const pending_record& record) {
  try {
    record.handle.result();
  } catch (const std::exception& e) {
    throw record_failed("the record from line " + std::to_string(record.line) +
                        " was not written: " + e.what());
  }
}

// Checks the deliveries that are known, oldest first.
void check_completed(std::deque<pending_record>& pending) {
  while (!pending.empty() && pending.front().handle.done()) {
    check_delivered(pending.front());
    pending.pop_front();
  }
}

// Fails fast, with a clear message, on a topic or partition that does not exist: the producer
// itself would wait for its metadata until max_block.
asio::awaitable<void> check_topic(kafka::client_config client, produce_args args) {
  kafka::cluster probe(co_await asio::this_coro::executor, client);
  std::exception_ptr failure;
  try {
    co_await probe.start();
    const auto* topic = co_await probe.topic(args.topic);
    if (topic == nullptr || topic->error == kafka::error_code::unknown_topic_or_partition) {
      throw usage_error("topic '" + args.topic +
                        "' does not exist (create it with sluice topics "
                        "create --topic " +
                        args.topic + ")");
    }
    if (args.partition && *args.partition >= static_cast<std::int32_t>(topic->partitions.size())) {
      throw usage_error("--partition " + std::to_string(*args.partition) + ": topic '" +
                        args.topic + "' has " + std::to_string(topic->partitions.size()) +
                        " partition(s)");
    }
  } catch (...) {
    failure = std::current_exception();
  }
  probe.close();
  if (failure) std::rethrow_exception(failure);
}

struct line_producer {
  kafka::producer* producer;
  const produce_args* args;
  std::vector<kafka::records::header_view> header_views;
  std::deque<pending_record> pending;
  std::int64_t lines = 0;

  asio::awaitable<void> send_line(std::string_view line) {
    ++lines;
    if (line.ends_with('\r')) line.remove_suffix(1);  // CRLF input, as Java's readLine() does
    const auto split = split_line(line, args->key_separator, lines);
    std::optional<kafka::protocol::bytes_view> key;
    if (split.key) key = kafka::protocol::as_bytes_view(*split.key);
    const auto value = kafka::protocol::as_bytes_view(split.value);
    std::optional<kafka::partition_id> partition;
    if (args->partition) partition = kafka::partition_id{*args->partition};
    std::optional<kafka::delivery> handle;
    try {
      handle = producer->try_send(args->topic, value, key, partition, std::nullopt, header_views);
      if (!handle) {
        // The buffer is full, the metadata unknown or the sender due: send() waits and yields.
        std::optional<kafka::protocol::bytes> owned_key;
        if (split.key) owned_key = kafka::protocol::to_bytes(*split.key);
        auto owned_value = kafka::protocol::to_bytes(split.value);
        auto headers = args->headers;
        handle = co_await producer->send(args->topic, std::move(owned_value), std::move(owned_key),
                                         partition, std::nullopt, std::move(headers));
      }
    } catch (const kafka::kafka_error& e) {
      // E.g. a record larger than max.request.size: say which line it was.
      throw record_failed("the record from line " + std::to_string(lines) +
                          " was not sent: " + e.what());
    }
    pending.push_back({lines, std::move(*handle)});
  }
};

asio::awaitable<std::int64_t> produce_all(kafka::producer* producer, input_reader* input,
                                          const produce_args* args) {
  line_producer lines{producer, args, {}, {}, 0};
  for (const auto& header : args->headers) {
    std::optional<kafka::protocol::bytes_view> value;
    if (header.value) value = kafka::protocol::bytes_view(*header.value);
    lines.header_views.push_back({header.key, value});
  }
  std::string carry;  // an incomplete line from the end of the previous chunk
  for (;;) {
    auto chunk = co_await input->next();
    if (chunk.empty()) break;
    std::string_view rest(chunk);
    if (!carry.empty()) {
      const auto newline = rest.find('\n');
      if (newline == std::string_view::npos) {
        carry.append(rest);
        continue;
      }
      carry.append(rest.substr(0, newline));
      co_await lines.send_line(carry);
      carry.clear();
      rest.remove_prefix(newline + 1);
    }
    for (auto newline = rest.find('\n'); newline != std::string_view::npos;
         newline = rest.find('\n')) {
      co_await lines.send_line(rest.substr(0, newline));
      rest.remove_prefix(newline + 1);
    }
    carry.assign(rest);
    check_completed(lines.pending);
  }
  if (input->interrupted()) {
    // A transaction commits only a whole input; without one, what was read is sent, as Kafka's
    // console producer flushes in its shutdown hook. A line cut by the signal is dropped.
    if (args->transactional_id) throw std::runtime_error("interrupted before the end of the input");
  } else if (!carry.empty()) {
    co_await lines.send_line(carry);  // the last line had no line end
  }
  co_await producer->flush();
  for (const auto& record : lines.pending) check_delivered(record);
  co_return lines.lines;
}

asio::awaitable<std::int64_t> run(kafka::producer* producer, input_reader* input,
                                  const produce_args* args, kafka::client_config client) {
  co_await check_topic(client, *args);
  co_await producer->start();
  if (args->transactional_id) producer->begin_transaction();
  std::exception_ptr failure;
  std::int64_t written = 0;
  try {
    written = co_await produce_all(producer, input, args);
    if (args->transactional_id) co_await producer->commit_transaction();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    input->stop();
    if (args->transactional_id) {
      try {
        co_await producer->abort_transaction();
      } catch (const std::exception&) {
        // The first failure is the one to report; a fenced or failed producer cannot abort, and
        // the coordinator aborts the transaction at its timeout anyway.
      }
    }
  }
  co_await producer->stop();
  if (failure && args->transactional_id) {
    std::string what;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    }
    throw std::runtime_error(what + " (the transaction was aborted: nothing was written)");
  }
  if (failure) std::rethrow_exception(failure);
  co_return written;
}

}  // namespace

int run_produce(const command_line& command, std::istream& in, std::ostream& err) {
  const auto& args = std::get<produce_args>(command.args);
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = command.connection.client;
  config.acks = *kafka::parse_acks(args.acks);
  config.compression = *kafka::parse_compression(args.compression);
  config.transactional_id = args.transactional_id;
  // Connecting, metadata and a full buffer wait at most --timeout-ms; a record may take longer
  // (retries), bounded by delivery_timeout, which must cover linger + one request.
  config.max_block = command.connection.timeout;
  config.delivery_timeout =
      std::max(config.delivery_timeout, config.linger + config.request_timeout);
  // Larger batches than the default 16 KiB: the console producer is mostly fed files and pipes.
  config.batch_size = std::size_t{256} * 1024;
  for (const auto& warning :
       apply_command_properties(command.connection.properties, {.producer = &config}, "produce"))
    err << "warning: " << warning << '\n';

  asio::io_context context;
  auto failed = [&](const std::string& message) {
    err << "error: sluice produce: " << message << '\n';
    return static_cast<int>(exit_status::failed);
  };
  std::optional<kafka::producer> producer;
  try {
    producer.emplace(context.get_executor(), config);
  } catch (const std::exception& e) {
    return failed(e.what());
  }
  input_reader input(in, context);
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&input](const boost::system::error_code& error, int) {
    if (!error) input.interrupt();
  });
  auto result = asio::co_spawn(context, run(&*producer, &input, &args, command.connection.client),
                               asio::use_future);
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    context.run_one();
  }
  signals.cancel();
  input.stop();
  int status = static_cast<int>(exit_status::ok);
  try {
    const auto written = result.get();
    if (args.verbose) {
      err << written << " record(s) written to " << args.topic
          << (args.transactional_id ? " in one transaction" : "") << '\n';
    }
  } catch (const std::exception& e) {
    status = failed(e.what());
  }
  producer.reset();
  // What the closed connections leave behind (their read loops) ends now.
  context.run_for(std::chrono::milliseconds(200));
  return status;
}

}  // namespace sluice::cli
