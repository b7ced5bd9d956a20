#include "operators/aggregate_state_cache.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace sluice::operators {
namespace {

boost::json::value state(std::int64_t count) {
  return boost::json::value{{"t", 5}, {"a", boost::json::array{count, "x", nullptr, true}}};
}

TEST(aggregate_state_cache, gives_back_a_remembered_state_once) {
  aggregate_state_cache cache;
  EXPECT_FALSE(cache.take("\"k\"", 60'000));
  cache.remember("\"k\"", 60'000, state(3));
  EXPECT_FALSE(cache.take("\"k\"", 0)) << "another window of the key";
  EXPECT_FALSE(cache.take("\"j\"", 60'000)) << "another key";
  auto taken = cache.take("\"k\"", 60'000);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, state(3));
  EXPECT_FALSE(cache.take("\"k\"", 60'000)) << "taken: until remembered again, the store decides";
}

TEST(aggregate_state_cache, remembers_only_states_that_come_back_from_their_text_identical) {
  EXPECT_TRUE(aggregate_state_cache::survives_text(state(1)));
  const boost::json::value with_double{{"a", boost::json::array{1, 0.1}}};
  const boost::json::value with_unsigned{{"a", boost::json::array{std::uint64_t{7}}}};
  // The reason: an unsigned 7 comes back from "7" as a signed one.
  EXPECT_FALSE(boost::json::parse(boost::json::serialize(with_unsigned)).at("a").at(0).is_uint64());
  EXPECT_FALSE(aggregate_state_cache::survives_text(with_double));
  EXPECT_FALSE(aggregate_state_cache::survives_text(with_unsigned));

  aggregate_state_cache cache;
  cache.remember("\"k\"", 0, state(1));
  cache.remember("\"k\"", 0, with_double);  // the store now holds this: the old copy must go
  EXPECT_FALSE(cache.take("\"k\"", 0));
  cache.remember("\"u\"", 0, with_unsigned);
  EXPECT_FALSE(cache.take("\"u\"", 0));
}

TEST(aggregate_state_cache, keeps_at_most_two_generations) {
  aggregate_state_cache cache(2);
  cache.remember("\"a\"", 0, state(1));
  cache.remember("\"b\"", 0, state(2));
  cache.remember("\"c\"", 0, state(3));  // a and b become the older generation
  cache.remember("\"d\"", 0, state(4));
  cache.remember("\"e\"", 0, state(5));  // c and d older, a and b dropped
  EXPECT_FALSE(cache.take("\"a\"", 0));
  EXPECT_FALSE(cache.take("\"b\"", 0));
  ASSERT_TRUE(cache.take("\"c\"", 0));
  EXPECT_EQ(*cache.take("\"d\"", 0), state(4));
  EXPECT_EQ(*cache.take("\"e\"", 0), state(5));
}

}  // namespace
}  // namespace sluice::operators
