#include "operators/processor_runner.hpp"

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

// What a processor sees of its step: forwarded records go to `out`, stores are the declared ones.
class processor_runner::context final : public processor_context {
 public:
  // `out` null: the context of init().
  context(processor_runner& runner, std::vector<record>* out, const record* current)
      : runner_(runner), out_(out), current_(current) {}

  void forward(record r) override {
    if (out_ == nullptr) {
      throw std::logic_error(
          fmt::format("processor '{}': forward() called from init()", runner_.step_.function));
    }
    out_->push_back(std::move(r));
  }

  state::kv_store& store(std::string_view name) override {
    return *std::get<state::kv_store*>(find(name, store_kind::key_value));
  }
  state::window_store& window_store(std::string_view name) override {
    return *std::get<state::window_store*>(find(name, store_kind::window));
  }
  state::session_store& session_store(std::string_view name) override {
    return *std::get<state::session_store*>(find(name, store_kind::session));
  }

  std::int64_t stream_time() const override { return runner_.clock_.now(); }

  std::optional<record_metadata> current_record() const override {
    if (current_ == nullptr) return std::nullopt;
    return record_metadata{current_->origin.topic, current_->origin.partition,
                           current_->origin.offset, current_->timestamp, current_->headers};
  }

  void schedule(std::chrono::milliseconds interval, punctuation_type type) override {
    const auto& function = runner_.step_.function;
    if (out_ != nullptr) {
      throw std::logic_error(
          fmt::format("processor '{}': schedule() is called from init() only", function));
    }
    if (interval < std::chrono::milliseconds(1)) {
      throw std::invalid_argument(
          fmt::format("processor '{}': schedule() needs an interval of at least 1 ms", function));
    }
    if (type == punctuation_type::wall_clock_time) {
      runner_.wall_clock_every_ = interval;
      return;
    }
    if (runner_.time_store_ == nullptr) {
      throw std::invalid_argument(fmt::format(
          "processor '{}': a stream-time punctuation needs a store (stream time and the schedule "
          "are kept with the step's stores): step '{}' declares none",
          function, runner_.step_.name));
    }
    runner_.stream_time_every_ = interval;
  }

 private:
  const store_ref& find(std::string_view name, store_kind kind) const {
    const auto& step = runner_.step_;
    auto found = runner_.stores_.find(name);
    if (found != runner_.stores_.end() && kind_of(found->second) == kind) return found->second;
    std::string declared;
    for (const auto& [n, store] : runner_.stores_) {
      declared +=
          fmt::format("{}{} ({})", declared.empty() ? "" : ", ", n, to_string(kind_of(store)));
    }
    declared = declared.empty() ? "no stores" : "stores: " + declared;
    if (found == runner_.stores_.end()) {
      throw std::invalid_argument(
          fmt::format("processor '{}' asked for {} store '{}', but step '{}' declares {}",
                      step.function, to_string(kind), name, step.name, declared));
    }
    throw std::invalid_argument(fmt::format(
        "processor '{}' asked for {} store '{}', but step '{}' declares it as a {} store ({})",
        step.function, to_string(kind), name, step.name, to_string(kind_of(found->second)),
        declared));
  }

  processor_runner& runner_;
  std::vector<record>* out_;
  const record* current_;
};

processor_runner::processor_runner(const step& s, const registered_processor& registration,
                                   step_stores stores, stream_clock& clock,
                                   state::kv_store* time_store)
    : step_(s),
      stores_(std::move(stores)),
      clock_(clock),
      time_store_(time_store),
      wall_clock_every_(registration.punctuate_every),
      stream_time_every_(time_store != nullptr ? registration.punctuate_every_stream_time
                                               : std::chrono::milliseconds(0)),
      saved_stream_time_(load_time(time_store, stream_time_key, -1)),
      next_stream_punctuation_(load_time(time_store, next_punctuation_key, 0)) {
  const std::string what = fmt::format("step '{}'", s.name);
  for (const auto& store : s.stores) {
    auto found = stores_.find(store.name);
    if (found == stores_.end() || kind_of(found->second) != store.kind) {
      throw std::invalid_argument(
          fmt::format("{}: no {} store '{}'", what, to_string(store.kind), store.name));
    }
  }
  clock_.advance(saved_stream_time_);
  processor_ = registration.factory();
  if (!processor_) {
    throw std::invalid_argument(
        fmt::format("{}: processor '{}' factory gave nothing", what, s.function));
  }
  context init_context(*this, nullptr, nullptr);
  processor_->init(init_context);
}

processor_runner::~processor_runner() {
  if (processor_) processor_->close();
}

std::optional<processing_error> processor_runner::process(const record& in,
                                                          std::vector<record>& out) {
  std::vector<record> produced;
  context process_context(*this, &produced, &in);
  try {
    processor_->process(in, process_context);
  } catch (const std::exception& e) {
    return processing_error{error_kind::user_function,
                            fmt::format("processor '{}' threw: {}", step_.function, e.what()),
                            in.origin, step_.name};
  }
  for (auto& r : produced) out.push_back(std::move(r));
  return std::nullopt;
}

std::optional<processing_error> processor_runner::punctuate(punctuation_type type,
                                                            std::int64_t time,
                                                            std::vector<record>& out) {
  std::vector<record> produced;
  context punctuate_context(*this, &produced, nullptr);
  try {
    processor_->punctuate(type, time, punctuate_context);
  } catch (const std::exception& e) {
    return processing_error{error_kind::user_function,
                            fmt::format("processor '{}' punctuate ({} {}) threw: {}",
                                        step_.function, to_string(type), time, e.what()),
                            record_origin{}, step_.name};
  }
  for (auto& r : produced) out.push_back(std::move(r));
  return std::nullopt;
}

void processor_runner::keep_stream_time() {
  const auto now = clock_.now();
  if (time_store_ == nullptr || now == saved_stream_time_) return;
  save_time(stream_time_key, now);
  saved_stream_time_ = now;
}

std::optional<processing_error> processor_runner::punctuate_if_due(std::vector<record>& out) {
  const auto now = clock_.now();
  const auto every = stream_time_every_.count();
  if (every <= 0 || now < 0 || now < next_stream_punctuation_) return std::nullopt;
  // The schedule moves on before the punctuation runs: one that throws is not retried with the
  // next record (its error is this record's, which the on-error policy settles).
  next_stream_punctuation_ = next_due(next_stream_punctuation_, now, every);
  save_time(next_punctuation_key, next_stream_punctuation_);
  return punctuate(punctuation_type::stream_time, now, out);
}

void processor_runner::save_time(std::string_view key, std::int64_t value) {
  time_store_->put(key, state::json_serde::serialize(boost::json::value(value)));
}

}  // namespace sluice::operators
