#pragma once

// lexer: splits expression source into tokens. Strings are unescaped here; numbers keep their
// text and are converted by the parser (which knows about a leading minus). Throws
// compile_failure with the position of the offending character.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::operators::expr {

enum class token_kind : std::uint8_t {
  end,
  identifier,  // names and the keywords true false null and or not in
  integer,
  decimal,
  string,
  plus,
  minus,
  star,
  slash,
  percent,
  bang,
  equal,
  not_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  and_and,
  or_or,
  question,
  question_question,
  colon,
  comma,
  dot,
  left_paren,
  right_paren,
  left_bracket,
  right_bracket,
  left_brace,
  right_brace,
};

struct token {
  token_kind kind = token_kind::end;
  std::size_t position = 0;
  std::string_view text;  // as written
  std::string decoded;    // string literals: the unescaped UTF-8 value
};

// The tokens of `source`, always ending with one token_kind::end at source.size().
std::vector<token> tokenize(std::string_view source);

// How an error message names a token: 'x', "end of expression", string "abc".
std::string describe(const token& t);

}  // namespace sluice::operators::expr
