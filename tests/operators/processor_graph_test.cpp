// The graph of processor nodes (operators/processor_node.hpp) and the built-in nodes
// (operators/builtin_nodes.hpp, operators/step_processor.hpp) through the processor interface:
// records go depth-first, a built-in node and a user's take each other's place, errors travel as
// processing_exception naming the step, and the built-in nodes schedule through the context.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "operators/builtin_nodes.hpp"
#include "operators/processor_node.hpp"
#include "operators/processor_runner.hpp"
#include "operators/step_processor.hpp"
#include "operators/store_provider.hpp"
#include "operators/table_join.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::collecting_context;
using testing::json;
using testing::make_record;
using testing::make_step;
using testing::process_through;
using namespace std::chrono_literals;

// Writes "<name>:<value>" to a shared log, then forwards the record.
class logging_node final : public processor {
 public:
  logging_node(std::string name, std::vector<std::string>& log)
      : name_(std::move(name)), log_(log) {}
  void process(const record& in, processor_context& context) override {
    log_.push_back(name_ + ":" + boost::json::serialize(in.value));
    context.forward(in);
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

// The last node of a test graph: keeps what reaches it.
class collecting_node final : public processor {
 public:
  explicit collecting_node(std::vector<record>& out) : out_(out) {}
  void process(const record& in, processor_context&) override { out_.push_back(in); }

 private:
  std::vector<record>& out_;
};

std::unique_ptr<processor_node> node(std::string name, std::unique_ptr<processor> p,
                                     stream_clock& clock, step_stores stores = {},
                                     state::kv_store* time_store = nullptr) {
  return std::make_unique<processor_node>(node_identity{std::move(name), {}}, std::move(p),
                                          std::move(stores), clock, time_store);
}

TEST(processor_graph, a_record_goes_through_the_whole_subgraph_of_a_child_before_the_next_child) {
  stream_clock clock;
  std::vector<std::string> log;
  std::vector<record> out;
  auto root = node("root", std::make_unique<logging_node>("root", log), clock);
  auto a = node("a", std::make_unique<logging_node>("a", log), clock);
  auto a_child = node("a-child", std::make_unique<logging_node>("a-child", log), clock);
  auto b = node("b", std::make_unique<logging_node>("b", log), clock);
  auto sink = node("sink", std::make_unique<collecting_node>(out), clock);
  root->add_child(*a);
  root->add_child(*b);
  a->add_child(*a_child);
  a_child->add_child(*sink);
  b->add_child(*sink);

  root->receive(make_record("1", "1"));
  root->receive(make_record("2", "2"));

  EXPECT_EQ(log, (std::vector<std::string>{"root:1", "a:1", "a-child:1", "b:1", "root:2", "a:2",
                                           "a-child:2", "b:2"}));
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[1].value, json("1"));  // the merge got each parent's copy, as they came
}

// A user processor: counts records per key in its "seen" store and forwards the count.
class counting final : public processor {
 public:
  void process(const record& in, processor_context& context) override {
    auto& seen = context.store("seen");
    const auto key = boost::json::serialize(in.key);
    const auto stored = seen.get(key);
    const auto count = (stored ? std::stoll(*stored) : 0) + 1;
    seen.put(key, std::to_string(count));
    record r = in;
    r.value = count;
    context.forward(std::move(r));
  }
};

TEST(processor_graph, built_in_and_user_nodes_take_each_others_place) {
  stream_clock clock;
  in_memory_store_provider stores;
  const function_registry no_functions;
  registered_processor registration{[] { return std::make_unique<counting>(); }, {{"seen"}}};
  step user_step;
  user_step.kind = step_kind::processor;
  user_step.name = "count";
  user_step.function = "counting";
  auto& seen = stores.kv_store(store_plan{"count-seen", store_kind::key_value, "", 0ms});
  std::vector<record> out;

  // filter -> user processor -> sink, then the same two the other way round.
  auto filter = node(
      "big",
      std::make_unique<step_processor>(make_step(step_kind::filter, "value >= 10"), no_functions),
      clock);
  auto user =
      std::make_unique<processor_node>(node_identity{"count", "counting"},
                                       std::make_unique<processor_runner>(user_step, registration),
                                       step_stores{{"seen", &seen}}, clock, nullptr);
  auto sink = node("sink", std::make_unique<collecting_node>(out), clock);
  filter->add_child(*user);
  user->add_child(*sink);
  filter->init();
  user->init();
  for (int v : {5, 12, 30}) filter->receive(make_record("\"k\"", std::to_string(v)));
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].value, json("2"));

  out.clear();
  auto user_first =
      std::make_unique<processor_node>(node_identity{"count", "counting"},
                                       std::make_unique<processor_runner>(user_step, registration),
                                       step_stores{{"seen", &seen}}, clock, nullptr);
  auto filter_after = node(
      "big",
      std::make_unique<step_processor>(make_step(step_kind::filter, "value >= 2"), no_functions),
      clock);
  user_first->add_child(*filter_after);
  filter_after->add_child(*sink);
  user_first->init();
  for (int v : {1, 1, 1}) user_first->receive(make_record("\"j\"", std::to_string(v)));
  ASSERT_EQ(out.size(), 2U);  // counts 1, 2, 3 of key "j": the filter keeps 2 and 3
  EXPECT_EQ(out[0].value, json("2"));
}

TEST(processor_graph, an_error_deep_in_the_graph_names_its_step_and_record) {
  stream_clock clock;
  const function_registry no_functions;
  std::vector<record> out;
  auto pass = node("head", std::make_unique<pass_through_node>(), clock);
  auto map = node("half",
                  std::make_unique<step_processor>(make_step(step_kind::map, "value.n / 2", "half"),
                                                   no_functions),
                  clock);
  auto sink = node("sink", std::make_unique<collecting_node>(out), clock);
  pass->add_child(*map);
  map->add_child(*sink);
  try {
    pass->receive(make_record("1", R"({"n":"x"})", 0, 17));
    FAIL() << "expected a processing_exception";
  } catch (const processing_exception& e) {
    EXPECT_EQ(e.error().step, "half");
    EXPECT_EQ(e.error().origin.offset, 17);
  }
  EXPECT_TRUE(out.empty());
}

TEST(processor_graph, a_user_processor_that_throws_reaches_no_child_with_what_it_forwarded) {
  class forwards_then_throws final : public processor {
   public:
    void process(const record& in, processor_context& context) override {
      context.forward(in);
      throw std::runtime_error("after forwarding");
    }
  };
  stream_clock clock;
  step s;
  s.kind = step_kind::processor;
  s.name = "p";
  s.function = "forwards_then_throws";
  registered_processor registration{[] { return std::make_unique<forwards_then_throws>(); }};
  std::vector<record> out;
  auto user = std::make_unique<processor_node>(node_identity{"p", s.function},
                                               std::make_unique<processor_runner>(s, registration),
                                               step_stores{}, clock, nullptr);
  auto sink = node("sink", std::make_unique<collecting_node>(out), clock);
  user->add_child(*sink);
  try {
    user->receive(make_record("1", "1"));
    FAIL() << "expected a processing_exception";
  } catch (const processing_exception& e) {
    EXPECT_EQ(e.error().kind, error_kind::user_function);
    EXPECT_EQ(e.error().message, "processor 'forwards_then_throws' threw: after forwarding");
  }
  EXPECT_TRUE(out.empty());
}

TEST(builtin_nodes, a_table_aggregation_with_emit_every_schedules_its_punctuation_in_init) {
  in_memory_store_provider stores;
  const function_registry no_functions;
  operator_metrics metrics;
  table_aggregation_spec spec;
  spec.name = "t";
  spec.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""}};
  spec.emit_every = 1s;
  const std::vector<store_plan> plans{{"t-store", store_kind::key_value, "", 0ms},
                                      {"t-pending", store_kind::key_value, "", 0ms}};
  table_aggregation_node table(
      std::make_unique<table_aggregator>(spec, plans, stores, no_functions, metrics));
  collecting_context context;
  table.init(context);
  ASSERT_EQ(context.schedules.size(), 1U);
  EXPECT_EQ(context.schedules[0],
            std::make_pair(std::chrono::milliseconds(1s), punctuation_type::wall_clock_time));

  ASSERT_FALSE(process_through(table, make_record("\"a\"", "1", 5), context));
  ASSERT_FALSE(process_through(table, make_record("\"a\"", "2", 6), context));
  EXPECT_TRUE(context.forwarded.empty());  // marked, not emitted
  table.punctuate(punctuation_type::wall_clock_time, 1000, context);
  ASSERT_EQ(context.forwarded.size(), 1U);
  EXPECT_EQ(context.forwarded[0].value, json(R"({"n":2})"));
}

TEST(builtin_nodes, a_sink_writes_to_the_topic_its_expression_gives_or_fails_naming_the_sink) {
  sink_spec sink;
  sink.topic_from = "value.to";
  sink.topics = {"a", "b"};
  std::vector<output_record> out;
  sink_writer_node writer(sink, out);
  collecting_context context;
  ASSERT_FALSE(process_through(writer, make_record("\"k\"", R"({"to":"b"})"), context));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].topic, "b");
  const auto e = process_through(writer, make_record("\"k\"", R"({"to":"c"})"), context);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->step, "sink topic_from value.to");
  EXPECT_EQ(out.size(), 1U);
}

TEST(builtin_nodes, the_two_sides_of_a_join_are_two_nodes_sharing_its_state) {
  in_memory_store_provider stores;
  operator_metrics metrics;
  step s;
  s.kind = step_kind::join;
  s.name = "j";
  s.table = "owners";
  s.into = "owner";
  s.join = join_kind::inner;
  auto join = std::make_shared<table_join>(
      s,
      table_join::stores{&stores.kv_store(store_plan{"j-left", store_kind::key_value, "", 0ms}),
                         &stores.kv_store(store_plan{"j-right", store_kind::key_value, "", 0ms})},
      metrics.join_dropped, metrics.table_records);
  join_side_node left(join, join_side::left);
  join_side_node right(join, join_side::right);
  collecting_context context;
  ASSERT_FALSE(process_through(left, make_record("\"k\"", R"({"a":1})", 5), context));
  EXPECT_TRUE(context.forwarded.empty());
  ASSERT_FALSE(process_through(right, make_record("\"k\"", R"("ann")", 7), context));
  ASSERT_EQ(context.forwarded.size(), 1U);
  EXPECT_EQ(context.forwarded[0].value, json(R"({"a":1,"owner":"ann"})"));
  EXPECT_EQ(context.forwarded[0].timestamp, 7);
}

TEST(processor_node, a_stream_time_schedule_needs_a_time_store_and_init_is_the_only_place_for_it) {
  class schedules_in_process final : public processor {
   public:
    void init(processor_context& context) override {
      context.schedule(10ms, punctuation_type::wall_clock_time);
    }
    void process(const record&, processor_context& context) override {
      context.schedule(10ms, punctuation_type::wall_clock_time);
    }
  };
  stream_clock clock;
  auto n = node("p", std::make_unique<schedules_in_process>(), clock);
  n->init();
  EXPECT_TRUE(n->has_wall_clock_schedule());
  EXPECT_THROW(n->receive(make_record("1", "1")), std::logic_error);
  EXPECT_THROW(n->schedule(10ms, punctuation_type::stream_time), std::logic_error);
}

TEST(processor_node, a_punctuation_after_a_failed_record_sees_no_current_record) {
  class fails_then_punctuates final : public processor {
   public:
    explicit fails_then_punctuates(std::optional<record_metadata>& seen) : seen_(seen) {}
    void init(processor_context& context) override {
      context.schedule(10ms, punctuation_type::wall_clock_time);
    }
    void process(const record& in, processor_context& context) override {
      seen_ = context.current_record();
      throw processing_exception(processing_error{error_kind::evaluation, "no", in.origin, "p"});
    }
    void punctuate(punctuation_type, std::int64_t, processor_context& context) override {
      seen_ = context.current_record();
    }

   private:
    std::optional<record_metadata>& seen_;
  };
  stream_clock clock;
  std::optional<record_metadata> seen;
  auto n = node("p", std::make_unique<fails_then_punctuates>(seen), clock);
  n->init();
  EXPECT_FALSE(n->wall_clock_due(0));  // the interval starts: due at 10
  EXPECT_THROW(n->receive(make_record("1", "1", 0, 3)), processing_exception);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->offset, 3);
  n->punctuate_wall_clock_if_due(10);
  EXPECT_FALSE(seen);
}

}  // namespace
}  // namespace sluice::operators
