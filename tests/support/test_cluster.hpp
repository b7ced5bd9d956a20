#pragma once

// Where integration tests find the real Kafka cluster that scripts/kafka started.
// scripts/test exports these variables; a test that needs one that is missing fails with a
// message saying how to start the broker (it never silently passes).

#include <string>

namespace sluice::test {

// SLUICE_BOOTSTRAP: host:port of the PLAINTEXT listener.
std::string bootstrap_servers();

// SLUICE_BOOTSTRAP_2: a second, independent cluster (its own scripts/kafka --state-dir), for the
// tests that run one pipeline across two clusters. scripts/test starts it.
std::string second_bootstrap_servers();

// Any SLUICE_* variable scripts/kafka exported (e.g. SLUICE_SASL_SSL_BOOTSTRAP, SLUICE_CA_FILE).
// Fails the current test when it is missing.
std::string required_env(const char* name);

// The Python interpreter with the peer clients (kafka-python) that scripts/setup installs:
// SLUICE_PYTHON, which scripts/test exports, else `python3`.
std::string python();

// A topic name unique to this test run and test case, so tests never share topics.
std::string unique_topic(const std::string& prefix);

}  // namespace sluice::test
