#pragma once

// The body of a main() that does its work in one coroutine: run it on an io_context until it
// has finished, then return its result or rethrow its exception.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <utility>

namespace sluice::kafka {

// Runs `context` until `work` has finished, not until the context runs out of work: a client's
// connections keep their read loops waiting on the context until they are closed, so a program
// that forgot to stop a client still returns once its work is done.
template <class T>
T run_to_completion(boost::asio::io_context& context, boost::asio::awaitable<T> work) {
  auto done = boost::asio::co_spawn(context, std::move(work), boost::asio::use_future);
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) context.run_one();
  return done.get();
}

}  // namespace sluice::kafka
