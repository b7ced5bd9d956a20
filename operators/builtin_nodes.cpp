#include "operators/builtin_nodes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

namespace sluice::operators {

namespace {

void throw_if(std::optional<processing_error> error) {
  if (error) throw processing_exception(std::move(*error));
}

}  // namespace

void join_side_node::process(const record& in, processor_context& context) {
  results_.clear();
  throw_if(join_->process(side_, in, results_));
  for (const auto& r : results_) context.forward(r);
}

void topic_writer::write_to(const record& r, const std::string& topic) const {
  auto key = encode(key_format_, r.key, record_part::key, r.origin);
  if (!key) {
    auto e = key.error();
    e.message = fmt::format("writing to '{}': {}", topic, e.message);
    throw processing_exception(std::move(e));
  }
  auto value = encode(value_format_, r.value, record_part::value, r.origin);
  if (!value) {
    auto e = value.error();
    e.message = fmt::format("writing to '{}': {}", topic, e.message);
    throw processing_exception(std::move(e));
  }
  out_.push_back(output_record{topic, std::move(key).value(), std::move(value).value(), r.timestamp,
                               r.headers});
}

// The aggregator checks a record fully before writing, so a failure leaves its state untouched;
// late records are written before the results go on, as the batches of old did.
void window_aggregation_node::process(const record& in, processor_context& context) {
  results_.clear();
  late_.clear();
  throw_if(aggregator_->process(in, results_, late_));
  if (late_writer_) {
    for (const auto& r : late_) late_writer_->write(r);
  }
  for (const auto& r : results_) context.forward(r);
}

void table_aggregation_node::init(processor_context& context) {
  if (aggregator_->emit_every().count() > 0) {
    context.schedule(aggregator_->emit_every(), punctuation_type::wall_clock_time);
  }
}

void table_aggregation_node::process(const record& in, processor_context& context) {
  results_.clear();
  throw_if(aggregator_->process(in, results_));
  for (const auto& r : results_) context.forward(r);
}

void table_aggregation_node::punctuate(punctuation_type type, std::int64_t /*time*/,
                                       processor_context& context) {
  if (type != punctuation_type::wall_clock_time) return;
  std::vector<record> results;
  throw_if(aggregator_->emit_pending(results));
  for (const auto& r : results) context.forward(r);
}

sink_when_node::sink_when_node(const sink_spec& sink)
    : when_(bound_expression::compile_or_throw(sink.when,
                                               fmt::format("sink {}: when", sink.label()))),
      label_("when of sink " + sink.label()) {}

void sink_when_node::process(const record& in, processor_context& context) {
  auto keep = when_.evaluate_predicate(in, label_);
  if (!keep) throw processing_exception(keep.error());
  if (*keep) context.forward(in);
}

sink_writer_node::sink_writer_node(const sink_spec& sink, std::vector<output_record>& out)
    : spec_(sink), writer_(sink.topic, sink.key_format, sink.value_format, out) {
  if (!sink.topic_from.empty()) {
    topic_from_ = bound_expression::compile_or_throw(sink.topic_from, "sink topic_from");
    topic_from_label_ = "sink " + sink.label();
  }
}

void sink_writer_node::process(const record& in, processor_context& /*context*/) {
  if (!topic_from_) {
    writer_.write(in);
    return;
  }
  auto topic = topic_from_->evaluate(in, topic_from_label_);
  if (!topic) throw processing_exception(topic.error());
  const auto* name = topic->if_string();
  if (name == nullptr || std::find(spec_.topics.begin(), spec_.topics.end(),
                                   std::string_view(*name)) == spec_.topics.end()) {
    std::string declared;
    for (const auto& t : spec_.topics) declared += (declared.empty() ? "" : ", ") + t;
    throw processing_exception(processing_error{
        error_kind::evaluation,
        fmt::format("topic_from gave {}, which is not one of the sink's topics ({})",
                    boost::json::serialize(*topic), declared),
        in.origin, topic_from_label_});
  }
  writer_.write_to(in, std::string(*name));
}

}  // namespace sluice::operators
