// `sluice validate` on a pipeline across two clusters: exactly-once is refused with the reason,
// at-least-once accepted. Offline: no broker.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipelines/cli/commands.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

std::string migration(std::string_view delivery) {
  return "name: orders-migration\ndelivery: " + std::string(delivery) +
         "\nclusters:\n  old: { bootstrap_servers: old:9092 }\n  new: { bootstrap_servers: "
         "new:9092 }\n"
         "sources: [{ topic: orders, cluster: old }]\nsink: { topic: orders, cluster: new }\n";
}

TEST(sluice_validate_clusters, exactly_once_across_clusters_is_refused_with_the_reason) {
  const auto dir = fs::path(::testing::TempDir()) / "sluice-validate-clusters";
  fs::create_directories(dir);
  const auto file = (dir / "migration.yaml").string();
  std::ofstream(file) << migration("exactly_once");
  std::ostringstream out, err;
  EXPECT_EQ(run({"validate", file}, out, err), 1);
  EXPECT_EQ(
      err.str(),
      file +
          ":7:33: sink.cluster: exactly_once holds only within one cluster: this sink is on "
          "cluster "
          "'new' and the sources are on cluster 'old' (one transaction cannot span two clusters); "
          "write to the sources' cluster, or use delivery: at_least_once\n");
  std::ofstream(file) << migration("at_least_once");
  std::ostringstream ok_out, ok_err;
  EXPECT_EQ(run({"validate", file}, ok_out, ok_err), 0) << ok_err.str();
  EXPECT_EQ(ok_out.str(), file + ": ok (pipeline orders-migration, 0 tests)\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::cli
