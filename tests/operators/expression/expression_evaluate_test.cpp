// Evaluation: every operator, the int/double rules, null semantics, paths, literals, runtime
// errors and predicates.

#include <gmock/gmock.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "tests/operators/expression/expression_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::compile_ok;
using testing::eval;
using testing::eval_error_of;
using ::testing::HasSubstr;
using testing::json;
namespace bj = boost::json;

TEST(expression_evaluate, literals) {
  EXPECT_EQ(eval("42"), bj::value(42));
  EXPECT_EQ(eval("-42"), bj::value(-42));
  EXPECT_EQ(eval("1.5"), bj::value(1.5));
  EXPECT_EQ(eval("2e3"), bj::value(2000.0));
  EXPECT_EQ(eval("'it\\'s'"), bj::value("it's"));
  EXPECT_EQ(eval("\"a\\\"b\\\\c\\/\\t\""), bj::value("a\"b\\c/\t"));
  EXPECT_EQ(eval("'\\u00e9\\ud83d\\ude00'"), bj::value("\xc3\xa9\xf0\x9f\x98\x80"));
  EXPECT_EQ(eval("true"), bj::value(true));
  EXPECT_EQ(eval("false"), bj::value(false));
  EXPECT_EQ(eval("null"), bj::value());
  EXPECT_EQ(eval("-9223372036854775808"), bj::value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(eval("9223372036854775807"), bj::value(std::numeric_limits<std::int64_t>::max()));
}

TEST(expression_evaluate, integer_arithmetic_stays_int) {
  EXPECT_EQ(eval("1 + 2 * 3"), bj::value(7));
  EXPECT_EQ(eval("(1 + 2) * 3"), bj::value(9));
  EXPECT_EQ(eval("10 - 2 - 3"), bj::value(5));
  EXPECT_EQ(eval("7 / 2"), bj::value(3));
  EXPECT_EQ(eval("-7 / 2"), bj::value(-3));  // truncates toward zero
  EXPECT_EQ(eval("7 % 3"), bj::value(1));
  EXPECT_EQ(eval("-7 % 3"), bj::value(-1));
  EXPECT_EQ(eval("-9223372036854775808 % -1"), bj::value(0));
  EXPECT_EQ(eval("value.amount * 2"), bj::value(300));
  EXPECT_TRUE(eval("value.count + 1").is_int64());
}

TEST(expression_evaluate, any_double_makes_a_double) {
  EXPECT_EQ(eval("1 + 0.5"), bj::value(1.5));
  EXPECT_EQ(eval("value.price * 2"), bj::value(5.0));
  EXPECT_TRUE(eval("2.0 * 3").is_double());
  EXPECT_EQ(eval("7 / 2.0"), bj::value(3.5));
  EXPECT_EQ(eval("7.5 % 2"), bj::value(1.5));
  EXPECT_EQ(eval("-value.price"), bj::value(-2.5));
  // A uint64 beyond int64 computes as a double.
  EXPECT_TRUE(eval("value.huge + 1").is_double());
}

TEST(expression_evaluate, integer_overflow_is_an_error) {
  EXPECT_EQ(eval_error_of("value.big + 1"),
            "integer overflow in 9223372036854775807 + 1 at column 10");
  EXPECT_THAT(eval_error_of("-9223372036854775808 - 1"), HasSubstr("integer overflow"));
  EXPECT_THAT(eval_error_of("value.big * 2"), HasSubstr("integer overflow"));
  EXPECT_THAT(eval_error_of("-9223372036854775808 / -1"), HasSubstr("integer overflow"));
  EXPECT_THAT(eval_error_of("-(value.big + 0 - value.big - 9223372036854775807 - 1)"),
              HasSubstr("integer overflow in -(-9223372036854775808)"));
  EXPECT_THAT(eval_error_of("1e308 * 10"), HasSubstr("numeric overflow in '*'"));
}

TEST(expression_evaluate, division_by_zero_is_an_error) {
  EXPECT_EQ(eval_error_of("value.amount / 0"), "division by zero in '/' at column 13");
  EXPECT_EQ(eval_error_of("1 % 0"), "division by zero in '%' at column 2");
  EXPECT_THAT(eval_error_of("1.5 / 0.0"), HasSubstr("division by zero in '/'"));
  EXPECT_THAT(eval_error_of("1 % 0.0"), HasSubstr("division by zero in '%'"));
}

TEST(expression_evaluate, plus_joins_strings) {
  EXPECT_EQ(eval("'a' + 'b'"), bj::value("ab"));
  EXPECT_EQ(eval("value.user.id + '-' + topic"), bj::value("u1-orders"));
  EXPECT_EQ(eval_error_of("'id-' + 5"),
            "operator '+' cannot combine string and int (use concat(...) or string(x) to build "
            "text) at column 6");
  EXPECT_THAT(eval_error_of("'a' - 'b'"),
              HasSubstr("operator '-' cannot combine string and string"));
}

TEST(expression_evaluate, null_in_arithmetic_and_ordering_is_an_error_naming_types) {
  EXPECT_EQ(eval_error_of("value.amont * 100"),
            "operator '*' cannot combine null (value.amont) and int (give a default with ?? or "
            "coalesce) at column 12");
  EXPECT_EQ(eval_error_of("value.amont > 100"),
            "operator '>' cannot compare null (value.amont) and int (give a default with ?? or "
            "coalesce) at column 12");
  EXPECT_THAT(eval_error_of("1 <= value.nothing"), HasSubstr("cannot compare int and null"));
  EXPECT_THAT(eval_error_of("-value.nothing"),
              HasSubstr("operator '-' needs a number, got null (value.nothing)"));
  EXPECT_THAT(eval_error_of("null + 1"), HasSubstr("cannot combine null and int"));
}

TEST(expression_evaluate, ordering_needs_two_numbers_or_two_strings) {
  EXPECT_EQ(eval("1 < 2"), bj::value(true));
  EXPECT_EQ(eval("2 <= 2.0"), bj::value(true));
  EXPECT_EQ(eval("2.5 > 2"), bj::value(true));
  EXPECT_EQ(eval("3 >= 4"), bj::value(false));
  EXPECT_EQ(eval("'abc' < 'abd'"), bj::value(true));
  EXPECT_EQ(eval("'b' > 'abc'"), bj::value(true));
  EXPECT_EQ(eval("value.huge > value.big"), bj::value(true));
  EXPECT_EQ(eval("-1 < value.huge"), bj::value(true));
  EXPECT_THAT(eval_error_of("'1' < 2"), HasSubstr("operator '<' cannot compare string and int"));
  EXPECT_THAT(eval_error_of("true < false"), HasSubstr("cannot compare bool and bool"));
  EXPECT_THAT(eval_error_of("[1] < [2]"), HasSubstr("cannot compare array and array"));
}

TEST(expression_evaluate, equality_is_json_value_equality) {
  EXPECT_EQ(eval("1 == 1.0"), bj::value(true));
  EXPECT_EQ(eval("1 != 1.5"), bj::value(true));
  EXPECT_EQ(eval("'1' == 1"), bj::value(false));  // different types: unequal, not an error
  EXPECT_EQ(eval("null == null"), bj::value(true));
  EXPECT_EQ(eval("value.missing == null"), bj::value(true));
  EXPECT_EQ(eval("value.nothing != null"), bj::value(false));
  EXPECT_EQ(eval("[1, 2.0, 'x'] == [1.0, 2, 'x']"), bj::value(true));
  EXPECT_EQ(eval("[1, 2] == [2, 1]"), bj::value(false));
  EXPECT_EQ(eval("{a: 1, b: [true]} == {b: [true], a: 1.0}"), bj::value(true));
  EXPECT_EQ(eval("{a: 1} == {a: 1, b: 2}"), bj::value(false));
  EXPECT_EQ(eval("value.user == {id: 'u1', name: 'Ada'}"), bj::value(true));
  EXPECT_EQ(eval("value.huge == 18446744073709551615.0"), bj::value(true));
  EXPECT_EQ(eval("value.big == value.huge"), bj::value(false));
  EXPECT_EQ(eval("true == 1"), bj::value(false));
}

TEST(expression_evaluate, logical_operators_need_bools_and_short_circuit) {
  EXPECT_EQ(eval("true && false"), bj::value(false));
  EXPECT_EQ(eval("true and true"), bj::value(true));
  EXPECT_EQ(eval("false || true"), bj::value(true));
  EXPECT_EQ(eval("false or false"), bj::value(false));
  EXPECT_EQ(eval("!true"), bj::value(false));
  EXPECT_EQ(eval("not false"), bj::value(true));
  EXPECT_EQ(eval("not 1 == 2"), bj::value(true));
  // The right side is not evaluated when the left decides.
  EXPECT_EQ(eval("false && 1 / 0 == 1"), bj::value(false));
  EXPECT_EQ(eval("true || value.nothing > 1"), bj::value(true));
  EXPECT_EQ(eval_error_of("value.count && true"),
            "the left operand of '&&' must be a bool, got int at column 12");
  EXPECT_THAT(eval_error_of("false || 'yes'"),
              HasSubstr("the right operand of '||' must be a bool, got string"));
  EXPECT_THAT(eval_error_of("!value.missing"),
              HasSubstr("the operand of '!' must be a bool, got null (value.missing)"));
}

TEST(expression_evaluate, null_coalescing) {
  EXPECT_EQ(eval("value.missing ?? 'web'"), bj::value("web"));
  EXPECT_EQ(eval("value.nothing ?? 0"), bj::value(0));
  EXPECT_EQ(eval("value.count ?? 0"), bj::value(3));
  EXPECT_EQ(eval("value.flag ?? 1 / 0"), bj::value(true));  // right side not evaluated
  EXPECT_EQ(eval("value.a ?? value.b ?? value.count"), bj::value(3));
  EXPECT_EQ(eval("value.amont ?? 0 > 100"), bj::value(false));
  EXPECT_EQ(eval("lower(headers['source'] ?? 'web')"), bj::value("mobile"));
  EXPECT_EQ(eval("lower(headers['origin'] ?? 'web')"), bj::value("web"));
  EXPECT_EQ(eval("false ?? true"), bj::value(false));
}

TEST(expression_evaluate, conditional) {
  EXPECT_EQ(eval("value.amount > 100 ? 'big' : 'small'"), bj::value("big"));
  EXPECT_EQ(eval("value.amount > 1000 ? 'big' : value.amount > 100 ? 'mid' : 'small'"),
            bj::value("mid"));
  EXPECT_EQ(eval("true ? 1 : 1 / 0"), bj::value(1));  // only the chosen branch runs
  EXPECT_EQ(eval("false ? 1 / 0 : 2"), bj::value(2));
  EXPECT_EQ(eval_error_of("value.count ? 1 : 2"),
            "the condition of '?:' must be a bool, got int at column 12");
}

TEST(expression_evaluate, in_operator) {
  EXPECT_EQ(eval("value.currency in ['EUR', 'USD']"), bj::value(true));
  EXPECT_EQ(eval("value.currency not in ['EUR', 'USD']"), bj::value(false));
  EXPECT_EQ(eval("1 in [1.0, 2]"), bj::value(true));
  EXPECT_EQ(eval("3 in [value.count]"), bj::value(true));
  EXPECT_EQ(eval("'x' in value.tags"), bj::value(true));
  EXPECT_EQ(eval("null in [1, null]"), bj::value(true));
  EXPECT_EQ(eval("'World' in value.text"), bj::value(true));
  EXPECT_EQ(eval("'world' in value.text"), bj::value(false));
  EXPECT_EQ(eval("'id' in value.user"), bj::value(true));
  EXPECT_EQ(eval("'email' in value.user"), bj::value(false));
  EXPECT_EQ(eval("'source' in headers"), bj::value(true));
  EXPECT_EQ(eval_error_of("'a' in value.missing"),
            "operator 'in' needs an array, string or object on the right, got null "
            "(value.missing) at column 4");
  EXPECT_THAT(eval_error_of("1 in 'abc'"),
              HasSubstr("needs a string on the left when the right is a string, got int"));
  EXPECT_THAT(eval_error_of("1 in value.user"),
              HasSubstr("needs a string on the left when the right is an object, got int"));
}

TEST(expression_evaluate, context_roots) {
  EXPECT_EQ(eval("key"), bj::value("k1"));
  EXPECT_EQ(eval("timestamp"), bj::value(1700000000000));
  EXPECT_EQ(eval("topic"), bj::value("orders"));
  EXPECT_EQ(eval("partition"), bj::value(3));
  EXPECT_EQ(eval("offset"), bj::value(42));
  EXPECT_EQ(eval("headers"), json(R"({"source":"MOBILE","trace":"t-1","none":null})"));
  EXPECT_EQ(eval("headers.trace"), bj::value("t-1"));
  EXPECT_EQ(eval("headers['none']"), bj::value());
  EXPECT_EQ(eval("timestamp - timestamp % 60000"), bj::value(1699999980000));
  EXPECT_EQ(eval("value"), testing::record().value);
}

TEST(expression_evaluate, empty_context_reads_as_nulls) {
  const eval_context empty;
  EXPECT_EQ(eval("key", empty), bj::value());
  EXPECT_EQ(eval("value.a.b", empty), bj::value());
  EXPECT_EQ(eval("headers", empty), bj::value(bj::object()));
  EXPECT_EQ(eval("headers.x ?? 'none'", empty), bj::value("none"));
  EXPECT_EQ(eval("topic", empty), bj::value(""));
  EXPECT_EQ(eval("offset", empty), bj::value(-1));
  EXPECT_EQ(eval("exists(value)", empty), bj::value(true));
}

TEST(expression_evaluate, non_json_value_is_a_string) {
  const bj::value raw = "plain text";
  eval_context context;
  context.value = &raw;
  EXPECT_EQ(eval("upper(value)", context), bj::value("PLAIN TEXT"));
  EXPECT_EQ(eval("value.field", context), bj::value());
  EXPECT_EQ(eval("type(value)", context), bj::value("string"));
}

TEST(expression_evaluate, paths) {
  EXPECT_EQ(eval("value.user.id"), bj::value("u1"));
  EXPECT_EQ(eval("value['user']['name']"), bj::value("Ada"));
  EXPECT_EQ(eval("value['a b']"), bj::value(7));
  EXPECT_EQ(eval("value.items[0].sku"), bj::value("a"));
  EXPECT_EQ(eval("value.items[1]['qty']"), bj::value(2));
  EXPECT_EQ(eval("value.items[-1].sku"), bj::value("b"));
  EXPECT_EQ(eval("value.items[-2].sku"), bj::value("a"));
  EXPECT_EQ(eval("value.nested.in"), bj::value(1));
  // Computed indexes: ints index arrays, strings name fields.
  EXPECT_EQ(eval("value.items[value.count - 2].sku"), bj::value("b"));
  EXPECT_EQ(eval("value.user['na' + 'me']"), bj::value("Ada"));
  EXPECT_EQ(eval("value.items[value.nothing]"), bj::value());
  EXPECT_EQ(eval("value[headers.trace]"), bj::value());
  // Steps on computed values.
  EXPECT_EQ(eval("json_parse(value.payload).n[1]"), bj::value(2));
  EXPECT_EQ(eval("{a: {b: value.count}}.a.b"), bj::value(3));
  EXPECT_EQ(eval("[10, 20, 30][-1]"), bj::value(30));
  EXPECT_EQ(eval("(value.missing ?? value.user).id"), bj::value("u1"));
  EXPECT_EQ(eval("(value.flag ? value.items : []) [0].qty"), bj::value(1));
  EXPECT_THAT(eval_error_of("value.items[value.price]"),
              HasSubstr("index must be an int or a string, got double at column 12"));
  EXPECT_THAT(eval_error_of("value.items[value.flag]"), HasSubstr("got bool"));
}

TEST(expression_evaluate, missing_paths_are_null) {
  EXPECT_EQ(eval("value.missing"), bj::value());
  EXPECT_EQ(eval("value.missing.deeper.still"), bj::value());
  EXPECT_EQ(eval("value.items[2]"), bj::value());
  EXPECT_EQ(eval("value.items[-3]"), bj::value());
  EXPECT_EQ(eval("value.empty[0]"), bj::value());
  EXPECT_EQ(eval("value.items.sku"), bj::value());  // a field of an array
  EXPECT_EQ(eval("value.user[0]"), bj::value());    // an index of an object
  EXPECT_EQ(eval("value.count.x"), bj::value());    // a field of a number
  EXPECT_EQ(eval("value.text[0]"), bj::value());    // strings are not indexable
  EXPECT_EQ(eval("key.x"), bj::value());
  EXPECT_EQ(eval("value.items[9223372036854775807]"), bj::value());
  EXPECT_EQ(eval("value.items[-9223372036854775808]"), bj::value());
}

TEST(expression_evaluate, builds_objects_and_arrays) {
  EXPECT_EQ(eval("{ user: value.user.id, cents: round(value.price * 100), "
                 "tag: lower(headers['source'] ?? 'web') }"),
            json(R"({"user":"u1","cents":250,"tag":"mobile"})"));
  EXPECT_EQ(eval("{ 'a b': 1, \"in\": value.nothing, nested: { list: [value.count, 'x'] } }"),
            json(R"({"a b":1,"in":null,"nested":{"list":[3,"x"]}})"));
  EXPECT_EQ(eval("[value.user.id, key, [1, 2], {}]"), json(R"(["u1","k1",[1,2],{}])"));
  EXPECT_EQ(eval("[]"), json("[]"));
  EXPECT_EQ(eval("{}"), json("{}"));
  EXPECT_EQ(eval("value.items"), json(R"([{"sku":"a","qty":1},{"sku":"b","qty":2}])"));
  // Object members keep the written order.
  EXPECT_EQ(eval("json_string({z: 1, a: 2, m: value.count})"), bj::value(R"({"z":1,"a":2,"m":3})"));
  EXPECT_THAT(eval_error_of("{a: 1, b: value.x + 1}"), HasSubstr("operator '+'"));
}

TEST(expression_evaluate, evaluation_does_not_change_the_tree_or_the_record) {
  const auto e = compile_ok("{ items: value.items, first: [1, 2][0], user: value.user }");
  const auto context = testing::record().context();
  const auto first = e.evaluate(context).value();
  const auto second = e.evaluate(context).value();
  EXPECT_EQ(first, second);
  EXPECT_EQ(testing::record().value.at("items").as_array().size(), 2U);
  const auto parsed = compile_ok("json_parse(value.payload).n");
  EXPECT_EQ(parsed.evaluate(context).value(), json("[1,2]"));
  EXPECT_EQ(parsed.evaluate(context).value(), json("[1,2]"));
}

TEST(expression_evaluate, predicates_must_be_bool) {
  const auto context = testing::record().context();
  EXPECT_TRUE(compile_ok("value.amount > 100 && value.currency == \"EUR\"")
                  .evaluate_predicate(context)
                  .value());
  EXPECT_FALSE(compile_ok("value.amount > 1000").evaluate_predicate(context).value());
  const auto not_bool = compile_ok("value.currency").evaluate_predicate(context);
  ASSERT_FALSE(not_bool.has_value());
  EXPECT_EQ(not_bool.error().message,
            "a condition must evaluate to a bool, got string (compare explicitly, e.g. x == "
            "\"yes\" or x != null) at column 0");
  const auto missing = compile_ok("value.activ").evaluate_predicate(context);
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("got null (value.activ)"));
  const auto failing = compile_ok("value.amont > 1").evaluate_predicate(context);
  ASSERT_FALSE(failing.has_value());
  EXPECT_EQ(failing.error().position, 12U);
}

// The four step kinds of a declarative pipeline, written as in a pipeline file.
TEST(expression_evaluate, pipeline_step_examples) {
  const auto context = testing::record().context();
  EXPECT_TRUE(compile_ok(R"(value.amount > 100 && value.currency == "EUR")")
                  .evaluate_predicate(context)
                  .value());
  EXPECT_EQ(eval(R"({ user: value.user.id, cents: int(value.amount * 100), )"
                 R"(tag: lower(headers["source"] ?? "web") })"),
            json(R"({"user":"u1","cents":15000,"tag":"mobile"})"));
  EXPECT_EQ(eval("value.user.id"), bj::value("u1"));
  const auto items = eval("value.items");
  ASSERT_TRUE(items.is_array());
  EXPECT_EQ(items.as_array().size(), 2U);
}

TEST(expression_evaluate, is_safe_to_share_between_threads) {
  const auto e = compile_ok("{ id: value.user.id, n: value.count * 2 + len(value.tags) }");
  const auto context = testing::record().context();
  constexpr int thread_count = 4;
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  std::atomic<int> mismatches{0};
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (e.evaluate(context).value() != json(R"({"id":"u1","n":8})")) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace sluice::operators
