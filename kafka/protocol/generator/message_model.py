"""The message model generate.py emits C++ from: Apache Kafka's JSON message definitions (JSON with
comments) loaded into Message, Struct and Field objects with their version ranges (Versions), their
C++-safe snake_case names, and the names of the generated files and of the nested structs in
protocol::nested."""

import json
import re

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class",
    "const", "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable",
    "namespace", "new", "noexcept", "not", "nullptr", "operator", "or", "private", "protected",
    "public", "register", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "template", "this", "throw", "true", "try", "typedef", "typeid", "typename", "union",
    "unsigned", "using", "virtual", "void", "volatile", "while", "xor", "requires", "concept",
}
# Names every generated struct uses itself, and those only top-level messages add (their traits).
NESTED_RESERVED_MEMBERS = {"unknown_tags", "encode", "decode"}
RESERVED_MEMBERS = {"key", "api", "min_version", "max_version", "first_flexible_version", "unknown_tags",
                    "encode", "decode", "response_type", "request_type"}

PRIMITIVES = {
    # type: (C++ type, writer/reader method, fixed size or None, sample expression template)
    "int8": ("std::int8_t", "int8", 1),
    "int16": ("std::int16_t", "int16", 2),
    "uint16": ("std::uint16_t", "uint16", 2),
    "int32": ("std::int32_t", "int32", 4),
    "uint32": ("std::uint32_t", "uint32", 4),
    "int64": ("std::int64_t", "int64", 8),
    "float64": ("double", "float64", 8),
    "bool": ("bool", "boolean", 1),
    "uuid": ("uuid", "uuid", 16),
}


def strip_comments(text):
    """Removes // comments outside strings (the definitions are JSON with comments)."""
    out = []
    for line in text.splitlines():
        in_string = False
        cut = len(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == '\\' and in_string:
                i += 2
                continue
            if c == '"':
                in_string = not in_string
            elif not in_string and line.startswith("//", i):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Versions:
    """A version range from the definitions: "3+", "1-4", "2", or "none"."""

    def __init__(self, text, default_max=None):
        text = (text or "none").strip()
        if text == "none":
            self.low, self.high = None, None
        elif text.endswith("+"):
            self.low, self.high = int(text[:-1]), 32767
        elif "-" in text:
            low, high = text.split("-")
            self.low, self.high = int(low), int(high)
        else:
            self.low = self.high = int(text)

    def empty(self):
        return self.low is None

    def contains(self, version):
        return not self.empty() and self.low <= version <= self.high

    def intersect(self, other):
        result = Versions("none")
        if self.empty() or other.empty():
            return result
        low, high = max(self.low, other.low), min(self.high, other.high)
        if low <= high:
            result.low, result.high = low, high
        return result

    def condition(self, var, valid):
        """A C++ boolean expression for `var` being in this range, simplified within `valid`."""
        r = self.intersect(valid)
        if r.empty():
            return "false"
        parts = []
        if r.low > valid.low:
            parts.append(f"{var} >= {r.low}")
        if r.high < valid.high:
            parts.append(f"{var} <= {r.high}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, spec, message):
        self.spec = spec
        self.name = snake(spec["name"])
        if self.name in CPP_KEYWORDS or self.name in NESTED_RESERVED_MEMBERS:
            self.name += "_"
        self.type = spec["type"]
        self.versions = Versions(spec.get("versions"))
        self.nullable = Versions(spec.get("nullableVersions"))
        self.tagged = Versions(spec.get("taggedVersions"))
        self.tag = spec.get("tag")
        self.default = spec.get("default")
        # Only RequestHeader's ClientId overrides flexibility (it stays a classic string forever).
        self.flexible = Versions(spec["flexibleVersions"]) if "flexibleVersions" in spec else None
        self.is_array = self.type.startswith("[]")
        self.element = self.type[2:] if self.is_array else self.type
        self.is_struct = self.element not in PRIMITIVES and self.element not in ("string", "bytes", "records")
        self.struct = None  # resolved later

    @property
    def ever_nullable(self):
        return not self.nullable.intersect(self.versions).empty()


class Struct:
    def __init__(self, name, fields_spec, message):
        self.json_name = name
        self.name = snake(name)
        self.fields = [Field(f, message) for f in fields_spec]


class Message:
    def __init__(self, spec, source):
        self.spec = spec
        self.source = source
        self.json_name = spec["name"]
        self.name = snake(self.json_name)
        self.kind = spec["type"]
        self.api_key = spec.get("apiKey")
        self.valid = Versions(spec["validVersions"])
        # A request whose newest version is still being designed ("latestVersionUnstable") can be
        # encoded and decoded, but a client must not negotiate it: brokers only advertise it with
        # unstable.api.versions.enable, and its layout may still change.
        self.max_stable = self.valid.high - 1 if spec.get("latestVersionUnstable") else self.valid.high
        self.flexible = Versions(spec.get("flexibleVersions", "none"))
        self.structs = {}  # json type name -> Struct, in definition order (children first)
        self.nested_names = {}  # json type name -> name in protocol::nested (assign_nested_names)
        self.root = Struct(self.json_name, spec.get("fields", []), self)
        self.root.name = self.name
        for field in self.root.fields:
            if field.name in RESERVED_MEMBERS:
                field.name += "_"
        commons = {c["name"]: c for c in spec.get("commonStructs", [])}
        self._collect(self.root, commons)
        self._rename_colliding_structs()

    def _collect(self, struct, commons):
        for field in struct.fields:
            if not field.is_struct:
                continue
            if "fields" in field.spec:
                child = Struct(field.element, field.spec["fields"], self)
            elif field.element in self.structs:
                field.struct = self.structs[field.element]
                continue
            elif field.element in commons:
                child = Struct(field.element, commons[field.element]["fields"], self)
            else:
                raise SystemExit(f"{self.source}: unknown type {field.type} of field {field.spec['name']}")
            self._collect(child, commons)
            self.structs[field.element] = child
            field.struct = child

    def _rename_colliding_structs(self):
        # A nested struct named like a member would change that name's meaning inside the struct.
        member_names = set()
        for struct in [self.root, *self.structs.values()]:
            member_names.update(f.name for f in struct.fields)
        taken = set()
        for struct in self.structs.values():
            if struct.name in member_names or struct.name in RESERVED_MEMBERS or struct.name in taken:
                struct.name += "_data"
            taken.add(struct.name)

    def real_name(self, struct):
        """Nested structs live at namespace scope (protocol::nested) so that clang sees them complete
        inside the message (llvm issue 36032); the message aliases them under their short names."""
        return f"nested::{self.nested_names[struct.json_name]}"

    @property
    def first_flexible(self):
        return self.flexible.low if not self.flexible.empty() else self.valid.high + 1


def file_stem(message):
    name = message.json_name
    for suffix in ("Request", "Response"):
        if message.kind in ("request", "response") and name.endswith(suffix):
            return snake(name[: -len(suffix)])
    return snake(name)


def assign_nested_names(messages):
    """Names the nested structs in protocol::nested. Kafka usually prefixes a struct with its API
    already (AddPartitionsToTxnTopic); such a struct keeps its name, the others get the message's
    name in front. Every header adds to the one namespace, so a name two messages would share (a
    redefinition, or an ODR violation between two headers) falls back to the message prefix."""
    short = {}
    for message in messages:
        stem = file_stem(message)
        for struct in message.structs.values():
            keep = struct.name.startswith(f"{message.name}_") or struct.name.startswith(f"{stem}_")
            short[(message.name, struct.json_name)] = struct.name if keep else f"{message.name}_{struct.name}"
    uses = {}
    for name in short.values():
        uses[name] = uses.get(name, 0) + 1
    for message in messages:
        for struct in message.structs.values():
            name = short[(message.name, struct.json_name)]
            message.nested_names[struct.json_name] = name if uses[name] == 1 else f"{message.name}_{struct.name}"
    names = [n for m in messages for n in m.nested_names.values()]
    if len(names) != len(set(names)):
        raise SystemExit("generate.py: two nested structs share a name in protocol::nested")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))
