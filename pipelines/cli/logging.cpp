#include "pipelines/cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "pipelines/cli/properties.hpp"

namespace sluice::cli {
namespace {

void append_json_string(spdlog::memory_buf_t& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override {
    const auto since_epoch = message.time.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    const std::time_t time = seconds.count();
    std::tm utc{};
    ::gmtime_r(&time, &utc);
    fmt::format_to(std::back_inserter(out),
                   R"({{"time":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":")",
                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                   utc.tm_sec, millis);
    const auto level = spdlog::level::to_string_view(message.level);
    out.append(level.data(), level.data() + level.size());
    out.append(std::string_view(R"(","message":)"));
    append_json_string(out, std::string_view(message.payload.data(), message.payload.size()));
    out.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

void check_logging(const logging_settings& settings) {
  if (spdlog::level::from_str(settings.level) == spdlog::level::off && settings.level != "off") {
    throw usage_error("--log-level: '" + settings.level +
                      "' is not trace, debug, info, warn, error, critical or off");
  }
  if (settings.format != "text" && settings.format != "json")
    throw usage_error("--log-format: '" + settings.format + "' is not text or json");
}

void configure_logging(const logging_settings& settings, bool to_stderr) {
  const char* name = to_stderr ? "sluice-stderr" : "sluice-stdout";
  auto logger = spdlog::get(name);
  if (!logger) logger = to_stderr ? spdlog::stderr_color_mt(name) : spdlog::stdout_color_mt(name);
  if (settings.format == "json") {
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    // spdlog's default without the logger's name: the lines tools already parse (tests/chaos).
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  }
  logger->set_level(spdlog::level::from_str(settings.level));
  spdlog::set_default_logger(logger);
}

}  // namespace sluice::cli
