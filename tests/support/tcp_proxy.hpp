#pragma once

// A fault-injecting TCP proxy in front of a Kafka cluster, for tests: it forwards Kafka frames
// between the client and the brokers and can cut every connection on demand or after a number of
// bytes, in the middle of a request (the broker never sees it whole) or of a response (the broker
// acted on the request, the client never learns the outcome: the ambiguous case idempotence must
// make safe).
//
// Why it rewrites Metadata: a Kafka client connects to the bootstrap address only once, then to
// the host:port each broker advertises in Metadata (and FindCoordinator) responses. A plain
// forwarder would be bypassed after the first response. The proxy therefore opens one loopback
// listener per broker address it sees and replaces every advertised host:port in Metadata and
// FindCoordinator responses with its own listener for that broker, so that all the client's
// traffic goes through it. This works against any cluster (no broker configuration), including
// the one-node cluster of the ordinary integration tests.
//
// Threading: the proxy runs on its own io_context and thread, started by the constructor and
// joined by the destructor; every public member may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sluice::test {

class tcp_proxy {
 public:
  enum class direction { to_broker, to_client };

  // `upstream_bootstrap`: the real cluster's "host:port[,host:port...]".
  explicit tcp_proxy(const std::string& upstream_bootstrap);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  // The proxy's listeners for the bootstrap brokers, "127.0.0.1:port,...", for client configs.
  std::string bootstrap_servers() const;

  // Closes every open connection now (both sides); new connections are accepted as before.
  void cut_all();
  // Cuts every connection each time another `bytes` bytes (size prefixes included) have gone
  // through in `where`, forwarding only the part of the frame before the cut. 0 turns it off.
  void cut_every(direction where, std::size_t bytes);
  // The same, once.
  void cut_after(direction where, std::size_t bytes);
  // Holds every response to requests of this API key (and the responses queued behind it on its
  // connection) for `delay` before passing it on: a slow broker, to widen a race window. 0 ms
  // turns it off.
  void delay_responses(std::int16_t api_key, std::chrono::milliseconds delay);

  // How often connections were cut, how many the proxy accepted, and how many Metadata and
  // FindCoordinator responses it rewrote (proof that the client's traffic went through it).
  std::size_t cuts() const;
  std::size_t connections_accepted() const;
  std::size_t rewritten_responses() const;
  // Bytes the broker at `upstream` ("host:port" as it advertises itself) sent to clients through
  // the proxy: which broker served the data.
  std::size_t bytes_from(const std::string& upstream) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::test
