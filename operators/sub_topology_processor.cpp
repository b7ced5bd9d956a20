#include "operators/sub_topology_processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "operators/table_row.hpp"

namespace sluice::operators {

sub_topology_processor::sub_topology_processor(const sub_topology& plan, store_provider& stores,
                                               const function_registry& registry)
    : plan_(plan) {
  std::map<std::string, state::kv_store*> tables_by_name;
  for (const auto& table : plan_.tables) {
    auto store = std::find_if(plan_.stores.begin(), plan_.stores.end(),
                              [&](const store_plan& p) { return p.name == table.store_name(); });
    if (store == plan_.stores.end()) {
      throw std::invalid_argument(
          fmt::format("table '{}': no store '{}' in the plan", table.name, table.store_name()));
    }
    auto* kv = &stores.kv_store(*store);
    tables_by_name[table.name] = kv;
    tables_by_topic_[table.topic] = kv;
  }
  graph_ = std::make_unique<processor_graph>(plan_, stores, registry, tables_by_name, *clock_,
                                             metrics_, produced_);
}

std::int64_t sub_topology_processor::stream_time() const {
  return graph_->stream_time();
}

template <class Work>
std::optional<processing_error> sub_topology_processor::run(Work work,
                                                            std::vector<output_record>& out) {
  produced_.clear();
  try {
    work();
  } catch (const processing_exception& e) {
    produced_.clear();
    return e.error();
  }
  operator_metrics::increment(metrics_.records_out, produced_.size());
  for (auto& r : produced_) out.push_back(std::move(r));
  produced_.clear();
  return std::nullopt;
}

bool sub_topology_processor::punctuation_due(std::int64_t wall_clock_ms) {
  return graph_->punctuation_due(wall_clock_ms);
}

std::optional<processing_error> sub_topology_processor::punctuate(std::int64_t wall_clock_ms,
                                                                  std::vector<output_record>& out) {
  return run([&] { graph_->punctuate(wall_clock_ms); }, out);
}

const source_spec* sub_topology_processor::source_for(const std::string& topic) const {
  for (const auto& s : plan_.sources) {
    if (std::find(s.topics.begin(), s.topics.end(), topic) != s.topics.end()) {
      return &s;
    }
  }
  return nullptr;
}

void sub_topology_processor::update_table(state::kv_store& table, const record& r) {
  auto change = table_row_change(r.key, r.value);
  if (!change) return;
  if (change->value) {
    table.put(change->key, *change->value);
  } else {
    table.remove(change->key);
  }
  operator_metrics::increment(metrics_.table_records);
}

std::optional<processing_error> sub_topology_processor::process(
    raw_record in, std::vector<output_record>& out, std::optional<decoded_input> decoded) {
  operator_metrics::increment(metrics_.records_in);
  auto fail = [this](processing_error e) {
    operator_metrics::increment(metrics_.errors);
    return std::optional<processing_error>(std::move(e));
  };

  if (!decoded) {
    const source_spec* source = source_for(in.origin.topic);
    if (source == nullptr) {
      return fail(processing_error{error_kind::deserialization,
                                   "topic is not a source of this sub-topology",
                                   in.origin,
                                   {}});
    }
    auto key = decode(source->key_format, in.key, record_part::key, in.origin);
    if (!key) {
      return fail(key.error());
    }
    auto value = decode(source->value_format, in.value, record_part::value, in.origin);
    if (!value) {
      return fail(value.error());
    }
    decoded = decoded_input{std::move(key).value(), std::move(value).value()};
  }

  clock_->advance(in.timestamp);
  graph_->keep_stream_time();
  const record current{std::move(decoded->key), std::move(decoded->value), in.timestamp,
                       std::move(in.headers), std::move(in.origin)};
  const std::string& topic = current.origin.topic;
  auto e = run(
      [&] {
        if (auto table = tables_by_topic_.find(topic); table != tables_by_topic_.end()) {
          update_table(*table->second, current);
        } else if (auto* joined = graph_->joined_input(topic)) {
          // The joined stream or table enters at its join step; what the join emits goes on
          // after it.
          joined->receive(current);
        } else {
          graph_->process(current);
        }
        graph_->punctuate_stream_time();
      },
      out);
  if (e) return fail(std::move(*e));
  return std::nullopt;
}

}  // namespace sluice::operators
