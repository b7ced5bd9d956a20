#include "kafka/consumer/fetch_session.hpp"

#include <limits>

namespace sluice::kafka {

void fetch_session::fill_request(protocol::fetch_request& request, const wanted_partitions& wanted,
                                 std::int32_t partition_max_bytes) const {
  const bool incremental_request = incremental();
  // KIP-227: session id 0 with epoch 0 is a full fetch that asks the broker to open a session.
  request.session_id = id_;
  request.session_epoch = incremental_request ? epoch_ : 0;
  for (const auto& [tp, now] : wanted) {
    auto known = held_.find(tp);
    if (incremental_request && known != held_.end() &&
        known->second.fetch_offset == now.fetch_offset &&
        known->second.leader_epoch == now.leader_epoch) {
      continue;  // the broker's session already has it
    }
    if (request.topics.empty() || request.topics.back().topic != tp.topic) {
      auto& topic = request.topics.emplace_back();
      topic.topic = tp.topic;
      topic.topic_id = now.topic_id;
    }
    protocol::fetch_request::fetch_partition partition;
    partition.partition = tp.partition;
    partition.current_leader_epoch = now.leader_epoch;
    partition.fetch_offset = now.fetch_offset;
    partition.last_fetched_epoch = now.last_fetched_epoch;
    partition.partition_max_bytes = partition_max_bytes;
    request.topics.back().partitions.push_back(partition);
  }
  if (!incremental_request) return;
  for (const auto& [tp, held] : held_) {
    if (wanted.contains(tp)) continue;
    if (request.forgotten_topics_data.empty() ||
        request.forgotten_topics_data.back().topic != tp.topic) {
      request.forgotten_topics_data.push_back({.topic = tp.topic, .topic_id = held.topic_id});
    }
    request.forgotten_topics_data.back().partitions.push_back(tp.partition);
  }
}

fetch_session::outcome fetch_session::on_response(error_code code, std::int32_t session_id,
                                                  const wanted_partitions& wanted) {
  if (code != error_code::none) {
    reset();
    return is_session_error(code) ? outcome::session_error : outcome::failed;
  }
  if (session_id == 0) {
    reset();
    return outcome::not_kept;
  }
  const bool continued = id_ == session_id;
  id_ = session_id;
  epoch_ = continued ? next_epoch(epoch_) : 1;
  held_.clear();
  for (const auto& [tp, sent] : wanted) {
    held_.emplace_hint(held_.end(), tp,
                       held_partition{sent.fetch_offset, sent.leader_epoch, sent.topic_id});
  }
  return continued ? outcome::continued : outcome::opened;
}

void fetch_session::reset() {
  id_ = 0;
  epoch_ = 0;
  held_.clear();
}

std::int32_t fetch_session::next_epoch(std::int32_t epoch) {
  return epoch == std::numeric_limits<std::int32_t>::max() ? 1 : epoch + 1;
}

bool fetch_session::is_session_error(error_code code) {
  return code == error_code::fetch_session_id_not_found ||
         code == error_code::invalid_fetch_session_epoch ||
         code == error_code::fetch_session_topic_id_error;
}

}  // namespace sluice::kafka
