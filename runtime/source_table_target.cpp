#include "runtime/source_table_target.hpp"

#include <stdexcept>

#include "operators/table_row.hpp"

namespace sluice::runtime {
namespace {

const operators::table_source_spec& table_of(const operators::sub_topology& plan,
                                             const std::string& topic) {
  for (const auto& table : plan.tables) {
    if (table.topic == topic) return table;
  }
  throw std::logic_error("source_table_target: no table reads topic '" + topic + "' in its plan");
}

std::optional<std::string> bytes_of(const std::optional<kafka::protocol::bytes_view>& part) {
  return part ? std::optional<std::string>(kafka::protocol::as_string_view(*part)) : std::nullopt;
}

}  // namespace

restore_target source_table_target(const task& t, task_store& entry, std::int64_t end) {
  restore_target target{&entry.store->store(), entry.changelog, {}, end};
  const auto* table = &table_of(t.plan(), entry.plan.source_topic);
  target.convert = [table](const kafka::consumer_record& record) {
    return operators::table_row_change(
        *table, bytes_of(record.key), bytes_of(record.value),
        {std::string(record.topic), record.partition, record.offset});
  };
  return target;
}

}  // namespace sluice::runtime
