#include "runtime/group_settings.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>

#include "kafka/admin/admin_client.hpp"

namespace sluice::runtime {

boost::asio::awaitable<void> apply_group_session_timeout(kafka::cluster& cluster,
                                                         std::string group_id,
                                                         std::chrono::milliseconds timeout) {
  kafka::admin_client admin(cluster);
  kafka::config_resource group{kafka::config_resource_type::group, group_id};
  kafka::config_alteration session{"consumer.session.timeout.ms", kafka::alter_config_op::set,
                                   std::to_string(timeout.count())};
  std::map<kafka::config_resource, std::vector<kafka::config_alteration>> changes;
  changes[group].push_back(std::move(session));
  auto results = co_await admin.incremental_alter_configs(std::move(changes));
  for (const auto& result : results) {
    result.error.throw_if_failed("group " + group_id + ": setting consumer.session.timeout.ms to " +
                                 std::to_string(timeout.count()));
  }
  spdlog::info("group {}: session timeout {} ms (group config consumer.session.timeout.ms)",
               group_id, timeout.count());
}

}  // namespace sluice::runtime
