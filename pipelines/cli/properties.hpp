#pragma once

// Client settings from a Java properties file (`--command-config`, as Kafka's own tools take it),
// mapped onto Sluice's client_config. Both spellings users bring are understood: the Java client's
// (security.protocol, sasl.jaas.config, ssl.truststore.location with type PEM) and librdkafka's
// (sasl.username, ssl.ca.location). Keys that Sluice does not use are returned, so that the tool
// can warn about them as the Java client does; values it cannot honour (a JKS truststore, GSSAPI)
// are errors that say what to use instead.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/client/client_config.hpp"
#include "kafka/properties/client_properties.hpp"
#include "kafka/properties/jaas_config.hpp"

namespace sluice::cli {

// Bad input in a properties file or on the command line; the message names the file/option, the
// line and what is wrong. The tool prints it and exits with status 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the java.util.Properties text format: `key=value`, `key: value` or `key value`; `#` and
// `!` comments; a trailing backslash continues a line; \t \n \r \f \\ and \uXXXX escapes.
// `source` names the file in errors. Later keys win.
std::map<std::string, std::string> parse_properties(std::string_view text,
                                                    const std::string& source);
std::map<std::string, std::string> load_properties_file(const std::string& path);

using kafka::jaas_credentials;
// Parses sasl.jaas.config: `<LoginModule> required username="u" password="p";`.
jaas_credentials parse_jaas_config(std::string_view text, const std::string& source);

// Applies the properties to `config` (kafka::apply_properties, the one table of Java names) and
// returns the known keys that concern no connection setting (a consumer's or producer's, or
// Java-only ones); an unknown key is an error with a suggestion.
std::vector<std::string> apply_properties(const std::map<std::string, std::string>& properties,
                                          kafka::client_config& config, const std::string& source);

// Applies a command's client settings (connection_settings::properties) to the clients it makes,
// all but the connection settings (targets.client is ignored: those are in
// connection_settings::client, with the dedicated flags over them), and returns a warning for each
// that concerns none of them (`linger.ms` for `sluice consume`) or that Sluice does not use
// (`key.serializer`). Throws usage_error for a bad value.
std::vector<std::string> apply_command_properties(
    const std::map<std::string, std::string>& properties, const kafka::property_targets& targets,
    const std::string& command);

}  // namespace sluice::cli
