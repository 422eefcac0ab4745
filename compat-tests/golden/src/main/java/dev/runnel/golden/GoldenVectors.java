package dev.runnel.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.types.BoundField;
import org.apache.kafka.common.protocol.types.Schema;
import org.apache.kafka.common.protocol.types.TaggedFields;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;

/**
 * Writes, for every API the client knows (or the API keys given), the request and the response at
 * every version the client knows, each in three variants, as one JSON line:
 *
 * <pre>{"api_key", "message", "kind", "variant", "version", "flexible", "header_version",
 *  "unstable", "json", "hex"}</pre>
 *
 * <p>into {@code <out dir>/<Api>.jsonl}. The values are filled by walking the client's own
 * schema of that version (every field that exists at it, tagged ones included); the message is built from
 * them by the client's generated JSON converter, encoded by the generated {@code write}, decoded
 * again, and {@code json} is what the converter writes of the decoded message, with the real
 * record bytes in place of the converter's placeholder for {@code records} fields.
 *
 * <p>Variants: {@code primary} (non-default values, nullable fields null in a fixed pattern),
 * {@code flipped_nulls} (other values, every null / non-null choice reversed) and {@code defaults}
 * (a fresh message). The output is the same on every run.
 *
 * <p>Usage: {@code GoldenVectors <out dir> [api key...]}
 */
public final class GoldenVectors {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String[] VARIANTS = {"primary", "flipped_nulls", "defaults"};

  private GoldenVectors() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: GoldenVectors <out dir> [api key...]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    Files.createDirectories(out);
    Set<Short> only = new HashSet<>();
    for (int i = 1; i < args.length; i++) only.add(Short.parseShort(args[i]));
    int lines = 0;
    for (ApiMessageType api : ApiMessageType.values()) {
      if (!only.isEmpty() && !only.contains(api.apiKey())) continue;
      StringBuilder text = new StringBuilder();
      for (short v = api.lowestSupportedVersion(); v <= api.highestSupportedVersion(true); v++) {
        for (boolean request : new boolean[] {true, false}) {
          for (String variant : VARIANTS) {
            text.append(MAPPER.writeValueAsString(line(api, request, variant, v))).append('\n');
            ++lines;
          }
        }
      }
      Files.writeString(out.resolve(api.name + ".jsonl"), text.toString(), StandardCharsets.UTF_8);
    }
    System.out.println(lines + " lines in " + out);
  }

  static ObjectNode line(ApiMessageType api, boolean request, String variant, short version)
      throws Exception {
    ApiMessage fresh = request ? api.newRequest() : api.newResponse();
    Class<?> cls = fresh.getClass();
    Schema schema = (request ? api.requestSchemas() : api.responseSchemas())[version];
    String about = cls.getSimpleName() + " v" + version + " " + variant;
    ObjectNode input = null;
    ApiMessage message = fresh;
    if (!variant.equals("defaults")) {
      input = new Filler(variant.equals("flipped_nulls"), version).struct(schema, cls, 0);
      message = read(cls, input, version);
    }
    byte[] bytes = encode(message, version, about);
    ApiMessage decoded = (ApiMessage) cls.getDeclaredConstructor().newInstance();
    ByteBufferAccessor in = new ByteBufferAccessor(ByteBuffer.wrap(bytes));
    decoded.read(in, version);
    check(in.remaining() == 0, about + ": " + in.remaining() + " bytes left after decoding");
    check(decoded.equals(message), about + ": decodes to another message");
    JsonNode json = write(cls, decoded, version);
    if (input != null) restoreRecords(schema, cls, input, json);
    // The JSON form must say everything the bytes say.
    check(
        java.util.Arrays.equals(encode(read(cls, json, version), version, about), bytes),
        about + ": its JSON form encodes to other bytes");

    ObjectNode line = NODES.objectNode();
    line.put("api_key", api.apiKey());
    line.put("message", cls.getSimpleName().replaceFirst("Data$", ""));
    line.put("kind", request ? "request" : "response");
    line.put("variant", variant);
    line.put("version", version);
    line.put("flexible", flexible(schema));
    line.put(
        "header_version",
        request ? api.requestHeaderVersion(version) : api.responseHeaderVersion(version));
    line.put(
        "unstable",
        api.latestVersionUnstable() && version == api.highestSupportedVersion(true));
    line.set("json", json);
    line.put("hex", hex(bytes));
    return line;
  }

  static byte[] encode(ApiMessage message, short version, String about) {
    ObjectSerializationCache cache = new ObjectSerializationCache();
    int size = message.size(cache, version);
    ByteBuffer buf = ByteBuffer.allocate(size);
    message.write(new ByteBufferAccessor(buf), cache, version);
    check(!buf.hasRemaining(), about + ": wrote fewer bytes than its size");
    return buf.array();
  }

  static ApiMessage read(Class<?> cls, JsonNode json, short version) throws Exception {
    Method m =
        Class.forName(cls.getName() + "JsonConverter")
            .getMethod("read", JsonNode.class, short.class);
    return (ApiMessage) m.invoke(null, json, version);
  }

  static JsonNode write(Class<?> cls, ApiMessage message, short version) throws Exception {
    Method m =
        Class.forName(cls.getName() + "JsonConverter")
            .getMethod("write", cls, short.class, boolean.class);
    return (JsonNode) m.invoke(null, message, version, true);
  }

  static boolean flexible(Schema schema) {
    for (BoundField f : schema.fields()) if (f.def.type instanceof TaggedFields) return true;
    return false;
  }

  static void check(boolean ok, String what) {
    if (!ok) throw new IllegalStateException(what);
  }

  static String hex(byte[] bytes) {
    StringBuilder s = new StringBuilder(bytes.length * 2);
    for (byte b : bytes) {
      s.append(Character.forDigit((b >> 4) & 15, 16)).append(Character.forDigit(b & 15, 16));
    }
    return s.toString();
  }

  /** One field of a schema at one version, with its JSON key and, for structs, its Java class. */
  record Member(String key, org.apache.kafka.common.protocol.types.Type type, Class<?> nested) {}

  /**
   * The fields of {@code schema} in wire order, then its tagged fields in tag order. The JSON key
   * is the generated class's field name (the schema's field names are snake case, which loses the case
   * of acronyms).
   */
  static List<Member> members(Schema schema, Class<?> cls) {
    Map<String, Field> javaFields = new HashMap<>();
    for (Field f : cls.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) || f.getName().startsWith("_")) continue;
      javaFields.put(normal(f.getName()), f);
    }
    List<org.apache.kafka.common.protocol.types.Field> defs = new ArrayList<>();
    for (BoundField f : schema.fields()) {
      if (f.def.type instanceof TaggedFields tagged) {
        defs.addAll(new java.util.TreeMap<>(tagged.fields()).values());
      } else {
        defs.add(f.def);
      }
    }
    List<Member> out = new ArrayList<>();
    for (org.apache.kafka.common.protocol.types.Field def : defs) {
      Field f = javaFields.get(normal(def.name));
      check(f != null, cls.getName() + " has no field for " + def.name);
      out.add(new Member(f.getName(), def.type, elementClass(f)));
    }
    return out;
  }

  static String normal(String name) {
    return name.replace("_", "").toLowerCase(java.util.Locale.ROOT);
  }

  /** The struct class a field holds, alone or in a list or collection; null for other fields. */
  static Class<?> elementClass(Field f) {
    Class<?> t = f.getType();
    Type generic = f.getGenericType();
    if (List.class.isAssignableFrom(t) && generic instanceof ParameterizedType p) {
      return p.getActualTypeArguments()[0] instanceof Class<?> c ? c : null;
    }
    if (t.getGenericSuperclass() instanceof ParameterizedType p
        && p.getActualTypeArguments()[0] instanceof Class<?> c) {
      return c;
    }
    return t;
  }

  static final Set<org.apache.kafka.common.protocol.types.Type> STRINGS =
      Set.of(
          org.apache.kafka.common.protocol.types.Type.STRING,
          org.apache.kafka.common.protocol.types.Type.COMPACT_STRING,
          org.apache.kafka.common.protocol.types.Type.NULLABLE_STRING,
          org.apache.kafka.common.protocol.types.Type.COMPACT_NULLABLE_STRING);
  static final Set<org.apache.kafka.common.protocol.types.Type> BYTES =
      Set.of(
          org.apache.kafka.common.protocol.types.Type.BYTES,
          org.apache.kafka.common.protocol.types.Type.COMPACT_BYTES,
          org.apache.kafka.common.protocol.types.Type.NULLABLE_BYTES,
          org.apache.kafka.common.protocol.types.Type.COMPACT_NULLABLE_BYTES);

  static boolean isRecords(org.apache.kafka.common.protocol.types.Type t) {
    return t == org.apache.kafka.common.protocol.types.Type.RECORDS
        || t == org.apache.kafka.common.protocol.types.Type.COMPACT_RECORDS
        || t == org.apache.kafka.common.protocol.types.Type.NULLABLE_RECORDS
        || t == org.apache.kafka.common.protocol.types.Type.COMPACT_NULLABLE_RECORDS;
  }

  /** The converter writes a placeholder for records: put back the bytes that were encoded. */
  static void restoreRecords(Schema schema, Class<?> cls, JsonNode in, JsonNode out) {
    for (Member m : members(schema, cls)) {
      JsonNode i = in.get(m.key());
      JsonNode o = out.get(m.key());
      if (i == null || o == null || o.isNull()) continue;
      org.apache.kafka.common.protocol.types.Type t = m.type();
      if (isRecords(t)) {
        ((ObjectNode) out).set(m.key(), i);
      } else if (t instanceof Schema s) {
        restoreRecords(s, m.nested(), i, o);
      } else if (t.isArray() && t.arrayElementType().get() instanceof Schema s) {
        for (int k = 0; k < o.size(); k++) restoreRecords(s, m.nested(), i.get(k), o.get(k));
      }
    }
  }

  /** Deterministic values for every field of a schema. */
  static final class Filler {
    private final boolean flipped;
    private final short version;
    private int seq;

    Filler(boolean flipped, short version) {
      this.flipped = flipped;
      this.version = version;
      this.seq = flipped ? 5000 : 1;
    }

    ObjectNode struct(Schema schema, Class<?> cls, int element) {
      ObjectNode node = NODES.objectNode();
      int index = 0;
      for (Member m : members(schema, cls)) {
        node.set(m.key(), value(m.type(), m.nested(), index++, element));
      }
      return node;
    }

    private boolean nulled(int index, int element) {
      return ((index + element + version) % 2 == 0) != flipped;
    }

    private JsonNode value(
        org.apache.kafka.common.protocol.types.Type t, Class<?> nested, int index, int element) {
      if (t.isNullable() && nulled(index, element)) return NullNode.instance;
      if (t instanceof Schema s) return struct(s, nested, element);
      if (t.isArray()) {
        ArrayNode arr = NODES.arrayNode();
        for (int k = 0; k < 2; k++) arr.add(value(t.arrayElementType().get(), nested, k, k));
        return arr;
      }
      return scalar(t);
    }

    private JsonNode scalar(org.apache.kafka.common.protocol.types.Type t) {
      final int n = seq++;
      final int sign = flipped ? -1 : 1;
      if (t == org.apache.kafka.common.protocol.types.Type.BOOLEAN) {
        return NODES.booleanNode((n % 2 == 0) != flipped);
      } else if (t == org.apache.kafka.common.protocol.types.Type.INT8) {
        return NODES.numberNode((byte) (sign * (2 + n % 100)));
      } else if (t == org.apache.kafka.common.protocol.types.Type.INT16) {
        return NODES.numberNode((short) (sign * (101 + (n * 37) % 30000)));
      } else if (t == org.apache.kafka.common.protocol.types.Type.UINT16) {
        return NODES.numberNode(30001 + (n * 13) % 35000);
      } else if (t == org.apache.kafka.common.protocol.types.Type.INT32) {
        return NODES.numberNode(sign * (100001 + n * 7919));
      } else if (t == org.apache.kafka.common.protocol.types.Type.UNSIGNED_INT32) {
        return NODES.numberNode(2_000_000_000L + n * 9973L);
      } else if (t == org.apache.kafka.common.protocol.types.Type.INT64) {
        return NODES.numberNode(sign * (1_000_000_000_001L + n * 104_729L));
      } else if (t == org.apache.kafka.common.protocol.types.Type.FLOAT64) {
        return NODES.numberNode(sign * (n + 0.25));
      } else if (t == org.apache.kafka.common.protocol.types.Type.UUID) {
        Uuid id = new Uuid(0x0123_4567_89ab_cdefL * n + 1, 0x7a5d_3c1bL * n + 11);
        return NODES.textNode(id.toString());
      } else if (isRecords(t)) {
        return NODES.textNode(Base64.getEncoder().encodeToString(records(n)));
      } else if (STRINGS.contains(t)) {
        String s = "s" + n + (n % 3 == 0 ? "-ü ß 日本" : "");
        return NODES.textNode(n % 7 == 3 ? s + "-" + "x".repeat(140) : s);
      } else if (BYTES.contains(t)) {
        byte[] b = new byte[n % 4 == 0 ? 200 : 1 + n % 5];
        for (int k = 0; k < b.length; k++) b[k] = (byte) (n * 7 + k);
        return NODES.textNode(Base64.getEncoder().encodeToString(b));
      }
      throw new IllegalStateException("no value for type " + t);
    }

    /** A small uncompressed batch (magic 2) of two records. */
    private static byte[] records(int n) {
      MemoryRecords r =
          MemoryRecords.withRecords(
              Compression.NONE,
              new SimpleRecord(1_700_000_000_000L + n, ("k" + n).getBytes(StandardCharsets.UTF_8),
                  ("v" + n).getBytes(StandardCharsets.UTF_8)),
              new SimpleRecord(1_700_000_000_001L + n, null, new byte[] {(byte) n}));
      ByteBuffer b = r.buffer();
      byte[] out = new byte[b.remaining()];
      b.get(out);
      return out;
    }
  }
}
