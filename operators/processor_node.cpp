#include "operators/processor_node.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "state/json_serde.hpp"

namespace sluice::operators {

namespace {

constexpr std::string_view stream_time_key = "stream_time";
constexpr std::string_view next_punctuation_key = "next_stream_punctuation";

std::int64_t load_time(const state::kv_store* store, std::string_view key, std::int64_t otherwise) {
  if (store == nullptr) return otherwise;
  auto stored = store->get(key);
  return stored ? state::json_serde::deserialize(*stored).to_number<std::int64_t>() : otherwise;
}

// Kafka Streams' PunctuationSchedule#next: the next due time after `scheduled` that is past
// `now`, on the grid scheduled + n * every (missed punctuations are skipped, not caught up).
std::int64_t next_due(std::int64_t scheduled, std::int64_t now, std::int64_t every) {
  return scheduled + ((now - scheduled) / every + 1) * every;
}

}  // namespace

std::string_view to_string(punctuation_type type) {
  return type == punctuation_type::wall_clock_time ? "wall_clock_time" : "stream_time";
}

store_kind kind_of(const store_ref& store) {
  return static_cast<store_kind>(store.index());
}

processor_node::processor_node(node_identity identity, std::unique_ptr<processor> p,
                               step_stores stores, stream_clock& clock, state::kv_store* time_store)
    : identity_(std::move(identity)),
      processor_(std::move(p)),
      stores_(std::move(stores)),
      clock_(clock),
      time_store_(time_store),
      saved_stream_time_(load_time(time_store, stream_time_key, -1)),
      next_stream_punctuation_(load_time(time_store, next_punctuation_key, 0)) {
  if (!processor_) {
    throw std::invalid_argument(
        fmt::format("step '{}': {} gave no processor", identity_.step, who()));
  }
  clock_.advance(saved_stream_time_);
}

processor_node::~processor_node() {
  processor_->close();
}

std::string processor_node::who() const {
  return identity_.function.empty() ? fmt::format("step '{}'", identity_.step)
                                    : fmt::format("processor '{}'", identity_.function);
}

void processor_node::set_schedules(std::chrono::milliseconds wall_clock,
                                   std::chrono::milliseconds stream_time) {
  wall_clock_every_ = wall_clock;
  stream_time_every_ = time_store_ != nullptr ? stream_time : std::chrono::milliseconds(0);
}

void processor_node::refuse_forward_in_init() const {
  throw std::logic_error(fmt::format("{}: forward() called from init()", who()));
}

void processor_node::init() {
  struct init_guard {
    bool& flag;
    explicit init_guard(bool& f) : flag(f) { flag = true; }
    ~init_guard() { flag = false; }
    init_guard(const init_guard&) = delete;
    init_guard& operator=(const init_guard&) = delete;
  } guard(in_init_);
  processor_->init(*this);
}

state::kv_store& processor_node::store(std::string_view name) {
  return *std::get<state::kv_store*>(find(name, store_kind::key_value));
}

state::window_store& processor_node::window_store(std::string_view name) {
  return *std::get<state::window_store*>(find(name, store_kind::window));
}

state::session_store& processor_node::session_store(std::string_view name) {
  return *std::get<state::session_store*>(find(name, store_kind::session));
}

std::optional<record_metadata> processor_node::current_record() const {
  if (current_ == nullptr) return std::nullopt;
  return record_metadata{current_->origin.topic, current_->origin.partition,
                         current_->origin.offset, current_->timestamp, current_->headers};
}

void processor_node::schedule(std::chrono::milliseconds interval, punctuation_type type) {
  if (!in_init_) {
    throw std::logic_error(fmt::format("{}: schedule() is called from init() only", who()));
  }
  if (interval < std::chrono::milliseconds(1)) {
    throw std::invalid_argument(
        fmt::format("{}: schedule() needs an interval of at least 1 ms", who()));
  }
  if (type == punctuation_type::wall_clock_time) {
    wall_clock_every_ = interval;
    return;
  }
  if (time_store_ == nullptr) {
    throw std::invalid_argument(fmt::format(
        "{}: a stream-time punctuation needs a store (stream time and the schedule are kept with "
        "the step's stores): step '{}' declares none",
        who(), identity_.step));
  }
  stream_time_every_ = interval;
}

const store_ref& processor_node::find(std::string_view name, store_kind kind) const {
  auto found = stores_.find(name);
  if (found != stores_.end() && kind_of(found->second) == kind) return found->second;
  std::string declared;
  for (const auto& [n, store] : stores_) {
    declared +=
        fmt::format("{}{} ({})", declared.empty() ? "" : ", ", n, to_string(kind_of(store)));
  }
  declared = declared.empty() ? "no stores" : "stores: " + declared;
  if (found == stores_.end()) {
    throw std::invalid_argument(fmt::format("{} asked for {} store '{}', but step '{}' declares {}",
                                            who(), to_string(kind), name, identity_.step,
                                            declared));
  }
  throw std::invalid_argument(fmt::format(
      "{} asked for {} store '{}', but step '{}' declares it as a {} store ({})", who(),
      to_string(kind), name, identity_.step, to_string(kind_of(found->second)), declared));
}

void processor_node::keep_stream_time() {
  const auto now = clock_.now();
  if (time_store_ == nullptr || now == saved_stream_time_) return;
  save_time(stream_time_key, now);
  saved_stream_time_ = now;
}

void processor_node::punctuate_stream_time_if_due() {
  const auto now = clock_.now();
  const auto every = stream_time_every_.count();
  if (every <= 0 || now < 0 || now < next_stream_punctuation_) return;
  // The schedule moves on before the punctuation runs: one that throws is not retried with the
  // next record (its error is this record's, which the on-error policy settles).
  next_stream_punctuation_ = next_due(next_stream_punctuation_, now, every);
  save_time(next_punctuation_key, next_stream_punctuation_);
  processor_->punctuate(punctuation_type::stream_time, now, *this);
}

bool processor_node::wall_clock_due(std::int64_t wall_clock_ms) {
  const auto every = wall_clock_every_.count();
  if (every <= 0) return false;
  if (wall_clock_due_ < 0) wall_clock_due_ = wall_clock_ms + every;
  return wall_clock_ms >= wall_clock_due_;
}

void processor_node::punctuate_wall_clock_if_due(std::int64_t wall_clock_ms) {
  const auto every = wall_clock_every_.count();
  if (every <= 0) return;
  if (wall_clock_due_ < 0) {
    wall_clock_due_ = wall_clock_ms + every;
    return;
  }
  if (wall_clock_ms < wall_clock_due_) return;
  wall_clock_due_ = wall_clock_ms + every;
  processor_->punctuate(punctuation_type::wall_clock_time, wall_clock_ms, *this);
}

void processor_node::save_time(std::string_view key, std::int64_t value) {
  time_store_->put(key, state::json_serde::serialize(boost::json::value(value)));
}

}  // namespace sluice::operators
