#include "operators/data_format.hpp"

#include <fmt/format.h>

#include <bit>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <limits>

namespace sluice::operators {

namespace {

constexpr std::size_t fixed_width = 8;

std::string_view part_name(record_part part) {
  return part == record_part::key ? "key" : "value";
}

processing_error error(error_kind kind, const record_origin& origin, record_part part,
                       std::string what) {
  return processing_error{kind, fmt::format("{} {}", part_name(part), what), origin, {}};
}

std::string_view kind_name(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "an integer";
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

std::uint64_t read_be64(std::string_view data) {
  std::uint64_t out = 0;
  for (std::size_t i = 0; i < fixed_width; ++i) {
    out = (out << 8U) | static_cast<std::uint8_t>(data[i]);
  }
  return out;
}

std::string write_be64(std::uint64_t value) {
  std::string out(fixed_width, '\0');
  for (std::size_t i = 0; i < fixed_width; ++i) {
    out[fixed_width - 1 - i] = static_cast<char>(value & 0xFFU);
    value >>= 8U;
  }
  return out;
}

// The offset of the first byte that is not valid UTF-8, or nullopt.
std::optional<std::size_t> invalid_utf8_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<std::uint8_t>(text[i]);
    std::size_t length = 0;
    std::uint32_t min_code = 0;
    if (c < 0x80U) {
      ++i;
      continue;
    }
    if ((c & 0xE0U) == 0xC0U) {
      length = 2;
      min_code = 0x80;
    } else if ((c & 0xF0U) == 0xE0U) {
      length = 3;
      min_code = 0x800;
    } else if ((c & 0xF8U) == 0xF0U) {
      length = 4;
      min_code = 0x10000;
    } else {
      return i;
    }
    if (i + length > text.size()) {
      return i;
    }
    std::uint32_t code = c & (0xFFU >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xC0U) != 0x80U) {
        return i;
      }
      code = (code << 6U) | (next & 0x3FU);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return i;
    }
    i += length;
  }
  return std::nullopt;
}

// A JSON string literal, escaped as Boost.JSON's serializer does (\" \\ \b \f \n \r \t, other
// control characters as \u00xx; UTF-8 as is), written straight into `out`.
void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, plain_from, i - plain_from);
    plain_from = i + 1;
    out += '\\';
    switch (c) {
      case '"':
      case '\\':
        out += static_cast<char>(c);
        break;
      case '\b':
        out += 'b';
        break;
      case '\f':
        out += 'f';
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      default:
        out += "u00";
        out += hex[c >> 4U];
        out += hex[c & 15U];
    }
  }
  out.append(text, plain_from);
  out += '"';
}

template <typename Number>
void append_number(std::string& out, Number n) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  out.append(buffer, end);
}

// Boost.JSON 1.81 writes doubles in scientific form ("4.5E0"); people read what pipelines write, so
// doubles get their shortest round-trip decimal form instead ("4.5", "12.0", "1e+21"). Everything
// is appended to one string, without a temporary string per member (this runs for every output).
void append_json(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::double_: {
      const double d = value.get_double();
      if (!std::isfinite(d)) {
        out += "null";  // JSON has no NaN or infinity
        return;
      }
      const auto at = out.size();
      append_number(out, d);
      // Keep it a double for the reader: "12" would come back as an integer.
      if (std::string_view(out).substr(at).find_first_of(".eEn") == std::string_view::npos) {
        out += ".0";
      }
      return;
    }
    case boost::json::kind::int64:
      append_number(out, value.get_int64());
      return;
    case boost::json::kind::uint64:
      append_number(out, value.get_uint64());
      return;
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::string:
      append_quoted(out, value.get_string());
      return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json(out, element);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) out += ',';
        first = false;
        append_quoted(out, member.key());
        out += ':';
        append_json(out, member.value());
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string to_json_text(const boost::json::value& value) {
  std::string out;
  out.reserve(64);  // most records' values fit: one allocation
  append_json(out, value);
  return out;
}

std::string_view to_string(data_format format) {
  switch (format) {
    case data_format::json:
      return "json";
    case data_format::string:
      return "string";
    case data_format::bytes:
      return "bytes";
    case data_format::int64:
      return "int64";
    case data_format::double_:
      return "double";
  }
  return "unknown";
}

std::optional<data_format> parse_data_format(std::string_view name) {
  for (auto format : {data_format::json, data_format::string, data_format::bytes,
                      data_format::int64, data_format::double_}) {
    if (to_string(format) == name) {
      return format;
    }
  }
  return std::nullopt;
}

processing_result<boost::json::value> decode_bytes(data_format format,
                                                   std::optional<std::string_view> data,
                                                   record_part part, const record_origin& origin) {
  if (!data) {
    return boost::json::value(nullptr);
  }
  const std::string_view bytes = *data;
  switch (format) {
    case data_format::json: {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(boost::json::string_view(bytes.data(), bytes.size()), ec);
      if (ec) {
        return error(error_kind::deserialization, origin, part,
                     fmt::format("is not valid JSON ({} bytes): {}", bytes.size(), ec.message()));
      }
      return parsed;
    }
    case data_format::string: {
      if (auto at = invalid_utf8_at(bytes)) {
        return error(error_kind::deserialization, origin, part,
                     fmt::format("is not valid UTF-8 text: bad byte 0x{:02x} at offset {} of {}",
                                 static_cast<std::uint8_t>(bytes[*at]), *at, bytes.size()));
      }
      return boost::json::value(boost::json::string_view(bytes.data(), bytes.size()));
    }
    case data_format::bytes:
      return boost::json::value(boost::json::string_view(bytes.data(), bytes.size()));
    case data_format::int64:
    case data_format::double_: {
      if (bytes.size() != fixed_width) {
        return error(
            error_kind::deserialization, origin, part,
            fmt::format("is not an {}: expected 8 bytes, got {}",
                        format == data_format::int64 ? "int64" : "IEEE 754 double", bytes.size()));
      }
      const std::uint64_t bits = read_be64(bytes);
      if (format == data_format::int64) {
        return boost::json::value(static_cast<std::int64_t>(bits));
      }
      return boost::json::value(std::bit_cast<double>(bits));
    }
  }
  return error(error_kind::deserialization, origin, part, "has an unknown format");
}

processing_result<std::optional<std::string>> encode(data_format format,
                                                     const boost::json::value& value,
                                                     record_part part,
                                                     const record_origin& origin) {
  if (value.is_null()) {
    return std::optional<std::string>();
  }
  auto mismatch = [&] {
    return error(error_kind::serialization, origin, part,
                 fmt::format("is {} ({}), which the {} format cannot hold", kind_name(value),
                             boost::json::serialize(value), to_string(format)));
  };
  switch (format) {
    case data_format::json:
      return std::optional<std::string>(to_json_text(value));
    case data_format::string:
      if (value.is_string()) {
        return std::optional<std::string>(std::string(value.get_string()));
      }
      // Scalars have one obvious text form; objects and arrays would be a silent format change.
      if (value.is_number() || value.is_bool()) {
        return std::optional<std::string>(to_json_text(value));
      }
      return mismatch();
    case data_format::bytes:
      if (value.is_string()) {
        return std::optional<std::string>(std::string(value.get_string()));
      }
      return mismatch();
    case data_format::int64: {
      if (value.is_int64()) {
        return std::optional<std::string>(
            write_be64(static_cast<std::uint64_t>(value.get_int64())));
      }
      if (value.is_uint64() &&
          value.get_uint64() <=
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::optional<std::string>(write_be64(value.get_uint64()));
      }
      if (value.is_double()) {
        const double d = value.get_double();
        if (std::trunc(d) == d && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) {
          return std::optional<std::string>(
              write_be64(static_cast<std::uint64_t>(static_cast<std::int64_t>(d))));
        }
      }
      return mismatch();
    }
    case data_format::double_: {
      if (!value.is_number()) {
        return mismatch();
      }
      return std::optional<std::string>(
          write_be64(std::bit_cast<std::uint64_t>(value.to_number<double>())));
    }
  }
  return mismatch();
}

}  // namespace sluice::operators
