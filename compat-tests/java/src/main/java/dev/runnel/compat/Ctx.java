package dev.runnel.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The broker address, the name prefix, client settings and the checks the scenarios share. */
final class Ctx {
  final String bootstrap;
  final String prefix;

  Ctx(String bootstrap, String prefix) {
    this.bootstrap = bootstrap;
    this.prefix = prefix;
  }

  String name(String what) {
    return prefix + "-" + what;
  }

  /** Short timeouts everywhere: a broker that does not answer fails a scenario in seconds. */
  Properties common(String clientId) {
    return common(bootstrap, prefix + "-" + clientId);
  }

  /** The same for a process without a Ctx (a group member in a JVM of its own). */
  static Properties common(String bootstrap, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    p.put("request.timeout.ms", "10000");
    p.put("default.api.timeout.ms", "15000");
    p.put("reconnect.backoff.max.ms", "500");
    p.put("retry.backoff.max.ms", "500");
    return p;
  }

  Admin admin() {
    return Admin.create(common("admin"));
  }

  Properties producerProps(String clientId) {
    Properties p = common(clientId);
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    p.put("delivery.timeout.ms", "20000");
    p.put("max.block.ms", "15000");
    return p;
  }

  KafkaProducer<byte[], byte[]> producer(Properties p) {
    return new KafkaProducer<>(p);
  }

  Properties consumerProps(String clientId, String groupId) {
    Properties p = common(clientId);
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    if (groupId != null) {
      p.put("group.id", groupId);
      p.put("session.timeout.ms", "10000");
      p.put("heartbeat.interval.ms", "300");
      p.put("max.poll.interval.ms", "30000");
    }
    return p;
  }

  KafkaConsumer<byte[], byte[]> consumer(Properties p) {
    return new KafkaConsumer<>(p);
  }

  /** Creates topics with one replica; an error is a failure. */
  void createTopics(Admin admin, Map<String, Integer> partitions) throws Exception {
    List<NewTopic> topics = new ArrayList<>();
    partitions.forEach((t, n) -> topics.add(new NewTopic(t, n, (short) 1)));
    admin.createTopics(topics).all().get();
  }

  void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = admin()) {
      createTopics(admin, Map.of(topic, partitions));
    }
  }

  /** Reads from the start of the given partitions (no group) until `count` records arrived. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(KafkaConsumer<byte[], byte[]> c,
      Collection<TopicPartition> tps, int count, long timeoutMs) {
    c.assign(tps);
    c.seekToBeginning(tps);
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (out.size() < count && System.currentTimeMillis() < deadline) {
      c.poll(Duration.ofMillis(200)).forEach(out::add);
    }
    check(out.size() >= count, "read %d of %d records within %d ms", out.size(), count, timeoutMs);
    // A short extra poll: nothing more may come (a duplicate would).
    c.poll(Duration.ofMillis(300)).forEach(out::add);
    return out;
  }

  static void check(boolean cond, String fmt, Object... args) {
    if (!cond) throw new AssertionError(String.format(fmt, args));
  }

  static void expectEq(Object seen, Object expected, String what) {
    if (!java.util.Objects.equals(seen, expected)) {
      throw new AssertionError(what + ": expected " + expected + ", seen " + seen);
    }
  }

  /** The exception a future (or a call) ends with, unwrapped; null when it succeeded. */
  static Throwable failureOf(ThrowingRunnable r) {
    try {
      r.run();
      return null;
    } catch (Throwable t) {
      return Main.rootCause(t);
    }
  }

  @SafeVarargs
  static void expectFailure(ThrowingRunnable r, String what, Class<? extends Throwable>... classes) {
    Throwable t = failureOf(r);
    List<String> names = new ArrayList<>();
    for (var cls : classes) {
      if (cls.isInstance(t)) return;
      names.add(cls.getSimpleName());
    }
    throw new AssertionError(what + ": expected " + String.join(" or ", names) + ", "
        + (t == null ? "it succeeded" : "seen " + t.getClass().getName() + ": " + t.getMessage()));
  }

  static void waitUntil(BooleanSupplier cond, long timeoutMs, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!cond.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(what + ": not reached within " + timeoutMs + " ms");
      }
      Thread.sleep(50);
    }
  }

  static byte[] bytes(String s) {
    return s == null ? null : s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return b == null ? null : new String(b, java.nio.charset.StandardCharsets.UTF_8);
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }
}
