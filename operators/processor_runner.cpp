#include "operators/processor_runner.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "operators/join_value.hpp"

namespace sluice::operators {

// The node's context, but what the processor forwards is kept in the runner until it returned.
class processor_runner::buffering_context final : public processor_context {
 public:
  buffering_context(processor_context& node, std::vector<record>& kept)
      : node_(node), kept_(kept) {}

  void forward(const record& r) override { kept_.push_back(r); }
  void forward(record&& r) override { kept_.push_back(std::move(r)); }
  state::kv_store& store(std::string_view name) override { return node_.store(name); }
  state::window_store& window_store(std::string_view name) override {
    return node_.window_store(name);
  }
  state::session_store& session_store(std::string_view name) override {
    return node_.session_store(name);
  }
  std::int64_t stream_time() const override { return node_.stream_time(); }
  std::optional<record_metadata> current_record() const override { return node_.current_record(); }
  void schedule(std::chrono::milliseconds interval, punctuation_type type) override {
    node_.schedule(interval, type);
  }

 private:
  processor_context& node_;
  std::vector<record>& kept_;
};

processor_runner::processor_runner(const step& s, const registered_processor& registration)
    : step_(s), processor_(registration.factory()) {
  if (!processor_) {
    throw std::invalid_argument(
        fmt::format("step '{}': processor '{}' factory gave nothing", s.name, s.function));
  }
}

void processor_runner::init(processor_context& context) {
  // init() may not forward: the node refuses it, so init() gets the node's own context.
  processor_->init(context);
}

void processor_runner::process(const record& in, processor_context& context) {
  kept_.clear();
  buffering_context buffered(context, kept_);
  try {
    processor_->process(in, buffered);
  } catch (const std::exception& e) {
    kept_.clear();
    throw processing_exception(processing_error{
        error_kind::user_function,
        fmt::format("processor '{}' threw: {}", step_.function, e.what()), in.origin, step_.name});
  }
  forward_kept(&in, context);
}

void processor_runner::punctuate(punctuation_type type, std::int64_t time,
                                 processor_context& context) {
  kept_.clear();
  buffering_context buffered(context, kept_);
  try {
    processor_->punctuate(type, time, buffered);
  } catch (const std::exception& e) {
    kept_.clear();
    throw processing_exception(
        processing_error{error_kind::user_function,
                         fmt::format("processor '{}' punctuate ({} {}) threw: {}", step_.function,
                                     to_string(type), time, e.what()),
                         record_origin{}, step_.name});
  }
  forward_kept(nullptr, context);
}

void processor_runner::close() {
  processor_->close();
}

void processor_runner::forward_kept(const record* in, processor_context& context) {
  if (in != nullptr && !step_.changes_key) {
    for (const auto& r : kept_) {
      if (r.key == in->key) continue;
      throw processing_exception(processing_error{
          error_kind::user_function,
          fmt::format("processor '{}' changed the key from {} to {}, but the step does not "
                      "declare changes_key (needed to repartition before an aggregation)",
                      step_.function, brief(in->key), brief(r.key)),
          in->origin, step_.name});
    }
  }
  // The graph has no cycle: the children never come back here while the records go out.
  for (auto& r : kept_) context.forward(std::move(r));
  kept_.clear();
}

}  // namespace sluice::operators
