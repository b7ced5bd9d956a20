#include "kafka/properties/client_properties.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <limits>

#include "kafka/net/broker_address.hpp"
#include "kafka/properties/jaas_config.hpp"

namespace sluice::kafka {
namespace {

enum scope : unsigned {
  client_scope = 1,
  consumer_scope = 2,
  producer_scope = 4,
  unused_scope = 8
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

[[noreturn]] void bad_value(std::string_view name, std::string_view value,
                            std::string_view expected) {
  throw property_error(std::string(name) + ": '" + std::string(value) + "' is not " +
                       std::string(expected));
}

std::int64_t number(std::string_view name, std::string_view value, std::int64_t min,
                    std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t parsed = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || parsed < min || parsed > max) {
    bad_value(name, value,
              "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return parsed;
}

std::chrono::milliseconds millis(std::string_view name, std::string_view value,
                                 std::int64_t min = 1) {
  return std::chrono::milliseconds(number(name, value, min));
}

std::int32_t int32(std::string_view name, std::string_view value, std::int64_t min = 1) {
  return static_cast<std::int32_t>(number(name, value, min, INT32_MAX));
}

bool boolean(std::string_view name, std::string_view value) {
  const auto text = lower(value);
  if (text == "true") return true;
  if (text == "false") return false;
  bad_value(name, value, "true or false");
}

// partition.assignment.strategy: the Java class names, or the short names librdkafka and Python
// use.
std::vector<std::string> assignors(std::string_view name, std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    auto item = value.substr(start, comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    if (!item.empty()) {
      const auto text =
          lower(item.substr(item.rfind('.') == std::string_view::npos ? 0 : item.rfind('.') + 1));
      if (text == "range" || text == "rangeassignor") {
        out.emplace_back(range_assignor_name);
      } else if (text == "roundrobin" || text == "roundrobinassignor") {
        out.emplace_back(roundrobin_assignor_name);
      } else if (text == "sticky" || text == "stickyassignor") {
        out.emplace_back(sticky_assignor_name);
      } else if (text == "cooperative-sticky" || text == "cooperativestickyassignor") {
        out.emplace_back(cooperative_sticky_assignor_name);
      } else {
        bad_value(name, item,
                  "range, roundrobin, sticky or cooperative-sticky (or their Java class names)");
      }
    }
    start = comma + 1;
  }
  if (out.empty()) bad_value(name, value, "a list of assignors");
  return out;
}

sasl_mechanism mechanism(std::string_view name, std::string_view value) {
  if (auto parsed = parse_sasl_mechanism(value)) return *parsed;
  bad_value(name, value, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER");
}

using setter = void (*)(const property_targets&, std::string_view name, std::string_view value);

struct property {
  std::string_view name;
  unsigned scopes;
  std::string_view meaning;
  setter set;
};

#define CLIENT(field_expr)                                                \
  [](const property_targets& t, std::string_view n, std::string_view v) { \
    [[maybe_unused]] auto& c = *t.client;                                 \
    (void)n;                                                              \
    (void)v;                                                              \
    field_expr;                                                           \
  }
#define CONSUMER(field_expr)                                              \
  [](const property_targets& t, std::string_view n, std::string_view v) { \
    [[maybe_unused]] auto& c = *t.consumer;                               \
    (void)n;                                                              \
    (void)v;                                                              \
    field_expr;                                                           \
  }
#define PRODUCER(field_expr)                                              \
  [](const property_targets& t, std::string_view n, std::string_view v) { \
    [[maybe_unused]] auto& c = *t.producer;                               \
    (void)n;                                                              \
    (void)v;                                                              \
    field_expr;                                                           \
  }
#define UNUSED [](const property_targets&, std::string_view, std::string_view) {}

// In name order: property_descriptions() and the binary search rely on it.
const property table[] = {
    {"acks", producer_scope, "0, 1 or all (-1)",
     PRODUCER(if (auto a = parse_acks(v)) c.acks = *a; else bad_value(n, v, "0, 1, all or -1"))},
    {"auto.commit.interval.ms", consumer_scope, "how often offsets are auto-committed",
     CONSUMER(c.auto_commit_interval = millis(n, v))},
    {"auto.offset.reset", consumer_scope, "earliest, latest or none",
     CONSUMER(if (auto r = parse_auto_offset_reset(v)) c.offset_reset = *r;
              else bad_value(n, v, "earliest, latest or none"))},
    {"batch.size", producer_scope, "bytes per partition batch",
     PRODUCER(c.batch_size = static_cast<std::size_t>(number(n, v, 1)))},
    {"bootstrap.servers", client_scope, "HOST:PORT[,...]",
     CLIENT(
         try { c.bootstrap_servers = parse_bootstrap_servers(v); } catch (const std::exception& e) {
           throw property_error(std::string(n) + ": " + e.what());
         })},
    {"buffer.memory", producer_scope, "bytes of records waiting to be sent",
     PRODUCER(c.buffer_memory = static_cast<std::size_t>(number(n, v, 1)))},
    {"check.crcs", consumer_scope, "verify record batch CRCs",
     CONSUMER(c.check_crcs = boolean(n, v))},
    {"client.dns.lookup", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"client.id", client_scope, "client id sent to the brokers",
     CLIENT(c.client_id = std::string(v))},
    {"client.rack", consumer_scope, "rack for follower fetching (KIP-392)",
     CONSUMER(c.client_rack = std::string(v))},
    {"compression.gzip.level", producer_scope, "gzip level (KIP-390)",
     PRODUCER(c.compression_level = static_cast<int>(number(n, v, 1, 9)))},
    {"compression.level", producer_scope, "the codec's level (librdkafka's name)",
     PRODUCER(c.compression_level = static_cast<int>(number(n, v, -131072, 22)))},
    {"compression.lz4.level", producer_scope, "lz4 level (KIP-390)",
     PRODUCER(c.compression_level = static_cast<int>(number(n, v, 1, 17)))},
    {"compression.type", producer_scope, "none, gzip, snappy, lz4 or zstd",
     PRODUCER(if (auto z = parse_compression(v)) c.compression = *z;
              else bad_value(n, v, "none, gzip, snappy, lz4 or zstd"))},
    {"compression.zstd.level", producer_scope, "zstd level (KIP-390)",
     PRODUCER(c.compression_level = static_cast<int>(number(n, v, -131072, 22)))},
    {"connections.max.idle.ms", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"default.api.timeout.ms", consumer_scope, "how long blocking consumer calls retry",
     CONSUMER(c.default_api_timeout = millis(n, v))},
    {"delivery.timeout.ms", producer_scope, "give up on a record after this long",
     PRODUCER(c.delivery_timeout = millis(n, v))},
    {"enable.auto.commit", consumer_scope, "commit offsets in the background",
     CONSUMER(c.enable_auto_commit = boolean(n, v))},
    {"enable.idempotence", producer_scope, "idempotent producer (default: on unless acks < all)",
     PRODUCER(c.enable_idempotence = boolean(n, v))},
    {"exclude.internal.topics", consumer_scope, "patterns never match internal topics",
     CONSUMER(c.exclude_internal_topics = boolean(n, v))},
    {"fetch.max.bytes", consumer_scope, "bytes per fetch response",
     CONSUMER(c.fetch_max_bytes = int32(n, v))},
    {"fetch.max.wait.ms", consumer_scope, "how long the broker may hold a fetch",
     CONSUMER(c.fetch_max_wait = millis(n, v, 0))},
    {"fetch.min.bytes", consumer_scope, "bytes the broker waits for",
     CONSUMER(c.fetch_min_bytes = int32(n, v))},
    {"group.id", consumer_scope, "the consumer group", CONSUMER(c.group_id = std::string(v))},
    {"group.instance.id", consumer_scope, "static membership id (KIP-345)",
     CONSUMER(c.group_instance_id = std::string(v))},
    {"group.protocol", consumer_scope, "classic or consumer (KIP-848)",
     CONSUMER(if (auto p = parse_group_protocol(v)) c.group_protocol = *p;
              else bad_value(n, v, "classic or consumer"))},
    {"group.remote.assignor", consumer_scope,
     "server-side assignor (consumer protocol): uniform or range",
     CONSUMER(c.group_remote_assignor = std::string(v))},
    {"heartbeat.interval.ms", consumer_scope, "classic protocol heartbeat interval",
     CONSUMER(c.heartbeat_interval = millis(n, v))},
    {"interceptor.classes", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"internal.leave.group.on.close", consumer_scope, "static members leave the group on close too",
     CONSUMER(c.leave_group_on_close = boolean(n, v))},
    {"isolation.level", consumer_scope, "read_uncommitted or read_committed",
     CONSUMER(if (auto i = parse_isolation_level(v)) c.isolation = *i;
              else bad_value(n, v, "read_uncommitted or read_committed"))},
    {"key.deserializer", consumer_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"key.serializer", producer_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"linger.ms", producer_scope, "how long a batch waits for more records",
     PRODUCER(c.linger = millis(n, v, 0))},
    {"max.block.ms", producer_scope, "how long send() waits for buffer space",
     PRODUCER(c.max_block = millis(n, v, 0))},
    {"max.in.flight.requests.per.connection", producer_scope,
     "produce requests in flight per broker",
     PRODUCER(c.max_in_flight_requests_per_connection = int32(n, v))},
    {"max.partition.fetch.bytes", consumer_scope, "bytes per partition per fetch",
     CONSUMER(c.max_partition_fetch_bytes = int32(n, v))},
    {"max.poll.interval.ms", consumer_scope, "longest gap between polls before the member leaves",
     CONSUMER(c.max_poll_interval = millis(n, v))},
    {"max.poll.records", consumer_scope, "records per poll",
     CONSUMER(c.max_poll_records = int32(n, v))},
    {"max.request.size", producer_scope, "bytes per produce request",
     PRODUCER(c.max_request_size = static_cast<std::size_t>(number(n, v, 1)))},
    {"metadata.max.age.ms", client_scope, "metadata refresh interval",
     CLIENT(c.metadata_max_age = millis(n, v))},
    {"metric.reporters", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"partition.assignment.strategy", consumer_scope,
     "classic protocol assignors, in preference order",
     CONSUMER(c.assignment_strategies = assignors(n, v))},
    {"partitioner.ignore.keys", producer_scope, "spread keyed records like unkeyed ones",
     PRODUCER(c.partitioner_ignore_keys = boolean(n, v))},
    {"receive.buffer.bytes", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"reconnect.backoff.max.ms", client_scope, "longest wait before reconnecting",
     CLIENT(c.reconnect_backoff_max = millis(n, v))},
    {"reconnect.backoff.ms", client_scope, "first wait before reconnecting",
     CLIENT(c.reconnect_backoff = millis(n, v))},
    {"request.timeout.ms", client_scope, "how long one request may take",
     CLIENT(c.request_timeout = millis(n, v))},
    {"retries", producer_scope, "produce retries", PRODUCER(c.retries = int32(n, v, 0))},
    {"retry.backoff.ms", client_scope, "wait between retries",
     CLIENT(c.retry_backoff = millis(n, v))},
    {"sasl.jaas.config", client_scope, "<LoginModule> required username=\"...\" password=\"...\";",
     CLIENT(auto credentials = parse_jaas_config(v, std::string(n));
            if (credentials.login_module.find("OAuthBearerLoginModule") == std::string::npos) {
              c.security.sasl.username = credentials.username;
              c.security.sasl.password = credentials.password;
            })},
    {"sasl.mechanism", client_scope, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
     CLIENT(c.security.sasl.mechanism = mechanism(n, v))},
    {"sasl.mechanisms", client_scope, "librdkafka's sasl.mechanism",
     CLIENT(c.security.sasl.mechanism = mechanism(n, v))},
    {"sasl.oauthbearer.token", client_scope, "OAUTHBEARER token",
     CLIENT(c.security.sasl.oauth_token = std::string(v))},
    {"sasl.password", client_scope, "SASL password (librdkafka)",
     CLIENT(c.security.sasl.password = std::string(v))},
    {"sasl.username", client_scope, "SASL user name (librdkafka)",
     CLIENT(c.security.sasl.username = std::string(v))},
    {"security.protocol", client_scope, "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
     CLIENT(if (auto p = parse_security_protocol(v)) c.security.protocol = *p;
            else bad_value(n, v, "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"))},
    {"send.buffer.bytes", client_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"session.timeout.ms", consumer_scope, "classic protocol session timeout",
     CONSUMER(c.session_timeout = millis(n, v))},
    {"socket.connection.setup.timeout.ms", client_scope, "connect timeout",
     CLIENT(c.connect_timeout = millis(n, v))},
    {"ssl.ca.location", client_scope, "CA certificates (PEM; librdkafka)",
     CLIENT(c.security.tls.ca_file = std::string(v))},
    {"ssl.certificate.location", client_scope, "client certificate (PEM; librdkafka)",
     CLIENT(c.security.tls.cert_file = std::string(v))},
    {"ssl.endpoint.identification.algorithm", client_scope,
     "https checks the host name; empty turns it off",
     CLIENT(c.security.tls.verify_hostname = !v.empty())},
    {"ssl.key.location", client_scope, "client key (PEM; librdkafka)",
     CLIENT(c.security.tls.key_file = std::string(v))},
    {"ssl.key.password", client_scope, "password of the client key",
     CLIENT(c.security.tls.key_password = std::string(v))},
    {"ssl.keystore.location", client_scope,
     "certificate and key in one PEM file (ssl.keystore.type=PEM)",
     CLIENT(c.security.tls.cert_file = std::string(v); c.security.tls.key_file = std::string(v))},
    {"ssl.keystore.password", client_scope, "password of the client key",
     CLIENT(c.security.tls.key_password = std::string(v))},
    {"ssl.keystore.type", client_scope, "PEM (JKS and PKCS12 cannot be read)",
     CLIENT(if (lower(v) != "pem")
                bad_value(n, v,
                          "PEM: convert the keystore to PEM, or use ssl.certificate.location "
                          "and ssl.key.location"))},
    {"ssl.truststore.location", client_scope, "CA certificates (PEM file, ssl.truststore.type=PEM)",
     CLIENT(c.security.tls.ca_file = std::string(v))},
    {"ssl.truststore.password", client_scope | unused_scope, "(meaningless for PEM; not used)",
     UNUSED},
    {"ssl.truststore.type", client_scope, "PEM (JKS and PKCS12 cannot be read)",
     CLIENT(if (lower(v) != "pem")
                bad_value(n, v, "PEM: convert the truststore to PEM, or use ssl.ca.location"))},
    {"transaction.timeout.ms", producer_scope,
     "the coordinator aborts a transaction open this long",
     PRODUCER(c.transaction_timeout = millis(n, v))},
    {"transactional.id", producer_scope, "makes the producer transactional",
     PRODUCER(c.transactional_id = std::string(v))},
    {"value.deserializer", consumer_scope | unused_scope, "(Java only; not used)", UNUSED},
    {"value.serializer", producer_scope | unused_scope, "(Java only; not used)", UNUSED},
};

#undef CLIENT
#undef CONSUMER
#undef PRODUCER
#undef UNUSED

const property* find(std::string_view name) {
  auto it = std::lower_bound(std::begin(table), std::end(table), name,
                             [](const property& p, std::string_view n) { return p.name < n; });
  return it != std::end(table) && it->name == name ? it : nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const auto above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

bool is_known_property(std::string_view name) {
  return find(name) != nullptr;
}

std::optional<std::string> closest_property_name(std::string_view name) {
  const property* best = nullptr;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& p : table) {
    const auto distance = edit_distance(lower(name), p.name);
    if (distance < best_distance) {
      best = &p;
      best_distance = distance;
    }
  }
  // A misspelling, not a different word: at most a third of the name changed.
  if (best == nullptr || best_distance > std::max<std::size_t>(2, name.size() / 3))
    return std::nullopt;
  return std::string(best->name);
}

void check_property_name(std::string_view name) {
  if (is_known_property(name)) return;
  std::string message = "unknown client property '" + std::string(name) + "'";
  if (auto suggestion = closest_property_name(name))
    message += "; did you mean '" + *suggestion + "'?";
  throw property_error(message);
}

bool apply_property(const property_targets& given, std::string_view name, std::string_view value) {
  check_property_name(name);
  const auto& p = *find(name);
  auto targets = given;
  if (targets.client == nullptr) {
    targets.client = targets.consumer != nullptr ? static_cast<client_config*>(targets.consumer)
                                                 : targets.producer;
  }
  if ((p.scopes & unused_scope) != 0) return false;
  const bool concerned = ((p.scopes & client_scope) != 0 && targets.client != nullptr) ||
                         ((p.scopes & consumer_scope) != 0 && targets.consumer != nullptr) ||
                         ((p.scopes & producer_scope) != 0 && targets.producer != nullptr);
  if (concerned) p.set(targets, name, value);
  return concerned;
}

std::vector<std::string> apply_properties(const property_targets& targets,
                                          const std::map<std::string, std::string>& properties) {
  // Java reads a truststore or keystore as JKS unless told otherwise; OpenSSL reads PEM only.
  for (const auto* store : {"ssl.truststore", "ssl.keystore"}) {
    const std::string location = std::string(store) + ".location";
    const std::string type = std::string(store) + ".type";
    if (properties.contains(location) && !properties.contains(type)) {
      throw property_error(location + ": a JKS " +
                           (store == std::string("ssl.truststore") ? "truststore" : "keystore") +
                           " (Java's default type) cannot be read; convert it to PEM and set " +
                           type + "=PEM");
    }
  }
  std::vector<std::string> unused;
  for (const auto& [name, value] : properties) {
    if (!apply_property(targets, name, value)) unused.push_back(name);
  }
  return unused;
}

std::vector<property_description> property_descriptions() {
  std::vector<property_description> out;
  for (const auto& p : table) {
    const auto applies_to = (p.scopes & client_scope) != 0     ? "client"
                            : (p.scopes & consumer_scope) != 0 ? "consumer"
                                                               : "producer";
    out.push_back({p.name, applies_to, p.meaning});
  }
  return out;
}

}  // namespace sluice::kafka
