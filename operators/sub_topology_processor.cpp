#include "operators/sub_topology_processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "operators/stream_join.hpp"
#include "operators/table_join.hpp"
#include "operators/table_row.hpp"

namespace sluice::operators {

sub_topology_processor::sub_topology_processor(const sub_topology& plan, store_provider& stores,
                                               const function_registry& registry)
    : plan_(plan) {
  auto find_plan = [&](const std::string& name, const std::string& what) -> const store_plan& {
    auto store = std::find_if(plan_.stores.begin(), plan_.stores.end(),
                              [&](const store_plan& p) { return p.name == name; });
    if (store == plan_.stores.end()) {
      throw std::invalid_argument(fmt::format("{}: no store '{}' in the plan", what, name));
    }
    return *store;
  };
  auto open_kv = [&](const std::string& name, const std::string& what) -> state::kv_store& {
    return stores.kv_store(find_plan(name, what));
  };
  std::map<std::string, state::kv_store*> tables_by_name;
  for (const auto& table : plan_.tables) {
    auto* kv = &open_kv(table.store_name(), "table '" + table.name + "'");
    tables_by_name[table.name] = kv;
    tables_by_topic_[table.topic] = kv;
  }
  auto open_window = [&](const std::string& name) -> state::window_store& {
    return stores.window_store(find_plan(name, "stream join"));
  };
  // A processor step's declared store, of the kind the plan gives it.
  auto open_step_store = [&](const std::string& name, const std::string& what) -> store_ref {
    const auto& p = find_plan(name, what);
    switch (p.kind) {
      case store_kind::window:
        return &stores.window_store(p);
      case store_kind::session:
        return &stores.session_store(p);
      case store_kind::key_value:
        break;
    }
    return &stores.kv_store(p);
  };
  // A chain's steps with their stores; the two-sided joins' other topics point at the chain
  // being built (the next one in chains_).
  auto build_steps = [&](const std::vector<step>& specs) {
    std::vector<step_processor> steps;
    for (const auto& s : specs) {
      const other_input entry{chains_.size(), steps.size()};
      if (s.joins_stream()) {
        const auto names = stream_join_store_names(s);
        stream_join::stores join_stores{&open_window(names.left), &open_window(names.right),
                                        nullptr, nullptr};
        if (!names.pending.empty()) {
          join_stores.pending = &open_kv(names.pending, "step '" + s.name + "'");
          join_stores.time = &open_kv(names.time, "step '" + s.name + "'");
        }
        for (const auto& stream : plan_.streams) {
          if (stream.name == s.stream) others_by_topic_[stream.topic] = entry;
        }
        steps.emplace_back(s, registry, step_processor::step_stores{},
                           std::make_unique<stream_join>(s, join_stores, metrics_.join_dropped));
        continue;
      }
      if (const auto* joined = plan_.joined_table_of(s)) {
        const auto names = table_join_store_names(s);
        const auto what = "step '" + s.name + "'";
        table_join::stores join_stores{&open_kv(names.left, what), &open_kv(names.right, what)};
        others_by_topic_[joined->topic] = entry;
        steps.emplace_back(s, registry, step_processor::step_stores{},
                           std::make_unique<table_join>(s, join_stores, metrics_.join_dropped,
                                                        metrics_.table_records));
        continue;
      }
      step_processor::step_stores step_stores;
      if (s.kind == step_kind::join && tables_by_name.contains(s.table)) {
        step_stores.emplace(s.table, tables_by_name.at(s.table));
      }
      const std::string what = "step '" + s.name + "'";
      for (const auto& store : s.stores) {
        step_stores.emplace(store.name, open_step_store(step_store_name(s, store.name), what));
      }
      step_processor::task_time time{clock_.get(), nullptr};
      if (const auto name = step_time_store_name(s); !name.empty()) {
        time.store = &open_kv(name, what);
      }
      steps.emplace_back(s, registry, std::move(step_stores), nullptr, time);
    }
    return steps;
  };
  auto add_chain = [&](branch_spec chain) {
    auto steps = build_steps(chain.steps);
    chains_.push_back(std::make_unique<chain_processor>(
        std::move(chain), std::move(steps), plan_.stores, stores, registry, *clock_, metrics_));
  };
  add_chain(branch_spec{plan_.root_name(),
                        {},
                        plan_.steps,
                        plan_.aggregation,
                        plan_.table,
                        plan_.after,
                        plan_.sinks});
  for (const auto& branch : plan_.branches) {
    add_chain(branch);
    for (const auto& parent : branch.from) {
      auto found = std::find_if(chains_.begin(), chains_.end() - 1,
                                [&](const auto& chain) { return chain->name() == parent; });
      if (found == chains_.end() - 1) {
        throw std::invalid_argument(
            fmt::format("branch '{}': from '{}', which is not an earlier chain of sub-topology {}",
                        branch.name, parent, plan_.id));
      }
      (*found)->add_child(*chains_.back());
    }
  }
}

std::int64_t sub_topology_processor::stream_time() const {
  return chains_.front()->stream_time();
}

bool sub_topology_processor::punctuation_due(std::int64_t wall_clock_ms) {
  bool due = false;
  // Every chain is asked, so that each starts its intervals at the first call.
  for (auto& chain : chains_) due = chain->punctuation_due(wall_clock_ms) || due;
  return due;
}

std::optional<processing_error> sub_topology_processor::punctuate(std::int64_t wall_clock_ms,
                                                                  std::vector<output_record>& out) {
  std::vector<output_record> produced;
  for (auto& chain : chains_) {
    if (auto e = chain->punctuate(wall_clock_ms, produced)) {
      return e;
    }
  }
  operator_metrics::increment(metrics_.records_out, produced.size());
  for (auto& r : produced) out.push_back(std::move(r));
  return std::nullopt;
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

std::optional<processing_error> sub_topology_processor::process(const raw_record& in,
                                                                std::vector<output_record>& out) {
  operator_metrics::increment(metrics_.records_in);
  auto fail = [this](processing_error e) {
    operator_metrics::increment(metrics_.errors);
    return std::optional<processing_error>(std::move(e));
  };

  const source_spec* source = source_for(in.origin.topic);
  if (source == nullptr) {
    return fail(processing_error{
        error_kind::deserialization, "topic is not a source of this sub-topology", in.origin, {}});
  }
  auto key = decode(source->key_format, in.key, record_part::key, in.origin);
  if (!key) {
    return fail(key.error());
  }
  auto value = decode(source->value_format, in.value, record_part::value, in.origin);
  if (!value) {
    return fail(value.error());
  }

  clock_->advance(in.timestamp);
  for (const auto& chain : chains_) chain->keep_stream_time();
  std::vector<record> records;
  records.push_back(record{std::move(key).value(), std::move(value).value(), in.timestamp,
                           in.headers, in.origin});
  std::vector<output_record> produced;
  if (auto table = tables_by_topic_.find(in.origin.topic); table != tables_by_topic_.end()) {
    update_table(*table->second, records.front());
  } else if (auto joined = others_by_topic_.find(in.origin.topic);
             joined != others_by_topic_.end()) {
    // The joined stream or table enters at its join step; what the join emits goes on after it.
    const auto [chain, step] = joined->second;
    if (auto e = chains_[chain]->process_other(step, records.front(), produced)) {
      return fail(*e);
    }
  } else if (auto e = chains_.front()->continue_from(0, std::move(records), produced)) {
    return fail(*e);
  }
  for (auto& chain : chains_) {
    if (auto e = chain->punctuate_stream_time(produced)) {
      return fail(*e);
    }
  }
  operator_metrics::increment(metrics_.records_out, produced.size());
  for (auto& r : produced) {
    out.push_back(std::move(r));
  }
  return std::nullopt;
}

}  // namespace sluice::operators
