// Runs a libFuzzer target's LLVMFuzzerTestOneInput on the files (or the files of the directories)
// given, without libFuzzer: ctest replays the committed corpora (tests/fuzz/corpus/<fuzzer>/,
// where inputs that once failed stay as regressions) in every build, with any compiler. An input
// that breaks a property aborts, as it does under the fuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return {path};
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& file : inputs_of(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::cerr << "cannot read " << file << '\n';
        return 1;
      }
      const std::vector<std::uint8_t> data{std::istreambuf_iterator<char>(in), {}};
      std::cerr << "replaying " << file.filename().string() << " (" << data.size() << " bytes)\n";
      LLVMFuzzerTestOneInput(data.data(), data.size());
      ++replayed;
    }
  }
  std::cerr << "replayed " << replayed << " inputs\n";
  return replayed == 0 ? 1 : 0;  // an empty corpus means a wrong path, not a pass
}
