#pragma once

// Client settings by their Java names: the keys of the Java client's ConsumerConfig,
// ProducerConfig and AdminClientConfig (`max.poll.records`, `linger.ms`, `acks`, ...), mapped onto
// client_config, consumer_config and producer_config in one table (client_properties.cpp). This is
// what a properties file, kcat's `-X key=value` and a pipeline's `kafka:` section give; a C++
// program can use it as librdkafka's rd_kafka_conf_set is used.
//
// A name the table does not know is an error that suggests the closest known one (`linger.msec`:
// did you mean `linger.ms`?); a known name with a bad value is an error naming both. A known name
// that concerns none of the given configs (`linger.ms` for a consumer) is reported, not an
// error: one file can serve every client of an application, as with the Java client.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/producer/producer_config.hpp"

namespace sluice::kafka {

class property_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The configs a property may set; null ones are not concerned.
struct property_targets {
  // Connection settings every client has; null: those of the consumer or producer below.
  client_config* client = nullptr;
  consumer_config* consumer = nullptr;
  producer_config* producer = nullptr;
};

// Sets `name` on every target it concerns; false when it concerns none of them. Throws
// property_error for an unknown name or a bad value.
bool apply_property(const property_targets& targets, std::string_view name, std::string_view value);

// Applies every property (a properties file, -X flags); returns the known names that concern
// none of the targets or that Sluice does not use (key.serializer, ...), for a warning. Throws
// property_error for the first unknown name or bad value, and for a truststore or keystore
// location without type=PEM (Java's default type is JKS, which OpenSSL cannot read).
std::vector<std::string> apply_properties(const property_targets& targets,
                                          const std::map<std::string, std::string>& properties);

// Throws property_error (with a suggestion) unless `name` is in the table.
void check_property_name(std::string_view name);
bool is_known_property(std::string_view name);
// The known name closest to `name` (edit distance), if one is close enough to be a misspelling.
std::optional<std::string> closest_property_name(std::string_view name);

struct property_description {
  std::string_view name;
  std::string_view applies_to;  // "client", "consumer", "producer"
  std::string_view meaning;
};
// Every property of the table, in name order (docs/operations.md lists them).
std::vector<property_description> property_descriptions();

}  // namespace sluice::kafka
