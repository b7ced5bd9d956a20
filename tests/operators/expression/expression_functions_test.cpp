// Every built-in function: results, types, edge cases and the errors they report.

#include <gmock/gmock.h>

#include "tests/operators/expression/expression_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::eval;
using testing::eval_error_of;
using ::testing::HasSubstr;
using testing::json;
namespace bj = boost::json;

TEST(expression_functions, case_and_trim) {
  EXPECT_EQ(eval("lower('HeLLo ÄB')"), bj::value("hello Äb"));  // ASCII letters only
  EXPECT_EQ(eval("upper(value.user.name)"), bj::value("ADA"));
  EXPECT_EQ(eval("trim(value.text)"), bj::value("Hello World"));
  EXPECT_EQ(eval("trim(' \\t\\n ')"), bj::value(""));
  EXPECT_EQ(eval("trim('x')"), bj::value("x"));
  EXPECT_EQ(eval_error_of("lower(value.nam)"),
            "lower: argument 1 must be a string, got null (value.nam) at column 0");
  EXPECT_THAT(eval_error_of("upper(1)"), HasSubstr("upper: argument 1 must be a string, got int"));
}

TEST(expression_functions, len_counts_code_points_and_elements) {
  EXPECT_EQ(eval("len('héllo')"), bj::value(5));
  EXPECT_EQ(eval("length('')"), bj::value(0));
  EXPECT_EQ(eval("len(value.items)"), bj::value(2));
  EXPECT_EQ(eval("len(value.user)"), bj::value(2));
  EXPECT_THAT(eval_error_of("len(5)"),
              HasSubstr("len: argument 1 must be a string, array or object, got int"));
}

TEST(expression_functions, contains_starts_with_ends_with) {
  EXPECT_EQ(eval("contains(value.text, 'World')"), bj::value(true));
  EXPECT_EQ(eval("contains(value.tags, 'z')"), bj::value(false));
  EXPECT_EQ(eval("contains(value.user, 'id')"), bj::value(true));
  EXPECT_EQ(eval("contains([1, 2], 2.0)"), bj::value(true));
  EXPECT_EQ(eval("starts_with(topic, 'ord')"), bj::value(true));
  EXPECT_EQ(eval("starts_with('a', 'abc')"), bj::value(false));
  EXPECT_EQ(eval("ends_with(topic, 'ers')"), bj::value(true));
  EXPECT_EQ(eval("ends_with(topic, '')"), bj::value(true));
  EXPECT_THAT(eval_error_of("contains(1, 1)"),
              HasSubstr("contains: argument 1 must be an array, string or object, got int"));
  EXPECT_THAT(eval_error_of("contains('abc', 1)"), HasSubstr("argument 2 must be a string"));
  EXPECT_THAT(eval_error_of("starts_with(value.missing, 'a')"),
              HasSubstr("got null (value.missing)"));
}

TEST(expression_functions, substr_uses_code_points_and_clamps) {
  EXPECT_EQ(eval("substr('hello', 1)"), bj::value("ello"));
  EXPECT_EQ(eval("substr('hello', 1, 3)"), bj::value("ell"));
  EXPECT_EQ(eval("substr('hello', -3)"), bj::value("llo"));
  EXPECT_EQ(eval("substr('hello', -3, 2)"), bj::value("ll"));
  EXPECT_EQ(eval("substr('hello', -10, 2)"), bj::value("he"));
  EXPECT_EQ(eval("substr('hello', 10)"), bj::value(""));
  EXPECT_EQ(eval("substr('hello', 2, 100)"), bj::value("llo"));
  EXPECT_EQ(eval("substr('héllo', 1, 2)"), bj::value("él"));
  EXPECT_EQ(eval("substr('日本語', 2)"), bj::value("語"));
  EXPECT_THAT(eval_error_of("substr('a', 0, -1)"), HasSubstr("count must not be negative"));
  EXPECT_THAT(eval_error_of("substr('a', 0.5)"),
              HasSubstr("substr: argument 2 must be an int, got double"));
}

TEST(expression_functions, split_join_replace_concat) {
  EXPECT_EQ(eval("split('a,b,,c', ',')"), json(R"(["a","b","","c"])"));
  EXPECT_EQ(eval("split('abc', ',')"), json(R"(["abc"])"));
  EXPECT_EQ(eval("split('a--b', '--')"), json(R"(["a","b"])"));
  EXPECT_EQ(eval("split('', ',')"), json(R"([""])"));
  EXPECT_THAT(eval_error_of("split('a', '')"), HasSubstr("split: the separator must not be empty"));
  EXPECT_EQ(eval("join(value.tags, '+')"), bj::value("x+y"));
  EXPECT_EQ(eval("join([1, 2.5, true, 'x'], ',')"), bj::value("1,2.5,true,x"));
  EXPECT_EQ(eval("join([], ',')"), bj::value(""));
  EXPECT_THAT(eval_error_of("join([1, null], ',')"),
              HasSubstr("join: element 1 of the array is null"));
  EXPECT_THAT(eval_error_of("join('ab', ',')"), HasSubstr("argument 1 must be an array"));
  EXPECT_EQ(eval("replace('a-b-c', '-', '+')"), bj::value("a+b+c"));
  EXPECT_EQ(eval("replace('aaa', 'aa', 'b')"), bj::value("ba"));
  EXPECT_EQ(eval("replace('abc', 'x', 'y')"), bj::value("abc"));
  EXPECT_THAT(eval_error_of("replace('a', '', 'b')"), HasSubstr("must not be empty"));
  EXPECT_EQ(eval("concat('id-', value.count, '-', true, '-', 1.5)"), bj::value("id-3-true-1.5"));
  EXPECT_EQ(eval("concat(value.tags)"), bj::value(R"(["x","y"])"));
  EXPECT_EQ(eval_error_of("concat('a', value.missing)"),
            "concat: argument 2 must be not null (give a default with ?? or coalesce), got null "
            "(value.missing) at column 0");
}

TEST(expression_functions, conversions) {
  EXPECT_EQ(eval("string(12)"), bj::value("12"));
  EXPECT_EQ(eval("to_string(1.0)"), bj::value("1.0"));
  EXPECT_EQ(eval("string(0.1)"), bj::value("0.1"));
  EXPECT_EQ(eval("string(true)"), bj::value("true"));
  EXPECT_EQ(eval("string('s')"), bj::value("s"));
  EXPECT_EQ(eval("string(value.user)"), bj::value(R"({"id":"u1","name":"Ada"})"));
  EXPECT_THAT(eval_error_of("string(null)"), HasSubstr("string: cannot convert null"));

  EXPECT_EQ(eval("number('42')"), bj::value(42));
  EXPECT_EQ(eval("number('-4.5')"), bj::value(-4.5));
  EXPECT_EQ(eval("number('1e3')"), bj::value(1000.0));
  EXPECT_EQ(eval("number(7)"), bj::value(7));
  EXPECT_EQ(eval_error_of("number('4x')"), "number: \"4x\" is not a number at column 0");
  EXPECT_THAT(eval_error_of("number(true)"), HasSubstr("must be a number or a string, got bool"));

  EXPECT_EQ(eval("int(2.9)"), bj::value(2));
  EXPECT_EQ(eval("int(-2.9)"), bj::value(-2));
  EXPECT_EQ(eval("int('17')"), bj::value(17));
  EXPECT_EQ(eval("int('17.8')"), bj::value(17));
  EXPECT_EQ(eval("int(true)"), bj::value(1));
  EXPECT_EQ(eval("int(value.amount * 100)"), bj::value(15000));
  EXPECT_THAT(eval_error_of("int(1e19)"), HasSubstr("is out of the int range"));
  EXPECT_THAT(eval_error_of("int(value.huge)"), HasSubstr("is out of the int range"));
  EXPECT_THAT(eval_error_of("int('x')"), HasSubstr("int: \"x\" is not a number"));
  EXPECT_THAT(eval_error_of("int(null)"), HasSubstr("must be a number, string or bool, got null"));

  EXPECT_EQ(eval("double(2)"), bj::value(2.0));
  EXPECT_TRUE(eval("double(2)").is_double());
  EXPECT_EQ(eval("double('2.5')"), bj::value(2.5));
  EXPECT_EQ(eval("double(false)"), bj::value(0.0));
  EXPECT_THAT(eval_error_of("double([])"), HasSubstr("got array"));

  EXPECT_EQ(eval("bool('TRUE')"), bj::value(true));
  EXPECT_EQ(eval("bool('false')"), bj::value(false));
  EXPECT_EQ(eval("bool(1)"), bj::value(true));
  EXPECT_EQ(eval("bool(0)"), bj::value(false));
  EXPECT_EQ(eval("bool(value.flag)"), bj::value(true));
  EXPECT_THAT(eval_error_of("bool('yes')"), HasSubstr("\"yes\" is not a bool"));
  EXPECT_THAT(eval_error_of("bool(2)"), HasSubstr("must be a bool, \"true\"/\"false\", 0 or 1"));
}

TEST(expression_functions, numbers) {
  EXPECT_EQ(eval("abs(-3)"), bj::value(3));
  EXPECT_EQ(eval("abs(-2.5)"), bj::value(2.5));
  EXPECT_THAT(eval_error_of("abs(-9223372036854775808)"), HasSubstr("abs: integer overflow"));
  EXPECT_THAT(eval_error_of("abs('1')"), HasSubstr("abs: argument 1 must be a number"));
  EXPECT_EQ(eval("floor(2.7)"), bj::value(2));
  EXPECT_EQ(eval("floor(-2.1)"), bj::value(-3));
  EXPECT_EQ(eval("ceil(2.1)"), bj::value(3));
  EXPECT_EQ(eval("ceil(5)"), bj::value(5));
  EXPECT_EQ(eval("round(2.5)"), bj::value(3));
  EXPECT_EQ(eval("round(-2.5)"), bj::value(-3));
  EXPECT_EQ(eval("round(1.15 * 100)"), bj::value(115));
  EXPECT_EQ(eval("int(1.15 * 100)"), bj::value(114));  // why round() exists
  EXPECT_EQ(eval("round(3.14159, 2)"), bj::value(3.14));
  EXPECT_EQ(eval("round(7, 2)"), bj::value(7.0));
  EXPECT_THAT(eval_error_of("round(1.5, 16)"), HasSubstr("digits must be between 0 and 15"));
  EXPECT_THAT(eval_error_of("floor(1e300)"), HasSubstr("out of the int range"));

  EXPECT_EQ(eval("min(3, 1.5, 2)"), bj::value(1.5));
  EXPECT_EQ(eval("max(3, 1.5, 2)"), bj::value(3));
  EXPECT_EQ(eval("max([4, 9, 2])"), bj::value(9));
  EXPECT_EQ(eval("min(value.items[0].qty, value.items[1].qty)"), bj::value(1));
  EXPECT_EQ(eval("max('pear', 'apple')"), bj::value("pear"));
  EXPECT_EQ(eval("max(value.empty)"), bj::value());
  EXPECT_EQ(eval("max(value.empty) ?? 0"), bj::value(0));
  EXPECT_EQ(eval("min(5)"), bj::value(5));
  EXPECT_EQ(eval("max(json_parse('[1, 5, 3]'))"), bj::value(5));
  EXPECT_EQ(eval("min(value.count, 1 + 1, 7)"), bj::value(2));
  EXPECT_EQ(eval("max(value.user.id, value.user.name)"), bj::value("u1"));
  EXPECT_THAT(eval_error_of("min(1, 'a')"), HasSubstr("min: cannot compare string with int"));
  EXPECT_THAT(eval_error_of("max(1, value.missing)"),
              HasSubstr("max: cannot compare null; expected numbers or strings"));
}

TEST(expression_functions, coalesce_is_lazy) {
  EXPECT_EQ(eval("coalesce(value.missing, value.nothing, 'x', 1 / 0)"), bj::value("x"));
  EXPECT_EQ(eval("coalesce(value.missing)"), bj::value());
  EXPECT_EQ(eval("coalesce(value.user.id, 'anon')"), bj::value("u1"));
  EXPECT_THAT(eval_error_of("coalesce(null, 1 / 0)"), HasSubstr("division by zero"));
}

TEST(expression_functions, exists_tells_missing_from_null) {
  EXPECT_EQ(eval("exists(value.nothing)"), bj::value(true));
  EXPECT_EQ(eval("exists(value.missing)"), bj::value(false));
  EXPECT_EQ(eval("exists(value.missing.deeper)"), bj::value(false));
  EXPECT_EQ(eval("exists(value.items[1])"), bj::value(true));
  EXPECT_EQ(eval("exists(value.items[2])"), bj::value(false));
  EXPECT_EQ(eval("exists(value.items[-2].sku)"), bj::value(true));
  EXPECT_EQ(eval("exists(headers.none)"), bj::value(true));
  EXPECT_EQ(eval("exists(headers.other)"), bj::value(false));
  EXPECT_EQ(eval("exists(value)"), bj::value(true));
  EXPECT_EQ(eval("exists(json_parse(value.payload).n)"), bj::value(true));
  EXPECT_EQ(eval("exists(value['a b'])"), bj::value(true));
  EXPECT_EQ(eval("exists(timestamp)"), bj::value(true));
}

TEST(expression_functions, type_keys_values) {
  EXPECT_EQ(eval("[type(null), type(true), type(1), type(1.5), type('s'), type([]), type({})]"),
            json(R"(["null","bool","int","double","string","array","object"])"));
  EXPECT_EQ(eval("type(value.huge)"), bj::value("int"));
  EXPECT_EQ(eval("keys(value.user)"), json(R"(["id","name"])"));
  EXPECT_EQ(eval("values(value.user)"), json(R"(["u1","Ada"])"));
  EXPECT_EQ(eval("keys({})"), json("[]"));
  EXPECT_THAT(eval_error_of("keys(value.tags)"),
              HasSubstr("keys: argument 1 must be an object, got array"));
}

TEST(expression_functions, json_parse_and_json_string) {
  EXPECT_EQ(eval("json_parse(value.payload)"), json(R"({"n":[1,2]})"));
  EXPECT_EQ(eval("json_parse('[1, 2.5, \"x\", null]')"), json(R"([1,2.5,"x",null])"));
  EXPECT_EQ(eval("json_parse('7')"), bj::value(7));
  EXPECT_THAT(eval_error_of("json_parse('{\"a\": }')"), HasSubstr("json_parse: invalid JSON"));
  EXPECT_THAT(eval_error_of("json_parse('1 2')"), HasSubstr("json_parse: invalid JSON"));
  EXPECT_THAT(eval_error_of("json_parse('')"), HasSubstr("json_parse: invalid JSON"));
  EXPECT_THAT(eval_error_of("json_parse(1)"), HasSubstr("argument 1 must be a string"));
  // Deep but reasonable documents parse (Boost.JSON's default limit is 32 levels).
  EXPECT_EQ(eval("json_parse('" + std::string(100, '[') + std::string(100, ']') + "') != null"),
            bj::value(true));
  EXPECT_THAT(
      eval_error_of("json_parse('" + std::string(1000, '[') + std::string(1000, ']') + "')"),
      HasSubstr("invalid JSON"));

  EXPECT_EQ(eval("json_string(value.user)"), bj::value(R"({"id":"u1","name":"Ada"})"));
  EXPECT_EQ(eval("json_string('a\"b\\n')"), bj::value(R"("a\"b\n")"));
  EXPECT_EQ(eval("json_string([1, 1.0, null, true])"), bj::value("[1,1.0,null,true]"));
  EXPECT_EQ(eval("json_string('\\u0001')"), bj::value(R"("\u0001")"));
  EXPECT_EQ(eval("json_parse(json_string(value)) == value"), bj::value(true));
}

TEST(expression_functions, errors_name_the_function_and_position) {
  const auto message = eval_error_of("value.count + substr(value.count, 1)");
  EXPECT_EQ(message, "substr: argument 1 must be a string, got int at column 14");
}

}  // namespace
}  // namespace sluice::operators
