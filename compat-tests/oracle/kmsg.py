"""A Kafka message codec driven by Apache Kafka's own JSON message definitions.

The definitions (common/message/*.json) ship inside the kafka-clients jar; they are read from
the jar at run time and never kept in this repository. `Messages(jar)` loads them; then

    msgs.encode_request(api_key, version, {"Topics": [...]}, correlation_id, client_id)
    msgs.decode_response(api_key, version, frame_payload) -> (correlation_id, {field: value})

Requests are dicts keyed by the JSON field names; a field left out takes its default (the
"default" of the definition, else 0 / "" / false / [] / the zero UUID, or null where the
field is nullable and its default is "null"). Responses decode to the same shape; a field a
version does not carry is absent, tagged fields that the definition does not know are kept
under "_unknown_tags". `records` fields decode to bytes (see records.py for batches).
"""

import json
import struct
import uuid
import zipfile

# ---- the definitions ----


def _strip_comments(text):
    """JSON with // line comments (outside strings) -> JSON."""
    out = []
    for line in text.splitlines():
        in_str = False
        esc = False
        cut = None
        for i, ch in enumerate(line):
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = not in_str
            elif not in_str and line.startswith("//", i):
                cut = i
                break
        out.append(line if cut is None else line[:cut])
    return "\n".join(out)


class Versions:
    """'3-13', '9+', '0', 'none'."""

    def __init__(self, text):
        text = (text or "none").strip()
        if text == "none":
            self.lo, self.hi = 1, 0
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), 1 << 15
        elif "-" in text:
            lo, hi = text.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(text)

    def __contains__(self, v):
        return self.lo <= v <= self.hi

    def __repr__(self):
        return "%d-%d" % (self.lo, self.hi)


class Field:
    def __init__(self, d, structs):
        self.name = d["name"]
        self.type = d["type"]
        self.versions = Versions(d.get("versions"))
        self.nullable = Versions(d.get("nullableVersions"))
        self.tagged = Versions(d.get("taggedVersions"))
        self.tag = d.get("tag")
        self.default = d.get("default")
        self.map_key = d.get("mapKey", False)
        self.ignorable = d.get("ignorable", False)
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.fields = None
        if "fields" in d:
            self.fields = [Field(f, structs) for f in d.get("fields", [])]
            structs[self.elem] = self.fields
        self._structs = structs

    @property
    def struct_fields(self):
        if self.fields is not None:
            return self.fields
        return self._structs.get(self.elem)

    def default_value(self, version):
        if self.is_array:
            return None if (version in self.nullable and self.default == "null") else []
        if self.struct_fields is not None:
            return None if version in self.nullable else {}
        t = self.type
        dv = self.default
        if dv == "null" and version in self.nullable:
            return None
        if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
            if dv in (None, ""):
                return 0
            return int(dv, 16) if isinstance(dv, str) and dv.lower().startswith("0x") else int(dv)
        if t == "float64":
            return float(dv) if dv not in (None, "") else 0.0
        if t == "bool":
            return dv in (True, "true")
        if t == "string":
            return dv if isinstance(dv, str) else ""
        if t in ("bytes", "records"):
            return None if version in self.nullable else b""
        if t == "uuid":
            return uuid.UUID(int=0)
        raise ValueError("no default for type %s" % t)


class Message:
    def __init__(self, d):
        self.name = d["name"]
        self.api_key = d.get("apiKey")
        self.kind = d["type"]
        self.valid = Versions(d.get("validVersions"))
        self.flexible = Versions(d.get("flexibleVersions"))
        self.structs = {}
        for s in d.get("commonStructs", []):
            self.structs[s["name"]] = None
        for s in d.get("commonStructs", []):
            self.structs[s["name"]] = [Field(f, self.structs) for f in s["fields"]]
        self.fields = [Field(f, self.structs) for f in d.get("fields", [])]


class Messages:
    def __init__(self, jar_path):
        self.requests = {}
        self.responses = {}
        self.by_name = {}
        with zipfile.ZipFile(jar_path) as z:
            for name in z.namelist():
                if not (name.startswith("common/message/") and name.endswith(".json")):
                    continue
                m = Message(json.loads(_strip_comments(z.read(name).decode("utf-8"))))
                self.by_name[m.name] = m
                if m.kind == "request":
                    self.requests[m.api_key] = m
                elif m.kind == "response":
                    self.responses[m.api_key] = m
        if 18 not in self.requests or "RequestHeader" not in self.by_name:
            raise ValueError("%s holds no Kafka message definitions" % jar_path)

    def api_name(self, key):
        m = self.requests.get(key)
        return m.name[:-len("Request")] if m else "Api%d" % key

    def is_flexible(self, api_key, version):
        return version in self.requests[api_key].flexible

    def request_header_version(self, api_key, version):
        if api_key == 7 and version == 0:  # ControlledShutdown v0
            return 0
        return 2 if self.is_flexible(api_key, version) else 1

    def response_header_version(self, api_key, version):
        if api_key == 18:  # ApiVersions answers always use header v0
            return 0
        return 1 if self.is_flexible(api_key, version) else 0

    def encode_request(self, api_key, version, body, correlation_id, client_id="oracle"):
        """The request frame (size prefix included). A version above the definition's range
        (or below 0) is encoded with the layout of the nearest defined version."""
        m = self.requests[api_key]
        hv = self.request_header_version(api_key, version) if version >= 0 else 1
        w = Writer()
        w.i16(api_key)
        w.i16(version)
        w.i32(correlation_id)
        if hv >= 1:
            w.string(client_id, compact=False)
        if hv >= 2:
            w.uvarint(0)
        # Versions below validVersions (dropped by Kafka) keep their fields in the definitions.
        lv = min(max(version, 0), m.valid.hi)
        flexible = lv in m.flexible
        encode_struct(w, m.fields, body, lv, flexible, m.name)
        payload = w.getvalue()
        return struct.pack(">i", len(payload)) + payload

    def decode_response(self, api_key, version, payload, header_version=None):
        m = self.responses[api_key]
        r = Reader(payload)
        corr = r.i32()
        hv = self.response_header_version(api_key, version) if header_version is None else header_version
        if hv >= 1:
            _read_tags(r, {}, [], version)
        flexible = version in m.flexible
        body = decode_struct(r, m.fields, version, flexible)
        if r.remaining():
            raise DecodeError("%d bytes left after %s v%d" % (r.remaining(), m.name, version))
        return corr, body


# ---- primitives ----


class DecodeError(Exception):
    pass


class Writer:
    def __init__(self):
        self.parts = []

    def getvalue(self):
        return b"".join(self.parts)

    def raw(self, b):
        self.parts.append(b)

    def i8(self, v):
        self.parts.append(struct.pack(">b", v))

    def i16(self, v):
        self.parts.append(struct.pack(">h", v))

    def u16(self, v):
        self.parts.append(struct.pack(">H", v))

    def i32(self, v):
        self.parts.append(struct.pack(">i", v))

    def u32(self, v):
        self.parts.append(struct.pack(">I", v))

    def i64(self, v):
        self.parts.append(struct.pack(">q", v))

    def f64(self, v):
        self.parts.append(struct.pack(">d", v))

    def uvarint(self, n):
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        self.parts.append(bytes(out))

    def length(self, n, compact):
        """n is None for null."""
        if compact:
            self.uvarint(0 if n is None else n + 1)
        else:
            self.i32(-1 if n is None else n)

    def string(self, s, compact):
        if s is None:
            if compact:
                self.uvarint(0)
            else:
                self.i16(-1)
            return
        b = s.encode() if isinstance(s, str) else s
        if compact:
            self.uvarint(len(b) + 1)
        else:
            self.i16(len(b))
        self.parts.append(b)

    def bytes_(self, b, compact):
        if b is None:
            self.length(None, compact)
            return
        self.length(len(b), compact)
        self.parts.append(b)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("need %d bytes at %d, %d left" % (n, self.pos, self.remaining()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def u16(self):
        return self._unpack(">H", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def u32(self):
        return self._unpack(">I", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def f64(self):
        return self._unpack(">d", 8)

    def uvarint(self):
        shift = n = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 35:
                raise DecodeError("varint too long")

    def length(self, compact):
        """Element or byte count, None for null."""
        if compact:
            n = self.uvarint()
            return None if n == 0 else n - 1
        n = self.i32()
        if n < -1:
            raise DecodeError("negative length %d" % n)
        return None if n == -1 else n

    def string(self, compact):
        if compact:
            n = self.uvarint()
            n = None if n == 0 else n - 1
        else:
            n = self.i16()
            n = None if n == -1 else n
        if n is None:
            return None
        return self.take(n).decode("utf-8", "replace")


# ---- structs ----

_INT_WRITERS = {"int8": "i8", "int16": "i16", "uint16": "u16", "int32": "i32", "uint32": "u32",
                "int64": "i64", "float64": "f64"}


def _write_value(w, f, elem_type, value, version, flexible, where):
    sf = f.struct_fields if elem_type == f.elem else None
    if sf is not None:
        if not f.is_array and version in f.nullable:
            if value is None:
                w.i8(-1)
                return
            w.i8(1)
        encode_struct(w, sf, value, version, flexible, where)
        return
    t = elem_type
    if t in _INT_WRITERS:
        getattr(w, _INT_WRITERS[t])(value)
    elif t == "bool":
        w.i8(1 if value else 0)
    elif t == "string":
        w.string(value, flexible)
    elif t in ("bytes", "records"):
        w.bytes_(value, flexible)
    elif t == "uuid":
        w.raw((value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes)
    else:
        raise ValueError("%s: unknown type %s" % (where, t))


def _write_field(w, f, value, version, flexible, where):
    if f.is_array:
        if value is None:
            w.length(None, flexible)
            return
        w.length(len(value), flexible)
        for item in value:
            _write_value(w, f, f.elem, item, version, flexible, where + "." + f.name)
    else:
        _write_value(w, f, f.type, value, version, flexible, where + "." + f.name)


def encode_struct(w, fields, values, version, flexible, where=""):
    values = values or {}
    tagged = []
    for f in fields:
        if version not in f.versions:
            continue
        value = values.get(f.name, f.default_value(version)) if f.name in values else f.default_value(version)
        if flexible and version in f.tagged:
            if f.name in values:
                tagged.append((f.tag, f, value))
            continue
        _write_field(w, f, value, version, flexible, where)
    if flexible:
        raw_tags = values.get("_raw_tags", [])
        w.uvarint(len(tagged) + len(raw_tags))
        for tag, f, value in sorted(tagged, key=lambda t: t[0]):
            sub = Writer()
            _write_field(sub, f, value, version, flexible, where)
            b = sub.getvalue()
            w.uvarint(tag)
            w.uvarint(len(b))
            w.raw(b)
        for tag, b in raw_tags:
            w.uvarint(tag)
            w.uvarint(len(b))
            w.raw(b)


_INT_READERS = _INT_WRITERS


def _read_value(r, f, elem_type, version, flexible):
    sf = f.struct_fields if elem_type == f.elem else None
    if sf is not None:
        if version in f.nullable and not f.is_array:
            if r.i8() < 0:
                return None
        return decode_struct(r, sf, version, flexible)
    t = elem_type
    if t in _INT_READERS:
        return getattr(r, _INT_READERS[t])()
    if t == "bool":
        return r.i8() != 0
    if t == "string":
        return r.string(flexible)
    if t in ("bytes", "records"):
        n = r.length(flexible)
        return None if n is None else bytes(r.take(n))
    if t == "uuid":
        return uuid.UUID(bytes=bytes(r.take(16)))
    raise DecodeError("unknown type %s" % t)


def _read_field(r, f, version, flexible):
    if f.is_array:
        n = r.length(flexible)
        if n is None:
            return None
        if n > r.remaining():
            raise DecodeError("%s: %d elements claimed, %d bytes left" % (f.name, n, r.remaining()))
        return [_read_value(r, f, f.elem, version, flexible) for _ in range(n)]
    return _read_value(r, f, f.type, version, flexible)


def _read_tags(r, out, fields, version):
    by_tag = {f.tag: f for f in fields if version in f.tagged and version in f.versions}
    for _ in range(r.uvarint()):
        tag = r.uvarint()
        size = r.uvarint()
        data = r.take(size)
        f = by_tag.get(tag)
        if f is None:
            out.setdefault("_unknown_tags", {})[tag] = bytes(data).hex()
            continue
        sub = Reader(data)
        out[f.name] = _read_field(sub, f, version, True)


def decode_struct(r, fields, version, flexible):
    out = {}
    for f in fields:
        if version not in f.versions:
            continue
        if flexible and version in f.tagged:
            out[f.name] = f.default_value(version)  # replaced if the tag is present
            continue
        out[f.name] = _read_field(r, f, version, flexible)
    if flexible:
        _read_tags(r, out, fields, version)
    return out
