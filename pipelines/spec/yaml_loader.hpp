#pragma once

// The YAML loader: a pipeline file -> pipeline_definition, or every error found, each naming
// file:line:column and the field. Unknown keys are rejected (with a suggestion when one is close),
// durations must read like 10s, 5m, 250ms, and the topology then goes through the same
// validate_topology as the C++ builder's, with each error mapped back to the line of its field
// (and, for an expression that does not compile, to the column inside it).
//
// The file format (every key but name, sources and sink is optional):
//
//   name: page-views                 # application id
//   delivery: exactly_once           # at_most_once | at_least_once (default) | exactly_once
//   commit_interval: 100ms           # default 100ms under exactly_once, else 30s
//   clusters:                        # named clusters (default: only the command line's one)
//     old:
//       bootstrap_servers: old-kafka:9092
//       security_protocol: SASL_SSL   # and the other connection flags of the command line:
//       sasl_mechanism: SCRAM-SHA-512 # sasl_username, sasl_password, sasl_oauth_token,
//       sasl_username: migrator       # tls_ca_file, tls_cert_file, tls_key_file,
//       sasl_password: secret         # tls_key_password, no_hostname_verification, client_id
//       kafka: { producer: { linger.ms: 20 } }   # its clients' settings, like kafka: below
//   sources:
//     - topics: [views]              # or topic: views
//       key_format: string           # json | string (default) | bytes | int64 | double
//       value_format: json           # default json
//       cluster: old                 # tables and sinks too; default: the default cluster.
//                                    # Sources and tables share one cluster (the group's);
//                                    # exactly_once refuses a sink on another one
//       as: table                    # stream (default) | table: the one source, read as a
//                                    # table (latest value per key; null deletes), joined with
//                                    # a table by the first step (a table-table join, below)
//   tables:                          # topics read as tables (latest value per key), for joins
//     - { name: pages, topic: page-info, key_format: string, value_format: json }
//   streams:                         # second streams, for stream-stream joins (same fields)
//     - { name: clicks, topic: clicks }
//   steps:                           # each: one of the kinds below, and an optional name
//     - filter: value.status == "ok"
//     - map: '{ page: value.page, n: len(value.items) }'  # one expression (quoted: it is YAML)
//     - map: { page: value.page, bytes: value.bytes }      # or one expression per field
//     - select_key: value.page
//     - flat_map: value.items        # or { values: value.items, key: value.sku }
//     - set_timestamp: value.ts
//     - user: my_function            # or { function: my_function, changes_key: true }
//     - processor: { function: dedup, stores: [seen] }   # a registered C++ processor with its
//                                    # RocksDB stores (operators/processor.hpp); a name is a
//                                    # key-value store, the other kinds are declared as
//                                    # { name: recent, kind: window, retention: 1h, window: 5m }
//                                    # and { name: visits, kind: session, retention: 30m }
//     - join: pages                  # or { table: pages, type: left, into: page }: adds the
//                                    # table's value for the key as member `into` (default: the
//                                    # table's name); inner (default) drops keys it lacks
//     - join: { stream: clicks, within: 5m, grace: 1m, type: outer, into: click }
//                                    # stream-stream: records of both streams with the same key
//                                    # and timestamps at most `within` apart; left and outer emit
//                                    # the unmatched with null once within + grace has passed
//     - join: { table: pages, type: outer, into: page }   # after a source `as: table`:
//                                    # table-table (inner | left | outer): every update of either
//                                    # table emits the key's joined value, or null once deleted
//   window:
//     type: tumbling                 # tumbling (size) | hopping (size, advance) | session (gap)
//     size: 1m
//     grace: 10s
//     time: value.ts                 # event time; default the record timestamp
//     emit: on_close                 # every_update (default) | on_close
//     late: side_topic               # drop (default) | side_topic (+ late_topic)
//     late_topic: views-late
//     aggregate:
//       - { name: views, function: count }
//       - { name: bytes, function: sum, expression: value.bytes }
//   table:                           # instead of window: group by key, no window
//     name: per-key                  # the store: per-key-store (default name: table)
//     emit_every: 1s                 # at most one result per key per second (default: every
//     update) aggregate: [ { name: n, function: count } ]   # every record emits its key's new
//     result
//   after:                           # steps on the window (or table) results
//     - filter: value.views > 10
//   sink: { topic: view-counts, key_format: string, value_format: json }
//   sinks:                           # instead of sink: several, each result to every sink whose
//     - { topic: busy, when: value.views > 100 }      # `when` holds (none: every result)
//     - topic: quiet
//       when: value.views <= 100
//       value_format: string
//       steps: [ { map: string(value.views) } ]       # stateless steps of this sink only
//   tests:
//     - name: counts per minute
//       inputs:  [ { topic: views, key: a, value: {...}, timestamp: 1000, headers: {h: v} } ]
//       outputs: [ { topic: view-counts, key: a, value: {...}, timestamp: 59999 } ]

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/function_registry.hpp"
#include "pipelines/spec/pipeline_definition.hpp"

namespace sluice::pipelines {

struct load_result {
  std::optional<pipeline_definition> pipeline;  // set when errors is empty
  std::vector<spec_error> errors;
};

// `file` names the text in messages. User functions the file names must be in `registry`.
load_result load_pipeline(std::string_view text, std::string file,
                          const operators::function_registry& registry);
load_result load_pipeline_file(const std::string& path,
                               const operators::function_registry& registry);

// "10s", "5m", "250ms", "1h", "2d", "0"; nullopt otherwise.
std::optional<operators::duration> parse_duration(std::string_view text);
// The shortest exact form: 70000 -> "1m10s", 250 -> "250ms".
std::string format_duration(operators::duration d);

}  // namespace sluice::pipelines
