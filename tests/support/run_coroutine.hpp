#pragma once

// Runs one coroutine to completion on a fresh single-threaded io_context, for tests. The
// coroutine gets the executor; its result (or exception) comes back to the caller. A coroutine
// that does not finish within the deadline fails the test instead of hanging the suite.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace sluice::test {

template <typename MakeCoroutine>
auto run_coroutine(MakeCoroutine make, std::chrono::seconds deadline = std::chrono::seconds(120)) {
  boost::asio::io_context context;
  auto result =
      boost::asio::co_spawn(context, make(context.get_executor()), boost::asio::use_future);
  context.run_for(deadline);
  if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    throw std::runtime_error("coroutine did not finish within the test deadline");
  }
  return result.get();
}

}  // namespace sluice::test
