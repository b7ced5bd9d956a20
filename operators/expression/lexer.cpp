#include "operators/expression/lexer.hpp"

#include <cstdint>

#include "operators/expression/compile_failure.hpp"

namespace sluice::operators::expr {
namespace {

// "'text'". Built by appending: GCC 12 at -O3 reports `"'" + std::string(...)` as an overlapping
// memcpy (-Wrestrict, GCC bug 105651), a false positive that -Werror turns into a build failure.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  return out.append(1, '\'').append(text).append(1, '\'');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || is_digit(c);
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class lexer {
 public:
  explicit lexer(std::string_view source) : source_(source) {}

  std::vector<token> run() {
    std::vector<token> tokens;
    while (true) {
      while (pos_ < source_.size() && is_space(source_[pos_])) {
        ++pos_;
      }
      if (pos_ == source_.size()) {
        tokens.push_back(token{token_kind::end, pos_, {}, {}});
        return tokens;
      }
      tokens.push_back(next());
    }
  }

 private:
  token make(token_kind kind, std::size_t start) {
    return token{kind, start, source_.substr(start, pos_ - start), {}};
  }

  bool at(char c, std::size_t offset = 0) const {
    return pos_ + offset < source_.size() && source_[pos_ + offset] == c;
  }

  token next() {
    const std::size_t start = pos_;
    const char c = source_[pos_];
    if (is_identifier_start(c)) {
      while (pos_ < source_.size() && is_identifier_char(source_[pos_])) {
        ++pos_;
      }
      return make(token_kind::identifier, start);
    }
    if (is_digit(c)) {
      return number(start);
    }
    if (c == '"' || c == '\'') {
      return string(start, c);
    }
    // Two-character operators first.
    struct pair_op {
      char first;
      char second;
      token_kind kind;
    };
    static constexpr pair_op pairs[] = {
        {'=', '=', token_kind::equal},
        {'!', '=', token_kind::not_equal},
        {'<', '=', token_kind::less_equal},
        {'>', '=', token_kind::greater_equal},
        {'&', '&', token_kind::and_and},
        {'|', '|', token_kind::or_or},
        {'?', '?', token_kind::question_question},
    };
    for (const auto& op : pairs) {
      if (c == op.first && at(op.second, 1)) {
        pos_ += 2;
        return make(op.kind, start);
      }
    }
    token_kind kind = token_kind::end;
    switch (c) {
      case '+':
        kind = token_kind::plus;
        break;
      case '-':
        kind = token_kind::minus;
        break;
      case '*':
        kind = token_kind::star;
        break;
      case '/':
        kind = token_kind::slash;
        break;
      case '%':
        kind = token_kind::percent;
        break;
      case '!':
        kind = token_kind::bang;
        break;
      case '<':
        kind = token_kind::less;
        break;
      case '>':
        kind = token_kind::greater;
        break;
      case '?':
        kind = token_kind::question;
        break;
      case ':':
        kind = token_kind::colon;
        break;
      case ',':
        kind = token_kind::comma;
        break;
      case '.':
        kind = token_kind::dot;
        break;
      case '(':
        kind = token_kind::left_paren;
        break;
      case ')':
        kind = token_kind::right_paren;
        break;
      case '[':
        kind = token_kind::left_bracket;
        break;
      case ']':
        kind = token_kind::right_bracket;
        break;
      case '{':
        kind = token_kind::left_brace;
        break;
      case '}':
        kind = token_kind::right_brace;
        break;
      case '=':
        throw compile_failure(start, "unexpected '=' (use '==' to compare)");
      case '&':
        throw compile_failure(start, "unexpected '&' (use '&&' or 'and')");
      case '|':
        throw compile_failure(start, "unexpected '|' (use '||' or 'or')");
      default: {
        std::string shown = (static_cast<unsigned char>(c) < 0x20 || c == 0x7F ||
                             static_cast<unsigned char>(c) >= 0x80)
                                ? "byte " + std::to_string(static_cast<unsigned char>(c))
                                : quoted(std::string_view(&c, 1));
        throw compile_failure(start, "unexpected character " + shown);
      }
    }
    ++pos_;
    return make(kind, start);
  }

  token number(std::size_t start) {
    bool decimal = false;
    while (pos_ < source_.size() && is_digit(source_[pos_])) {
      ++pos_;
    }
    if (at('.') && pos_ + 1 < source_.size() && is_digit(source_[pos_ + 1])) {
      decimal = true;
      ++pos_;
      while (pos_ < source_.size() && is_digit(source_[pos_])) {
        ++pos_;
      }
    } else if (at('.') && !(pos_ + 1 < source_.size() && is_identifier_start(source_[pos_ + 1]))) {
      throw compile_failure(pos_, "expected digits after the decimal point");
    }
    if (at('e') || at('E')) {
      std::size_t exponent = pos_ + 1;
      if (exponent < source_.size() && (source_[exponent] == '+' || source_[exponent] == '-')) {
        ++exponent;
      }
      if (exponent >= source_.size() || !is_digit(source_[exponent])) {
        throw compile_failure(pos_, "expected digits in the exponent of the number");
      }
      decimal = true;
      pos_ = exponent;
      while (pos_ < source_.size() && is_digit(source_[pos_])) {
        ++pos_;
      }
    }
    if (pos_ < source_.size() && is_identifier_char(source_[pos_])) {
      while (pos_ < source_.size() && is_identifier_char(source_[pos_])) {
        ++pos_;
      }
      throw compile_failure(
          start, "invalid number '" + std::string(source_.substr(start, pos_ - start)) + "'");
    }
    return make(decimal ? token_kind::decimal : token_kind::integer, start);
  }

  std::uint32_t hex4(std::size_t escape_start) {
    if (pos_ + 4 > source_.size()) {
      throw compile_failure(escape_start, "expected 4 hex digits after \\u");
    }
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = source_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9') {
        value |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        value |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        value |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        throw compile_failure(escape_start, "expected 4 hex digits after \\u");
      }
    }
    return value;
  }

  token string(std::size_t start, char quote) {
    ++pos_;
    std::string decoded;
    while (true) {
      if (pos_ >= source_.size()) {
        throw compile_failure(
            start, "unterminated string (missing closing " + std::string(1, quote) + ")");
      }
      const char c = source_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        decoded.push_back(c);
        ++pos_;
        continue;
      }
      const std::size_t escape_start = pos_;
      ++pos_;
      if (pos_ >= source_.size()) {
        throw compile_failure(
            start, "unterminated string (missing closing " + std::string(1, quote) + ")");
      }
      const char e = source_[pos_++];
      switch (e) {
        case '"':
          decoded.push_back('"');
          break;
        case '\'':
          decoded.push_back('\'');
          break;
        case '\\':
          decoded.push_back('\\');
          break;
        case '/':
          decoded.push_back('/');
          break;
        case 'b':
          decoded.push_back('\b');
          break;
        case 'f':
          decoded.push_back('\f');
          break;
        case 'n':
          decoded.push_back('\n');
          break;
        case 'r':
          decoded.push_back('\r');
          break;
        case 't':
          decoded.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = hex4(escape_start);
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by \u and a low surrogate (JSON's rule).
            if (!(at('\\') && at('u', 1))) {
              throw compile_failure(escape_start, "unpaired UTF-16 surrogate in \\u escape");
            }
            pos_ += 2;
            const std::uint32_t low = hex4(escape_start);
            if (low < 0xDC00 || low > 0xDFFF) {
              throw compile_failure(escape_start, "unpaired UTF-16 surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            throw compile_failure(escape_start, "unpaired UTF-16 surrogate in \\u escape");
          }
          append_utf8(decoded, cp);
          break;
        }
        default:
          throw compile_failure(escape_start,
                                "unknown escape '\\" + std::string(1, e) + "' in string");
      }
    }
    token t = make(token_kind::string, start);
    t.decoded = std::move(decoded);
    return t;
  }

  std::string_view source_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<token> tokenize(std::string_view source) {
  return lexer(source).run();
}

std::string describe(const token& t) {
  switch (t.kind) {
    case token_kind::end:
      return "end of expression";
    case token_kind::string:
      return std::string("string ").append(t.text);
    default:
      return quoted(t.text);
  }
}

}  // namespace sluice::operators::expr
