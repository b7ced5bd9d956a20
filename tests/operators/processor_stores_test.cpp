// User processors with window and session stores and stream-time punctuation
// (operators/processor.hpp, operators/processor_runner.hpp): how stores are declared (the
// registry, validation, the plan), what the context hands out, and when stream-time punctuations
// run, also across restarts and aborts, over in-memory stores.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "operators/sub_topology_processor.hpp"
#include "operators/topology_validation.hpp"
#include "state/json_serde.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using namespace std::chrono_literals;
using testing::linear_pipeline;
namespace json = boost::json;

step processor_step(std::string function, std::vector<store_spec> stores, std::string name = "p") {
  step s;
  s.kind = step_kind::processor;
  s.name = std::move(name);
  s.function = std::move(function);
  s.stores = std::move(stores);
  return s;
}

raw_record raw(std::int64_t timestamp, std::int64_t offset, std::string value = R"({"n":1})") {
  return raw_record{
      record_origin{"in", 0, offset}, std::string("k"), std::move(value), timestamp, {}};
}

// ---- declarations ----

TEST(processor_stores, a_store_named_alone_is_a_key_value_store_and_kinds_are_declared) {
  function_registry registry;
  registry.add_processor("by_name", [] { return std::unique_ptr<processor>(); }, {"seen"});
  registry.add_processor("kinds", {.factory = [] { return std::unique_ptr<processor>(); },
                                   .stores = {"seen", window_store_spec("recent", 1h, 5min),
                                              session_store_spec("visits", 30min)},
                                   .punctuate_every_stream_time = 1min});
  const auto& by_name = registry.find_processor("by_name")->stores;
  ASSERT_EQ(by_name.size(), 1U);
  EXPECT_EQ(by_name[0].kind, store_kind::key_value);
  const auto* kinds = registry.find_processor("kinds");
  ASSERT_EQ(kinds->stores.size(), 3U);
  EXPECT_EQ(kinds->stores[1].kind, store_kind::window);
  EXPECT_EQ(kinds->stores[1].retention, 1h);
  EXPECT_EQ(kinds->stores[1].window, 5min);
  EXPECT_EQ(kinds->stores[2].kind, store_kind::session);
  EXPECT_EQ(kinds->stores[2].retention, 30min);
  EXPECT_EQ(kinds->punctuate_every_stream_time, 1min);
}

// The message add_processor throws for `registration`, or "" when it accepts it.
std::string refusal(registered_processor registration) {
  registration.factory = [] { return std::unique_ptr<processor>(); };
  function_registry registry;
  try {
    registry.add_processor("x", std::move(registration));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(processor_stores, registration_refuses_stores_it_could_not_plan) {
  EXPECT_EQ(refusal({.stores = {window_store_spec("w", 0ms, 5min)}}),
            "processor 'x': store 'w': retention must be positive");
  EXPECT_EQ(refusal({.stores = {window_store_spec("w", 1min, 5min)}}),
            "processor 'x': store 'w': retention must be at least the window (60000 ms < 300000 "
            "ms): a window would expire before it is over");
  EXPECT_EQ(refusal({.stores = {session_store_spec("s", 0ms)}}),
            "processor 'x': store 's': retention must be positive");
  EXPECT_EQ(refusal({.stores = {"time"}}),
            "processor 'x': store name 'time' is reserved (a step keeps its stream time there)");
  EXPECT_EQ(refusal({.stores = {"a", window_store_spec("a", 1h, 1min)}}),
            "processor 'x': store 'a' is declared twice");
  EXPECT_EQ(refusal({.punctuate_every_stream_time = 1s}),
            "processor 'x': a stream-time punctuation needs a store (stream time and the "
            "punctuation schedule are kept with the processor's stores, so that a restart goes on "
            "from them)");
  EXPECT_EQ(refusal({.stores = {"a"}, .punctuate_every_stream_time = 1s}), "");
}

TEST(processor_stores, validation_checks_each_store_against_the_registration) {
  function_registry registry;
  registry.add_processor(
      "recent", {.factory = [] { return std::unique_ptr<processor>(); },
                 .stores = {window_store_spec("recent", 1h, 5min), session_store_spec("v", 1h)}});
  const auto errors = [&](std::vector<store_spec> stores) {
    std::vector<std::string> out;
    for (const auto& e :
         validate_topology(linear_pipeline({processor_step("recent", stores)}), registry))
      out.push_back(e.path + ": " + e.message);
    return out;
  };
  // More retention than the registration asks for is fine.
  EXPECT_TRUE(errors({window_store_spec("recent", 2h, 5min), session_store_spec("v", 1h)}).empty());
  EXPECT_EQ(
      errors({"recent", session_store_spec("v", 30min)}),
      (std::vector<std::string>{
          "steps[0].processor.stores: processor 'recent' uses store 'recent' as {name: recent, "
          "kind: window, retention: 3600000ms, window: 300000ms}, but the step declares recent",
          "steps[0].processor.stores: processor 'recent' uses store 'v' as {name: v, kind: "
          "session, retention: 3600000ms}, but the step declares {name: v, kind: session, "
          "retention: 1800000ms} (a retention at least the registration's)"}));
  EXPECT_EQ(errors({window_store_spec("recent", 1h, 1min), session_store_spec("v", 1h)}),
            (std::vector<std::string>{
                "steps[0].processor.stores: processor 'recent' uses store 'recent' as {name: "
                "recent, kind: window, retention: 3600000ms, window: 300000ms}, but the step "
                "declares {name: recent, kind: window, retention: 3600000ms, window: 60000ms}"}));
  auto key_value_with_retention = store_spec("v");
  key_value_with_retention.retention = 1h;
  EXPECT_EQ(errors({window_store_spec("recent", 1h, 5min), key_value_with_retention,
                    window_store_spec("time", 1h, 0ms)}),
            (std::vector<std::string>{
                "steps[0].processor.stores[1].retention: a key_value store keeps every key until "
                "it is removed: only window and session stores have a retention",
                "steps[0].processor.stores[2]: 'time' is reserved: the step keeps its stream time "
                "in 'p-time'",
                "steps[0].processor.stores[2].window: must be positive",
                "steps[0].processor.stores: processor 'recent' uses store 'v' as {name: v, kind: "
                "session, retention: 3600000ms}, but the step declares v"}));
}

TEST(processor_stores, the_planner_plans_each_kind_with_its_retention_and_the_time_store) {
  const auto plan = plan_topology(linear_pipeline({processor_step(
      "any", {"seen", window_store_spec("recent", 1h, 5min), session_store_spec("v", 30min)})}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  EXPECT_EQ(plan.sub_topologies[0].stores,
            (std::vector<store_plan>{
                {"p-seen", store_kind::key_value, "app-p-seen-changelog", 0ms},
                {"p-recent", store_kind::window, "app-p-recent-changelog", 1h},
                {"p-v", store_kind::session, "app-p-v-changelog", 30min},
                {"p-time", store_kind::key_value, "app-p-time-changelog", 0ms},
            }));
  EXPECT_EQ(plan.changelog_topics,
            (std::vector<std::string>{"app-p-seen-changelog", "app-p-recent-changelog",
                                      "app-p-v-changelog", "app-p-time-changelog"}));
  // Without stores a processor keeps nothing, not even stream time.
  EXPECT_TRUE(
      plan_topology(linear_pipeline({processor_step("any", {})})).sub_topologies[0].stores.empty());
}

// ---- the context ----

// Writes each record to all three kinds of store and forwards what it reads back; value.ask
// names a store to ask for with the wrong kind.
class typed final : public processor {
 public:
  void process(const record& in, processor_context& context) override {
    const auto& value = in.value.as_object();
    if (const auto* ask = value.if_contains("ask")) {
      const std::string name(ask->as_string());
      if (value.contains("as_window")) (void)context.window_store(name);
      if (value.contains("as_session")) (void)context.session_store(name);
      (void)context.store(name);
    }
    const auto key = state::json_serde::serialize(in.key);
    const auto bucket = in.timestamp - in.timestamp % 10;
    auto& recent = context.window_store("recent");
    const auto before = recent.fetch(key, bucket);
    const auto count = before ? std::stoll(*before) + 1 : 1;
    recent.put(key, bucket, std::to_string(count));
    auto& visits = context.session_store("visits");
    visits.put(key, in.timestamp, in.timestamp + 5, "visit");
    json::array sessions;
    visits.find_sessions(
        key, 0, in.timestamp + 100,
        [&](state::bytes_view, std::int64_t start, std::int64_t end, state::bytes_view) {
          sessions.push_back(json::array{start, end});
          return true;
        });
    context.store("seen").put(key, "1");
    record out = in;
    out.value = json::object{{"bucket", bucket}, {"count", count}, {"sessions", sessions}};
    context.forward(std::move(out));
  }
};

// The typed processor in a task of its own, over in-memory stores.
struct typed_task {
  static function_registry registry_with_typed() {
    function_registry registry;
    registry.add_processor("typed", [] { return std::make_unique<typed>(); });
    return registry;
  }

  function_registry registry = registry_with_typed();
  sub_topology plan =
      plan_topology(
          linear_pipeline({processor_step("typed", {"seen", window_store_spec("recent", 50ms, 10ms),
                                                    session_store_spec("visits", 50ms)})}))
          .sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor processor{plan, stores, registry};
  std::vector<output_record> out;
};

TEST(processor_stores, the_context_hands_out_each_declared_store_as_its_kind) {
  typed_task task;
  for (const auto& [timestamp, offset] : {std::pair{11, 0}, std::pair{14, 1}, std::pair{23, 2}}) {
    ASSERT_FALSE(task.processor.process(raw(timestamp, offset), task.out));
  }
  std::vector<std::string> values;
  for (const auto& o : task.out) values.push_back(*o.value);
  EXPECT_EQ(values, (std::vector<std::string>{
                        R"({"bucket":10,"count":1,"sessions":[[11,16]]})",
                        R"({"bucket":10,"count":2,"sessions":[[11,16],[14,19]]})",
                        R"({"bucket":20,"count":1,"sessions":[[11,16],[14,19],[23,28]]})"}));
  // The stores are the plan's, with its retention.
  EXPECT_EQ(task.stores.window_store(task.plan.stores.at(1)).retention(), 50ms);
  EXPECT_EQ(task.stores.session_store(task.plan.stores.at(2)).retention(), 50ms);
}

TEST(processor_stores, asking_for_an_undeclared_store_or_the_wrong_kind_names_the_declared_ones) {
  typed_task task;
  const auto error = [&](const std::string& value) {
    auto e = task.processor.process(raw(1, 0, value), task.out);
    return e ? e->message : std::string("no error");
  };
  const std::string declared = "(stores: recent (window), seen (key_value), visits (session))";
  EXPECT_EQ(error(R"({"ask":"seen","as_window":1})"),
            "processor 'typed' threw: processor 'typed' asked for window store 'seen', but step "
            "'p' declares it as a key_value store " +
                declared);
  EXPECT_EQ(error(R"({"ask":"recent"})"),
            "processor 'typed' threw: processor 'typed' asked for key_value store 'recent', but "
            "step 'p' declares it as a window store " +
                declared);
  EXPECT_EQ(error(R"({"ask":"recent","as_session":1})"),
            "processor 'typed' threw: processor 'typed' asked for session store 'recent', but "
            "step 'p' declares it as a window store " +
                declared);
  EXPECT_EQ(error(R"({"ask":"elsewhere","as_window":1})"),
            "processor 'typed' threw: processor 'typed' asked for window store 'elsewhere', but "
            "step 'p' declares stores: recent (window), seen (key_value), visits (session)");
  EXPECT_TRUE(task.out.empty());
}

// ---- stream time ----

// Forwards, for each record and each punctuation, what it saw: "record T", "punctuation T", each
// with the stream time the context gave (and whether the context had a current record). Its
// init() remembers the stream time it found.
std::int64_t stream_time_at_init = -2;

class clocked final : public processor {
 public:
  void init(processor_context& context) override {
    stream_time_at_init = context.stream_time();
    EXPECT_FALSE(context.current_record());
  }
  void process(const record& in, processor_context& context) override {
    const auto current = context.current_record();
    EXPECT_TRUE(current);
    if (in.value.as_object().contains("boom")) throw std::runtime_error("boom");
    report(context, fmt::format("record {}", in.timestamp));
  }
  void punctuate(punctuation_type type, std::int64_t time, processor_context& context) override {
    EXPECT_EQ(type, punctuation_type::stream_time);
    EXPECT_FALSE(context.current_record());
    report(context, fmt::format("punctuation {}", time));
  }

 private:
  static void report(processor_context& context, const std::string& what) {
    record out;
    out.key = "k";
    out.value = json::object{{"what", what}, {"stream", context.stream_time()}};
    context.forward(std::move(out));
  }
};

function_registry clocked_registry() {
  function_registry registry;
  registry.add_processor("clocked", {.factory = [] { return std::make_unique<clocked>(); },
                                     .stores = {"any"},
                                     .punctuate_every_stream_time = 10ms});
  return registry;
}

// The clocked processor, then a map step its outputs (punctuations' included) go through.
sub_topology clocked_plan() {
  return plan_topology(
             linear_pipeline(
                 {processor_step("clocked", {"any"}),
                  testing::make_step(step_kind::map,
                                     "{ what: concat(value.what, ' via m'), stream: value.stream }",
                                     "m")}))
      .sub_topologies.at(0);
}

// Each output as "<what> (stream <stream time>)".
std::vector<std::string> reports(const std::vector<output_record>& out) {
  std::vector<std::string> seen;
  for (const auto& o : out) {
    const auto value = json::parse(*o.value).as_object();
    seen.push_back(fmt::format("{} (stream {})", value.at("what").as_string().c_str(),
                               value.at("stream").as_int64()));
  }
  return seen;
}

const std::vector<std::int64_t> timestamps{5, 7, 12, 9, 31, 40};

TEST(processor_stream_time, a_punctuation_follows_the_record_that_makes_it_due) {
  const auto registry = clocked_registry();
  const auto plan = clocked_plan();
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  EXPECT_EQ(stream_time_at_init, -1);
  std::vector<output_record> out;
  for (std::size_t i = 0; i < timestamps.size(); ++i) {
    ASSERT_FALSE(p.process(raw(timestamps[i], static_cast<std::int64_t>(i)), out));
  }
  // Aligned to multiples of 10 from 0, as Kafka Streams does: the first with the first record;
  // 9 is out of order and moves nothing; 31 skips the punctuation at 30 that was missed (one
  // punctuation per record at most, with the stream time that made it due).
  EXPECT_EQ(reports(out), (std::vector<std::string>{
                              "record 5 via m (stream 5)",
                              "punctuation 5 via m (stream 5)",
                              "record 7 via m (stream 7)",
                              "record 12 via m (stream 12)",
                              "punctuation 12 via m (stream 12)",
                              "record 9 via m (stream 12)",
                              "record 31 via m (stream 31)",
                              "punctuation 31 via m (stream 31)",
                              "record 40 via m (stream 40)",
                              "punctuation 40 via m (stream 40)",
                          }));
}

TEST(processor_stream_time,
     a_restarted_or_aborted_task_punctuates_where_an_uninterrupted_one_would) {
  const auto registry = clocked_registry();
  const auto plan = clocked_plan();
  std::vector<output_record> uninterrupted;
  {
    in_memory_store_provider stores;
    sub_topology_processor p(plan, stores, registry);
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
      ASSERT_FALSE(p.process(raw(timestamps[i], static_cast<std::int64_t>(i)), uninterrupted));
    }
  }
  in_memory_store_provider stores;
  std::vector<output_record> committed;
  {
    sub_topology_processor p(plan, stores, registry);
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_FALSE(p.process(raw(timestamps[i], static_cast<std::int64_t>(i)), committed));
    }
    stores.commit_all(state::changelog_offset{3});
  }
  {
    // A task that processes two more records and then crashes: its writes are dropped.
    sub_topology_processor p(plan, stores, registry);
    EXPECT_EQ(stream_time_at_init, 12);
    std::vector<output_record> lost;
    for (std::size_t i = 3; i < 5; ++i) {
      ASSERT_FALSE(p.process(raw(timestamps[i], static_cast<std::int64_t>(i)), lost));
    }
    EXPECT_EQ(reports(lost).size(), 3U);
    stores.abort_all();
  }
  sub_topology_processor p(plan, stores, registry);
  EXPECT_EQ(stream_time_at_init, 12);
  for (std::size_t i = 3; i < timestamps.size(); ++i) {
    ASSERT_FALSE(p.process(raw(timestamps[i], static_cast<std::int64_t>(i)), committed));
  }
  EXPECT_EQ(reports(committed), reports(uninterrupted));
}

TEST(processor_stream_time, a_record_that_fails_still_moves_stream_time) {
  const auto registry = clocked_registry();
  const auto plan = clocked_plan();
  in_memory_store_provider stores;
  std::vector<output_record> out;
  {
    sub_topology_processor p(plan, stores, registry);
    ASSERT_FALSE(p.process(raw(5, 0), out));
    ASSERT_TRUE(p.process(raw(25, 1, R"({"boom":1})"), out));  // skipped by the on-error policy
    stores.commit_all(state::changelog_offset{2});
  }
  sub_topology_processor p(plan, stores, registry);
  EXPECT_EQ(stream_time_at_init, 25);
  ASSERT_FALSE(p.process(raw(14, 2), out));  // the punctuation due at 10 runs, with stream time 25
  EXPECT_EQ(reports(out), (std::vector<std::string>{
                              "record 5 via m (stream 5)",
                              "punctuation 5 via m (stream 5)",
                              "record 14 via m (stream 25)",
                              "punctuation 25 via m (stream 25)",
                          }));
}

// ---- schedule() ----

// The clocked processor, but it asks for its punctuations itself, in init(): `interval` of
// `type` time; with `from_process`, schedule() is (wrongly) called from process() too.
class self_scheduled final : public processor {
 public:
  self_scheduled(punctuation_type type, std::chrono::milliseconds interval, bool from_process)
      : type_(type), interval_(interval), from_process_(from_process) {}
  void init(processor_context& context) override {
    context.schedule(interval_, type_);
    clocked_.init(context);
  }
  void process(const record& in, processor_context& context) override {
    if (from_process_) context.schedule(interval_, type_);
    clocked_.process(in, context);
  }
  void punctuate(punctuation_type type, std::int64_t time, processor_context& context) override {
    record out;
    out.key = "k";
    out.value = json::object{{"what", fmt::format("{} {}", to_string(type), time)},
                             {"stream", context.stream_time()}};
    context.forward(std::move(out));
  }

 private:
  clocked clocked_;
  punctuation_type type_;
  std::chrono::milliseconds interval_;
  bool from_process_;
};

// A registration that asks for no punctuation; the processor schedules its own.
function_registry self_scheduled_registry(punctuation_type type, std::chrono::milliseconds interval,
                                          bool from_process = false) {
  function_registry registry;
  registry.add_processor(
      "clocked",
      {.factory = [=] { return std::make_unique<self_scheduled>(type, interval, from_process); },
       .stores = {"any"}});
  return registry;
}

TEST(processor_schedule, a_stream_time_schedule_from_init_punctuates_like_a_registered_one) {
  const auto registry = self_scheduled_registry(punctuation_type::stream_time, 10ms);
  const auto plan = clocked_plan();
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  std::vector<output_record> out;
  for (std::int64_t t : {5, 7, 12}) ASSERT_FALSE(p.process(raw(t, t), out));
  EXPECT_EQ(reports(out), (std::vector<std::string>{
                              "record 5 via m (stream 5)",
                              "stream_time 5 via m (stream 5)",
                              "record 7 via m (stream 7)",
                              "record 12 via m (stream 12)",
                              "stream_time 12 via m (stream 12)",
                          }));
}

TEST(processor_schedule, a_wall_clock_schedule_from_init_is_due_every_interval) {
  const auto registry = self_scheduled_registry(punctuation_type::wall_clock_time, 50ms);
  const auto plan = clocked_plan();
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  std::vector<output_record> out;
  EXPECT_FALSE(p.punctuation_due(1000));  // the first interval starts now
  EXPECT_FALSE(p.punctuation_due(1049));
  ASSERT_TRUE(p.punctuation_due(1050));
  ASSERT_FALSE(p.punctuate(1050, out));
  EXPECT_EQ(reports(out), (std::vector<std::string>{"wall_clock_time 1050 via m (stream -1)"}));
  EXPECT_FALSE(p.punctuation_due(1060));
}

TEST(processor_schedule, schedule_outside_init_or_without_a_store_for_stream_time_is_refused) {
  const auto plan = clocked_plan();
  in_memory_store_provider stores;
  {
    const auto registry = self_scheduled_registry(punctuation_type::stream_time, 10ms, true);
    sub_topology_processor p(plan, stores, registry);
    std::vector<output_record> out;
    const auto error = p.process(raw(5, 0), out);
    ASSERT_TRUE(error);
    EXPECT_NE(error->describe().find("processor 'clocked': schedule() is called from init() only"),
              std::string::npos)
        << error->describe();
  }
  const auto no_stores =
      plan_topology(linear_pipeline({processor_step("clocked", {})})).sub_topologies.at(0);
  function_registry registry;
  registry.add_processor("clocked", [] {
    return std::make_unique<self_scheduled>(punctuation_type::stream_time, 10ms, false);
  });
  try {
    sub_topology_processor p(no_stores, stores, registry);
    ADD_FAILURE() << "a stream-time schedule without a store was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("a stream-time punctuation needs a store"),
              std::string::npos)
        << e.what();
  }
  for (auto interval : {0ms, -5ms}) {
    const auto wall_clock = self_scheduled_registry(punctuation_type::wall_clock_time, interval);
    EXPECT_THROW({ sub_topology_processor p(plan, stores, wall_clock); }, std::invalid_argument)
        << interval.count();
  }
}

// Forwards what the context says of the record it is processing.
class where final : public processor {
 public:
  void process(const record& in, processor_context& context) override {
    const auto current = context.current_record().value();
    json::array headers;
    for (const auto& h : current.headers) headers.push_back(json::array{h.key, *h.value});
    record out = in;
    out.value = json::object{{"topic", current.topic},        {"partition", current.partition},
                             {"offset", current.offset},      {"timestamp", current.timestamp},
                             {"headers", std::move(headers)}, {"stream", context.stream_time()}};
    context.forward(std::move(out));
  }
};

TEST(processor_stream_time, the_context_gives_the_current_record_metadata_and_stream_time) {
  function_registry registry;
  registry.add_processor("where", [] { return std::make_unique<where>(); });
  // set_timestamp before it: the processor sees the record's new time, and stream time stays
  // the input's (Kafka Streams' stream time is the time records are read with).
  const auto plan =
      plan_topology(linear_pipeline({testing::make_step(step_kind::set_timestamp, "value.at", "ts"),
                                     processor_step("where", {})}))
          .sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  std::vector<output_record> out;
  auto in = raw(500, 7, R"({"at":99})");
  in.origin.partition = 3;
  in.headers = {header{"trace", "abc"}};
  ASSERT_FALSE(p.process(in, out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(*out[0].value,
            R"({"topic":"in","partition":3,"offset":7,"timestamp":99,"headers":[["trace","abc"]],)"
            R"("stream":500})");
}

}  // namespace
}  // namespace sluice::operators
