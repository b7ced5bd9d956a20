// Compilation: syntax errors with positions, name resolution, argument counts, precedence as
// seen through the canonical printer, referenced roots.

#include <gmock/gmock.h>

#include <iterator>
#include <random>

#include "tests/operators/expression/expression_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::canonical;
using testing::compile_error_of;
using testing::compile_ok;
using ::testing::HasSubstr;

TEST(expression_compile, reports_missing_paren_after_arguments_with_column) {
  const auto error = compile_error_of("substr(value.s, 1 2)");
  EXPECT_EQ(error.position, 18U);
  EXPECT_EQ(error.message, "expected ')' after arguments of substr, found '2' at column 18");
}

TEST(expression_compile, reports_unclosed_call_at_end) {
  const auto error = compile_error_of("lower(value.name");
  EXPECT_EQ(error.position, 16U);
  EXPECT_THAT(error.message, HasSubstr("expected ')' after arguments of lower"));
  EXPECT_THAT(error.message, HasSubstr("end of expression"));
}

TEST(expression_compile, suggests_close_function_names) {
  const auto error = compile_error_of("lowr(value.name)");
  EXPECT_EQ(error.position, 0U);
  EXPECT_EQ(error.message, "unknown function 'lowr' (did you mean 'lower'?) at column 0");
  EXPECT_THAT(compile_error_of("1 + uppr('a')").message, HasSubstr("did you mean 'upper'?"));
  EXPECT_EQ(compile_error_of("1 + uppr('a')").position, 4U);
  EXPECT_THAT(compile_error_of("strats_with('a', 'b')").message,
              HasSubstr("did you mean 'starts_with'?"));
  EXPECT_EQ(compile_error_of("frobnicate(1)").message, "unknown function 'frobnicate' at column 0");
}

TEST(expression_compile, has_no_clock_function) {
  EXPECT_THAT(compile_error_of("now_ms()").message,
              HasSubstr("pipelines are deterministic: use timestamp"));
  EXPECT_THAT(compile_error_of("now()").message, HasSubstr("unknown function 'now'"));
}

TEST(expression_compile, checks_argument_counts) {
  EXPECT_EQ(compile_error_of("substr('abc')").message,
            "substr takes 2 to 3 arguments, got 1 (usage: substr(s, start[, count])) at column 0");
  EXPECT_EQ(compile_error_of("lower()").message,
            "lower takes 1 argument, got 0 (usage: lower(s)) at column 0");
  EXPECT_EQ(compile_error_of("x(1) ").position, 0U);
  EXPECT_EQ(compile_error_of("true && replace('a', 'b')").message,
            "replace takes 3 arguments, got 2 (usage: replace(s, from, to)) at column 8");
  EXPECT_THAT(compile_error_of("coalesce()").message, HasSubstr("takes at least 1 argument"));
  EXPECT_THAT(compile_error_of("min()").message, HasSubstr("takes at least 1 argument"));
  EXPECT_THAT(compile_error_of("round(1, 2, 3)").message, HasSubstr("takes 1 to 2 arguments"));
}

TEST(expression_compile, rejects_unknown_names_helpfully) {
  EXPECT_EQ(compile_error_of("vaule.amount > 1").message,
            "unknown name 'vaule' (did you mean 'value'?) at column 0");
  EXPECT_THAT(compile_error_of("amount > 1").message,
              HasSubstr("a field of the record value is written value.amount"));
  EXPECT_THAT(compile_error_of("lower").message, HasSubstr("is a function; call it as lower(...)"));
  EXPECT_THAT(compile_error_of("value(1)").message, HasSubstr("'value' is not a function"));
  EXPECT_THAT(compile_error_of("headrs['a']").message, HasSubstr("did you mean 'headers'?"));
}

TEST(expression_compile, reports_syntax_errors_with_positions) {
  struct error_case {
    std::string_view source;
    std::size_t position;
    std::string_view text;
  };
  const error_case cases[] = {
      {"", 0, "empty expression"},
      {"   ", 0, "empty expression"},
      {"1 +", 3, "unexpected end of expression; expected a value"},
      {"value.a = 1", 8, "unexpected '=' (use '==' to compare)"},
      {"true & false", 5, "use '&&'"},
      {"true | false", 5, "use '||'"},
      {"(1 + 2", 6, "expected ')' to close the '(' at column 0"},
      {"1 2", 2, "unexpected '2' after the end of the expression (missing operator?)"},
      {"value.", 6, "expected a field name after '.'"},
      {"value.1", 6, "expected a field name after '.'"},
      {"value[1", 7, "expected ']' after the index"},
      {"[1, 2", 5, "expected ',' or ']' in the array opened at column 0"},
      {"{a: 1 b: 2}", 6, "expected ',' or '}' in the object opened at column 0"},
      {"{a 1}", 3, "expected ':' after field name 'a'"},
      {"{1: 2}", 1, "expected a field name"},
      {"{a: 1, a: 2}", 7, "duplicate field 'a' in object"},
      {"'abc", 0, "unterminated string (missing closing ')"},
      {"\"abc", 0, "unterminated string (missing closing \")"},
      {"'a\\qb'", 2, "unknown escape '\\q' in string"},
      {"'\\u12'", 1, "expected 4 hex digits after \\u"},
      {"'\\ud800'", 1, "unpaired UTF-16 surrogate"},
      {"1.", 1, "expected digits after the decimal point"},
      {"1e", 1, "expected digits in the exponent"},
      {"12abc", 0, "invalid number '12abc'"},
      {"9223372036854775808", 0, "out of the int64 range"},
      {"1e999", 0, "out of the double range"},
      {"a ? 1", 0, "unknown name 'a'"},
      {"true ? 1", 8, "expected ':' of the '?' at column 5"},
      {"1 < 2 < 3", 6, "comparisons do not chain"},
      {"1 == 1 == true", 7, "comparisons do not chain"},
      {"+1", 0, "no unary plus"},
      {"@", 0, "unexpected character '@'"},
      {"value.a(1)", 7, "only functions can be called"},
      {"timestamp.x", 9, "timestamp is an int and has no fields"},
      {"topic[0]", 5, "topic is a string and has no fields"},
      {"value[true]", 6, "an index must be an int or a string, got bool"},
      {"exists(1 + 1)", 9, "exists takes a path"},
      {"not", 3, "unexpected end of expression"},
      {"1 + in", 4, "expected a value, found 'in'"},
      {")", 0, "expected a value, found ')'"},
  };
  for (const auto& c : cases) {
    const auto error = compile_error_of(c.source);
    EXPECT_EQ(error.position, c.position) << c.source << ": " << error.message;
    EXPECT_THAT(error.message, HasSubstr(std::string(c.text))) << c.source;
    EXPECT_THAT(error.message, HasSubstr("at column " + std::to_string(c.position))) << c.source;
  }
}

TEST(expression_compile, limits_nesting_instead_of_overflowing_the_stack) {
  const std::string deep_parens = std::string(10000, '(') + "1" + std::string(10000, ')');
  EXPECT_THAT(compile_error_of(deep_parens).message, HasSubstr("too deeply nested"));
  std::string long_chain = "1";
  for (int i = 0; i < 5000; ++i) {
    long_chain += " + 1";
  }
  EXPECT_THAT(compile_error_of(long_chain).message, HasSubstr("too deeply nested"));
  std::string deep_not(10000, '!');
  EXPECT_THAT(compile_error_of(deep_not + "true").message, HasSubstr("too deeply nested"));
  // Reasonable sizes are fine.
  std::string chain = "1";
  for (int i = 0; i < 200; ++i) {
    chain += " + 1";
  }
  EXPECT_EQ(testing::eval(chain), boost::json::value(201));
}

TEST(expression_compile, precedence_shows_in_canonical_form) {
  EXPECT_EQ(canonical("1 + 2 * 3"), "1 + (2 * 3)");
  EXPECT_EQ(canonical("(1 + 2) * 3"), "(1 + 2) * 3");
  EXPECT_EQ(canonical("1 - 2 - 3"), "(1 - 2) - 3");
  EXPECT_EQ(canonical("8 / 4 % 3"), "(8 / 4) % 3");
  EXPECT_EQ(canonical("-value.a * 2"), "-value.a * 2");
  EXPECT_EQ(canonical("-(value.a * 2)"), "-(value.a * 2)");
  EXPECT_EQ(canonical("value.amount > 100 && value.currency == \"EUR\""),
            "(value.amount > 100) && (value.currency == \"EUR\")");
  EXPECT_EQ(canonical("true || false && false"), "true || (false && false)");
  EXPECT_EQ(canonical("true or false and not false"), "true || (false && !false)");
  EXPECT_EQ(canonical("not value.a == 1"), "!(value.a == 1)");
  EXPECT_EQ(canonical("!value.a == 1"), "!value.a == 1");
  EXPECT_EQ(canonical("1 == 2 || 3 < 4"), "(1 == 2) || (3 < 4)");
  EXPECT_EQ(canonical("1 < 2 == 3 < 4"), "(1 < 2) == (3 < 4)");
  EXPECT_EQ(canonical("value.a ?? 0 > 1"), "(value.a ?? 0) > 1");
  EXPECT_EQ(canonical("value.a ?? 1 + 2"), "value.a ?? (1 + 2)");
  EXPECT_EQ(canonical("value.a ?? value.b ?? 3"), "value.a ?? (value.b ?? 3)");
  EXPECT_EQ(canonical("true ? 1 : false ? 2 : 3"), "true ? 1 : (false ? 2 : 3)");
  EXPECT_EQ(canonical("value.a > 1 ? 'x' : 'y'"), "(value.a > 1) ? \"x\" : \"y\"");
  EXPECT_EQ(canonical("value.c in ['a', 'b']"), "value.c in [\"a\", \"b\"]");
  EXPECT_EQ(canonical("value.c not in ['a']"), "!(value.c in [\"a\"])");
  EXPECT_EQ(canonical("1 + 2 in [3]"), "(1 + 2) in [3]");
}

TEST(expression_compile, canonical_form_normalises_spelling) {
  EXPECT_EQ(canonical("value['user'][\"id\"]"), "value.user.id");
  EXPECT_EQ(canonical("value['a b'].items[0][-1]"), "value[\"a b\"].items[0][-1]");
  EXPECT_EQ(canonical("value.items[value.i + 1]"), "value.items[value.i + 1]");
  EXPECT_EQ(canonical("value.in"), "value[\"in\"]");
  EXPECT_EQ(canonical("length('a') + to_string(1).x"), "len(\"a\") + string(1).x");
  EXPECT_EQ(canonical("'it\\'s' + \"\\n\\u00e9\""), "\"it's\" + \"\\n\xc3\xa9\"");
  EXPECT_EQ(canonical("{ user: value.user.id, \"a b\": 1, 'in': 2 }"),
            "{user: value.user.id, \"a b\": 1, \"in\": 2}");
  EXPECT_EQ(canonical("{a: 1, b: [1, -2.5, 'x'], c: {d: null}}"),
            "{a: 1, b: [1, -2.5, \"x\"], c: {d: null}}");
  EXPECT_EQ(canonical("[1.0, 2e3, 0.1, -0]"), "[1.0, 2000.0, 0.1, 0]");
  EXPECT_EQ(canonical("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(canonical("--1"), "1");
  EXPECT_EQ(canonical("json_parse(value.payload).n[0]"), "json_parse(value.payload).n[0]");
  EXPECT_EQ(canonical("(value.a ?? value.b).c"), "(value.a ?? value.b).c");
  EXPECT_EQ(canonical("[1, 2,]"), "[1, 2]");
  EXPECT_EQ(canonical("(-5).x"), "(-5).x");
  EXPECT_EQ(canonical("(-value.a).b"), "(-value.a).b");
  EXPECT_EQ(canonical("(!value.a)[0]"), "(!value.a)[0]");
  EXPECT_EQ(canonical("'abc'.x"), "\"abc\".x");
  EXPECT_EQ(canonical("[10, 20][-1]"), "[10, 20][-1]");
  EXPECT_EQ(canonical("(true ? value.a : value.b).c"), "(true ? value.a : value.b).c");
  EXPECT_EQ(canonical("  value .  user  "), "value.user");
}

TEST(expression_compile, canonical_form_compiles_to_itself) {
  const std::string_view sources[] = {
      "value.amount > 100 && value.currency == \"EUR\"",
      "{ user: value.user.id, cents: round(value.price * 100), tag: lower(headers.source ?? 'w') }",
      "value.items[-1].sku ?? 'none'",
      "not (value.a in ['x', 'y']) or value.b != null",
      "true ? -value.x : -(1 + value.y) % 3",
      "[value.a, {k: [1, {z: 'q\\t'}]}, -1.5e-7]",
      "concat('a', 1, true) + json_string({a: 1})",
      "exists(value['a b'][0]) && !exists(headers.x)",
      "--value.a",
      "!!true",
      "(-5).x + (-value.a).b + {a: value.x}.a + (value.a ?? 1 + 2).b",
  };
  for (const auto source : sources) {
    const std::string first = canonical(source);
    EXPECT_EQ(canonical(first), first) << source;
    EXPECT_EQ(compile_ok(source).source(), source);
    // Same tree, same behaviour.
    const auto context = testing::record().context();
    const auto original = compile_ok(source).evaluate(context);
    const auto reprinted = compile_ok(first).evaluate(context);
    ASSERT_EQ(original.has_value(), reprinted.has_value()) << source;
    if (original) {
      EXPECT_EQ(original.value(), reprinted.value()) << source;
    }
  }
}

// Random token soup: compilation either fails with an in-range position or succeeds, and what
// compiles evaluates without crashing and prints to a fixed point.
TEST(expression_compile, survives_random_input) {
  const std::string_view pieces[] = {
      "value", "key", "headers", "timestamp", ".",      "a",   "items", "[",    "]",    "(",
      ")",     "{",   "}",       ",",         ":",      "?",   "??",    "+",    "-",    "*",
      "/",     "%",   "==",      "!=",        "<",      ">=",  "&&",    "||",   "!",    "not",
      "in",    "and", "1",       "-2",        "2.5",    "'s'", "\"t\"", "null", "true", "lower",
      "len",   "min", "exists",  "coalesce",  "substr", "0",   " ",     "user", "id"};
  std::mt19937 random(12345);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> length(1, 12);
  int compiled = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string source;
    const int n = length(random);
    for (int j = 0; j < n; ++j) {
      source += pieces[pick(random)];
      source += ' ';
    }
    auto result = expression::compile(source);
    if (!result) {
      EXPECT_LE(result.error().position, source.size()) << source;
      EXPECT_THAT(result.error().message, HasSubstr("at column")) << source;
      continue;
    }
    ++compiled;
    const auto value = result->evaluate(testing::record().context());
    const std::string first = result->to_string();
    EXPECT_EQ(canonical(first), first) << source;
    const auto again = compile_ok(first).evaluate(testing::record().context());
    ASSERT_EQ(value.has_value(), again.has_value()) << source;
    if (value) {
      EXPECT_EQ(value.value(), again.value()) << source;
    }
  }
  EXPECT_GT(compiled, 50) << "the generator should produce some valid expressions";
}

TEST(expression_compile, reports_referenced_roots) {
  const auto e = compile_ok("value.a > 1 && headers.x == topic");
  const auto roots = e.referenced_roots();
  EXPECT_TRUE(roots.contains(context_root::value));
  EXPECT_TRUE(roots.contains(context_root::headers));
  EXPECT_TRUE(roots.contains(context_root::topic));
  EXPECT_FALSE(roots.contains(context_root::key));
  EXPECT_EQ(roots.members(),
            (std::vector{context_root::value, context_root::topic, context_root::headers}));
  EXPECT_TRUE(compile_ok("1 + 2").referenced_roots().empty());
  const auto all = compile_ok("[key, value, timestamp, topic, partition, offset, headers]")
                       .referenced_roots()
                       .members();
  EXPECT_EQ(all.size(), context_root_count);
  EXPECT_EQ(to_string(context_root::partition), "partition");
  EXPECT_EQ(context_root_from_name("offset"), context_root::offset);
  EXPECT_FALSE(context_root_from_name("values").has_value());
}

TEST(expression_compile, copies_share_the_compiled_tree) {
  const auto e = compile_ok("value.count * 2");
  const expression copy = e;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.to_string(), e.to_string());
  EXPECT_EQ(copy.evaluate(testing::record().context()).value(), boost::json::value(6));
}

TEST(expression_compile, result_reports_misuse) {
  auto bad = expression::compile("1 +");
  EXPECT_FALSE(bad.has_value());
  EXPECT_THROW((void)bad.value(), std::logic_error);
  auto good = expression::compile("1");
  EXPECT_THROW((void)good.error(), std::logic_error);
}

}  // namespace
}  // namespace sluice::operators
