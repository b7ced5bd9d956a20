#include "runtime/input_decoder.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <deque>
#include <string>
#include <thread>

namespace sluice::runtime {
namespace {

using operators::data_format;

// Records whose bytes live in the fixture (the tests' fetch buffer).
class input_decoder_test : public ::testing::Test {
 protected:
  kafka::consumer_record record(std::string_view topic, std::string key, std::string value,
                                std::int64_t offset) {
    keys_.push_back(std::move(key));
    values_.push_back(std::move(value));
    kafka::consumer_record r;
    r.topic = topic;
    r.partition = 2;
    r.offset = offset;
    r.timestamp = 1000 + offset;
    r.key = std::as_bytes(std::span(keys_.back()));
    r.value = std::as_bytes(std::span(values_.back()));
    return r;
  }

  std::shared_ptr<const std::vector<kafka::consumer_record>> orders(std::size_t n) {
    auto batch = std::make_shared<std::vector<kafka::consumer_record>>();
    for (std::size_t i = 0; i < n; ++i) {
      batch->push_back(record(
          topic_, "k" + std::to_string(i % 7),
          R"({"seq":)" + std::to_string(i) + R"(,"name":"order )" + std::to_string(i) + R"("})",
          static_cast<std::int64_t>(i)));
    }
    return batch;
  }

  // What the loop would decode itself.
  static void expect_decoded_as_the_loop_would(const decoded_record& got,
                                               const kafka::consumer_record& in) {
    EXPECT_EQ(got.raw.origin.topic, std::string(in.topic));
    EXPECT_EQ(got.raw.origin.partition, in.partition);
    EXPECT_EQ(got.raw.origin.offset, in.offset);
    EXPECT_EQ(got.raw.timestamp, in.timestamp);
    EXPECT_FALSE(got.raw.key.has_value());  // the bytes are decoded, not copied
    EXPECT_FALSE(got.raw.value.has_value());
    EXPECT_EQ(got.decoded.key, boost::json::value(in.key_string()));
    EXPECT_EQ(got.decoded.value, boost::json::parse(in.value_string()));
  }

  static void wait_for_worker(const input_decoder& decoder, std::size_t index) {
    // Not a timing assertion: the worker only has to get there at all.
    for (int i = 0; i < 10'000 && !decoder.worker_done(index); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(decoder.worker_done(index)) << "the worker never decoded record " << index;
  }

  const std::string topic_ = "orders";
  formats_by_topic formats_{{"orders", {data_format::string, data_format::json}}};

 private:
  std::deque<std::string> keys_, values_;  // stable addresses
};

TEST_F(input_decoder_test, records_the_worker_decoded_come_out_as_the_loop_would_decode_them) {
  input_decoder decoder(formats_);
  auto batch = orders(500);
  const auto number = decoder.start(batch);
  wait_for_worker(decoder, batch->size() - 1);
  for (std::size_t i = 0; i < batch->size(); ++i) {
    auto got = decoder.take({number, i});
    ASSERT_TRUE(got) << "record " << i;
    expect_decoded_as_the_loop_would(*got, (*batch)[i]);
  }
  EXPECT_EQ(decoder.taken_from_worker(), 500U);
  decoder.finish();
  EXPECT_FALSE(decoder.take({number, 0}));  // no current batch
}

TEST_F(input_decoder_test, a_loop_ahead_of_the_worker_decodes_its_records_itself_and_none_is_lost) {
  input_decoder decoder(formats_);
  std::uint64_t from_worker = 0;
  for (int round = 0; round < 20; ++round) {
    auto batch = orders(2000);
    const auto number = decoder.start(batch);
    for (std::size_t i = 0; i < batch->size(); ++i) {
      // Either the worker's result, or nullopt and the loop decodes the record itself.
      if (auto got = decoder.take({number, i})) {
        ++from_worker;
        expect_decoded_as_the_loop_would(*got, (*batch)[i]);
      }
      EXPECT_FALSE(decoder.take({number, i})) << "a record is taken once";
    }
    decoder.finish();
  }
  EXPECT_EQ(decoder.taken_from_worker(), from_worker) << "the metric counts what was handed out";
}

TEST_F(input_decoder_test, bad_bytes_and_unknown_topics_are_left_to_the_loop) {
  input_decoder decoder(formats_);
  auto batch = std::make_shared<std::vector<kafka::consumer_record>>();
  batch->push_back(record(topic_, "a", R"({"ok":1})", 0));
  batch->push_back(record(topic_, "b", R"({"broken":)", 1));  // not JSON
  batch->push_back(record("other", "c", R"({"ok":2})", 2));   // no formats for it
  batch->push_back(record(topic_, "d", R"({"ok":3})", 3));
  const auto number = decoder.start(batch);
  wait_for_worker(decoder, 3);
  EXPECT_TRUE(decoder.take({number, 0}));
  EXPECT_FALSE(decoder.take({number, 1}));
  EXPECT_FALSE(decoder.take({number, 2}));
  EXPECT_TRUE(decoder.take({number, 3}));
  EXPECT_EQ(decoder.taken_from_worker(), 2U);
}

TEST_F(input_decoder_test, a_batch_let_go_mid_way_and_a_decoder_destroyed_while_busy_are_safe) {
  auto decoder = std::make_unique<input_decoder>(formats_);
  auto first = orders(5000);
  const auto one = decoder->start(first);
  EXPECT_FALSE(decoder->take({one, first->size()}));  // past the end
  decoder->take({one, 0});
  const auto two = decoder->start(orders(5000));  // lets the first go, the worker maybe in it
  first.reset();                                  // the worker's share keeps the records alive
  EXPECT_EQ(two, one + 1);
  wait_for_worker(*decoder, 0);
  EXPECT_FALSE(decoder->take({one, 0})) << "a slot of a batch let go";
  EXPECT_TRUE(decoder->take({two, 0}));
  decoder->take({two, 1});
  decoder.reset();  // joins the worker, busy or not
}

TEST(input_decoder, formats_come_from_every_sub_topology_source_and_table) {
  operators::topology_plan plan;
  plan.sub_topologies.resize(2);
  plan.sub_topologies[0].sources.push_back(
      {.topics = {"orders", "returns"}, .key_format = data_format::int64});
  plan.sub_topologies[1].sources.push_back({.topics = {"customers"},
                                            .key_format = data_format::string,
                                            .value_format = data_format::bytes,
                                            .as_table = true});
  const auto formats = source_formats_of(plan);
  ASSERT_EQ(formats.size(), 3U);
  EXPECT_EQ(formats.at("returns").key, data_format::int64);
  EXPECT_EQ(formats.at("returns").value, data_format::json);
  EXPECT_EQ(formats.at("customers").value, data_format::bytes);
}

}  // namespace
}  // namespace sluice::runtime
