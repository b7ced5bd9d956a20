// sluice groups list | describe | delete | reset-offsets
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "pipelines/cli/command_runners.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/reset_plan.hpp"
#include "pipelines/cli/table.hpp"

namespace sluice::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int ok = static_cast<int>(exit_status::ok);
constexpr int failed = static_cast<int>(exit_status::failed);

// (Built outside the coroutines: GCC 12 mishandles braced lists of string literals in a coroutine.)
json::object partition_json(const kafka::topic_partition& tp) {
  return json::object{{"topic", tp.topic}, {"partition", tp.partition}};
}
json::object deleted_json(const std::string& group) {
  return json::object{{"group", group}, {"deleted", true}};
}

std::string or_dash(std::int64_t value) {
  return value < 0 ? "-" : std::to_string(value);
}

// One row of kafka-consumer-groups --describe: a partition the group has an offset for or a
// member is assigned.
struct partition_row {
  kafka::topic_partition partition;
  std::int64_t committed = -1;
  std::int64_t log_end = -1;
  const kafka::group_member* member = nullptr;
};

}  // namespace

asio::awaitable<int> run_groups_list(kafka::admin_client* admin, groups_list_args /*args*/,
                                     printer print) {
  auto groups = co_await admin->list_groups();
  item_results results(print);
  table rows({"GROUP", "STATE", "TYPE", "PROTOCOL-TYPE"});
  for (const auto& group : groups) {
    if (!results.json()) {
      rows.add({group.group_id, group.state.empty() ? "-" : group.state,
                group.type.empty() ? "-" : group.type,
                group.protocol_type.empty() ? "-" : group.protocol_type});
      continue;
    }
    json::object o;
    o["group"] = group.group_id;
    o["state"] = group.state;
    o["type"] = group.type;
    o["protocol_type"] = group.protocol_type;
    results.add(std::move(o));
  }
  if (!results.json()) rows.print(results.text());
  co_return results.finish();
}

asio::awaitable<int> run_groups_describe(kafka::admin_client* admin, groups_describe_args args,
                                         printer print) {
  auto descriptions = co_await admin->describe_groups(args.groups);
  item_results results(print);
  for (const auto& group : descriptions) {
    if (!group.error.ok()) {
      results.failed("describe group '" + group.group_id + "'", group.error);
      continue;
    }
    if (group.state == "Dead") {
      results.failed("describe group '" + group.group_id + "': the group does not exist");
      continue;
    }
    auto offsets = co_await admin->list_group_offsets(group.group_id, std::nullopt);
    std::map<kafka::topic_partition, partition_row> rows;
    for (const auto& [tp, committed] : offsets) {
      rows[tp].partition = tp;
      rows[tp].committed = committed.offset;
    }
    for (const auto& member : group.members) {
      for (const auto& tp : member.assignment) {
        rows[tp].partition = tp;
        rows[tp].member = &member;
      }
    }
    std::map<kafka::topic_partition, kafka::offset_spec> specs;
    for (const auto& [tp, row] : rows) specs[tp] = kafka::offset_spec::latest();
    auto ends = co_await admin->list_offsets(std::move(specs));
    for (auto& [tp, row] : rows) {
      if (auto it = ends.find(tp); it != ends.end() && it->second.error.ok())
        row.log_end = it->second.offset;
    }
    if (results.json()) {
      json::object o;
      o["group"] = group.group_id;
      o["state"] = group.state;
      o["type"] = group.type;
      o["protocol_type"] = group.protocol_type;
      o["protocol"] = group.protocol;
      o["coordinator"] = group.coordinator_id;
      json::array members;
      for (const auto& member : group.members) {
        json::object m;
        m["member_id"] = member.member_id;
        m["group_instance_id"] = member.group_instance_id ? json::value(*member.group_instance_id)
                                                          : json::value(nullptr);
        m["client_id"] = member.client_id;
        m["host"] = member.client_host;
        json::array topics;
        for (const auto& topic : member.subscribed_topics) topics.push_back(json::value(topic));
        m["subscribed_topics"] = std::move(topics);
        json::array assignment;
        for (const auto& tp : member.assignment) {
          assignment.push_back(partition_json(tp));
        }
        m["assignment"] = std::move(assignment);
        members.push_back(std::move(m));
      }
      o["members"] = std::move(members);
      json::array partitions;
      for (const auto& [tp, row] : rows) {
        json::object p;
        p["topic"] = tp.topic;
        p["partition"] = tp.partition;
        p["committed_offset"] =
            row.committed < 0 ? json::value(nullptr) : json::value(row.committed);
        p["log_end_offset"] = row.log_end < 0 ? json::value(nullptr) : json::value(row.log_end);
        p["lag"] = row.committed < 0 || row.log_end < 0 ? json::value(nullptr)
                                                        : json::value(row.log_end - row.committed);
        p["member_id"] = row.member ? json::value(row.member->member_id) : json::value(nullptr);
        partitions.push_back(std::move(p));
      }
      o["partitions"] = std::move(partitions);
      results.add(std::move(o));
      continue;
    }
    auto& out = results.text();
    out << "Group " << group.group_id << " (" << group.type << "): state " << group.state << ", "
        << group.members.size() << " member(s), coordinator " << group.coordinator_id
        << (group.protocol.empty() ? "" : ", assignor " + group.protocol) << '\n';
    table partitions({"TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                      "CONSUMER-ID", "HOST", "CLIENT-ID"});
    for (const auto& [tp, row] : rows) {
      const auto lag = row.committed < 0 || row.log_end < 0
                           ? std::string("-")
                           : std::to_string(row.log_end - row.committed);
      partitions.add({tp.topic, std::to_string(tp.partition), or_dash(row.committed),
                      or_dash(row.log_end), lag, row.member ? row.member->member_id : "-",
                      row.member ? row.member->client_host : "-",
                      row.member ? row.member->client_id : "-"});
    }
    partitions.print(out);
    out << '\n';
  }
  co_return results.finish();
}

asio::awaitable<int> run_groups_delete(kafka::admin_client* admin, groups_delete_args args,
                                       printer print) {
  auto deleted = co_await admin->delete_groups(args.groups);
  item_results results(print);
  for (const auto& result : deleted) {
    if (!result.error.ok()) {
      results.failed("delete group '" + result.group_id + "'", result.error);
    } else if (results.json()) {
      results.add(deleted_json(result.group_id));
    } else {
      results.text() << "Deleted group " << result.group_id << ".\n";
    }
  }
  co_return results.finish();
}

asio::awaitable<int> run_groups_reset_offsets(kafka::admin_client* admin,
                                              groups_reset_offsets_args args, printer print) {
  std::vector<std::string> ids(1, args.group);
  auto descriptions = co_await admin->describe_groups(ids);
  const auto& group = descriptions.at(0);
  if (!group.error.ok() && group.error.code != kafka::error_code::group_id_not_found) {
    print.report("describe group '" + args.group + "'", group.error);
    co_return failed;
  }
  // As kafka-consumer-groups: offsets of a group with live members would be overwritten by their
  // next commit, so only an inactive group is reset.
  if (group.error.ok() && group.state != "Empty" && group.state != "Dead") {
    *print.err << "error: assignments can only be reset if the group '" << args.group
               << "' is inactive, but the current state is " << group.state << '\n';
    co_return failed;
  }
  auto committed = co_await admin->list_group_offsets(args.group, std::nullopt);

  // The partitions to reset.
  std::set<kafka::topic_partition> partitions;
  if (args.all_topics) {
    for (const auto& [tp, offset] : committed) partitions.insert(tp);
  } else {
    std::vector<std::string> whole;
    for (const auto& selection : args.topics) {
      if (selection.partitions.empty()) {
        whole.push_back(selection.topic);
      } else {
        for (auto p : selection.partitions) partitions.insert({selection.topic, p});
      }
    }
    if (!whole.empty()) {
      auto topics = co_await admin->describe_topics(whole);
      for (const auto& topic : topics) {
        if (!topic.error.ok()) {
          print.report("describe topic '" + topic.name + "'", topic.error);
          co_return failed;
        }
        for (const auto& p : topic.partitions) partitions.insert({topic.name, p.partition});
      }
    }
  }
  if (partitions.empty()) {
    *print.err << "error: group '" << args.group << "' has no partitions to reset"
               << (args.all_topics ? " (it has no committed offsets)" : "") << '\n';
    co_return failed;
  }

  std::map<kafka::topic_partition, kafka::offset_spec> earliest_specs, latest_specs, time_specs;
  for (const auto& tp : partitions) {
    earliest_specs[tp] = kafka::offset_spec::earliest();
    latest_specs[tp] = kafka::offset_spec::latest();
    if (args.target.what == reset_target::kind::datetime)
      time_specs[tp] = kafka::offset_spec::at(args.target.value);
  }
  auto earliest = co_await admin->list_offsets(std::move(earliest_specs));
  auto latest = co_await admin->list_offsets(std::move(latest_specs));
  std::map<kafka::topic_partition, kafka::listed_offset> at_time;
  if (!time_specs.empty()) at_time = co_await admin->list_offsets(std::move(time_specs));

  std::map<kafka::topic_partition, kafka::log_offset> plan;
  for (const auto& tp : partitions) {
    const auto& first = earliest.at(tp).error;
    const auto& last = latest.at(tp).error;
    if (!first.ok() || !last.ok()) {
      print.report("list offsets of " + tp.to_string(), first.ok() ? last : first);
      co_return failed;
    }
    partition_position position;
    position.earliest = earliest.at(tp).offset;
    position.latest = latest.at(tp).offset;
    if (auto it = committed.find(tp); it != committed.end() && it->second.offset >= 0) {
      position.committed = it->second.offset;
    }
    if (auto it = at_time.find(tp); it != at_time.end()) {
      if (!it->second.error.ok()) {
        print.report("find the offset by time of " + tp.to_string(), it->second.error);
        co_return failed;
      }
      if (it->second.offset >= 0) position.at_time = it->second.offset;
    }
    plan.insert_or_assign(tp, kafka::log_offset{plan_reset(args.target, position, tp.to_string())});
  }

  int status = ok;
  std::map<kafka::topic_partition, kafka::item_error> outcome;
  if (args.execute) {
    outcome = co_await admin->alter_group_offsets(args.group, plan);
    for (const auto& [tp, error] : outcome) {
      if (!error.ok()) {
        print.report("commit the offset of " + tp.to_string() + " for group '" + args.group + "'",
                     error);
        status = failed;
      }
    }
  }
  if (print.json) {
    json::object o;
    o["group"] = args.group;
    o["executed"] = args.execute;
    json::array rows;
    for (const auto& [tp, offset] : plan) {
      json::object row;
      row["topic"] = tp.topic;
      row["partition"] = tp.partition;
      auto it = committed.find(tp);
      row["previous_offset"] = it == committed.end() || it->second.offset < 0
                                   ? json::value(nullptr)
                                   : json::value(it->second.offset);
      row["new_offset"] = offset.value();
      if (args.execute) {
        const auto& error = outcome[tp];
        row["error"] =
            error.ok() ? json::value(nullptr) : json::value(kafka::error_name(error.code));
      }
      rows.push_back(std::move(row));
    }
    o["partitions"] = std::move(rows);
    *print.out << json::serialize(o) << '\n';
  } else {
    table rows({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
    for (const auto& [tp, offset] : plan)
      rows.add(
          {args.group, tp.topic, std::to_string(tp.partition), std::to_string(offset.value())});
    rows.print(*print.out);
    if (!args.execute)
      *print.out << "(dry run: nothing was committed; add --execute to commit these offsets)\n";
  }
  co_return status;
}

}  // namespace sluice::cli
