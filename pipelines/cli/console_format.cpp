#include "pipelines/cli/console_format.hpp"

#include <charconv>

#include "pipelines/cli/properties.hpp"

namespace sluice::cli {

namespace {

void append_number(std::int64_t value, std::string& out) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;  // 24 characters hold every int64
  out.append(buffer, end);
}

}  // namespace

record_format parse_record_format(std::string_view text) {
  record_format parts;
  std::string literal;
  const auto flush_literal = [&] {
    if (literal.empty()) return;
    parts.push_back({format_part::kind::text, std::move(literal)});
    literal.clear();
  };
  const auto field = [&](format_part::kind what) {
    flush_literal();
    parts.push_back({what, {}});
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '%' && c != '\\') {
      literal += c;
      continue;
    }
    if (i + 1 == text.size()) {
      throw usage_error("--format: '" + std::string(text) + "' ends with a lone '" +
                        std::string(1, c) + "' (write " + (c == '%' ? "%%" : "\\\\") +
                        " for the character itself)");
    }
    const char next = text[++i];
    if (c == '\\') {
      switch (next) {
        case 'n':
          literal += '\n';
          break;
        case 't':
          literal += '\t';
          break;
        case 'r':
          literal += '\r';
          break;
        case '\\':
          literal += '\\';
          break;
        default:
          throw usage_error("--format: unknown escape '\\" + std::string(1, next) +
                            "' at position " + std::to_string(i) + " of '" + std::string(text) +
                            "' (known: \\n \\t \\r \\\\)");
      }
      continue;
    }
    switch (next) {
      case 't':
        field(format_part::kind::topic);
        break;
      case 'p':
        field(format_part::kind::partition);
        break;
      case 'o':
        field(format_part::kind::offset);
        break;
      case 'k':
        field(format_part::kind::key);
        break;
      case 'v':
        field(format_part::kind::value);
        break;
      case 'h':
        field(format_part::kind::headers);
        break;
      case 'T':
        field(format_part::kind::timestamp);
        break;
      case '%':
        literal += '%';
        break;
      default:
        throw usage_error("--format: unknown directive '%" + std::string(1, next) +
                          "' at position " + std::to_string(i) + " of '" + std::string(text) +
                          "' (known: %t topic, %p partition, %o offset, %k key, %v value, "
                          "%h headers, %T timestamp, %% percent)");
    }
  }
  flush_literal();
  return parts;
}

void append_formatted(const record_format& format, const record_fields& record, std::string& out) {
  for (const auto& part : format) {
    switch (part.what) {
      case format_part::kind::text:
        out += part.text;
        break;
      case format_part::kind::topic:
        out += record.topic;
        break;
      case format_part::kind::partition:
        append_number(record.partition, out);
        break;
      case format_part::kind::offset:
        append_number(record.offset, out);
        break;
      case format_part::kind::timestamp:
        append_number(record.timestamp, out);
        break;
      case format_part::kind::key:
        if (record.key) out += *record.key;
        break;
      case format_part::kind::value:
        if (record.value) out += *record.value;
        break;
      case format_part::kind::headers: {
        bool first = true;
        for (const auto& header : record.headers) {
          if (!first) out += ',';
          first = false;
          out += header.key;
          // A null header value prints as the bare key, as --header KEY (without '=') makes one.
          if (header.value) {
            out += '=';
            out += kafka::protocol::as_string_view(*header.value);
          }
        }
        break;
      }
    }
  }
}

split_line_result split_line(std::string_view line, std::string_view separator,
                             std::int64_t line_number) {
  if (separator.empty()) return {std::nullopt, line};
  const auto at = line.find(separator);
  if (at == std::string_view::npos) {
    // Kafka's console producer (parse.key=true) fails the same way: a missing separator is far
    // more often a wrong separator than a record meant to have no key.
    constexpr std::size_t shown = 80;
    std::string excerpt(line.substr(0, shown));
    if (line.size() > shown) excerpt += "...";
    throw usage_error("line " + std::to_string(line_number) + ": no key separator '" +
                      std::string(separator) + "' in '" + excerpt + "'");
  }
  return {line.substr(0, at), line.substr(at + separator.size())};
}

kafka::records::record_header parse_header(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == 0 || text.empty()) {
    throw usage_error("--header: '" + text +
                      "' names no header (use KEY=VALUE, or KEY for a null "
                      "value)");
  }
  if (equals == std::string::npos) return {text, std::nullopt};
  return {text.substr(0, equals), kafka::protocol::to_bytes(text.substr(equals + 1))};
}

}  // namespace sluice::cli
