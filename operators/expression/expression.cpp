#include "operators/expression/expression.hpp"

#include "operators/expression/compile_failure.hpp"
#include "operators/expression/evaluator.hpp"
#include "operators/expression/parser.hpp"
#include "operators/expression/printer.hpp"
#include "operators/expression/program.hpp"
#include "operators/expression/value_ops.hpp"

namespace sluice::operators {

expression::expression(std::shared_ptr<const expr::program> program)
    : program_(std::move(program)) {}

compile_result expression::compile(std::string_view source) {
  try {
    auto parsed = expr::parse(source);
    auto program = std::make_shared<expr::program>();
    program->source = std::string(source);
    program->root = std::move(parsed.root);
    program->roots = parsed.roots;
    return expression(std::move(program));
  } catch (const expr::compile_failure& failure) {
    return compile_error{failure.position(), failure.what()};
  }
}

eval_result expression::evaluate(const eval_context& context) const {
  expr::frame frame{context, std::nullopt};
  expr::operand out;
  if (!expr::evaluate(*program_->root, frame, out)) {
    return std::move(*frame.error);
  }
  return std::move(out).take();
}

predicate_result expression::evaluate_predicate(const eval_context& context) const {
  expr::frame frame{context, std::nullopt};
  expr::operand out;
  if (!expr::evaluate(*program_->root, frame, out)) {
    return std::move(*frame.error);
  }
  const boost::json::value& v = out.get();
  if (!v.is_bool()) {
    return eval_error{0, "a condition must evaluate to a bool, got " +
                             expr::describe_operand(*program_->root, v) +
                             " (compare explicitly, e.g. x == \"yes\" or x != null) at column 0"};
  }
  return v.get_bool();
}

const std::string& expression::source() const {
  return program_->source;
}

root_set expression::referenced_roots() const {
  return program_->roots;
}

std::string expression::to_string() const {
  return expr::print(*program_->root);
}

}  // namespace sluice::operators
