// Committed offsets of a group (consumer::impl, consumer_impl.hpp): OffsetCommit, with the
// member's generation (or KIP-848 member epoch) so that the coordinator refuses commits of a
// member the group has moved on from, and OffsetFetch with require_stable (KIP-447). Both retry
// while the coordinator moves, until the API deadline. Used by both group protocols, auto commit
// and the public commit API (consumer_group.cpp). Runs on the consumer's executor.
#include <algorithm>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/consumer_impl.hpp"
#include "kafka/consumer/group_internal.hpp"
#include "kafka/protocol/messages/offset_commit.hpp"
#include "kafka/protocol/messages/offset_fetch.hpp"

namespace sluice::kafka {

using namespace group_detail;

namespace {

// One request to the group's coordinator, sent by `exchange` on its connection. A retriable
// failure forgets the coordinator, keeps the failure for the deadline's error and waits the retry
// backoff before returning nullopt, and the caller's loop tries again.
template <class Response, class Exchange>
asio::awaitable<std::optional<Response>> ask_coordinator(consumer::impl& self, group_state& g,
                                                         std::string& last_problem,
                                                         Exchange exchange) {
  std::optional<Response> response;
  try {
    auto conn = co_await coordinator(self, false);
    response = co_await exchange(*conn);
  } catch (const kafka_error& e) {
    if (!e.retriable()) throw;
    last_problem = e.what();
    coordinator_lost(g);
  }
  if (!response) co_await sleep_for(self.executor, self.config.retry_backoff);
  co_return response;
}

}  // namespace

std::map<topic_partition, offset_and_metadata> consumer::impl::consumed_offsets() const {
  std::map<topic_partition, offset_and_metadata> out;
  for (const auto& [tp, state] : partitions) {
    if (state.position) out[tp] = {*state.position, "", state.last_leader_epoch};
  }
  return out;
}

asio::awaitable<void> consumer::impl::commit_offsets(
    std::map<topic_partition, offset_and_metadata> offsets) {
  if (!group) throw illegal_state("commit: the consumer has no group_id");
  if (offsets.empty()) co_return;
  auto& g = *group;
  if (subscribed() && g.generation < 0) {
    // Java's rule: a subscribed consumer that is not a member of the current generation (it left
    // after max_poll_interval, or the coordinator dropped it) must not commit; its partitions may
    // already be someone else's.
    throw kafka_error(
        make_error_code(consumer_error::commit_failed),
        "commit to group '" + config.group_id +
            "' failed: this consumer is not a member of the group's current generation (it was "
            "removed or left after max_poll_interval); poll again to rejoin",
        false);
  }
  const auto deadline = api_deadline();
  std::string last_problem;
  while (!offsets.empty()) {
    if (clock::now() > deadline) {
      throw kafka_error(
          make_error_code(consumer_error::timed_out),
          "commit offsets to group '" + config.group_id + "' (last problem: " + last_problem + ")",
          true);
    }
    protocol::offset_commit_request request;
    request.group_id = config.group_id;
    const bool member = subscribed() && g.generation >= 0;
    request.generation_id_or_member_epoch = member ? g.generation : -1;
    request.member_id = member ? g.member_id : "";
    request.group_instance_id = member ? config.group_instance_id : std::nullopt;
    for (const auto& [tp, at] : offsets) {
      if (request.topics.empty() || request.topics.back().name != tp.topic) {
        auto& topic = request.topics.emplace_back();
        topic.name = tp.topic;
        // OffsetCommit v10 names topics by id (KIP-848 era).
        if (const auto* info = co_await cluster.topic(tp.topic)) topic.topic_id = info->id;
      }
      request.topics.back().partitions.push_back({.partition_index = tp.partition,
                                                  .committed_offset = at.offset,
                                                  .committed_leader_epoch = at.leader_epoch,
                                                  .committed_metadata = at.metadata});
    }
    auto answer = co_await ask_coordinator<protocol::offset_commit_response>(
        *this, g, last_problem, [&](connection& conn) { return conn.send(std::move(request)); });
    if (!answer) continue;
    const auto& response = *answer;
    bool retry = false;
    for (const auto& topic : response.topics) {
      std::string name = topic.name;
      for (const auto& p : topic.partitions) {
        // v10 answers with topic ids; find the name among what we sent.
        if (name.empty()) {
          for (const auto& [tp, at] : offsets) {
            const auto* info = cluster.metadata().topic(tp.topic);
            if (info != nullptr && info->id == topic.topic_id) name = tp.topic;
          }
        }
        topic_partition tp{name, p.partition_index};
        auto code = static_cast<error_code>(p.error_code);
        if (code == error_code::none) {
          offsets.erase(tp);
          continue;
        }
        switch (code) {
          case error_code::illegal_generation:
          case error_code::unknown_member_id:
          case error_code::fenced_instance_id:
            // The group has moved on without us: these partitions may be someone else's now.
            g.partitions_lost = true;
            g.member->request_rejoin();
            fetch_wanted.notify_all();
            throw kafka_error(
                make_error_code(consumer_error::commit_failed),
                "commit to group '" + config.group_id + "' failed: " + error_name(code) +
                    " (generation " + std::to_string(g.generation) +
                    "); the group rebalanced and the partitions may be assigned to another member",
                false);
          case error_code::stale_member_epoch:
            // KIP-848: our epoch moved on (a heartbeat response is on its way); retry with the
            // new one, as Java does.
            retry = true;
            last_problem = tp.to_string() + ": " + error_name(code);
            break;
          case error_code::rebalance_in_progress:
            g.member->request_rejoin();
            fetch_wanted.notify_all();
            throw kafka_error(code, "commit to group '" + config.group_id +
                                        "': the group is rebalancing; commit in "
                                        "on_partitions_revoked or after the rebalance");
          default:
            if (coordinator_moved(code)) {
              coordinator_lost(g);
              retry = true;
            } else if (is_retriable(code)) {
              retry = true;
            } else {
              throw kafka_error(code,
                                "commit " + tp.to_string() + " to group '" + config.group_id + "'");
            }
            last_problem = tp.to_string() + ": " + error_name(code);
        }
      }
    }
    if (!offsets.empty() && !retry) {
      std::vector<topic_partition> left;
      left.reserve(offsets.size());
      for (const auto& [tp, at] : offsets) left.push_back(tp);
      throw kafka_error(make_error_code(net_error::protocol_violation),
                        "commit: the coordinator did not answer for " + names(left), false);
    }
    if (!offsets.empty()) co_await sleep_for(executor, config.retry_backoff);
  }
}

asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>>
consumer::impl::fetch_committed(std::vector<topic_partition> wanted) {
  if (!group) throw illegal_state("committed: the consumer has no group_id");
  auto& g = *group;
  std::map<topic_partition, std::optional<offset_and_metadata>> out;
  if (wanted.empty()) co_return out;
  std::sort(wanted.begin(), wanted.end());
  std::map<std::string, protocol::uuid> ids;
  for (const auto& tp : wanted) {
    if (ids.contains(tp.topic)) continue;
    const auto* info = co_await cluster.topic(tp.topic);
    ids[tp.topic] = info != nullptr ? info->id : protocol::uuid{};
  }
  const auto deadline = api_deadline();
  std::string last_problem;
  while (true) {
    if (clock::now() > deadline) {
      throw kafka_error(make_error_code(consumer_error::timed_out),
                        "fetch committed offsets of group '" + config.group_id +
                            "' (last problem: " + last_problem + ")",
                        true);
    }
    std::int16_t version = 0;
    auto answer = co_await ask_coordinator<protocol::offset_fetch_response>(
        *this, g, last_problem, [&](connection& conn) {
          version = conn.required_version(protocol::api_key::offset_fetch);
          protocol::offset_fetch_request request;
          // KIP-447: wait for pending transactional offsets instead of reading around them.
          request.require_stable = true;
          if (version >= 8) {
            auto& group_request = request.groups.emplace_back();
            group_request.group_id = config.group_id;
            // KIP-848 (OffsetFetch v9+): a member names itself so that the coordinator can refuse a
            // fenced member's view; without a membership it reads as an outsider.
            if (version >= 9 && config.group_protocol == group_protocol_type::consumer &&
                subscribed() && g.generation > 0) {
              group_request.member_id = g.member_id;
              group_request.member_epoch = g.generation;
            }
            auto& topics = group_request.topics.emplace();
            for (const auto& tp : wanted) {
              if (topics.empty() || topics.back().name != tp.topic) {
                topics.push_back({.name = tp.topic, .topic_id = ids[tp.topic]});
              }
              topics.back().partition_indexes.push_back(tp.partition);
            }
          } else {
            request.group_id = config.group_id;
            auto& topics = request.topics.emplace();
            for (const auto& tp : wanted) {
              if (topics.empty() || topics.back().name != tp.topic)
                topics.push_back({.name = tp.topic});
              topics.back().partition_indexes.push_back(tp.partition);
            }
          }
          return conn.send(std::move(request), version);
        });
    if (!answer) continue;
    const auto& response = *answer;
    auto top = static_cast<error_code>(response.error_code);
    bool retry = false;
    auto take = [&](const std::string& topic_name, const protocol::uuid& topic_id,
                    std::int32_t partition, std::int64_t offset, std::int32_t epoch,
                    const std::optional<std::string>& metadata, std::int16_t raw_code) {
      std::string name = topic_name;
      if (name.empty()) {
        for (const auto& [known, id] : ids) {
          if (id == topic_id) name = known;
        }
      }
      auto code = static_cast<error_code>(raw_code);
      if (code == error_code::unstable_offset_commit || coordinator_moved(code) ||
          is_retriable(code)) {
        if (coordinator_moved(code)) coordinator_lost(g);
        last_problem = name + "-" + std::to_string(partition) + ": " + error_name(code);
        retry = true;
        return;
      }
      if (code != error_code::none) {
        throw kafka_error(code, "fetch committed offset of " + name + "-" +
                                    std::to_string(partition) + " in group '" + config.group_id +
                                    "'");
      }
      topic_partition tp{name, partition};
      if (offset < 0) {
        out[tp] = std::nullopt;
      } else {
        out[tp] = offset_and_metadata{offset, metadata.value_or(""), epoch};
      }
    };
    if (version >= 8) {
      if (response.groups.empty()) {
        throw kafka_error(make_error_code(net_error::protocol_violation),
                          "OffsetFetch answered no group", true);
      }
      top = static_cast<error_code>(response.groups.front().error_code);
      if (top == error_code::none) {
        for (const auto& t : response.groups.front().topics) {
          for (const auto& p : t.partitions) {
            take(t.name, t.topic_id, p.partition_index, p.committed_offset,
                 p.committed_leader_epoch, p.metadata, p.error_code);
          }
        }
      }
    } else if (top == error_code::none) {
      for (const auto& t : response.topics) {
        for (const auto& p : t.partitions) {
          take(t.name, protocol::uuid{}, p.partition_index, p.committed_offset,
               p.committed_leader_epoch, p.metadata, p.error_code);
        }
      }
    }
    if (top != error_code::none) {
      if (top == error_code::stale_member_epoch || top == error_code::unknown_member_id) {
        // The membership moved on while the request was out (a heartbeat brings the new epoch,
        // or a fenced member rejoins and reads as an outsider meanwhile): ask again.
        last_problem = error_name(top);
        retry = true;
      } else if (coordinator_moved(top) || is_retriable(top)) {
        if (coordinator_moved(top)) coordinator_lost(g);
        last_problem = error_name(top);
        retry = true;
      } else {
        throw kafka_error(top, "fetch committed offsets of group '" + config.group_id + "'");
      }
    }
    if (!retry) break;
    out.clear();
    co_await sleep_for(executor, config.retry_backoff);
  }
  for (const auto& tp : wanted) out.try_emplace(tp, std::nullopt);
  co_return out;
}

}  // namespace sluice::kafka
