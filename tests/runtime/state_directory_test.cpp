#include "runtime/state_directory.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;

fs::path fresh_directory(const std::string& name) {
  auto path = fs::temp_directory_path() /
              ("sluice-state-directory-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(path);
  return path;
}

TEST(state_directory, the_instance_id_is_made_once_and_kept) {
  const auto path = fresh_directory("id");
  std::string first;
  {
    state_directory directory(path);
    first = directory.instance_id();
    EXPECT_EQ(first.size(), 16u);
    EXPECT_EQ(directory.instance_id(), first);
  }
  state_directory again(path);
  EXPECT_EQ(again.instance_id(), first);
  fs::remove_all(path);
}

TEST(state_directory, the_member_id_is_kept_for_the_next_process) {
  const auto path = fresh_directory("member");
  {
    state_directory directory(path);
    EXPECT_EQ(directory.member_id(), std::nullopt) << "a first start has no predecessor";
    directory.keep_member_id("");
    EXPECT_EQ(directory.member_id(), std::nullopt) << "an empty id (not joined yet) is not kept";
    directory.keep_member_id("first-member-id");
    directory.keep_member_id("second-member-id");
  }
  state_directory next(path);
  EXPECT_EQ(next.member_id(), "second-member-id");
  fs::remove_all(path);
}

TEST(state_directory, a_second_holder_is_refused_with_a_clear_error_until_the_first_lets_go) {
  const auto path = fresh_directory("lock");
  {
    state_directory first(path);
    try {
      state_directory second(path);
      FAIL() << "a second holder got the state directory";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(state_directory after(path));
  fs::remove_all(path);
}

TEST(state_directory, the_lock_of_a_killed_process_is_released) {
  const auto path = fresh_directory("killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    state_directory held(path);
    const char byte = 1;
    (void)::write(ready[1], &byte, 1);
    ::pause();  // until SIGKILL
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child could not take the state directory";
  EXPECT_THROW(state_directory refused(path), std::runtime_error);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NO_THROW(state_directory after(path));
  ::close(ready[0]);
  ::close(ready[1]);
  fs::remove_all(path);
}

}  // namespace
}  // namespace sluice::runtime
