#include "runtime/state_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

namespace sluice::runtime {
namespace {

std::string random_instance_id() {
  std::random_device entropy;
  std::mt19937_64 generator(entropy());
  static constexpr char digits[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id += digits[generator() % 16];
  return id;
}

std::optional<std::string> read_line(const std::filesystem::path& file) {
  std::string line;
  if (std::ifstream in(file); in && std::getline(in, line) && !line.empty()) return line;
  return std::nullopt;
}

void write_line(const std::filesystem::path& file, const std::string& line) {
  auto temporary = file;
  temporary += ".tmp";
  std::ofstream(temporary) << line << '\n';
  std::filesystem::rename(temporary, file);  // a crash leaves the old file or the new, never half
}

}  // namespace

state_directory::state_directory(std::filesystem::path app_dir) : path_(std::move(app_dir)) {
  std::filesystem::create_directories(path_);
  const auto lock_file = path_ / ".lock";
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw std::runtime_error("state directory " + path_.string() + ": cannot open " +
                             lock_file.string() + ": " + std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw std::runtime_error(
          "state directory " + path_.string() +
          " is in use by another process of this application; give each instance its "
          "own --state-dir");
    }
    throw std::runtime_error("state directory " + path_.string() +
                             ": cannot lock it: " + std::strerror(error));
  }
}

state_directory::~state_directory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::string state_directory::instance_id() {
  if (auto id = read_line(path_ / "instance-id")) return *id;
  auto id = random_instance_id();
  write_line(path_ / "instance-id", id);
  return id;
}

std::optional<std::string> state_directory::member_id() const {
  return read_line(path_ / "member-id");
}

void state_directory::keep_member_id(const std::string& id) {
  if (!id.empty()) write_line(path_ / "member-id", id);
}

}  // namespace sluice::runtime
