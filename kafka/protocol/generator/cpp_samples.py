"""The test samples generate.py writes with --samples-out (tests/kafka/protocol/generated): a fill()
for every message and nested struct that gives every field present in a version a value different
from its default (or null where the version allows, in the nulls_where_allowed mode), plus an
unknown tag, for the round-trip and Java cross-check tests."""

from cpp_messages import banner, cpp_default, emit_guarded, wrap_signature
from message_model import PRIMITIVES


def sample_value(field, index, seed_expr):
    t = field.element
    if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        base = cpp_default(field) if not field.is_array else ""
        value = f"static_cast<{PRIMITIVES[t][0]}>({index % 50 + 2} + {seed_expr})"
        return value if not base else f"static_cast<{PRIMITIVES[t][0]}>({base} == 7 ? 8 : 7)"
    if t == "float64":
        return "2.5"
    if t == "bool":
        return "false" if cpp_default(field) == "true" and not field.is_array else "true"
    if t == "uuid":
        return f"uuid{{{{{', '.join(str((index * 3 + i) % 251 + 1) for i in range(16))}}}}}"
    if t == "string":
        return f'std::string("s{index}-") + std::to_string({seed_expr})'
    if t in ("bytes", "records"):
        return f"bytes{{std::byte{{{index % 200 + 1}}}, std::byte{{42}}}}"
    raise ValueError(t)


UNKNOWN_SAMPLE_TAG = 90


def render_fill(struct, message, qualified, lines):
    lines.append(wrap_signature(f"void fill({qualified}& m,", " std::int16_t version_, int seed, fill_mode mode) {"))
    lines.append("  (void)version_;")
    lines.append("  (void)seed;")
    lines.append("  (void)mode;")
    valid = message.valid
    for index, field in enumerate(struct.fields):
        cond = field.versions.condition("version_", valid)
        if cond == "false":
            continue
        stmts = []
        if field.is_struct:
            child = "fill"
            if field.is_array:
                items = f"m.{field.name}{'.emplace()' if field.ever_nullable else ''}"
                stmts.append(f"{child}({items}.emplace_back(), version_, seed + 1, mode);")
            else:
                target = f"m.{field.name}.emplace()" if field.ever_nullable else f"m.{field.name}"
                stmts.append(f"{child}({target}, version_, seed + 1, mode);")
        elif field.is_array:
            target = f"m.{field.name}.emplace()" if field.ever_nullable else f"m.{field.name}"
            stmts.append(f"{target}.push_back({sample_value(field, index, 'seed')});")
        else:
            stmts.append(f"m.{field.name} = {sample_value(field, index, 'seed')};")
        null_cond = field.nullable.condition("version_", field.versions.intersect(valid)) if field.ever_nullable else "false"
        if null_cond != "false":
            when = "" if null_cond == "true" else f" && ({null_cond})"
            stmts = [f"if (mode == fill_mode::nulls_where_allowed{when}) {{", f"  m.{field.name}.reset();",
                     "} else {", *("  " + stmt for stmt in stmts), "}"]
        emit_guarded(lines, cond, stmts, 2)
    # A tag no definition uses (yet): decoders must keep it and encoders write it back in tag order.
    emit_guarded(lines, message.flexible.condition("version_", valid),
                 [f"m.unknown_tags.push_back({{{UNKNOWN_SAMPLE_TAG}, bytes{{std::byte{{7}}, std::byte(seed)}}}});"], 2)
    lines.append("}")
    lines.append("")


def render_samples(groups, kafka_version):
    header = [banner(kafka_version, ["*.json"]), "#pragma once", "",
              '#include "kafka/protocol/messages/all.hpp"', "", "#include <cstdint>", "#include <type_traits>", "",
              "namespace sluice::kafka::protocol::samples {", ""]
    source = [banner(kafka_version, ["*.json"]), "", '#include "tests/kafka/protocol/generated/message_samples.hpp"',
              "", "#include <string>", "", "namespace sluice::kafka::protocol::samples {", ""]
    all_messages = [m for g in groups for m in g["messages"]]
    header += ["// every_field: every field the version has holds a non-default value (nullable ones too).",
               "// nulls_where_allowed: the same, except that nullable fields are null where the version allows.",
               "enum class fill_mode : std::uint8_t { every_field, nulls_where_allowed };",
               "inline constexpr fill_mode all_fill_modes[] = {fill_mode::every_field, fill_mode::nulls_where_allowed};",
               "", "// Fills a default-constructed message for one version; `seed` varies the values."]
    for m in all_messages:
        header.append(f"void fill({m.name}& message, std::int16_t version, int seed = 0,")
        header.append("          fill_mode mode = fill_mode::every_field);")
    header += ["",
               "// Calls visitor(std::type_identity<T>{}, \"JsonName\") for every generated message type.",
               "template <typename Visitor>", "void for_each_message_type(Visitor&& visitor) {"]
    for m in all_messages:
        header.append(f'  visitor(std::type_identity<{m.name}>{{}}, "{m.json_name}");')
    header += ["}", "", "}  // namespace sluice::kafka::protocol::samples", ""]
    source.append("namespace {")
    for m in all_messages:
        for child in m.structs.values():
            source.append(wrap_signature(f"void fill({m.real_name(child)}& m,",
                                         " std::int16_t version_, int seed, fill_mode mode);"))
    source.append("")
    for m in all_messages:
        for child in m.structs.values():
            render_fill(child, m, m.real_name(child), source)
    source.append("}  // namespace")
    source.append("")
    for m in all_messages:
        render_fill(m.root, m, m.name, source)
    source += ["}  // namespace sluice::kafka::protocol::samples", ""]
    return "\n".join(header), "\n".join(source)
