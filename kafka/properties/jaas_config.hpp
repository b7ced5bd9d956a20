#pragma once

// sasl.jaas.config, as the Java client takes it: `<LoginModule> required username="u"
// password="p";`. Only the user name and password are read; the login module says which.

#include <string>
#include <string_view>

namespace sluice::kafka {

struct jaas_credentials {
  std::string login_module;  // e.g. org.apache.kafka.common.security.plain.PlainLoginModule
  std::string username;
  std::string password;
};

// Throws property_error (kafka/properties/client_properties.hpp) naming `source`.
jaas_credentials parse_jaas_config(std::string_view text, const std::string& source);

}  // namespace sluice::kafka
