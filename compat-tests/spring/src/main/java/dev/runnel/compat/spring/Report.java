package dev.runnel.compat.spring;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * What the application did, one JSON object a line on stdout (the logs go to stderr). Values
 * are strings, numbers, lists or maps; header values are written in hex, since Spring writes
 * some of them as binary numbers.
 */
public final class Report {
    private static final PrintStream OUT = new PrintStream(System.out, false, StandardCharsets.UTF_8);

    private Report() {
    }

    public static void emit(Object... keyValues) {
        StringBuilder sb = new StringBuilder(128).append('{');
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            if (i > 0) {
                sb.append(',');
            }
            string(sb, String.valueOf(keyValues[i]));
            sb.append(':');
            value(sb, keyValues[i + 1]);
        }
        sb.append('}');
        synchronized (OUT) {
            OUT.println(sb);
            OUT.flush();
        }
    }

    /** [partition, offset, key, value] of a record. */
    public static List<Object> rec(ConsumerRecord<String, String> r) {
        List<Object> l = new ArrayList<>(4);
        l.add(r.partition());
        l.add(r.offset());
        l.add(r.key());
        l.add(r.value());
        return l;
    }

    /** The record's headers as [name, hex value] pairs, in order. */
    public static List<Object> headers(ConsumerRecord<String, String> r) {
        List<Object> l = new ArrayList<>();
        for (Header h : r.headers()) {
            StringBuilder hex = new StringBuilder();
            if (h.value() != null) {
                for (byte b : h.value()) {
                    hex.append(String.format("%02x", b));
                }
            }
            l.add(List.of(h.key(), hex.toString()));
        }
        return l;
    }

    private static void value(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                string(sb, String.valueOf(e.getKey()));
                sb.append(':');
                value(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Iterable<?> it) {
            sb.append('[');
            boolean first = true;
            for (Object o : it) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                value(sb, o);
            }
            sb.append(']');
        } else {
            string(sb, v.toString());
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
