// The console producer's line splitter and the console consumer's --format, plus the command
// lines of `sluice produce` and `sluice consume`: offline, no broker.
#include "pipelines/cli/console_format.hpp"

#include <gtest/gtest.h>

#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {
namespace {

using kind = format_part::kind;

std::string usage_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const usage_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no usage error";
  return {};
}

TEST(console_format, parses_fields_literals_and_escapes) {
  const auto format = parse_record_format("%t:%p@%o\\t%k=%v %h %T 100%%\\n\\\\");
  const record_format expected{
      {kind::topic, {}},     {kind::text, ":"},        {kind::partition, {}}, {kind::text, "@"},
      {kind::offset, {}},    {kind::text, "\t"},       {kind::key, {}},       {kind::text, "="},
      {kind::value, {}},     {kind::text, " "},        {kind::headers, {}},   {kind::text, " "},
      {kind::timestamp, {}}, {kind::text, " 100%\n\\"}};
  EXPECT_EQ(format, expected);
  EXPECT_TRUE(parse_record_format("").empty());
  EXPECT_EQ(parse_record_format("plain"), (record_format{{kind::text, "plain"}}));
}

TEST(console_format, rejects_unknown_directives_and_dangling_escapes) {
  auto unknown = usage_message([] { parse_record_format("%k %x"); });
  EXPECT_NE(unknown.find("'%x' at position 4"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("%t topic"), std::string::npos) << unknown;
  auto escape = usage_message([] { parse_record_format("%v\\q"); });
  EXPECT_NE(escape.find("'\\q'"), std::string::npos) << escape;
  auto lone = usage_message([] { parse_record_format("%v%"); });
  EXPECT_NE(lone.find("lone '%'"), std::string::npos) << lone;
  auto lone_backslash = usage_message([] { parse_record_format("%v\\"); });
  EXPECT_NE(lone_backslash.find("lone '\\'"), std::string::npos) << lone_backslash;
}

TEST(console_format, formats_a_record_with_null_key_and_headers) {
  const auto one = kafka::protocol::to_bytes("1");
  const std::vector<kafka::records::header_view> headers{
      {"source", kafka::protocol::bytes_view(one)},
      {"flag", std::nullopt},
      {"empty", kafka::protocol::bytes_view()}};
  record_fields record;
  record.topic = "orders";
  record.partition = 3;
  record.offset = 42;
  record.timestamp = 1700000000000;
  record.value = "hello";
  record.headers = headers;
  std::string out;
  append_formatted(parse_record_format("%t %p %o [%k] %v %h %T"), record, out);
  EXPECT_EQ(out, "orders 3 42 [] hello source=1,flag,empty= 1700000000000");

  record.key = "alice";
  record.value.reset();
  record.headers = {};
  out.clear();
  append_formatted(parse_record_format("%k=%v|%h|"), record, out);
  EXPECT_EQ(out, "alice=||");
}

TEST(console_line_splitter, splits_at_the_first_separator) {
  auto split = split_line("k:v:w", ":", 1);
  ASSERT_TRUE(split.key);
  EXPECT_EQ(*split.key, "k");
  EXPECT_EQ(split.value, "v:w");

  auto multi = split_line("key::=value", "::=", 1);
  EXPECT_EQ(*multi.key, "key");
  EXPECT_EQ(multi.value, "value");

  auto empty_key = split_line(":v", ":", 1);
  EXPECT_EQ(*empty_key.key, "");
  EXPECT_EQ(empty_key.value, "v");

  auto no_keys = split_line("a:b", "", 1);
  EXPECT_FALSE(no_keys.key);
  EXPECT_EQ(no_keys.value, "a:b");
}

TEST(console_line_splitter, a_line_without_the_separator_names_its_number) {
  auto message = usage_message([] { split_line("no separator here", "\t", 17); });
  EXPECT_NE(message.find("line 17"), std::string::npos) << message;
  EXPECT_NE(message.find("no separator here"), std::string::npos) << message;
  auto long_line = usage_message([] { split_line(std::string(500, 'x'), ":", 2); });
  EXPECT_LT(long_line.size(), 200u) << "the line is shortened in the message";
}

TEST(console_headers, parses_key_value_and_null_headers) {
  auto header = parse_header("trace=a=b");
  EXPECT_EQ(header.key, "trace");
  EXPECT_EQ(header.value, kafka::protocol::to_bytes("a=b"));
  auto null_value = parse_header("flag");
  EXPECT_EQ(null_value.key, "flag");
  EXPECT_FALSE(null_value.value);
  EXPECT_NE(usage_message([] { parse_header("=v"); }).find("names no header"), std::string::npos);
}

TEST(console_command_line, parses_produce) {
  auto command =
      parse_command_line({"produce", "--bootstrap-server", "k:9092", "--topic", "t",
                          "--key-separator", ":", "--partition", "2", "--header", "a=1", "--header",
                          "b", "--acks", "1", "--compression", "zstd", "-v"});
  EXPECT_EQ(command.command, "produce");
  const auto& args = std::get<produce_args>(command.args);
  EXPECT_EQ(args.topic, "t");
  EXPECT_EQ(args.key_separator, ":");
  EXPECT_EQ(args.partition, 2);
  ASSERT_EQ(args.headers.size(), 2u);
  EXPECT_EQ(args.headers[0].key, "a");
  EXPECT_FALSE(args.headers[1].value);
  EXPECT_EQ(args.acks, "1");
  EXPECT_EQ(args.compression, "zstd");
  EXPECT_TRUE(args.verbose);
  EXPECT_FALSE(args.transactional_id);
}

TEST(console_command_line, rejects_bad_produce_options) {
  const std::vector<std::string> base{"produce", "--bootstrap-server", "k:9092", "--topic", "t"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return usage_message([&] { parse_command_line(args); });
  };
  EXPECT_NE(usage_message([] {
              parse_command_line({"produce", "--bootstrap-server", "k:1"});
            }).find("--topic is required"),
            std::string::npos);
  EXPECT_NE(with({"--acks", "2"}).find("--acks: '2'"), std::string::npos);
  EXPECT_NE(with({"--compression", "brotli"}).find("--compression: 'brotli'"), std::string::npos);
  EXPECT_NE(with({"--partition", "-1"}).find("--partition"), std::string::npos);
  EXPECT_NE(with({"--key-separator", ""}).find("--key-separator"), std::string::npos);
  EXPECT_NE(with({"--transactional-id", "x", "--acks", "1"}).find("--acks all"), std::string::npos);
}

TEST(console_command_line, parses_consume) {
  auto command = parse_command_line({"consume", "--bootstrap-server", "k:9092", "--topic", "a",
                                     "--topic", "b", "--group", "g", "--from-beginning",
                                     "--max-messages", "10", "--timeout-ms", "2500",
                                     "--isolation-level", "read_committed", "--format", "%k %v"});
  const auto& args = std::get<consume_args>(command.args);
  EXPECT_EQ(args.topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(args.group, "g");
  EXPECT_EQ(args.start.what, start_position::kind::earliest);
  EXPECT_EQ(args.max_messages, 10);
  EXPECT_EQ(args.idle_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(args.isolation_level, "read_committed");
  EXPECT_EQ(args.format, "%k %v");

  // Without --timeout-ms it runs until stopped.
  auto plain = parse_command_line({"consume", "--bootstrap-server", "k:9092", "--topic", "a",
                                   "--partition", "1", "--offset", "5"});
  const auto& a = std::get<consume_args>(plain.args);
  EXPECT_FALSE(a.idle_timeout);
  EXPECT_EQ(a.partition, 1);
  EXPECT_EQ(a.start.what, start_position::kind::offset);
  EXPECT_EQ(a.start.value, 5);
  EXPECT_EQ(a.format, "%v");

  auto timestamp = parse_command_line({"consume", "--bootstrap-server", "k:9092", "--pattern",
                                       "orders-.*", "--from-timestamp", "1000"});
  EXPECT_EQ(std::get<consume_args>(timestamp.args).start.what, start_position::kind::timestamp);
  EXPECT_EQ(std::get<consume_args>(timestamp.args).pattern, "orders-.*");
}

TEST(console_command_line, rejects_bad_consume_options) {
  auto message = [](std::vector<std::string> extra) {
    std::vector<std::string> args{"consume", "--bootstrap-server", "k:9092"};
    args.insert(args.end(), extra.begin(), extra.end());
    return usage_message([&] { parse_command_line(args); });
  };
  EXPECT_NE(message({}).find("one of --topic, --pattern is required"), std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--pattern", "b"}).find("cannot be used together"),
            std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--from-beginning", "--offset", "3"})
                .find("cannot be used together"),
            std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--group", "g", "--partition", "0"}).find("--group"),
            std::string::npos);
  EXPECT_NE(
      message({"--topic", "a", "--topic", "b", "--partition", "0"}).find("exactly one --topic"),
      std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--offset", "-3"}).find("--offset: '-3'"), std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--max-messages", "0"}).find("--max-messages"),
            std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--isolation-level", "dirty"}).find("--isolation-level"),
            std::string::npos);
  EXPECT_NE(message({"--pattern", "("}).find("--pattern"), std::string::npos);
  EXPECT_NE(message({"--topic", "a", "--format", "%q"}).find("'%q'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
