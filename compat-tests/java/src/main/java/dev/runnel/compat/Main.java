package dev.runnel.compat;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the scenarios of compat-tests/java/test_java.py with one kafka-clients version against
 * one broker, and prints one JSON line per scenario on stdout:
 *
 * <pre>
 *   {"event":"start","version":"4.4.0"}
 *   {"event":"result","scenario":"produce_codecs","ok":true,"ms":812,"detail":"..."}
 *   {"event":"result","scenario":"api_deleteRecords","ok":false,"ms":35,
 *    "error_class":"org.apache.kafka.common.errors.UnsupportedVersionException","error":"..."}
 *   {"event":"done"}
 * </pre>
 *
 * Usage: Main BOOTSTRAP PREFIX [SCENARIO...] (all scenarios when none is named). PREFIX starts
 * every topic, group and transactional id, so runs of two versions share a broker.
 * Each scenario is written as if the call worked: a scenario fails with the exception the
 * client raised, or with an AssertionError that says what was expected and what was seen.
 */
public final class Main {
  static final int SCENARIO_TIMEOUT_SECONDS = 60;

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: Main BOOTSTRAP PREFIX [SCENARIO...]");
      System.exit(2);
    }
    Ctx ctx = new Ctx(args[0], args[1]);
    Map<String, Scenario> all = new LinkedHashMap<>();
    Scenarios.register(all);
    VersionApi.register(all);
    Unsupported.register(all);
    VersionApi.registerUnsupported(all);

    List<String> names = new ArrayList<>();
    for (int i = 2; i < args.length; i++) names.add(args[i]);
    if (names.isEmpty()) names.addAll(all.keySet());

    emit(Json.obj("event", "start", "version", clientVersion(), "scenarios", String.join(",", names)));
    ExecutorService pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "scenario");
      t.setDaemon(true);
      return t;
    });
    for (String name : names) {
      Scenario s = all.get(name);
      if (s == null) {
        emit(Json.obj("event", "result", "scenario", name, "ok", false, "ms", 0,
            "error_class", "unknown", "error", "no such scenario"));
        continue;
      }
      long t0 = System.nanoTime();
      Future<String> f = pool.submit(() -> s.run(ctx));
      Map<String, Object> row;
      try {
        String detail = f.get(SCENARIO_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        row = Json.obj("event", "result", "scenario", name, "ok", true, "ms", ms(t0),
            "detail", detail == null ? "" : detail);
      } catch (ExecutionException e) {
        Throwable c = rootCause(e.getCause());
        row = Json.obj("event", "result", "scenario", name, "ok", false, "ms", ms(t0),
            "error_class", c.getClass().getName(), "error_kinds", kinds(c), "error", describe(c));
      } catch (TimeoutException e) {
        f.cancel(true);
        row = Json.obj("event", "result", "scenario", name, "ok", false, "ms", ms(t0),
            "error_class", "timeout", "error",
            "no result within " + SCENARIO_TIMEOUT_SECONDS + " s");
      }
      emit(row);
    }
    emit(Json.obj("event", "done"));
    System.out.flush();
    // Clients of a timed-out scenario may still hold non-daemon threads.
    System.exit(0);
  }

  static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  static synchronized void emit(Map<String, Object> obj) {
    System.out.println(Json.write(obj));
    System.out.flush();
  }

  /** The cause that says what went wrong: ExecutionException and KafkaException wrappers off. */
  static Throwable rootCause(Throwable t) {
    while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The exception's class and its superclasses, comma-separated. */
  static String kinds(Throwable t) {
    List<String> out = new ArrayList<>();
    for (Class<?> c = t.getClass(); c != null && c != Object.class; c = c.getSuperclass()) out.add(c.getName());
    return String.join(",", out);
  }

  static String describe(Throwable t) {
    StringBuilder sb = new StringBuilder(String.valueOf(t.getMessage()));
    for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      sb.append(" / caused by ").append(c.getClass().getName()).append(": ").append(c.getMessage());
    }
    if (!(t instanceof AssertionError) && !(t instanceof org.apache.kafka.common.KafkaException)) {
      StackTraceElement[] st = t.getStackTrace();
      for (int i = 0; i < Math.min(6, st.length); i++) sb.append("\n  at ").append(st[i]);
    }
    return sb.toString();
  }

  static String clientVersion() {
    try (InputStream in = Main.class.getClassLoader()
        .getResourceAsStream("kafka/kafka-version.properties")) {
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (Exception e) {
      return "unknown";
    }
  }
}
