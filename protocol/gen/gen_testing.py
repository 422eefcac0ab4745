"""Test support generated next to the codecs (see generate.py).

testing.h declares, for every message type X:
  std::string to_json(const X&, int16_t version);   // Kafka's JSON converter form
  void fill_for_test(X&, int16_t version, uint32_t seed);  // non-default values
and RUNNEL_FOR_EACH_MESSAGE(M), which calls M(X) for every message type.
testing.inc holds the definitions; exactly one test source includes it.
"""
import os

import generate as G


def json_key(name):
    return name[0].lower() + name[1:]


class TestGen:
    def __init__(self, g):
        self.g = g
        self.m = g.msg
        self.counter = 0

    def var(self, base):
        self.counter += 1
        return "%s%d" % (base, self.counter)

    def fn(self, kind, sname):
        return "%s_%s_%s" % (kind, self.m.name, sname)

    # ------------------------------------------------------------ to_json

    def json_value(self, f, x, out, ind, elem=False):
        p = " " * ind
        e = f.elem
        if f.is_array and not elem:
            if f.nullable:
                out.append(p + 'if (!%s) { s += "null"; } else {' % x)
                arr = "(*%s)" % x
            else:
                out.append(p + "{")
                arr = x
            first = self.var("first")
            it = self.var("e")
            out.append(p + '  s += "[";')
            out.append(p + "  bool %s = true;" % first)
            out.append(p + "  for (const auto& %s : %s) {" % (it, arr))
            out.append(p + '    if (!%s) s += ",";' % first)
            out.append(p + "    %s = false;" % first)
            self.json_value(f, it, out, ind + 4, elem=True)
            out.append(p + "  }")
            out.append(p + '  s += "]";')
            out.append(p + "}")
            return
        nullable = f.nullable is not None and not elem
        if f.is_error_code:
            out.append(p + "s += std::to_string(static_cast<int16_t>(%s));" % x)
        elif e in G.INT_TYPES:
            out.append(p + "s += std::to_string(%s);" % x)
        elif e == "float64":
            out.append(p + "json_double(s, %s);" % x)
        elif e == "bool":
            out.append(p + 's += %s ? "true" : "false";' % x)
        elif e == "uuid":
            out.append(p + "json_string(s, %s.to_string());" % x)
        elif e == "string":
            if nullable:
                out.append(p + 'if (!%s) s += "null"; else json_string(s, *%s);' % (x, x))
            else:
                out.append(p + "json_string(s, %s);" % x)
        elif e == "bytes":
            if nullable:
                out.append(p + 'if (!%s) s += "null"; else json_base64(s, *%s);' % (x, x))
            else:
                out.append(p + "json_base64(s, %s);" % x)
        elif e == "records":
            out.append(p + 'if (%s.is_null) s += "null"; else json_base64(s, %s.inline_bytes);' % (x, x))
        else:
            fn = self.fn("json", e)
            if nullable:
                out.append(p + 'if (!%s) s += "null"; else %s(s, *%s, v);' % (x, fn, x))
            else:
                out.append(p + "%s(s, %s, v);" % (fn, x))

    def json_body(self, fields, out):
        out.append('  s += "{";')
        out.append("  [[maybe_unused]] bool first = true;")
        for f in fields:
            x = "o." + f.cname
            if f.tagged is not None:
                c = "(%s) && !(%s)" % (G.cond(f.tagged), self.g.is_default_expr(f, x))
            else:
                c = G.cond(f.versions)
            out.append("  if (%s) {" % c)
            out.append('    if (!first) s += ",";')
            out.append("    first = false;")
            out.append('    s += "\\"%s\\":";' % json_key(f.name))
            self.json_value(f, x, out, 4)
            out.append("  }")
        out.append('  s += "}";')

    # ------------------------------------------------------------ fill

    def fill_value(self, f, x, out, ind, seed, fid, elem=False):
        p = " " * ind
        e = f.elem
        if f.is_array and not elem:
            vec = self.var("vec")
            if f.nullable:
                out.append(p + "auto& %s = %s.emplace();" % (vec, x))
            else:
                out.append(p + "auto& %s = %s;" % (vec, x))
            i = self.var("i")
            out.append(p + "for (uint32_t %s = 0; %s < 2; ++%s) {" % (i, i, i))
            el = self.var("el")
            out.append(p + "  auto& %s = %s.emplace_back();" % (el, vec))
            self.fill_value(f, el, out, ind + 2, "%s * 31u + %s + 1u" % (seed, i), fid, elem=True)
            out.append(p + "}")
            return
        nullable = f.nullable is not None and not elem
        val = "test_value(%s, %du)" % (seed, fid)
        if f.is_error_code:
            # Any int16, most of them codes the error table does not have.
            out.append(p + "%s = static_cast<ErrorCode>(static_cast<int16_t>(%s));" % (x, val))
        elif e in G.INT_TYPES:
            out.append(p + "%s = static_cast<%s>(%s);" % (x, G.INT_TYPES[e][0], val))
        elif e == "float64":
            out.append(p + "%s = static_cast<double>(static_cast<int32_t>(%s)) / 8.0;" % (x, val))
        elif e == "bool":
            out.append(p + "%s = !%s;" % (x, G.default_init(f)))
        elif e == "uuid":
            out.append(p + "%s = test_uuid(%s);" % (x, val))
        elif e == "string":
            out.append(p + "%s = test_string(%s);" % (x, val))
        elif e == "bytes":
            out.append(p + "%s = test_bytes(%s);" % (x, val))
        elif e == "records":
            out.append(p + "%s = Records::from_bytes(test_bytes(%s));" % (x, val))
        else:
            fn = self.fn("fill", e)
            target = "%s.emplace()" % x if nullable else x
            out.append(p + "%s(%s, v, %s);" % (fn, target, val))

    def fill_body(self, fields, out):
        for fid, f in enumerate(fields):
            x = "o." + f.cname
            rng = f.tagged if f.tagged is not None else f.versions
            out.append("  if (%s) {" % G.cond(rng))
            if f.nullable is not None:
                # Null in about a third of the cases where the version allows it.
                out.append("    if ((%s) && (seed + %du) %% 3u == 0u) {" % (G.cond(f.nullable), fid))
                if f.elem == "records":
                    out.append("      %s = Records::null();" % x)
                else:
                    out.append("      %s.reset();" % x)
                out.append("    } else {")
                self.fill_value(f, x, out, 6, "seed", fid)
                out.append("    }")
            else:
                self.fill_value(f, x, out, 4, "seed", fid)
            out.append("  }")

    # ------------------------------------------------------------ output

    def decls(self):
        return ["std::string to_json(const %s& o, int16_t version);" % self.m.name,
                "void fill_for_test(%s& o, int16_t version, uint32_t seed);" % self.m.name]

    def source(self):
        g = self.g
        out = []
        structs = g.ordered_structs()
        for s in structs:
            out.append("void %s(std::string& s, const %s& o, int16_t v);" % (self.fn("json", s), g.qual(s)))
            out.append("void %s(%s& o, int16_t v, uint32_t seed);" % (self.fn("fill", s), g.qual(s)))
        for s in structs:
            out.append("void %s(std::string& s, [[maybe_unused]] const %s& o, [[maybe_unused]] int16_t v) {" % (self.fn("json", s), g.qual(s)))
            self.json_body(g.structs[s], out)
            out.append("}")
            out.append("void %s([[maybe_unused]] %s& o, [[maybe_unused]] int16_t v, [[maybe_unused]] uint32_t seed) {" % (self.fn("fill", s), g.qual(s)))
            self.fill_body(g.structs[s], out)
            out.append("}")
        return out

    def members(self):
        out = []
        out.append("std::string to_json([[maybe_unused]] const %s& o, int16_t version) {" % self.m.name)
        out.append("  [[maybe_unused]] const int16_t v = version;")
        out.append("  std::string s;")
        self.json_body(self.m.fields, out)
        out.append("  return s;")
        out.append("}")
        out.append("void fill_for_test([[maybe_unused]] %s& o, int16_t version, [[maybe_unused]] uint32_t seed) {" % self.m.name)
        out.append("  [[maybe_unused]] const int16_t v = version;")
        self.fill_body(self.m.fields, out)
        out.append("}")
        return out


HELPERS = r'''
namespace {

[[maybe_unused]] uint64_t test_value(uint32_t seed, uint32_t field) {
  uint64_t x = (static_cast<uint64_t>(seed) << 32) ^ (field * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e995u;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x | 1;  // never zero
}

[[maybe_unused]] std::string test_string(uint64_t x) {
  std::string s = "s" + std::to_string(x % 100000);
  if (x % 5 == 0) s += " \xc3\xbc \xc3\x9f \xe6\x97\xa5\xe6\x9c\xac";
  if (x % 7 == 0) s.append(130, 'x');  // two-byte compact length
  return s;
}

[[maybe_unused]] Bytes test_bytes(uint64_t x) {
  Bytes b;
  for (uint64_t i = 0; i < 3 + x % 6; ++i) b.push_back(static_cast<uint8_t>(x >> (i * 5)));
  return b;
}

[[maybe_unused]] Uuid test_uuid(uint64_t x) {
  Uuid u;
  for (size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>((x >> ((i % 8) * 8)) + i);
  return u;
}

[[maybe_unused]] void json_string(std::string& s, std::string_view v) {
  s += '"';
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      s += '\\';
      s += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      s += buf;
    } else {
      s += c;
    }
  }
  s += '"';
}

[[maybe_unused]] void json_base64(std::string& s, std::span<const uint8_t> b) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  s += '"';
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t n = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int k = 18; k >= 0; k -= 6) s += kAlphabet[(n >> k) & 63];
  }
  if (b.size() - i == 1) {
    uint32_t n = uint32_t{b[i]} << 16;
    s += kAlphabet[(n >> 18) & 63];
    s += kAlphabet[(n >> 12) & 63];
    s += "==";
  } else if (b.size() - i == 2) {
    uint32_t n = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
    s += kAlphabet[(n >> 18) & 63];
    s += kAlphabet[(n >> 12) & 63];
    s += kAlphabet[(n >> 6) & 63];
    s += '=';
  }
  s += '"';
}

[[maybe_unused]] void json_double(std::string& s, double d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  s += buf;
}

'''


def generate(gens, outdir, write):
    tgs = [TestGen(g) for g in gens]
    h = [G.GEN_NOTE % "*.schema", "// Test support: not part of runnel_protocol.", "#pragma once", "",
         "#include <cstdint>", "#include <string>", "", '#include "protocol/messages/all.h"', "",
         "#define RUNNEL_FOR_EACH_MESSAGE(M) \\"]
    h += ["  M(%s) \\" % t.m.name for t in tgs]
    h += ["", "", "namespace runnel::protocol {", ""]
    for t in tgs:
        h += t.decls()
    h += ["", "}  // namespace runnel::protocol"]
    cc = [G.GEN_NOTE % "*.schema", "// Definitions for testing.h; included by exactly one test source.",
          '#include "protocol/messages/testing.h"', "", "#include <cstdio>", "#include <span>",
          "#include <string_view>", "", "namespace runnel::protocol {", HELPERS]
    for t in tgs:
        cc += t.source()
    cc += ["", "}  // namespace", ""]
    for t in tgs:
        cc += t.members()
    cc += ["", "}  // namespace runnel::protocol"]
    write(os.path.join(outdir, "testing.h"), "\n".join(h) + "\n")
    write(os.path.join(outdir, "testing.inc"), "\n".join(cc) + "\n")
