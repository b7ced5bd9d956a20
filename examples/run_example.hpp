#pragma once

// What the client examples' main() shares: the usage line when the arguments are wrong (exit
// status 2), else their work, a coroutine, run on an io_context until it finishes; its failure
// printed as "error: ..." with exit status 1.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <iostream>
#include <string_view>

#include "kafka/client/run_to_completion.hpp"

// `work(executor)` returns the example's coroutine; `usage` is the program's name and arguments.
template <class Work>
int run_example(bool arguments_fit, std::string_view usage, Work work) {
  if (!arguments_fit) {
    std::cerr << "usage: " << usage << "\n";
    return 2;
  }
  try {
    boost::asio::io_context context;
    sluice::kafka::run_to_completion(context, work(context.get_executor()));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
