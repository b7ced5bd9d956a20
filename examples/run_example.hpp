#pragma once

// What the client examples' main() shares: their work, a coroutine, run on an io_context until it
// finishes; its failure printed as "error: ..." with exit status 1.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <iostream>

#include "kafka/client/run_to_completion.hpp"

// `work(executor)` returns the example's coroutine.
template <class Work>
int run_example(Work work) {
  try {
    boost::asio::io_context context;
    sluice::kafka::run_to_completion(context, work(context.get_executor()));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
