#include "tests/support/test_cluster.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>

namespace sluice::test {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name
                  << " is not set: integration tests need the broker that `scripts/kafka start` "
                     "runs (scripts/test starts it and exports the variables)";
    return {};
  }
  return value;
}

std::string bootstrap_servers() {
  return required_env("SLUICE_BOOTSTRAP");
}

std::string second_bootstrap_servers() {
  return required_env("SLUICE_BOOTSTRAP_2");
}

std::string python() {
  const char* value = std::getenv("SLUICE_PYTHON");
  return value != nullptr && *value != '\0' ? value : "python3";
}

std::string unique_topic(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string name = prefix + "-" + (info != nullptr ? info->name() : "test") + "-" +
                     std::to_string(::getpid()) + "-" + std::to_string(now % 1000000007) + "-" +
                     std::to_string(counter++);
  for (auto& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) c = '-';
  }
  return name;
}

}  // namespace sluice::test
