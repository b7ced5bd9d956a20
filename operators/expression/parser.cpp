#include "operators/expression/parser.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "operators/expression/closest_name.hpp"
#include "operators/expression/compile_failure.hpp"
#include "operators/expression/functions.hpp"
#include "operators/expression/lexer.hpp"
#include "operators/expression/value_ops.hpp"

namespace sluice::operators::expr {

namespace json = boost::json;

namespace {

constexpr std::string_view int64_min_magnitude = "9223372036854775808";

constexpr std::string_view root_names[] = {"key",       "value",  "timestamp", "topic",
                                           "partition", "offset", "headers"};

bool is_keyword(std::string_view text) {
  return text == "true" || text == "false" || text == "null" || text == "and" || text == "or" ||
         text == "not" || text == "in";
}

class parser {
 public:
  explicit parser(std::string_view source) : tokens_(tokenize(source)) {}

  parse_output run() {
    if (peek().kind == token_kind::end) {
      throw compile_failure(0, "empty expression");
    }
    auto root = parse_expression();
    if (peek().kind != token_kind::end) {
      const token& t = peek();
      std::string message = "unexpected " + describe(t) + " after the end of the expression";
      if (t.kind == token_kind::identifier || t.kind == token_kind::integer ||
          t.kind == token_kind::string || t.kind == token_kind::decimal) {
        message += " (missing operator?)";
      }
      throw compile_failure(t.position, message);
    }
    return parse_output{std::move(root), roots_};
  }

 private:
  // --- tokens ------------------------------------------------------------------------------

  const token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const token& advance() {
    const token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) {
      ++pos_;
    }
    return t;
  }
  bool at(token_kind kind) const { return peek().kind == kind; }
  bool at_keyword(std::string_view word, std::size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::identifier && peek(ahead).text == word;
  }
  const token& expect(token_kind kind, const std::string& what) {
    if (!at(kind)) {
      throw compile_failure(peek().position, "expected " + what + ", found " + describe(peek()));
    }
    return advance();
  }

  // --- nodes -------------------------------------------------------------------------------

  static std::unique_ptr<node> make(node_kind kind, std::size_t position) {
    auto n = std::make_unique<node>();
    n->kind = kind;
    n->position = position;
    return n;
  }

  static std::unique_ptr<node> make_constant(json::value v, std::size_t position) {
    auto n = make(node_kind::constant, position);
    n->constant = std::move(v);
    return n;
  }

  // Records the height of `n` once its children are in place, and enforces the bound.
  static std::unique_ptr<node> finish(std::unique_ptr<node> n) {
    std::size_t height = 0;
    for (const auto& child : n->children) {
      height = std::max(height, child->depth);
    }
    for (const auto& step : n->steps) {
      if (step.expression) {
        height = std::max(height, step.expression->depth);
      }
    }
    n->depth = height + 1;
    if (n->depth > max_tree_depth) {
      throw compile_failure(n->position, "expression is too deeply nested (more than " +
                                             std::to_string(max_tree_depth) + " levels)");
    }
    return n;
  }

  std::unique_ptr<node> binary(node_kind kind, std::size_t position, std::unique_ptr<node> l,
                               std::unique_ptr<node> r) {
    auto n = make(kind, position);
    n->children.push_back(std::move(l));
    n->children.push_back(std::move(r));
    return finish(std::move(n));
  }

  struct nesting_guard {
    explicit nesting_guard(parser& p) : p(p) {
      if (++p.nesting_ > max_nesting) {
        throw compile_failure(p.peek().position, "expression is too deeply nested (more than " +
                                                     std::to_string(max_nesting) + " levels)");
      }
    }
    ~nesting_guard() { --p.nesting_; }
    nesting_guard(const nesting_guard&) = delete;
    nesting_guard& operator=(const nesting_guard&) = delete;
    parser& p;
  };

  // --- grammar, loosest first --------------------------------------------------------------

  std::unique_ptr<node> parse_expression() {
    nesting_guard guard(*this);
    return parse_conditional();
  }

  std::unique_ptr<node> parse_conditional() {
    auto condition = parse_or();
    if (!at(token_kind::question)) {
      return condition;
    }
    const std::size_t position = advance().position;
    auto then_branch = parse_expression();
    if (!at(token_kind::colon)) {
      throw compile_failure(peek().position, "expected ':' of the '?' at column " +
                                                 std::to_string(position) + ", found " +
                                                 describe(peek()));
    }
    advance();
    auto else_branch = parse_expression();
    auto n = make(node_kind::conditional, position);
    n->children.push_back(std::move(condition));
    n->children.push_back(std::move(then_branch));
    n->children.push_back(std::move(else_branch));
    return finish(std::move(n));
  }

  std::unique_ptr<node> parse_or() {
    auto left = parse_and();
    while (at(token_kind::or_or) || at_keyword("or")) {
      const std::size_t position = advance().position;
      left = binary(node_kind::logical_or, position, std::move(left), parse_and());
    }
    return left;
  }

  std::unique_ptr<node> parse_and() {
    auto left = parse_not();
    while (at(token_kind::and_and) || at_keyword("and")) {
      const std::size_t position = advance().position;
      left = binary(node_kind::logical_and, position, std::move(left), parse_not());
    }
    return left;
  }

  // `not` as a word binds loosely, as in Python: `not a == b` means !(a == b).
  std::unique_ptr<node> parse_not() {
    if (!at_keyword("not")) {
      return parse_equality();
    }
    nesting_guard guard(*this);
    const std::size_t position = advance().position;
    auto n = make(node_kind::logical_not, position);
    n->children.push_back(parse_not());
    return finish(std::move(n));
  }

  static bool is_equality(token_kind k) {
    return k == token_kind::equal || k == token_kind::not_equal;
  }
  static bool is_relational(token_kind k) {
    return k == token_kind::less || k == token_kind::less_equal || k == token_kind::greater ||
           k == token_kind::greater_equal;
  }
  bool at_relational() const {
    return is_relational(peek().kind) || at_keyword("in") ||
           (at_keyword("not") && at_keyword("in", 1));
  }

  std::unique_ptr<node> parse_equality() {
    auto left = parse_relational();
    if (!is_equality(peek().kind)) {
      return left;
    }
    const token& op = advance();
    const node_kind kind = op.kind == token_kind::equal ? node_kind::equal : node_kind::not_equal;
    auto n = binary(kind, op.position, std::move(left), parse_relational());
    if (is_equality(peek().kind)) {
      throw compile_failure(peek().position, "comparisons do not chain; use a == b && b == c");
    }
    return n;
  }

  std::unique_ptr<node> parse_relational() {
    auto left = parse_coalesce();
    if (!at_relational()) {
      return left;
    }
    bool negated = false;
    std::size_t position = peek().position;
    if (at_keyword("not")) {  // `x not in y`
      negated = true;
      advance();
    }
    const token& op = advance();
    node_kind kind = node_kind::in;
    switch (op.kind) {
      case token_kind::less:
        kind = node_kind::less;
        break;
      case token_kind::less_equal:
        kind = node_kind::less_equal;
        break;
      case token_kind::greater:
        kind = node_kind::greater;
        break;
      case token_kind::greater_equal:
        kind = node_kind::greater_equal;
        break;
      default:
        break;
    }
    auto n = binary(kind, op.position, std::move(left), parse_coalesce());
    if (at_relational()) {
      throw compile_failure(peek().position, "comparisons do not chain; use a < b && b < c");
    }
    if (negated) {
      auto outer = make(node_kind::logical_not, position);
      outer->children.push_back(std::move(n));
      return finish(std::move(outer));
    }
    return n;
  }

  // Right-associative: a ?? b ?? c is a ?? (b ?? c), the same value but evaluated lazily.
  std::unique_ptr<node> parse_coalesce() {
    auto left = parse_additive();
    if (!at(token_kind::question_question)) {
      return left;
    }
    nesting_guard guard(*this);
    const std::size_t position = advance().position;
    return binary(node_kind::null_coalesce, position, std::move(left), parse_coalesce());
  }

  std::unique_ptr<node> parse_additive() {
    auto left = parse_multiplicative();
    while (at(token_kind::plus) || at(token_kind::minus)) {
      const token& op = advance();
      const node_kind kind = op.kind == token_kind::plus ? node_kind::add : node_kind::subtract;
      left = binary(kind, op.position, std::move(left), parse_multiplicative());
    }
    return left;
  }

  std::unique_ptr<node> parse_multiplicative() {
    auto left = parse_unary();
    while (at(token_kind::star) || at(token_kind::slash) || at(token_kind::percent)) {
      const token& op = advance();
      const node_kind kind = op.kind == token_kind::star    ? node_kind::multiply
                             : op.kind == token_kind::slash ? node_kind::divide
                                                            : node_kind::remainder;
      left = binary(kind, op.position, std::move(left), parse_unary());
    }
    return left;
  }

  std::unique_ptr<node> parse_unary() {
    if (at(token_kind::minus)) {
      nesting_guard guard(*this);
      const std::size_t position = advance().position;
      // -9223372036854775808 is an int64, though 9223372036854775808 alone is not.
      if (at(token_kind::integer) && peek().text == int64_min_magnitude &&
          !is_postfix(peek(1).kind)) {
        advance();
        return make_constant(json::value(std::numeric_limits<std::int64_t>::min()), position);
      }
      auto operand = parse_unary();
      // A negative number literal is a constant (so [-1, 2] folds and prints as written).
      if (operand->kind == node_kind::constant && operand->constant.is_int64() &&
          operand->constant.get_int64() != std::numeric_limits<std::int64_t>::min()) {
        return make_constant(json::value(-operand->constant.get_int64()), position);
      }
      if (operand->kind == node_kind::constant && operand->constant.is_double()) {
        return make_constant(json::value(-operand->constant.get_double()), position);
      }
      auto n = make(node_kind::negate, position);
      n->children.push_back(std::move(operand));
      return finish(std::move(n));
    }
    if (at(token_kind::bang) || at_keyword("not")) {
      nesting_guard guard(*this);
      const std::size_t position = advance().position;
      auto n = make(node_kind::logical_not, position);
      n->children.push_back(parse_unary());
      return finish(std::move(n));
    }
    if (at(token_kind::plus)) {
      throw compile_failure(peek().position, "unexpected '+' (there is no unary plus)");
    }
    return parse_postfix();
  }

  static bool is_postfix(token_kind k) {
    return k == token_kind::dot || k == token_kind::left_bracket || k == token_kind::left_paren;
  }

  std::unique_ptr<node> parse_postfix() {
    auto base = parse_primary();
    while (at(token_kind::dot) || at(token_kind::left_bracket)) {
      if (base->kind != node_kind::path) {
        auto path = make(node_kind::path, base->position);
        path->children.push_back(std::move(base));
        base = std::move(path);
      } else if (base->root && !is_container_root(*base->root)) {
        throw compile_failure(peek().position,
                              std::string(to_string(*base->root)) + " is " +
                                  (*base->root == context_root::topic ? "a string" : "an int") +
                                  " and has no fields or elements");
      }
      path_step step;
      if (advance().kind == token_kind::dot) {
        const token& name = peek();
        if (name.kind != token_kind::identifier) {
          throw compile_failure(name.position,
                                "expected a field name after '.', found " + describe(name) +
                                    " (use [\"...\"] for names that are not identifiers)");
        }
        advance();
        step.kind = step_kind::field;
        step.position = name.position;
        step.field = std::string(name.text);
      } else {
        step.position = peek().position;
        auto index = parse_expression();
        expect(token_kind::right_bracket, "']' after the index");
        if (index->kind == node_kind::constant && index->constant.is_string()) {
          step.kind = step_kind::field;
          step.field = std::string(as_view(index->constant.get_string()));
        } else if (index->kind == node_kind::constant && index->constant.is_int64()) {
          step.kind = step_kind::index;
          step.index = index->constant.get_int64();
        } else if (index->kind == node_kind::constant) {
          throw compile_failure(step.position, "an index must be an int or a string, got " +
                                                   std::string(type_name(index->constant)));
        } else {
          step.kind = step_kind::dynamic;
          step.expression = std::move(index);
        }
      }
      base->steps.push_back(std::move(step));
      base = finish(std::move(base));
    }
    if (at(token_kind::left_paren)) {
      throw compile_failure(peek().position,
                            "unexpected '(' (only functions can be called, as name(...))");
    }
    return base;
  }

  static bool is_container_root(context_root root) {
    return root == context_root::key || root == context_root::value ||
           root == context_root::headers;
  }

  std::unique_ptr<node> parse_primary() {
    const token& t = peek();
    switch (t.kind) {
      case token_kind::integer: {
        advance();
        std::int64_t value = 0;
        const auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
        if (ec != std::errc() || ptr != t.text.data() + t.text.size()) {
          throw compile_failure(t.position, "integer " + std::string(t.text) +
                                                " is out of the int64 range (write it as a "
                                                "decimal, e.g. " +
                                                std::string(t.text) + ".0)");
        }
        return make_constant(json::value(value), t.position);
      }
      case token_kind::decimal: {
        advance();
        double value = 0;
        const auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
        if (ec != std::errc() || ptr != t.text.data() + t.text.size() || !std::isfinite(value)) {
          throw compile_failure(t.position,
                                "number " + std::string(t.text) + " is out of the double range");
        }
        return make_constant(json::value(value), t.position);
      }
      case token_kind::string: {
        advance();
        return make_constant(json::value(json::string(t.decoded)), t.position);
      }
      case token_kind::left_paren: {
        advance();
        auto inner = parse_expression();
        if (!at(token_kind::right_paren)) {
          throw compile_failure(peek().position, "expected ')' to close the '(' at column " +
                                                     std::to_string(t.position) + ", found " +
                                                     describe(peek()));
        }
        advance();
        return inner;
      }
      case token_kind::left_bracket:
        return parse_array();
      case token_kind::left_brace:
        return parse_object();
      case token_kind::identifier:
        return parse_name();
      case token_kind::end:
        throw compile_failure(t.position, "unexpected end of expression; expected a value");
      default:
        throw compile_failure(t.position, "expected a value, found " + describe(t));
    }
  }

  std::unique_ptr<node> parse_array() {
    nesting_guard guard(*this);
    const token& open = advance();
    auto n = make(node_kind::array_literal, open.position);
    if (!at(token_kind::right_bracket)) {
      while (true) {
        n->children.push_back(parse_expression());
        if (at(token_kind::comma)) {
          advance();
          if (at(token_kind::right_bracket)) {
            break;  // trailing comma
          }
          continue;
        }
        if (!at(token_kind::right_bracket)) {
          throw compile_failure(peek().position,
                                "expected ',' or ']' in the array opened at column " +
                                    std::to_string(open.position) + ", found " + describe(peek()));
        }
        break;
      }
    }
    advance();
    return fold_literal(finish(std::move(n)));
  }

  std::unique_ptr<node> parse_object() {
    nesting_guard guard(*this);
    const token& open = advance();
    auto n = make(node_kind::object_literal, open.position);
    std::set<std::string, std::less<>> seen;
    while (!at(token_kind::right_brace)) {
      const token& name = peek();
      std::string key;
      if (name.kind == token_kind::identifier) {
        key = std::string(name.text);
      } else if (name.kind == token_kind::string) {
        key = name.decoded;
      } else {
        throw compile_failure(
            name.position,
            "expected a field name (a name or a quoted string), found " + describe(name));
      }
      advance();
      if (!seen.insert(key).second) {
        throw compile_failure(name.position, "duplicate field '" + key + "' in object");
      }
      expect(token_kind::colon, "':' after field name '" + key + "'");
      n->keys.push_back(std::move(key));
      n->children.push_back(parse_expression());
      if (at(token_kind::comma)) {
        advance();
        continue;
      }
      if (!at(token_kind::right_brace)) {
        throw compile_failure(peek().position,
                              "expected ',' or '}' in the object opened at column " +
                                  std::to_string(open.position) + ", found " + describe(peek()));
      }
    }
    advance();
    return fold_literal(finish(std::move(n)));
  }

  // An array or object whose members are all constants is a constant: built once here, and
  // borrowed (never copied) per record.
  static std::unique_ptr<node> fold_literal(std::unique_ptr<node> n) {
    for (const auto& child : n->children) {
      if (child->kind != node_kind::constant) {
        return n;
      }
    }
    json::value folded;
    if (n->kind == node_kind::array_literal) {
      json::array& array = folded.emplace_array();
      array.reserve(n->children.size());
      for (auto& child : n->children) {
        array.push_back(std::move(child->constant));
      }
    } else {
      json::object& object = folded.emplace_object();
      object.reserve(n->children.size());
      for (std::size_t i = 0; i < n->children.size(); ++i) {
        object.emplace(n->keys[i], std::move(n->children[i]->constant));
      }
    }
    return make_constant(std::move(folded), n->position);
  }

  std::unique_ptr<node> parse_name() {
    const token& t = advance();
    const std::string_view name = t.text;
    if (name == "true" || name == "false") {
      return make_constant(json::value(name == "true"), t.position);
    }
    if (name == "null") {
      return make_constant(json::value(), t.position);
    }
    if (is_keyword(name)) {
      throw compile_failure(t.position, "expected a value, found '" + std::string(name) + "'");
    }
    if (at(token_kind::left_paren)) {
      return parse_call(t);
    }
    if (const auto root = context_root_from_name(name)) {
      roots_.insert(*root);
      auto n = make(node_kind::path, t.position);
      n->root = root;
      return finish(std::move(n));
    }
    std::string message = "unknown name '" + std::string(name) + "'";
    if (find_function(name) != nullptr) {
      message +=
          " ('" + std::string(name) + "' is a function; call it as " + std::string(name) + "(...))";
    } else if (const auto suggestion = closest_name(name, root_names); !suggestion.empty()) {
      message += " (did you mean '" + std::string(suggestion) + "'?)";
    } else {
      message += " (a field of the record value is written value." + std::string(name) +
                 "; names are key, value, timestamp, topic, partition, offset, headers)";
    }
    throw compile_failure(t.position, message);
  }

  std::unique_ptr<node> parse_call(const token& name_token) {
    nesting_guard guard(*this);
    const std::string_view name = name_token.text;
    const function_spec* spec = find_function(name);
    if (spec == nullptr) {
      std::string message = "unknown function '" + std::string(name) + "'";
      if (name == "now" || name == "now_ms" || name == "current_time" || name == "time") {
        message += " (pipelines are deterministic: use timestamp, the record's time)";
      } else if (context_root_from_name(name)) {
        message = "'" + std::string(name) + "' is not a function";
      } else if (const auto suggestion = closest_name(name, function_names());
                 !suggestion.empty()) {
        message += " (did you mean '" + std::string(suggestion) + "'?)";
      }
      throw compile_failure(name_token.position, message);
    }
    advance();  // (
    auto n = make(node_kind::call, name_token.position);
    n->function = spec;
    if (!at(token_kind::right_paren)) {
      while (true) {
        n->children.push_back(parse_expression());
        if (at(token_kind::comma)) {
          advance();
          continue;
        }
        if (!at(token_kind::right_paren)) {
          throw compile_failure(peek().position, "expected ')' after arguments of " +
                                                     std::string(spec->name) + ", found " +
                                                     describe(peek()));
        }
        break;
      }
    }
    advance();  // )
    const std::size_t count = n->children.size();
    if (count < spec->min_args || (spec->max_args != variadic && count > spec->max_args)) {
      std::string expected;
      if (spec->max_args == variadic) {
        expected = "at least " + std::to_string(spec->min_args);
      } else if (spec->min_args == spec->max_args) {
        expected = std::to_string(spec->min_args);
      } else {
        expected = std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args);
      }
      throw compile_failure(name_token.position, std::string(spec->name) + " takes " + expected +
                                                     " argument" + (expected == "1" ? "" : "s") +
                                                     ", got " + std::to_string(count) +
                                                     " (usage: " + std::string(spec->usage) + ")");
    }
    if (spec->form == special_form::exists && n->children[0]->kind != node_kind::path) {
      throw compile_failure(n->children[0]->position,
                            "exists takes a path such as value.user.id, got a computed value");
    }
    return finish(std::move(n));
  }

  std::vector<token> tokens_;
  std::size_t pos_ = 0;
  std::size_t nesting_ = 0;
  root_set roots_;
};

}  // namespace

parse_output parse(std::string_view source) {
  return parser(source).run();
}

}  // namespace sluice::operators::expr
