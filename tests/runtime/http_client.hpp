#pragma once

// A blocking HTTP/1.1 client for the tests of the metrics endpoint: one request per connection.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

namespace sluice::runtime::test_support {

struct http_reply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

inline http_reply http_request(std::uint16_t port, const std::string& target,
                               boost::beast::http::verb method = boost::beast::http::verb::get) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context context;
  beast::tcp_stream stream(context);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (method == http::verb::head) parser.skip(true);
  http::read(stream, buffer, parser);
  const auto& response = parser.get();
  beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  return {response.result_int(), std::string(response[http::field::content_type]), response.body()};
}

// The value of the first sample of `name` whose labels contain every `label="value"` given, from
// Prometheus text; nullopt when there is none.
inline std::optional<double> metric_value(const std::string& text, const std::string& name,
                                          const std::vector<std::string>& labels = {}) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    const char after = line.size() > name.size() ? line[name.size()] : '\0';
    if (after != '{' && after != ' ') continue;
    bool matches = true;
    for (const auto& label : labels) matches = matches && line.find(label) != std::string::npos;
    if (!matches) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

}  // namespace sluice::runtime::test_support
