"""The C++ that generate.py writes for each message: the struct declarations (headers), their
encode, decode and size functions and equality (sources), and api_key.hpp/.cpp, the table of the
APIs and the versions this build negotiates.

The encoding rules follow Kafka's own generator (generator/src/main/java/.../MessageDataGenerator):
classic vs compact (flexible, KIP-482) encodings per version, tagged fields in ascending tag order
(merged with the unknown ones a decoder kept) and omitted at their default, nullable structs with an
int8 presence marker, fields outside a version skipped. The encoder, decoder and size emitters walk
the same field tree with the same version and flexibility rules, side by side in this file, so that
a rule changed for one is seen changing for the others.

Where we differ from the Java classes on purpose: encoding never fails. A value set in a field the
version lacks is dropped (Java throws UnsupportedVersionException unless the field is "ignorable"),
and null where the version has no null is written as empty. The caller picks the version from
ApiVersions and knows which fields it has; a throwing encoder would only move that check into the
I/O path. Decoding is strict: null where the version forbids it, or a length beyond the input, is an
error in the reader.
"""

import json

from message_model import PRIMITIVES, Versions, file_stem


def cpp_default(field):
    """The C++ initializer for a field's default (empty string means value-initialized)."""
    d = field.default
    if field.is_array or field.is_struct:
        return ""  # arrays default to empty, structs to their defaults; "null" defaults below
    t = field.type
    if d is None or d == "null":
        return ""
    d = str(d)
    if t == "bool":
        return "true" if d == "true" else ""
    if t == "string":
        return json.dumps(d) if d else ""  # JSON's string escapes are valid C++ ones
    if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        value = int(d, 16) if d.lower().startswith("0x") else int(d)
        if value == 0:
            return ""
        if t == "int64" and value == -(2 ** 63):
            return "INT64_MIN"
        if t == "int32" and value == -(2 ** 31):
            return "INT32_MIN"
        suffix = "LL" if t == "int64" else ""
        return f"{value}{suffix}"
    if t == "float64":
        return "" if float(d) == 0 else repr(float(d))
    return ""


def struct_type(field, message, in_root):
    """The root message names its nested structs by their aliases; nested structs (at namespace
    scope inside protocol::nested) name each other by their namespace-level names."""
    return field.struct.name if in_root else message.real_name(field.struct).removeprefix("nested::")


def cpp_type(field, message, in_root):
    if field.is_array:
        if field.is_struct:
            inner = struct_type(field, message, in_root)
        else:
            inner = scalar_cpp_type(field.element)
        vec = f"std::vector<{inner}>"
        return f"std::optional<{vec}>" if field.ever_nullable else vec
    if field.is_struct:
        name = struct_type(field, message, in_root)
        return f"std::optional<{name}>" if field.ever_nullable else name
    if field.type == "records":
        return "std::optional<bytes>"
    base = scalar_cpp_type(field.type)
    if field.type in ("string", "bytes") and field.ever_nullable:
        return f"std::optional<{base}>"
    return base


def scalar_cpp_type(t):
    if t in PRIMITIVES:
        return PRIMITIVES[t][0]
    return {"string": "std::string", "bytes": "bytes"}[t]


def declare_struct(struct, message, lines, indent, traits=None):
    pad = " " * indent
    name = struct.name if struct is message.root else message.real_name(struct).split("::")[1]
    lines.append(f"{pad}struct {name} {{")
    for line in traits or []:
        lines.append(f"{pad}  {line}" if line else "")
    if struct is message.root:
        for child in message.structs.values():
            lines.append(wrap_signature(f"{pad}  using {child.name} =", f" {message.real_name(child)};"))
        if message.structs:
            lines.append("")
    for field in struct.fields:
        init = cpp_default(field)
        decl = f"{cpp_type(field, message, struct is message.root)} {field.name}"
        decl += f" = {init};" if init else "{};"
        lines.append(f"{pad}  {decl}")
    lines.append(f"{pad}  tagged_fields unknown_tags;")
    lines.append("")
    lines.append(f"{pad}  void encode(writer& out_, std::int16_t version_) const;")
    lines.append(f"{pad}  void decode(reader& in_, std::int16_t version_);")
    if compares_float_bits(struct):
        # Defined in the .cpp (define_equality): float64 members compare by bit pattern.
        lines.append(wrap_signature(f"{pad}  bool operator==(", f"const {name}& other_) const;"))
    else:
        lines.append(wrap_signature(f"{pad}  bool operator==(", f"const {name}&) const = default;"))
    lines.append(f"{pad}}};")
    if struct is not message.root:
        lines.append("")


def compares_float_bits(struct):
    """Whether the struct's operator== is written out because it holds a float64. A defaulted one
    would compare doubles with ==, so a decoded NaN would differ from itself (and -0.0 equal 0.0):
    equality of messages means equality of what goes on the wire, so float64s compare bit patterns."""
    for field in struct.fields:
        if field.is_array and not field.is_struct and field.element == "float64":
            raise NotImplementedError(f"{struct.name}.{field.name}: arrays of float64 need an operator==")
    return any(f.type == "float64" and not f.is_array for f in struct.fields)


def define_equality(struct, qualified, lines):
    terms = []
    for field in struct.fields:
        if field.type == "float64" and not field.is_array:
            terms.append(f"std::bit_cast<std::uint64_t>({field.name}) == "
                         f"std::bit_cast<std::uint64_t>(other_.{field.name})")
        else:
            terms.append(f"{field.name} == other_.{field.name}")
    terms.append("unknown_tags == other_.unknown_tags")
    name = qualified.split("::")[-1]
    lines.append(wrap_signature(f"bool {qualified}::operator==(", f"const {name}& other_) const {{"))
    lines.append(f"  return {terms[0]}" + "".join(f" &&\n         {t}" for t in terms[1:]) + ";")
    lines.append("}")
    lines.append("")


def flexible_expr(field, message):
    if field.flexible is not None:
        return field.flexible.condition("version_", message.valid)
    return "flexible_"


def scalar_write(t, expr, flex, nullable_cond, writer="out_"):
    if t in PRIMITIVES:
        return f"{writer}.{PRIMITIVES[t][1]}({expr});"
    if t == "string":
        if nullable_cond is None:
            return f"codec::write_string({writer}, {expr}, {flex});"
        return f"codec::write_string({writer}, {expr}, {flex}, {nullable_cond});"
    if t in ("bytes", "records"):
        if nullable_cond is None:
            return f"codec::write_bytes({writer}, {expr}, {flex});"
        return f"codec::write_bytes({writer}, {expr}, {flex}, {nullable_cond});"
    raise ValueError(t)


def scalar_read(t, flex, nullable_cond, reader="in_"):
    if t in PRIMITIVES:
        return f"{reader}.{PRIMITIVES[t][1]}()"
    if t == "string":
        if nullable_cond is None:
            return f"codec::read_string({reader}, {flex})"
        return f"codec::read_nullable_string({reader}, {flex}, {nullable_cond})"
    if t in ("bytes", "records"):
        if nullable_cond is None:
            return f"codec::read_bytes({reader}, {flex})"
        return f"codec::read_nullable_bytes({reader}, {flex}, {nullable_cond})"
    raise ValueError(t)


def min_size(element):
    if element in PRIMITIVES:
        return PRIMITIVES[element][2]
    return 1


def write_field(field, message, writer="out_"):
    """Statements that write one field's value (presence already checked)."""
    flex = flexible_expr(field, message)
    name = field.name
    nullable = field.nullable.condition("version_", message.valid) if field.ever_nullable else None
    out = []
    if field.is_array:
        if field.ever_nullable:
            # Null where this version does not allow it goes out as an empty array.
            out.append(f"if (!{name} && ({nullable})) {{")
            out.append(f"  codec::write_null_array({writer}, {flex});")
            out.append(f"}} else if (!{name}) {{")
            out.append(f"  codec::write_array_length({writer}, 0, {flex});")
            out.append("} else {")
            body = write_array_body(field, message, f"(*{name})", flex, writer)
            out += ["  " + b for b in body]
            out.append("}")
        else:
            out += write_array_body(field, message, name, flex, writer)
    elif field.is_struct:
        if field.ever_nullable:
            # The int8 presence marker exists only in nullable versions; before, the struct is
            # always there (null goes out as the default struct).
            nullable = field.nullable.condition("version_", field.versions.intersect(message.valid))
            marked = [f"{writer}.int8({name} ? 1 : -1);", f"if ({name}) {name}->encode({writer}, version_);"]
            unmarked = [f"{name}.value_or({message.real_name(field.struct)}{{}}).encode({writer}, version_);"]
            out += conditional(nullable, marked, unmarked)
        else:
            out.append(f"{name}.encode({writer}, version_);")
    else:
        out.append(scalar_write(field.type, name, flex, nullable_condition(field, message), writer))
    return out


def conditional(cond, then, otherwise):
    """Statements choosing between two branches on a C++ condition, folded when it is constant."""
    if cond == "true":
        return then
    if cond == "false":
        return otherwise
    return [f"if ({cond}) {{", *("  " + s for s in then), "} else {", *("  " + s for s in otherwise), "}"]


def write_array_body(field, message, expr, flex, writer):
    out = [f"codec::write_array_length({writer}, {expr}.size(), {flex});"]
    if field.is_struct:
        out.append(f"for (const auto& element_ : {expr}) element_.encode({writer}, version_);")
    else:
        stmt = scalar_write(field.element, "element_", flex, None, writer)
        out.append(f"for (const auto& element_ : {expr}) {stmt}")
    return out


def read_field(field, message, reader="in_"):
    flex = flexible_expr(field, message)
    name = field.name
    nullable = field.nullable.condition("version_", message.valid) if field.ever_nullable else "false"
    out = []
    if field.is_array:
        elem_type = field.struct.name if field.is_struct else scalar_cpp_type(field.element)
        out.append(f"if (auto count_ = codec::read_array_length({reader}, {flex}, {nullable}, {min_size(field.element)})) {{")
        target = f"{name}.emplace()" if field.ever_nullable else name
        out.append(f"  auto& items_ = {target};")
        out.append("  items_.clear();")
        out.append(f"  for (std::size_t i_ = 0; i_ < *count_ && {reader}.ok(); ++i_) {{")
        if field.is_struct:
            out.append(f"    items_.emplace_back().decode({reader}, version_);")
        else:
            out.append(f"    items_.push_back({scalar_read(field.element, flex, None, reader)});")
        out.append("  }")
        if field.ever_nullable:
            out.append("} else {")
            out.append(f"  {name}.reset();")
        out.append("}")
    elif field.is_struct:
        if field.ever_nullable:
            nullable = field.nullable.condition("version_", field.versions.intersect(message.valid))
            marked = [f"if ({reader}.int8() >= 0) {{", f"  {name}.emplace().decode({reader}, version_);", "} else {",
                      f"  {name}.reset();", "}"]
            out += conditional(nullable, marked, [f"{name}.emplace().decode({reader}, version_);"])
        else:
            out.append(f"{name}.decode({reader}, version_);")
    else:
        out.append(f"{name} = {scalar_read(field.type, flex, nullable_condition(field, message), reader)};")
    return out


def default_compare(field):
    """A C++ expression that is true when the field differs from its default (tagged fields)."""
    init = cpp_default(field)
    if init:
        return f"{field.name} != {init}"
    return f"{field.name} != decltype({field.name}){{}}"


def wrap_signature(head, parameters, limit=110):
    """A function head on one line, or with its parameters on a continuation line if too long."""
    if len(head) + len(parameters) <= limit:
        return head + parameters
    indent = len(head) - len(head.lstrip())
    return f"{head}\n{' ' * (indent + 4)}{parameters.lstrip()}"


def define_struct(struct, message, qualified, lines):
    valid = message.valid
    # encode
    lines.append(wrap_signature(f"void {qualified}::encode(", "writer& out_, [[maybe_unused]] std::int16_t version_) const {"))
    flexible_cond = message.flexible.condition("version_", valid)
    lines.append(f"  [[maybe_unused]] const bool flexible_ = {flexible_cond};")
    tagged = []
    for field in struct.fields:
        present = field.versions.condition("version_", valid)
        if field.tag is not None:
            tagged.append(field)
            emit_guarded(lines, regular_versions(field).condition("version_", valid), write_field(field, message), 2)
            continue
        emit_guarded(lines, present, write_field(field, message), 2)
    lines.append("  if (flexible_) {")
    if tagged:
        lines.append("    std::uint32_t tag_count_ = static_cast<std::uint32_t>(unknown_tags.size());")
        for field in tagged:
            cond = field.tagged.condition("version_", valid)
            lines.append(f"    if (({cond}) && {default_compare(field)}) ++tag_count_;")
        lines.append("    out_.unsigned_varint(tag_count_);")
        lines.append("    std::size_t unknown_next_ = 0;")
        for field in sorted(tagged, key=lambda f: f.tag):
            cond = field.tagged.condition("version_", valid)
            lines.append(f"    if (({cond}) && {default_compare(field)}) {{")
            lines.append(f"      codec::write_unknown_tags(out_, unknown_tags, unknown_next_, {field.tag});")
            lines.append("      bytes tag_data_;")
            lines.append("      writer tag_out_(tag_data_);")
            for stmt in write_field(field, message, writer="tag_out_"):
                lines.append(f"      {stmt}")
            lines.append(f"      codec::write_tagged(out_, {field.tag}, tag_data_);")
            lines.append("    }")
        lines.append("    codec::write_unknown_tags(out_, unknown_tags, unknown_next_);")
    else:
        lines.append("    out_.unsigned_varint(static_cast<std::uint32_t>(unknown_tags.size()));")
        lines.append("    std::size_t unknown_next_ = 0;")
        lines.append("    codec::write_unknown_tags(out_, unknown_tags, unknown_next_);")
    lines.append("  }")
    lines.append("}")
    lines.append("")
    # decode
    lines.append(wrap_signature(f"void {qualified}::decode(", "reader& in_, [[maybe_unused]] std::int16_t version_) {"))
    lines.append("  *this = {};")
    lines.append(f"  [[maybe_unused]] const bool flexible_ = {flexible_cond};")
    for field in struct.fields:
        present = field.versions.condition("version_", valid)
        if field.tag is not None:
            emit_guarded(lines, regular_versions(field).condition("version_", valid), read_field(field, message), 2)
            continue
        emit_guarded(lines, present, read_field(field, message), 2)
    lines.append("  if (!flexible_) return;")
    lines.append("  const auto tag_count_ = in_.unsigned_varint();")
    lines.append("  for (std::uint32_t t_ = 0; t_ < tag_count_ && in_.ok(); ++t_) {")
    lines.append("    const auto tag_ = in_.unsigned_varint();")
    lines.append("    reader tag_in_(in_.take(in_.unsigned_varint()));")
    if tagged:
        lines.append("    switch (tag_) {")
        for field in sorted(tagged, key=lambda f: f.tag):
            cond = field.tagged.condition("version_", valid)
            lines.append(f"      case {field.tag}:")
            lines.append(f"        if ({cond}) {{")
            for stmt in read_field(field, message, reader="tag_in_"):
                lines.append(f"          {stmt}")
            lines.append("          break;")
            lines.append("        }")
            lines.append("        [[fallthrough]];")
        lines.append("      default:")
        lines.append("        unknown_tags.push_back({tag_, bytes(tag_in_.rest().begin(), tag_in_.rest().end())});")
        lines.append("        continue;")
        lines.append("    }")
        lines.append("    if (!tag_in_.ok()) in_.fail(tag_in_.error());")
    else:
        lines.append("    unknown_tags.push_back({tag_, bytes(tag_in_.rest().begin(), tag_in_.rest().end())});")
    lines.append("  }")
    lines.append("}")
    lines.append("")


def regular_versions(field):
    """The versions in which a tagged field is still a regular (positional) field."""
    if field.tag is None:
        return field.versions
    if field.versions.empty() or field.tagged.low <= field.versions.low:
        return Versions("none")
    regular = Versions("none")
    regular.low, regular.high = field.versions.low, field.tagged.low - 1
    return regular


def nullable_condition(field, message):
    """For string/bytes/records fields held in std::optional: when null is allowed, else None."""
    if field.type == "records" or (field.type in ("string", "bytes") and field.ever_nullable):
        return field.nullable.condition("version_", message.valid)
    return None


def emit_guarded(lines, cond, stmts, indent):
    pad = " " * indent
    if cond == "false":
        return
    if cond == "true":
        lines.extend(pad + s for s in stmts)
        return
    lines.append(f"{pad}if ({cond}) {{")
    lines.extend(pad + "  " + s for s in stmts)
    lines.append(f"{pad}}}")


def banner(kafka_version, sources):
    names = " and ".join(sources)
    return (f"// Generated by kafka/protocol/generator/generate.py from Apache Kafka {kafka_version}'s\n"
            f"// {names}. Do not edit.")


def render_header(group, kafka_version):
    messages = group["messages"]
    lines = [banner(kafka_version, [m.source for m in messages]), "#pragma once", ""]
    includes = ['"kafka/protocol/wire.hpp"']
    if any(m.api_key is not None for m in messages):
        includes.insert(0, '"kafka/protocol/messages/api_key.hpp"')
    for inc in includes:
        lines.append(f"#include {inc}")
    lines += ["", "#include <cstdint>", "#include <optional>", "#include <string>", "#include <vector>", "",
              "namespace sluice::kafka::protocol {", ""]
    request = next((m for m in messages if m.kind == "request"), None)
    response = next((m for m in messages if m.kind == "response"), None)
    if request and response:
        lines.append(f"struct {response.name};")
        lines.append("")
    for m in messages:
        traits = []
        if m.api_key is not None:
            traits.append(f"static constexpr api_key key = api_key::{file_stem(m)};")
            # kafka/net spells the key `api`; both name the same constant until it moves to `key`.
            traits.append("static constexpr api_key api = key;")
        traits.append(f"static constexpr std::int16_t min_version = {m.valid.low};")
        traits.append(f"static constexpr std::int16_t max_version = {m.valid.high};")
        traits.append(f"static constexpr std::int16_t first_flexible_version = {m.first_flexible};")
        if m.kind == "request" and response:
            traits.append(f"using response_type = {response.name};")
        if m.kind == "response" and request:
            traits.append(f"using request_type = {request.name};")
        traits.append("")
        if m.structs:
            lines.append("namespace nested {")
            lines.append("")
            for child in m.structs.values():
                declare_struct(child, m, lines, 0)
            lines.append("}  // namespace nested")
            lines.append("")
        declare_struct(m.root, m, lines, 0, traits)
        lines.append("")
    lines.append("}  // namespace sluice::kafka::protocol")
    return "\n".join(lines) + "\n"


def render_source(group, kafka_version, header_name):
    messages = group["messages"]
    lines = [banner(kafka_version, [m.source for m in messages]), "",
             f'#include "kafka/protocol/messages/{header_name}"', "",
             '#include "kafka/protocol/codec_support.hpp"', ""]
    if any(compares_float_bits(s) for m in messages for s in [m.root, *m.structs.values()]):
        lines += ["#include <bit>", ""]
    lines += ["namespace sluice::kafka::protocol {", ""]
    for m in messages:
        for child in m.structs.values():
            define_struct(child, m, m.real_name(child), lines)
            if compares_float_bits(child):
                define_equality(child, m.real_name(child), lines)
        define_struct(m.root, m, m.name, lines)
        if compares_float_bits(m.root):
            define_equality(m.root, m.name, lines)
    lines.append("}  // namespace sluice::kafka::protocol")
    return "\n".join(lines) + "\n"


def render_api_key(requests, kafka_version):
    header = [banner(kafka_version, ["*Request.json"]), "#pragma once", "", "#include <cstdint>",
              "#include <span>", "", "namespace sluice::kafka::protocol {", "",
              "enum class api_key : std::int16_t {"]
    for m in requests:
        header.append(f"  {file_stem(m)} = {m.api_key},")
    header += ["};", "",
               "// The versions of one API this build negotiates (from ApiVersions). max_version is the newest",
               "// stable version: it is below the message's own max_version when the definition marks its latest",
               "// version unstable (\"latestVersionUnstable\", e.g. InitProducerId v6 in Kafka 4.3).",
               "struct api_range {", "  api_key key;", "  std::int16_t min_version;",
               "  std::int16_t max_version;",
               "  std::int16_t first_flexible_version;  // requests and responses switch together", "};", "",
               "// Every API in the definitions, ordered by key.",
               "std::span<const api_range> supported_apis() noexcept;", "",
               "// The range for one key, or nullptr for a key this build does not know.",
               "const api_range* find_api(std::int16_t key) noexcept;", "",
               "// The definition's name, e.g. \"Metadata\"; \"Unknown\" for keys this build does not know.",
               "const char* to_string(api_key key) noexcept;", "",
               "}  // namespace sluice::kafka::protocol", ""]
    source = [banner(kafka_version, ["*Request.json"]), "", '#include "kafka/protocol/messages/api_key.hpp"', "",
              "#include <algorithm>", "#include <array>", "", "namespace sluice::kafka::protocol {", "",
              "namespace {", f"constexpr std::array<api_range, {len(requests)}> apis{{{{"]
    for m in requests:
        source.append(f"    {{api_key::{file_stem(m)}, {m.valid.low}, {m.max_stable}, {m.first_flexible}}},")
    source += ["}};", "}  // namespace", "",
               "std::span<const api_range> supported_apis() noexcept { return apis; }", "",
               "const api_range* find_api(std::int16_t key) noexcept {",
               "  auto it = std::find_if(apis.begin(), apis.end(),",
               "                         [key](const api_range& r) { return static_cast<std::int16_t>(r.key) == key; });",
               "  return it == apis.end() ? nullptr : &*it;", "}", "",
               "const char* to_string(api_key key) noexcept {", "  switch (key) {"]
    for m in requests:
        source.append(f'    case api_key::{file_stem(m)}: return "{m.json_name[:-len("Request")]}";')
    source += ["  }", '  return "Unknown";', "}", "", "}  // namespace sluice::kafka::protocol", ""]
    return "\n".join(header), "\n".join(source)
