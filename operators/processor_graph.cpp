#include "operators/processor_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "operators/builtin_nodes.hpp"
#include "operators/processor_runner.hpp"
#include "operators/step_processor.hpp"
#include "operators/stream_join.hpp"
#include "operators/table_changes.hpp"
#include "operators/table_join.hpp"

namespace sluice::operators {

// Builds the nodes of one plan into a graph; lives for the graph's constructor.
class processor_graph::builder {
 public:
  builder(processor_graph& graph, const sub_topology& plan, store_provider& stores,
          const function_registry& registry, const std::map<std::string, state::kv_store*>& tables,
          stream_clock& clock, operator_metrics& metrics, std::vector<output_record>& out)
      : graph_(graph),
        plan_(plan),
        stores_(stores),
        registry_(registry),
        tables_(tables),
        clock_(clock),
        metrics_(metrics),
        out_(out) {}

  void build() {
    add_chain(branch_spec{plan_.root_name(),
                          {},
                          plan_.steps,
                          plan_.aggregation,
                          plan_.table,
                          plan_.after,
                          plan_.sinks});
    graph_.root_ = chains_.front().second.first;
    for (const auto& branch : plan_.branches) {
      const auto [head, tail] = add_chain(branch);
      for (const auto& parent : branch.from) {
        auto found = std::find_if(chains_.begin(), chains_.end() - 1,
                                  [&](const auto& chain) { return chain.first == parent; });
        if (found == chains_.end() - 1) {
          throw std::invalid_argument(fmt::format(
              "branch '{}': from '{}', which is not an earlier chain of sub-topology {}",
              branch.name, parent, plan_.id));
        }
        found->second.second->add_child(*head);
      }
      (void)tail;
    }
    // A join's right side forwards where its left side does.
    for (const auto& [left, right] : join_sides_) {
      for (auto* child : left->children()) right->add_child(*child);
    }
  }

 private:
  using chain_ends = std::pair<processor_node*, processor_node*>;  // head, tail

  processor_node& add(node_identity identity, std::unique_ptr<processor> p, step_stores stores = {},
                      state::kv_store* time_store = nullptr) {
    graph_.nodes_.push_back(std::make_unique<processor_node>(
        std::move(identity), std::move(p), std::move(stores), clock_, time_store));
    return *graph_.nodes_.back();
  }

  const store_plan& find_plan(const std::string& name, const std::string& what) const {
    auto store = std::find_if(plan_.stores.begin(), plan_.stores.end(),
                              [&](const store_plan& p) { return p.name == name; });
    if (store == plan_.stores.end()) {
      throw std::invalid_argument(fmt::format("{}: no store '{}' in the plan", what, name));
    }
    return *store;
  }
  state::kv_store& open_kv(const std::string& name, const std::string& what) {
    return stores_.kv_store(find_plan(name, what));
  }
  // A processor step's declared store, of the kind the plan gives it.
  store_ref open_step_store(const std::string& name, const std::string& what) {
    const auto& p = find_plan(name, what);
    switch (p.kind) {
      case store_kind::window:
        return &stores_.window_store(p);
      case store_kind::session:
        return &stores_.session_store(p);
      case store_kind::key_value:
        break;
    }
    return &stores_.kv_store(p);
  }

  chain_ends add_chain(const branch_spec& chain) {
    auto& head = add({chain.name, {}}, std::make_unique<pass_through_node>());
    processor_node* tail = &head;
    auto append = [&](processor_node& next) {
      tail->add_child(next);
      tail = &next;
    };
    for (const auto& s : chain.steps) append(add_step(s));
    if (chain.aggregation) {
      std::optional<topic_writer> late;
      if (!chain.aggregation->late_topic.empty()) {
        const auto key_format =
            chain.sinks.empty() ? data_format::string : chain.sinks.front().key_format;
        late.emplace(chain.aggregation->late_topic, key_format, data_format::json, out_);
      }
      auto aggregator = std::make_unique<windowed_aggregator>(*chain.aggregation, plan_.stores,
                                                              stores_, registry_, metrics_);
      graph_.before_commit_.emplace_back([a = aggregator.get()] { a->before_commit(); });
      auto node = std::make_unique<window_aggregation_node>(std::move(aggregator), std::move(late));
      if (chains_.empty()) graph_.root_window_ = node.get();
      append(add({chain.aggregation->name, {}}, std::move(node)));
    }
    if (chain.table) {
      append(add({chain.table->name, {}},
                 std::make_unique<table_aggregation_node>(std::make_unique<table_aggregator>(
                     *chain.table, plan_.stores, stores_, registry_, metrics_,
                     chains_.empty() && plan_.folds_table_changes))));
    }
    for (const auto& s : chain.after) append(add_step(s));
    for (const auto& sink : chain.sinks) {
      processor_node* entry = tail;
      auto then = [&](processor_node& next) {
        entry->add_child(next);
        entry = &next;
      };
      if (!sink.when.empty()) {
        then(add({"when of sink " + sink.label(), {}}, std::make_unique<sink_when_node>(sink)));
      }
      for (const auto& s : sink.steps) then(add_step(s));
      then(add({"sink " + sink.label(), {}}, std::make_unique<sink_writer_node>(sink, out_)));
    }
    chains_.emplace_back(chain.name, chain_ends{&head, tail});
    return chains_.back().second;
  }

  // The node a step's records go to (for a two-sided join, its left side).
  processor_node& add_step(const step& s) {
    const std::string what = "step '" + s.name + "'";
    if (s.joins_stream()) {
      const auto names = stream_join_store_names(s);
      stream_join::stores join_stores{&stores_.window_store(find_plan(names.left, what)),
                                      &stores_.window_store(find_plan(names.right, what)), nullptr,
                                      nullptr};
      if (!names.pending.empty()) {
        join_stores.pending = &open_kv(names.pending, what);
        join_stores.time = &open_kv(names.time, what);
      }
      auto join = std::make_shared<stream_join>(s, join_stores, metrics_.join_dropped);
      graph_.before_commit_.emplace_back([j = join.get()] { j->before_commit(); });
      for (const auto& stream : plan_.streams) {
        if (stream.name == s.stream) add_join(s, join, stream.topic);
      }
      return *join_sides_.back().first;
    }
    if (const auto* joined = plan_.joined_table_of(s)) {
      const auto names = table_join_store_names(s);
      table_join::stores join_stores{&open_kv(names.left, what), &open_kv(names.right, what)};
      add_join(s,
               std::make_shared<table_join>(s, join_stores, metrics_.join_dropped,
                                            metrics_.table_records),
               joined->topic);
      return *join_sides_.back().first;
    }
    if (s.kind == step_kind::processor) return add_processor_step(s, what);
    if (s.kind == step_kind::table_changes) {
      return add({s.name, {}},
                 std::make_unique<table_changes_node>(open_kv(table_changes_store_name(s), what),
                                                      metrics_.join_dropped));
    }
    step_stores stores;
    if (s.kind == step_kind::join) {
      if (auto table = tables_.find(s.table); table != tables_.end()) {
        stores.emplace(s.table, table->second);
      }
    }
    return add({s.name, {}},
               std::make_unique<step_processor>(s, registry_, stores, &metrics_.filtered));
  }

  void add_join(const step& s, const std::shared_ptr<two_sided_join>& join,
                const std::string& right_topic) {
    auto& left = add({s.name, {}}, std::make_unique<join_side_node>(join, join_side::left));
    auto& right = add({s.name, {}}, std::make_unique<join_side_node>(join, join_side::right));
    graph_.joined_inputs_[right_topic] = &right;
    join_sides_.emplace_back(&left, &right);
  }

  processor_node& add_processor_step(const step& s, const std::string& what) {
    const auto* registered = registry_.find_processor(s.function);
    if (registered == nullptr) {
      throw std::invalid_argument(fmt::format("{}: no processor '{}'", what, s.function));
    }
    step_stores stores;
    for (const auto& store : s.stores) {
      stores.emplace(store.name, open_step_store(step_store_name(s, store.name), what));
    }
    state::kv_store* time_store = nullptr;
    if (const auto name = step_time_store_name(s); !name.empty()) time_store = &open_kv(name, what);
    auto& node = add({s.name, s.function}, std::make_unique<processor_runner>(s, *registered),
                     std::move(stores), time_store);
    node.set_schedules(registered->punctuate_every, registered->punctuate_every_stream_time);
    return node;
  }

  processor_graph& graph_;
  const sub_topology& plan_;
  store_provider& stores_;
  const function_registry& registry_;
  const std::map<std::string, state::kv_store*>& tables_;
  stream_clock& clock_;
  operator_metrics& metrics_;
  std::vector<output_record>& out_;
  std::vector<std::pair<std::string, chain_ends>> chains_;  // by chain name, in build order
  std::vector<std::pair<processor_node*, processor_node*>> join_sides_;  // left, right
};

processor_graph::processor_graph(const sub_topology& plan, store_provider& stores,
                                 const function_registry& registry,
                                 const std::map<std::string, state::kv_store*>& tables,
                                 stream_clock& clock, operator_metrics& metrics,
                                 std::vector<output_record>& out) {
  builder(*this, plan, stores, registry, tables, clock, metrics, out).build();
  for (auto& node : nodes_) {
    node->init();
    if (node->keeps_time()) timed_.push_back(node.get());
    if (node->has_wall_clock_schedule()) wall_clock_timed_.push_back(node.get());
  }
}

processor_graph::~processor_graph() = default;

processor_node* processor_graph::joined_input(const std::string& topic) const {
  auto found = joined_inputs_.find(topic);
  return found == joined_inputs_.end() ? nullptr : found->second;
}

void processor_graph::keep_stream_time() {
  for (auto* node : timed_) node->keep_stream_time();
}

void processor_graph::punctuate_stream_time() {
  for (auto* node : timed_) node->punctuate_stream_time_if_due();
}

bool processor_graph::punctuation_due(std::int64_t wall_clock_ms) {
  bool due = false;
  // Every node is asked, so that each starts its interval at the first call.
  for (auto* node : wall_clock_timed_) due = node->wall_clock_due(wall_clock_ms) || due;
  return due;
}

void processor_graph::punctuate(std::int64_t wall_clock_ms) {
  for (auto* node : wall_clock_timed_) node->punctuate_wall_clock_if_due(wall_clock_ms);
}

void processor_graph::before_commit() {
  for (const auto& save : before_commit_) save();
}

std::int64_t processor_graph::stream_time() const {
  return root_window_ != nullptr ? root_window_->stream_time() : -1;
}

}  // namespace sluice::operators
