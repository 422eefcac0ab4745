#!/usr/bin/env python3
"""Generate C++ message codecs from protocol/schema/*.schema.

Usage: generate.py <schema dir> <output dir>   (output dir: .../protocol/messages)

For every schema file <stem>.schema it writes <stem>.h and <stem>.cc, plus
headers.h (request and response headers), api_keys.h/.cc, all.h, and the
test support testing.h / testing.inc (to_json and fill_for_test for every
message; compiled only into the tests). The schema form is described in
import_kafka_json.py.
"""
import json
import os
import re
import sys

MAXV = 32767
INT_TYPES = {
    "int8": ("int8_t", "i8", 1),
    "int16": ("int16_t", "i16", 2),
    "int32": ("int32_t", "i32", 4),
    "int64": ("int64_t", "i64", 8),
    "uint16": ("uint16_t", "u16", 2),
    "uint32": ("uint32_t", "u32", 4),
}
OTHER_PRIMS = {
    "float64": ("double", "f64", 8),
    "bool": ("bool", "boolean", 1),
    "uuid": ("Uuid", "uuid", 16),
}
VAR_PRIMS = ("string", "bytes", "records")
CPP_KEYWORDS = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "class", "compl", "concept", "const", "consteval", "constexpr",
    "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or",
    "or_eq", "private", "protected", "public", "register", "reinterpret_cast", "requires",
    "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
    "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
    "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while",
    "xor", "xor_eq", "encode", "decode", "unknown_tagged_fields",
}


# --------------------------------------------------------------------------
# Schema parsing


def parse_range(text):
    if text == "none":
        return None
    if text.endswith("+"):
        return (int(text[:-1]), MAXV)
    if "-" in text:
        a, b = text.split("-")
        return (int(a), int(b))
    return (int(text), int(text))


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = s.lower()
    if s in CPP_KEYWORDS:
        s += "_"
    return s


class Field:
    def __init__(self, name, ftype, versions):
        self.name = name
        self.type = ftype
        self.versions = versions
        self.nullable = None
        self.tagged = None
        self.tag = None
        self.flex = "inherit"
        self.default = None
        self.fields = None  # inline struct definition
        self.cname = snake(name)

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_error_code(self):
        """An int16 field named ErrorCode, or ending in it (PartitionErrorCode,
        TopicConfigErrorCode, ...), is typed ErrorCode (protocol/errors.h); its
        bytes are the same, and any int16 decodes."""
        return self.name.endswith("ErrorCode") and self.elem == "int16"

    def elem_is_struct(self):
        e = self.elem
        return e not in INT_TYPES and e not in OTHER_PRIMS and e not in VAR_PRIMS


class Message:
    def __init__(self, kind, name, attrs, flags):
        self.kind = kind
        self.name = name
        self.api_key = int(attrs.get("apiKey", "-1"))
        self.versions = parse_range(attrs["versions"])
        self.flexible = parse_range(attrs.get("flexible", "none"))
        self.unstable = "unstable" in flags
        self.fields = []
        self.commons = {}  # name -> fields

    @property
    def flex_min(self):
        return -1 if self.flexible is None else self.flexible[0]


ATTR_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)|(\S+)')


def parse_attrs(rest):
    attrs, flags = {}, set()
    for m in ATTR_RE.finditer(rest):
        if m.group(1):
            attrs[m.group(1)] = m.group(2)
        else:
            flags.add(m.group(3))
    return attrs, flags


def parse_schema(path):
    messages = []
    stack = []  # (indent, field list)
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            stripped = line.lstrip(" ")
            indent = (len(line) - len(stripped)) // 2
            words = stripped.split(" ", 3)
            if indent == 0:
                if words[0] == "common":
                    msg = messages[-1]
                    fields = []
                    msg.commons[words[1]] = fields
                    stack = [(0, fields)]
                else:
                    attrs, flags = parse_attrs(" ".join(words[2:]))
                    msg = Message(words[0], words[1], attrs, flags)
                    messages.append(msg)
                    stack = [(0, msg.fields)]
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                raise SystemExit("%s:%d: bad indentation" % (path, lineno))
            f = Field(words[0], words[1], parse_range(words[2]))
            attrs, flags = parse_attrs(words[3] if len(words) > 3 else "")
            if "nullable" in attrs:
                f.nullable = parse_range(attrs["nullable"])
            if "tagged" in attrs:
                f.tagged = parse_range(attrs["tagged"])
                f.tag = int(attrs["tag"])
            if "flexible" in attrs:
                f.flex = parse_range(attrs["flexible"])
            if "default" in attrs:
                d = attrs["default"]
                f.default = json.loads(d) if d.startswith('"') else d
            stack[-1][1].append(f)
            f.fields = []
            stack.append((indent, f.fields))
    # Fields without children are not inline struct definitions.
    def fix(fields):
        for f in fields:
            if not f.fields:
                f.fields = None
            else:
                fix(f.fields)

    for m in messages:
        fix(m.fields)
        for c in m.commons.values():
            fix(c)
    return messages


# --------------------------------------------------------------------------
# C++ helpers


def cond(rng, var="v"):
    if rng is None:
        return "false"
    lo, hi = rng
    if lo == 0 and hi == MAXV:
        return "true"
    if hi == MAXV:
        return "%s >= %d" % (var, lo)
    if lo == hi:
        return "%s == %d" % (var, lo)
    if lo == 0:
        return "%s <= %d" % (var, hi)
    return "(%s >= %d && %s <= %d)" % (var, lo, var, hi)


def cpp_str(s):
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02x\"\"" % b)
    return '"' + "".join(out) + '"'


def elem_cpp(f):
    e = f.elem
    if f.is_error_code:
        return "ErrorCode"
    if e in INT_TYPES:
        return INT_TYPES[e][0]
    if e in OTHER_PRIMS:
        return OTHER_PRIMS[e][0]
    if e == "string":
        return "std::string"
    if e == "bytes":
        return "Bytes"
    if e == "records":
        return "Records"
    return e


def field_cpp(f):
    e = elem_cpp(f)
    if f.is_array:
        t = "std::vector<%s>" % e
        return "std::optional<%s>" % t if f.nullable else t
    if f.elem in ("string", "bytes") or f.elem_is_struct():
        return "std::optional<%s>" % e if f.nullable else e
    return e


def default_init(f):
    """Brace initialiser contents for the field's default value."""
    d = f.default
    if f.is_array or f.elem_is_struct():
        if f.nullable and d == "null":
            return "std::nullopt"
        if f.nullable:
            return "%s{}" % (("std::vector<%s>" % elem_cpp(f)) if f.is_array else elem_cpp(f))
        return ""
    e = f.elem
    if f.is_error_code:
        return "ErrorCode::NONE" if d is None or int(d) == 0 else "static_cast<ErrorCode>(%d)" % int(d)
    if e in INT_TYPES:
        return str(d) if d is not None else "0"
    if e == "float64":
        return str(d) if d is not None else "0"
    if e == "bool":
        return "true" if str(d).lower() == "true" else "false"
    if e == "uuid" or e == "records":
        return ""
    if e == "string":
        if f.nullable and (d is None or d == "null"):
            return "std::nullopt" if d == "null" else 'std::string()'
        if d is None or d == "null":
            return ""
        return cpp_str(d)
    if e == "bytes":
        if f.nullable and d == "null":
            return "std::nullopt"
        return "Bytes()" if f.nullable else ""
    raise SystemExit("no default for " + f.name)


def member_decl(f):
    t = field_cpp(f)
    init = default_init(f)
    if f.elem_is_struct() and not f.is_array and not f.nullable:
        return "%s %s;" % (t, f.cname)
    if init == "":
        return "%s %s{};" % (t, f.cname)
    return "%s %s{%s};" % (t, f.cname, init)


class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.structs = {}  # name -> fields
        self.order = []
        self.counter = 0
        self.collect(msg.fields)
        for name, fields in msg.commons.items():
            self.add_struct(name, fields)

    def collect(self, fields):
        for f in fields:
            if f.fields is not None:
                self.add_struct(f.elem, f.fields)

    def add_struct(self, name, fields):
        if name in self.structs:
            return
        self.structs[name] = fields
        self.collect(fields)

    def ordered_structs(self):
        seen, out = set(), []

        def visit(name):
            if name in seen:
                return
            seen.add(name)
            for f in self.structs[name]:
                if f.elem_is_struct():
                    if f.elem not in self.structs:
                        raise SystemExit("%s: unknown type %s" % (self.msg.name, f.elem))
                    visit(f.elem)
            out.append(name)

        for f in self.msg.fields:
            if f.elem_is_struct():
                visit(f.elem)
        for name in self.structs:
            visit(name)
        return out

    def var(self, base):
        self.counter += 1
        return "%s%d" % (base, self.counter)

    def qual(self, sname):
        return "%s::%s" % (self.msg.name, sname)

    def fn(self, kind, sname):
        return "%s_%s_%s" % (kind, self.msg.name, sname)

    # ---------------------------------------------------------------- header

    def header(self, pair=None):
        m = self.msg
        out = ["struct %s {" % m.name]
        if pair is not None:
            # The other half of the API: XRequest::Response, XResponse::Request.
            out.append("  using %s = %s;" % (pair.kind.capitalize(), pair.name))
        out.append("  static constexpr int16_t kApiKey = %d;" % m.api_key)
        out.append("  static constexpr int16_t kMinVersion = %d;" % m.versions[0])
        out.append("  static constexpr int16_t kMaxVersion = %d;" % m.versions[1])
        out.append("  static constexpr int16_t kFlexibleMin = %d;" % m.flex_min)
        out.append("  static constexpr bool kLatestVersionUnstable = %s;" % ("true" if m.unstable else "false"))
        out.append("")
        for sname in self.ordered_structs():
            out.append("  struct %s {" % sname)
            for f in self.structs[sname]:
                out.append("    " + member_decl(f))
            out.append("    std::vector<TaggedField> unknown_tagged_fields;")
            out.append("    bool operator==(const %s&) const = default;" % sname)
            out.append("  };")
            out.append("")
        for f in m.fields:
            out.append("  " + member_decl(f))
        out.append("  std::vector<TaggedField> unknown_tagged_fields;")
        out.append("")
        out.append("  void encode(Writer& w, int16_t version) const;")
        out.append("  void decode(Reader& r, int16_t version);")
        out.append("  bool operator==(const %s&) const = default;" % m.name)
        out.append("};")
        return out

    # ---------------------------------------------------------------- encode

    def flex_of(self, f):
        if f.flex == "inherit":
            return "flex"
        return "false" if f.flex is None else "(flex && %s)" % cond(f.flex)

    def enc_value(self, f, x, F, w, out, ind, elem=False):
        """Encode expression x (the field value, or an element when elem)."""
        p = " " * ind
        NV = cond(f.nullable) if (f.nullable and not elem) else "false"
        nullable = f.nullable is not None and not elem
        e = f.elem
        if f.is_array and not elem:
            if nullable:
                out.append(p + "if (!%s) {" % x)
                out.append(p + "  %s.array_length(%s ? -1 : 0, %s);" % (w, NV, F))
                out.append(p + "} else {")
                arr = "(*%s)" % x
                ind2 = ind + 2
            else:
                arr = x
                ind2 = ind
            p2 = " " * ind2
            it = self.var("e")
            out.append(p2 + "%s.array_length(static_cast<int64_t>(%s.size()), %s);" % (w, arr, F))
            out.append(p2 + "for (const auto& %s : %s) {" % (it, arr))
            self.enc_value(f, it, F, w, out, ind2 + 2, elem=True)
            out.append(p2 + "}")
            if nullable:
                out.append(p + "}")
            return
        if f.is_error_code:
            out.append(p + "%s.i16(static_cast<int16_t>(%s));" % (w, x))
        elif e in INT_TYPES:
            out.append(p + "%s.%s(%s);" % (w, INT_TYPES[e][1], x))
        elif e in OTHER_PRIMS:
            out.append(p + "%s.%s(%s);" % (w, OTHER_PRIMS[e][1], x))
        elif e == "string":
            if nullable:
                out.append(p + "if (%s) %s.nullable_string(%s, %s);" % (NV, w, x, F))
                out.append(p + "else %s.string(%s ? std::string_view(*%s) : std::string_view(), %s);" % (w, x, x, F))
            else:
                out.append(p + "%s.string(%s, %s);" % (w, x, F))
        elif e == "bytes":
            if nullable:
                out.append(p + "if (%s) %s.nullable_bytes(%s, %s);" % (NV, w, x, F))
                out.append(p + "else %s.bytes(%s ? std::span<const uint8_t>(*%s) : std::span<const uint8_t>(), %s);" % (w, x, x, F))
            else:
                out.append(p + "%s.bytes(%s, %s);" % (w, x, F))
        elif e == "records":
            out.append(p + "if (!(%s) && %s.is_null) %s.bytes_length(0, %s);" % (NV, x, w, F))
            out.append(p + "else %s.records(%s, %s);" % (w, x, F))
        else:
            fn = self.fn("enc", e)
            if nullable:
                out.append(p + "if (%s) {" % NV)
                out.append(p + "  %s.i8(%s ? 1 : -1);" % (w, x))
                out.append(p + "  if (%s) %s(%s, *%s, v);" % (x, fn, w, x))
                out.append(p + "} else {")
                out.append(p + "  %s(%s, %s ? *%s : %s{}, v);" % (fn, w, x, x, self.qual(e)))
                out.append(p + "}")
            else:
                out.append(p + "%s(%s, %s, v);" % (fn, w, x))

    def is_default_expr(self, f, x):
        init = default_init(f)
        t = field_cpp(f)
        if f.is_array and not f.nullable:
            return "%s.empty()" % x
        if t.startswith("std::optional") and init == "std::nullopt":
            return "!%s.has_value()" % x
        if f.elem == "records":
            return "%s.is_null" % x
        if f.elem_is_struct() and not f.nullable:
            return "%s == %s{}" % (x, self.qual(f.elem))
        if init == "":
            return "%s == %s{}" % (x, t)
        return "%s == %s{%s}" % (x, t, init)

    def enc_body(self, fields, o, out):
        out.append("  [[maybe_unused]] const bool flex = %s;" % cond(self.msg.flexible))
        for f in fields:
            if f.tagged is not None:
                continue
            out.append("  if (%s) {" % cond(f.versions))
            self.enc_value(f, "%s.%s" % (o, f.cname), self.flex_of(f), "w", out, 4)
            out.append("  }")
        tagged = sorted([f for f in fields if f.tagged is not None], key=lambda f: f.tag)
        out.append("  if (flex) {")
        out.append("    const auto& unknown = %s.unknown_tagged_fields;" % o)
        out.append("    size_t count = unknown.size();")
        for f in tagged:
            out.append("    const bool has_%s = (%s) && !(%s);" % (f.cname, cond(f.tagged), self.is_default_expr(f, "%s.%s" % (o, f.cname))))
            out.append("    if (has_%s) ++count;" % f.cname)
        out.append("    w.uvarint(static_cast<uint32_t>(count));")
        out.append("    size_t next = 0;")
        for f in tagged:
            out.append("    if (has_%s) {" % f.cname)
            if f.tag > 0:
                out.append("      while (next < unknown.size() && unknown[next].tag < %d) write_tagged(w, unknown[next++]);" % f.tag)
            out.append("      Writer tw;")
            self.enc_value(f, "%s.%s" % (o, f.cname), "true", "tw", out, 6)
            out.append("      w.uvarint(%d);" % f.tag)
            out.append("      w.uvarint(static_cast<uint32_t>(tw.buf().size()));")
            out.append("      w.raw(tw.buf());")
            out.append("    }")
        out.append("    while (next < unknown.size()) write_tagged(w, unknown[next++]);")
        out.append("  }")

    # ---------------------------------------------------------------- decode

    def dec_value(self, f, x, F, r, out, ind, elem=False):
        p = " " * ind
        NV = cond(f.nullable) if (f.nullable and not elem) else "false"
        nullable = f.nullable is not None and not elem
        e = f.elem
        if f.is_array and not elem:
            n = self.var("n")
            out.append(p + "{")
            out.append(p + "  const int64_t %s = %s.array_length(%s);" % (n, r, F))
            out.append(p + "  if (%s < 0) {" % n)
            out.append(p + '    if (!(%s) && %s.ok()) %s.fail("null array where an array is required");' % (NV, r, r))
            if nullable:
                out.append(p + "    %s.reset();" % x)
            out.append(p + "  } else {")
            vec = self.var("vec")
            if nullable:
                out.append(p + "    auto& %s = %s.emplace();" % (vec, x))
            else:
                out.append(p + "    auto& %s = %s;" % (vec, x))
                out.append(p + "    %s.clear();" % vec)
            if e in INT_TYPES or e in OTHER_PRIMS:
                size = (INT_TYPES.get(e) or OTHER_PRIMS.get(e))[2]
                out.append(p + "    %s.reserve(static_cast<size_t>(std::min<int64_t>(%s, static_cast<int64_t>(%s.remaining() / %d))));" % (vec, n, r, size))
            else:
                out.append(p + "    %s.reserve(static_cast<size_t>(std::min<int64_t>(%s, 1024)));" % (vec, n))
            i = self.var("i")
            out.append(p + "    for (int64_t %s = 0; %s < %s && %s.ok(); ++%s) {" % (i, i, n, r, i))
            el = self.var("el")
            out.append(p + "      auto& %s = %s.emplace_back();" % (el, vec))
            self.dec_value(f, el, F, r, out, ind + 6, elem=True)
            out.append(p + "    }")
            out.append(p + "  }")
            out.append(p + "}")
            return
        if f.is_error_code:
            out.append(p + "%s = static_cast<ErrorCode>(%s.i16());" % (x, r))
        elif e in INT_TYPES:
            out.append(p + "%s = %s.%s();" % (x, r, INT_TYPES[e][1]))
        elif e in OTHER_PRIMS:
            out.append(p + "%s = %s.%s();" % (x, r, OTHER_PRIMS[e][1]))
        elif e == "string":
            if nullable:
                out.append(p + "if (%s) %s = %s.nullable_string(%s);" % (NV, x, r, F))
                out.append(p + "else %s = %s.string(%s);" % (x, r, F))
            else:
                out.append(p + "%s = %s.string(%s);" % (x, r, F))
        elif e == "bytes":
            if nullable:
                out.append(p + "if (%s) %s = %s.nullable_bytes(%s);" % (NV, x, r, F))
                out.append(p + "else %s = %s.bytes(%s);" % (x, r, F))
            else:
                out.append(p + "%s = %s.bytes(%s);" % (x, r, F))
        elif e == "records":
            out.append(p + "%s = %s.records(%s);" % (x, r, F))
            out.append(p + 'if (!(%s) && %s.is_null && %s.ok()) %s.fail("null records where records are required");' % (NV, x, r, r))
        else:
            fn = self.fn("dec", e)
            if nullable:
                out.append(p + "if ((%s) && %s.i8() < 0) {" % (NV, r))
                out.append(p + "  %s.reset();" % x)
                out.append(p + "} else {")
                # emplace(T{}) rather than emplace(): clang rejects the latter
                # for a nested struct with default member initializers.
                out.append(p + "  %s(%s, %s.emplace(std::remove_reference_t<decltype(%s)>::value_type{}), v);" % (fn, r, x, x))
                out.append(p + "}")
            else:
                out.append(p + "%s(%s, %s, v);" % (fn, r, x))

    def dec_body(self, fields, o, out):
        out.append("  [[maybe_unused]] const bool flex = %s;" % cond(self.msg.flexible))
        for f in fields:
            if f.tagged is not None:
                continue
            out.append("  if (%s) {" % cond(f.versions))
            self.dec_value(f, "%s.%s" % (o, f.cname), self.flex_of(f), "r", out, 4)
            out.append("  }")
        tagged = sorted([f for f in fields if f.tagged is not None], key=lambda f: f.tag)
        out.append("  if (!flex) return;")
        out.append("  %s.unknown_tagged_fields.clear();" % o)
        out.append("  const uint32_t count = r.uvarint();")
        out.append("  for (uint32_t k = 0; k < count && r.ok(); ++k) {")
        out.append("    const uint32_t tag = r.uvarint();")
        out.append("    const uint32_t size = r.uvarint();")
        out.append("    auto data = r.take(size);")
        out.append("    if (!r.ok()) return;")
        out.append("    switch (tag) {")
        for f in tagged:
            out.append("      case %d:" % f.tag)
            out.append("        if (%s) {" % cond(f.tagged))
            out.append("          Reader sub(data);")
            self.dec_value(f, "%s.%s" % (o, f.cname), "true", "sub", out, 10)
            out.append('          if (!sub.done()) r.fail(sub.ok() ? "tagged field has trailing bytes" : sub.error());')
            out.append("          break;")
            out.append("        }")
            out.append("        [[fallthrough]];")
        out.append("      default:")
        out.append("        %s.unknown_tagged_fields.push_back({tag, Bytes(data.begin(), data.end())});" % o)
        out.append("    }")
        out.append("  }")

    def source(self):
        m = self.msg
        out = []
        structs = self.ordered_structs()
        for s in structs:
            out.append("void %s(Writer& w, const %s& o, int16_t v);" % (self.fn("enc", s), self.qual(s)))
            out.append("void %s(Reader& r, %s& o, int16_t v);" % (self.fn("dec", s), self.qual(s)))
        out.append("")
        for s in structs:
            out.append("void %s(Writer& w, [[maybe_unused]] const %s& o, [[maybe_unused]] int16_t v) {" % (self.fn("enc", s), self.qual(s)))
            self.enc_body(self.structs[s], "o", out)
            out.append("}")
            out.append("")
            out.append("void %s(Reader& r, [[maybe_unused]] %s& o, [[maybe_unused]] int16_t v) {" % (self.fn("dec", s), self.qual(s)))
            self.dec_body(self.structs[s], "o", out)
            out.append("}")
            out.append("")
        return out

    def member_source(self):
        m = self.msg
        out = []
        out.append("void %s::encode(Writer& w, int16_t version) const {" % m.name)
        out.append("  [[maybe_unused]] const int16_t v = version;")
        out.append("  [[maybe_unused]] const auto& o = *this;")
        self.enc_body(m.fields, "o", out)
        out.append("}")
        out.append("")
        out.append("void %s::decode(Reader& r, int16_t version) {" % m.name)
        out.append("  [[maybe_unused]] const int16_t v = version;")
        out.append("  [[maybe_unused]] auto& o = *this;")
        self.dec_body(m.fields, "o", out)
        out.append("}")
        out.append("")
        return out


GEN_NOTE = "// Generated by protocol/gen/generate.py from protocol/schema/%s. Do not edit."


def write_if_changed(path, text):
    # Unchanged files keep their timestamps (Ninja restats custom command
    # outputs), so editing one schema does not rebuild every codec.

    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def api_pairs(messages):
    """name -> the other message of its API, for a request XRequest and a
    response XResponse with the same api key in one schema file."""
    by_name = {m.name: m for m in messages}
    pairs = {}
    for m in messages:
        if m.kind != "request" or not m.name.endswith("Request"):
            continue
        r = by_name.get(m.name[: -len("Request")] + "Response")
        if r is not None and r.kind == "response" and r.api_key == m.api_key:
            pairs[m.name] = r
            pairs[r.name] = m
    return pairs


def gen_file(stem, messages, outdir):
    h = [GEN_NOTE % (stem + ".schema"), "#pragma once", "", "#include <cstdint>",
         "#include <optional>", "#include <string>", "#include <vector>", "",
         '#include "protocol/errors.h"', '#include "protocol/wire.h"', "",
         "namespace runnel::protocol {", ""]
    cc = [GEN_NOTE % (stem + ".schema"), '#include "protocol/messages/%s.h"' % stem, "",
          "#include <algorithm>", "", "namespace runnel::protocol {", "", "namespace {", "",
          "[[maybe_unused]] void write_tagged(Writer& w, const TaggedField& t) {",
          "  w.uvarint(t.tag);", "  w.uvarint(static_cast<uint32_t>(t.data.size()));",
          "  w.raw(t.data);", "}", ""]
    gens = [Gen(m) for m in messages]
    pairs = api_pairs(messages)
    if pairs:
        h.extend("struct %s;" % m.name for m in messages if m.name in pairs)
        h.append("")
    for g in gens:
        h.extend(g.header(pairs.get(g.msg.name)))
        h.append("")
        cc.extend(g.source())
    cc.append("}  // namespace")
    cc.append("")
    for g in gens:
        cc.extend(g.member_source())
    h.append("}  // namespace runnel::protocol")
    cc.append("}  // namespace runnel::protocol")
    write_if_changed(os.path.join(outdir, stem + ".h"), "\n".join(h) + "\n")
    write_if_changed(os.path.join(outdir, stem + ".cc"), "\n".join(cc) + "\n")
    return gens


def gen_api_keys(requests, outdir):
    h = [GEN_NOTE % "*.schema", "#pragma once", "", "#include <cstdint>", "#include <span>", "",
         "namespace runnel::protocol {", "",
         "enum class ApiKey : int16_t {"]
    for m in requests:
        h.append("  %s = %d," % (m.name[: -len("Request")], m.api_key))
    h += ["};", "",
          "struct ApiInfo {", "  int16_t key;", "  const char* name;", "  int16_t min_version;",
          "  int16_t max_version;", "  int16_t flexible_min;", "  bool latest_unstable;", "};", "",
          "// nullptr when the key is unknown.",
          "const ApiInfo* api_info(int16_t key);",
          "// Every API, in ascending key order.",
          "std::span<const ApiInfo> all_apis();",
          "// 2 for flexible versions, else 1 (ControlledShutdown v0: 0).",
          "int16_t request_header_version(int16_t api_key, int16_t api_version);",
          "// 1 for flexible versions, else 0 (ApiVersions: always 0).",
          "int16_t response_header_version(int16_t api_key, int16_t api_version);", "",
          "}  // namespace runnel::protocol"]
    cc = [GEN_NOTE % "*.schema", '#include "protocol/messages/api_keys.h"', "",
          "namespace runnel::protocol {", "", "namespace {", "",
          "constexpr ApiInfo kApis[] = {"]
    for m in requests:
        cc.append('    {%d, "%s", %d, %d, %d, %s},' % (m.api_key, m.name[: -len("Request")], m.versions[0],
                                                    m.versions[1], m.flex_min, "true" if m.unstable else "false"))
    cc += ["};", "", "}  // namespace", "",
           "const ApiInfo* api_info(int16_t key) {",
           "  for (const auto& a : kApis)",
           "    if (a.key == key) return &a;",
           "  return nullptr;", "}", "",
           "std::span<const ApiInfo> all_apis() { return kApis; }", "",
           "int16_t request_header_version(int16_t api_key, int16_t api_version) {",
           "  if (api_key == static_cast<int16_t>(ApiKey::ControlledShutdown) && api_version == 0) return 0;",
           "  const ApiInfo* a = api_info(api_key);",
           "  return a && a->flexible_min >= 0 && api_version >= a->flexible_min ? 2 : 1;", "}", "",
           "int16_t response_header_version(int16_t api_key, int16_t api_version) {",
           "  if (api_key == static_cast<int16_t>(ApiKey::ApiVersions)) return 0;",
           "  const ApiInfo* a = api_info(api_key);",
           "  return a && a->flexible_min >= 0 && api_version >= a->flexible_min ? 1 : 0;", "}", "",
           "}  // namespace runnel::protocol"]
    write_if_changed(os.path.join(outdir, "api_keys.h"), "\n".join(h) + "\n")
    write_if_changed(os.path.join(outdir, "api_keys.cc"), "\n".join(cc) + "\n")


def main():
    schema_dir, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    stems = sorted(f[:-7] for f in os.listdir(schema_dir) if f.endswith(".schema"))
    all_gens = []
    for stem in stems:
        msgs = parse_schema(os.path.join(schema_dir, stem + ".schema"))
        all_gens.extend(gen_file(stem, msgs, outdir))
    requests = sorted([g.msg for g in all_gens if g.msg.kind == "request"], key=lambda m: m.api_key)
    gen_api_keys(requests, outdir)
    write_if_changed(os.path.join(outdir, "headers.h"), "\n".join([
        GEN_NOTE % "request_header.schema / response_header.schema", "#pragma once", "",
        '#include "protocol/messages/request_header.h"',
        '#include "protocol/messages/response_header.h"']) + "\n")
    allh = [GEN_NOTE % "*.schema", "#pragma once", ""]
    allh += ['#include "protocol/messages/%s.h"' % s for s in stems + ["api_keys", "headers"]]
    write_if_changed(os.path.join(outdir, "all.h"), "\n".join(allh) + "\n")
    import gen_testing
    gen_testing.generate(all_gens, outdir, write_if_changed)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
