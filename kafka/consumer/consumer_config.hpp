#pragma once

// The consumer's settings. Names and defaults are the Java client's (ConsumerConfig), spelled in
// snake_case: `max_poll_records` is `max.poll.records`. `validate()` rejects bad combinations with
// a message naming the setting, before anything connects.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/client/client_config.hpp"
#include "kafka/client/isolation_level.hpp"

namespace sluice::kafka {

// What to do when a partition has no valid position: no committed offset, or the committed /
// sought offset is out of the log's range (auto.offset.reset).
enum class auto_offset_reset : std::uint8_t { earliest, latest, none };

// Values as on the wire (Fetch and ListOffsets `IsolationLevel`, KIP-98).
const char* to_string(auto_offset_reset reset) noexcept;
const char* to_string(isolation_level level) noexcept;
// Kafka's spellings ("earliest", "read_committed"), case-insensitive; nullopt if unknown.
std::optional<auto_offset_reset> parse_auto_offset_reset(std::string_view text);
std::optional<isolation_level> parse_isolation_level(std::string_view text);

// The assignor names this client knows (partition.assignment.strategy, by the names the
// assignors put in JoinGroup so that Java, librdkafka and Python members agree on them).
inline constexpr std::string_view range_assignor_name = "range";
inline constexpr std::string_view roundrobin_assignor_name = "roundrobin";
inline constexpr std::string_view cooperative_sticky_assignor_name = "cooperative-sticky";
inline constexpr std::string_view sticky_assignor_name = "sticky";

class partition_assignor;  // kafka/consumer/assignor.hpp

// A new `consumer` protocol member id: 16 random bytes, URL-safe base64 (Java's Uuid.toString()).
std::string new_group_member_id();

// group.protocol: `classic` (JoinGroup / SyncGroup, client-side assignors) or `consumer`
// (KIP-848: ConsumerGroupHeartbeat, the coordinator assigns). Classic is the default, as in the
// Java client.
enum class group_protocol_type : std::uint8_t { classic, consumer };
const char* to_string(group_protocol_type protocol) noexcept;
std::optional<group_protocol_type> parse_group_protocol(std::string_view text);

struct consumer_config : client_config {
  // group.id: empty means no group (manual assignment only; no commits).
  std::string group_id;
  // group.instance.id: static membership (KIP-345); requires a group id.
  std::optional<std::string> group_instance_id;
  // Whether stop() and unsubscribe() send LeaveGroup (Java's internal.leave.group.on.close). Unset:
  // dynamic members leave, static ones stay, so a restart within the session timeout gets their
  // partitions back without a rebalance (KIP-345). True makes a static member leave as well, for a
  // stop that is meant to hand its partitions over at once.
  std::optional<bool> leave_group_on_close;
  auto_offset_reset offset_reset = auto_offset_reset::latest;
  // enable.auto.commit. Only takes effect with a group id (Java refuses an explicit `true` without
  // one; here it is simply inactive, since a default cannot be told from an explicit value).
  bool enable_auto_commit = true;
  std::chrono::milliseconds auto_commit_interval{5'000};
  std::int32_t fetch_min_bytes = 1;
  std::int32_t fetch_max_bytes = 52'428'800;
  std::chrono::milliseconds fetch_max_wait{500};
  std::int32_t max_partition_fetch_bytes = 1'048'576;
  std::int32_t max_poll_records = 500;
  std::chrono::milliseconds max_poll_interval{300'000};
  std::chrono::milliseconds session_timeout{45'000};
  std::chrono::milliseconds heartbeat_interval{3'000};
  isolation_level isolation = isolation_level::read_uncommitted;
  // partition.assignment.strategy, in order of preference. Java's default since 3.0.
  std::vector<std::string> assignment_strategies{std::string(range_assignor_name),
                                                 std::string(cooperative_sticky_assignor_name)};
  // Application assignors (classic protocol). Each is used where its name() appears in
  // assignment_strategies; a name there that is neither built in nor one of these is an error.
  std::vector<std::shared_ptr<partition_assignor>> custom_assignors;
  bool check_crcs = true;
  // client.rack (KIP-392); sent in Fetch and in the subscription.
  std::string client_rack;
  bool exclude_internal_topics = true;
  // group.protocol (KIP-848). With `consumer`, assignment_strategies, session_timeout and
  // heartbeat_interval are not used: the group coordinator assigns (group_remote_assignor) and
  // sets the heartbeat interval and session timeout (broker or group configs
  // group.consumer.heartbeat.interval.ms / group.consumer.session.timeout.ms).
  group_protocol_type group_protocol = group_protocol_type::classic;
  // The member id to join with (`consumer` protocol; KIP-1082 lets the client choose it), kept
  // across rejoins. Default: a random one per consumer. An application that writes it to disk
  // before it joins always knows the id a crashed process had (previous_member_id below).
  std::optional<std::string> member_id;
  // The member id the previous process with this group_instance_id had (`consumer` protocol; an
  // application keeps consumer::group_metadata().member_id on disk). A process killed with
  // kill -9 never sent its static leave, so the coordinator refuses its successor's instance id
  // (UNRELEASED_INSTANCE_ID) until the session timeout. With this set, the consumer then sends
  // that leave itself (epoch -2, as a clean stop would have): its partitions come back at once.
  std::optional<std::string> previous_member_id;
  // group.remote.assignor: the server-side assignor a `consumer` protocol member asks for
  // ("uniform" or "range" on Apache Kafka); unset: the coordinator's default.
  std::optional<std::string> group_remote_assignor;
  // default.api.timeout.ms: how long blocking calls (offset lookups, commits, committed) retry.
  std::chrono::milliseconds default_api_timeout{60'000};

  bool auto_commit_active() const { return enable_auto_commit && !group_id.empty(); }

  // Throws kafka_error(net_error::bad_configuration) naming the first bad setting.
  void validate() const;
};

}  // namespace sluice::kafka
