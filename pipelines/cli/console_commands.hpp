#pragma once

// `sluice produce` and `sluice consume`: the console producer and consumer (Kafka's
// kafka-console-producer / kafka-console-consumer, kcat -P / -C). Each runs its client on one
// single-threaded io_context in the calling thread; produce reads its input on a second thread so
// that a slow pipe or a terminal never stalls the producer's sender.

#include <istream>
#include <ostream>

#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {

// Writes every line of `in` as a record. Returns 0 when every record was written (and the
// transaction committed), 1 when any failed (the first failure is printed, naming its line).
int run_produce(const command_line& command, std::istream& in, std::ostream& err);

// Prints records to `out` until --max-messages, the idle --timeout-ms, or SIGINT/SIGTERM; commits
// the group's offsets (when in a group) before it returns.
int run_consume(const command_line& command, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
