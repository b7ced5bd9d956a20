#pragma once

// `sluice ARGS` as a child process (the real binary, next to the test binary's folder), its
// stdout and stderr in one file, for the tests that run `sluice run` as users do; and `sluice
// ARGS` in the test's process against a given cluster.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pipelines/cli/commands.hpp"

namespace sluice::cli::test_support {

namespace fs = std::filesystem;

inline std::string read_file(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// `sluice ARGS` as a child process; killed (SIGKILL) when destroyed while it runs.
class sluice_process {
 public:
  sluice_process(const std::vector<std::string>& args, const fs::path& log) : log_(log) {
    const auto binary =
        (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "sluice").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const auto file = log.string();
      std::freopen(file.c_str(), "w", stdout);
      std::freopen(file.c_str(), "a", stderr);
      std::vector<char*> argv{const_cast<char*>(binary.c_str())};
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      std::_Exit(127);
    }
  }
  ~sluice_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string log() const { return read_file(log_); }
  // SIGTERM, then the exit status.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // SIGKILL, as a machine dying: nothing of the process runs after it.
  void kill() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

// `sluice ARGS --bootstrap-server BOOTSTRAP` in this process, expected to succeed; its stdout in
// *out_text.
inline int run_on_cluster(const std::string& bootstrap, std::vector<std::string> args,
                          const std::string& input = "", std::string* out_text = nullptr) {
  args.push_back("--bootstrap-server");
  args.push_back(bootstrap);
  std::istringstream in(input);
  std::ostringstream out, err;
  const int status = run(args, in, out, err);
  if (out_text != nullptr) *out_text = out.str();
  EXPECT_EQ(status, 0) << err.str();
  return status;
}

}  // namespace sluice::cli::test_support
