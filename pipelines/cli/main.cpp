// The `sluice` command. Everything lives in sluice::cli (pipelines/cli/commands.hpp), so that it is
// tested without this file.
#include <iostream>

#include "pipelines/cli/commands.hpp"

int main(int argc, char** argv) {
  return sluice::cli::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
