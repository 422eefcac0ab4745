package dev.runnel.compat;

import static dev.runnel.compat.Ctx.bytes;
import static dev.runnel.compat.Ctx.check;
import static dev.runnel.compat.Ctx.expectEq;
import static dev.runnel.compat.Ctx.str;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;

/** Producer, consumer and transaction scenarios (the admin ones are in AdminScenarios). */
final class Scenarios {
  private Scenarios() {}

  static void register(Map<String, Scenario> m) {
    m.put("produce_codecs", Scenarios::produceCodecs);
    m.put("acks", Scenarios::acks);
    m.put("group_range", c -> group(c, "range", "org.apache.kafka.clients.consumer.RangeAssignor"));
    m.put("group_cooperative_sticky", c -> group(c, "coop",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"));
    m.put("transactions", Scenarios::transactions);
    AdminScenarios.register(m);
  }

  /** What was sent, to compare with what is read back. */
  record Sent(int partition, long offset, String key, byte[] value, List<String[]> headers, long timestamp) {}

  static List<String[]> headerList(Iterable<Header> hs) {
    List<String[]> out = new ArrayList<>();
    for (Header h : hs) out.add(new String[] {h.key(), h.value() == null ? null : Arrays.toString(h.value())});
    return out;
  }

  static String headersText(List<String[]> hs) {
    StringBuilder sb = new StringBuilder("[");
    for (String[] h : hs) sb.append(h[0]).append('=').append(h[1]).append(' ');
    return sb.append(']').toString();
  }

  /**
   * Per codec: 300 records over 3 partitions from the default (idempotent, acks=all) producer,
   * keyed and unkeyed, values of 0 to 2,000 bytes and null, 0 to 3 headers (one with a null
   * value), explicit timestamps; read back from the start: per partition the exact records at the
   * offsets the producer was given, in the order they were sent, nothing more.
   */
  static String produceCodecs(Ctx ctx) throws Exception {
    String[] codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
    Map<String, Integer> topics = new TreeMap<>();
    for (String codec : codecs) topics.put(ctx.name("codec-" + codec), 3);
    try (var admin = ctx.admin()) {
      ctx.createTopics(admin, topics);
    }
    long base = System.currentTimeMillis() - 60_000;
    StringBuilder note = new StringBuilder();
    for (String codec : codecs) {
      String topic = ctx.name("codec-" + codec);
      Properties pp = ctx.producerProps("codec-" + codec);
      pp.put("compression.type", codec);
      pp.put("linger.ms", "20");
      int n = 300;
      List<Future<RecordMetadata>> futures = new ArrayList<>();
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      try (KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
        for (int i = 0; i < n; i++) {
          String key = i % 10 == 0 ? null : "key-" + codec + "-" + i;
          byte[] value = null;
          if (i % 25 != 7) {
            StringBuilder v = new StringBuilder(codec).append('-').append(i).append(':');
            int len = (i * 37) % 2000;
            for (int j = 0; v.length() < len; j++) v.append((char) ('a' + (i * j) % 26));
            value = bytes(v.toString());
          }
          RecordHeaders headers = new RecordHeaders();
          if (i % 50 != 0) {
            headers.add("h1", bytes("v-" + i));
            headers.add("h2", new byte[] {(byte) i, 0, (byte) 255});
            if (i % 3 == 0) headers.add("nul", null);
          }
          Integer partition = key == null ? Integer.valueOf(i % 3) : null;
          var rec = new ProducerRecord<>(topic, partition, base + i, bytes(key), value, headers);
          records.add(rec);
          futures.add(p.send(rec));
        }
        p.flush();
      }
      Map<Integer, List<Sent>> expected = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        RecordMetadata md = futures.get(i).get();
        var rec = records.get(i);
        expected.computeIfAbsent(md.partition(), k -> new ArrayList<>()).add(new Sent(md.partition(),
            md.offset(), str(rec.key()), rec.value(), headerList(rec.headers()), rec.timestamp()));
      }
      for (var e : expected.entrySet()) {
        List<Sent> l = e.getValue();
        for (int i = 0; i < l.size(); i++) {
          expectEq(l.get(i).offset(), (long) i, codec + ": offset given to record " + i
              + " sent to partition " + e.getKey());
        }
      }
      List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
          new TopicPartition(topic, 2));
      try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(ctx.consumerProps("codec-read-" + codec, null))) {
        var got = Ctx.readAll(c, tps, n, 20_000);
        expectEq(got.size(), n, codec + ": records read back");
        Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition = new TreeMap<>();
        for (var r : got) byPartition.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r);
        for (var e : expected.entrySet()) {
          List<ConsumerRecord<byte[], byte[]>> seen = byPartition.getOrDefault(e.getKey(), List.of());
          expectEq(seen.size(), e.getValue().size(), codec + ": records in partition " + e.getKey());
          for (int i = 0; i < seen.size(); i++) {
            Sent s = e.getValue().get(i);
            var r = seen.get(i);
            String where = codec + " partition " + e.getKey() + " record " + i;
            expectEq(r.offset(), s.offset(), where + " offset");
            expectEq(str(r.key()), s.key(), where + " key");
            check(Arrays.equals(r.value(), s.value()), "%s value: expected %s, seen %s", where,
                s.value() == null ? "null" : s.value().length + " bytes",
                r.value() == null ? "null" : r.value().length + " bytes (differing)");
            expectEq(headersText(headerList(r.headers())), headersText(s.headers()), where + " headers");
            expectEq(r.timestamp(), s.timestamp(), where + " timestamp");
            expectEq(r.timestampType(), TimestampType.CREATE_TIME, where + " timestamp type");
          }
        }
        note.append(codec).append(':').append(expected.get(0).size()).append('/')
            .append(expected.getOrDefault(1, List.of()).size()).append('/')
            .append(expected.getOrDefault(2, List.of()).size()).append(' ');
      }
    }
    return "records per partition " + note.toString().trim();
  }

  /** acks=0, 1 and all (the last idempotent): 100 keyed records each, read back in order. */
  static String acks(Ctx ctx) throws Exception {
    String[] modes = {"0", "1", "all"};
    Map<String, Integer> topics = new TreeMap<>();
    for (String a : modes) topics.put(ctx.name("acks-" + a), 1);
    try (var admin = ctx.admin()) {
      ctx.createTopics(admin, topics);
    }
    for (String a : modes) {
      String topic = ctx.name("acks-" + a);
      Properties pp = ctx.producerProps("acks-" + a);
      pp.put("acks", a);
      if (!a.equals("all")) pp.put("enable.idempotence", "false");
      int n = 100;
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      try (KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
        for (int i = 0; i < n; i++) {
          fs.add(p.send(new ProducerRecord<>(topic, bytes("k" + i), bytes("acks-" + a + "-" + i))));
        }
        p.flush();
      }
      for (int i = 0; i < n; i++) {
        RecordMetadata md = fs.get(i).get();
        // With acks=0 the producer learns no offset (Kafka's client reports -1).
        expectEq(md.offset(), a.equals("0") ? -1L : (long) i, "acks=" + a + ": offset of record " + i);
      }
      try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(ctx.consumerProps("acks-read-" + a, null))) {
        var got = Ctx.readAll(c, List.of(new TopicPartition(topic, 0)), n, 15_000);
        expectEq(got.size(), n, "acks=" + a + ": records read back");
        for (int i = 0; i < n; i++) {
          expectEq(got.get(i).offset(), (long) i, "acks=" + a + ": offset");
          expectEq(str(got.get(i).value()), "acks-" + a + "-" + i, "acks=" + a + ": value at offset " + i);
          expectEq(str(got.get(i).key()), "k" + i, "acks=" + a + ": key at offset " + i);
        }
      }
    }
    return "100 records each for acks=0, 1, all";
  }

  /** Polls both members in turn until `done` holds; their records go to `seen`. */
  static void pollBoth(List<KafkaConsumer<byte[], byte[]>> members,
      Map<KafkaConsumer<byte[], byte[]>, List<ConsumerRecord<byte[], byte[]>>> seen,
      java.util.function.BooleanSupplier done, long timeoutMs, String what) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!done.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        StringBuilder sb = new StringBuilder();
        for (var m : members) sb.append(m.assignment()).append(' ');
        throw new AssertionError(what + ": not reached within " + timeoutMs + " ms; assignments " + sb);
      }
      for (var m : members) {
        m.poll(Duration.ofMillis(100)).forEach(r -> seen.computeIfAbsent(m, k -> new ArrayList<>()).add(r));
      }
    }
  }

  static String v(int p, int i) {
    return "p" + p + "-" + i;
  }

  /**
   * A classic group (group.protocol=classic) with the given assignor: two members split 4
   * partitions, each reads exactly the records of its own partitions; one commits its position,
   * the other an explicit offset with metadata; after both leave, a new member resumes from the
   * committed offsets; offsetsForTimes and seek on it.
   */
  static String group(Ctx ctx, String tag, String assignor) throws Exception {
    String topic = ctx.name("group-" + tag);
    String group = ctx.name("group-" + tag);
    int parts = 4;
    ctx.createTopic(topic, parts);
    Set<TopicPartition> all = new HashSet<>();
    for (int p = 0; p < parts; p++) all.add(new TopicPartition(topic, p));

    Properties cp = ctx.consumerProps("member", group);
    cp.put("group.protocol", "classic");
    cp.put("partition.assignment.strategy", assignor);
    long base = (System.currentTimeMillis() / 1000) * 1000 - 100_000;
    Properties pp = ctx.producerProps("group-" + tag);
    KafkaConsumer<byte[], byte[]> a = ctx.consumer(cp);
    KafkaConsumer<byte[], byte[]> b = ctx.consumer(cp);
    Map<KafkaConsumer<byte[], byte[]>, List<ConsumerRecord<byte[], byte[]>>> seen = new HashMap<>();
    Set<TopicPartition> ofA;
    Set<TopicPartition> ofB;
    long start = System.nanoTime();
    List<String> phases = new ArrayList<>();
    try {
      a.subscribe(List.of(topic));
      b.subscribe(List.of(topic));
      pollBoth(List.of(a, b), seen, () -> {
        Set<TopicPartition> x = a.assignment();
        Set<TopicPartition> y = b.assignment();
        Set<TopicPartition> u = new HashSet<>(x);
        u.addAll(y);
        return x.size() == 2 && y.size() == 2 && u.equals(all);
      }, 30_000, "two members owning 2 partitions each");
      ofA = new HashSet<>(a.assignment());
      ofB = new HashSet<>(b.assignment());
      phases.add("split " + Main.ms(start) + " ms");
      check(seen.isEmpty(), "records before any was produced: %s", seen);

      try (KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
        for (int i = 0; i < 10; i++) {
          for (int q = 0; q < parts; q++) {
            p.send(new ProducerRecord<>(topic, q, base + i * 1000L, bytes("k" + q), bytes(v(q, i))));
          }
        }
        p.flush();
      }
      pollBoth(List.of(a, b), seen, () -> seen.values().stream().mapToInt(List::size).sum() >= 40,
          20_000, "40 records consumed by the two members");
      for (var m : List.of(a, b)) {
        Set<TopicPartition> own = m == a ? ofA : ofB;
        expectEq(m.assignment(), own, "assignment after consuming");
        Map<Integer, List<String>> got = new TreeMap<>();
        for (var r : seen.getOrDefault(m, List.of())) {
          check(own.contains(new TopicPartition(r.topic(), r.partition())),
              "a member got a record of partition %d, which it does not own (%s)", r.partition(), own);
          expectEq(r.offset(), (long) got.computeIfAbsent(r.partition(), k -> new ArrayList<>()).size(),
              "offset of the next record of partition " + r.partition());
          got.get(r.partition()).add(str(r.value()));
        }
        for (TopicPartition tp : own) {
          List<String> want = new ArrayList<>();
          for (int i = 0; i < 10; i++) want.add(v(tp.partition(), i));
          expectEq(got.get(tp.partition()), want, "records of " + tp);
        }
      }
      phases.add("consumed " + Main.ms(start) + " ms");
      a.commitSync();
      Map<TopicPartition, OffsetAndMetadata> explicit = new HashMap<>();
      for (TopicPartition tp : ofB) explicit.put(tp, new OffsetAndMetadata(6, "b-was-here"));
      b.commitSync(explicit);
      for (var e : a.committed(ofA).entrySet()) {
        expectEq(e.getValue() == null ? null : e.getValue().offset(), 10L, "committed offset of " + e.getKey());
      }
      for (var e : b.committed(ofB).entrySet()) {
        expectEq(e.getValue(), new OffsetAndMetadata(6, "b-was-here"), "committed offset of " + e.getKey());
      }
    } finally {
      a.close(Duration.ofSeconds(5));
      b.close(Duration.ofSeconds(5));
      phases.add("closed " + Main.ms(start) + " ms");
    }

    try (KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
      for (int i = 10; i < 15; i++) {
        for (int q = 0; q < parts; q++) {
          p.send(new ProducerRecord<>(topic, q, base + i * 1000L, bytes("k" + q), bytes(v(q, i))));
        }
      }
      p.flush();
    }
    try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(cp)) {
      c.subscribe(List.of(topic));
      Map<KafkaConsumer<byte[], byte[]>, List<ConsumerRecord<byte[], byte[]>>> got = new HashMap<>();
      int want = 5 * 2 + 9 * 2;
      pollBoth(List.of(c), got, () -> got.values().stream().mapToInt(List::size).sum() >= want,
          20_000, "the new member resuming from the committed offsets");
      phases.add("resumed " + Main.ms(start) + " ms");
      c.poll(Duration.ofMillis(300)).forEach(r -> got.get(c).add(r));
      expectEq(c.assignment(), all, "the new member's assignment");
      Map<Integer, List<Long>> offs = new TreeMap<>();
      for (var r : got.get(c)) {
        offs.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.offset());
        expectEq(str(r.value()), v(r.partition(), (int) r.offset()), "value at offset " + r.offset());
      }
      for (TopicPartition tp : all) {
        long from = ofA.contains(tp) ? 10 : 6;
        List<Long> exp = new ArrayList<>();
        for (long o = from; o < 15; o++) exp.add(o);
        expectEq(offs.get(tp.partition()), exp, "offsets read after resuming, " + tp);
      }

      TopicPartition t0 = new TopicPartition(topic, 0);
      TopicPartition t1 = new TopicPartition(topic, 1);
      Map<TopicPartition, OffsetAndTimestamp> ft = c.offsetsForTimes(Map.of(t0, base + 3001, t1, base + 1_000_000));
      OffsetAndTimestamp at = ft.get(t0);
      check(at != null && at.offset() == 4 && at.timestamp() == base + 4000,
          "offsetsForTimes(base+3001) of %s: expected offset 4 at base+4000, seen %s (base %d)", t0, at, base);
      check(ft.containsKey(t1) && ft.get(t1) == null, "offsetsForTimes past the last record: expected null, seen %s", ft);
      expectEq(c.beginningOffsets(List.of(t0)).get(t0), 0L, "beginningOffsets");
      expectEq(c.endOffsets(List.of(t0)).get(t0), 15L, "endOffsets");

      c.seek(t0, 2);
      List<Long> after = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 10_000;
      while (after.size() < 13 && System.currentTimeMillis() < deadline) {
        for (var r : c.poll(Duration.ofMillis(200))) {
          check(r.partition() == 0, "after seek on partition 0 only, a record of partition %d", r.partition());
          after.add(r.offset());
        }
      }
      List<Long> exp = new ArrayList<>();
      for (long o = 2; o < 15; o++) exp.add(o);
      expectEq(after, exp, "offsets after seek(" + t0 + ", 2)");
    }
    return "members owned " + ofA + " and " + ofB + "; " + String.join(", ", phases);
  }

  static String up(ConsumerRecord<byte[], byte[]> r) {
    return str(r.value()).toUpperCase();
  }

  /**
   * Consume-transform-produce: 20 input records read by a classic group member with
   * read_committed; a transaction with the first half and the group's offsets is aborted (no
   * offsets committed), then done again and committed, then the second half; then an aborted
   * transaction and a last committed one. A read_committed reader sees exactly the committed
   * output, a read_uncommitted one every record sent, in offset order. The producer's epoch
   * then says which transaction protocol ran: with transactions v2 (KIP-890, a 4.x client and
   * a broker whose transaction.version is 2) each of the five transactions ended with an epoch
   * bump, with v1 the epoch stays 0.
   */
  static String transactions(Ctx ctx) throws Exception {
    return transactions(ctx, "txn");
  }

  /** The transactions scenario over topics, group and transactional id named after `tag`. */
  static String transactions(Ctx ctx, String tag) throws Exception {
    String in = ctx.name(tag + "-in");
    String out = ctx.name(tag + "-out");
    String group = ctx.name(tag + "-group");
    try (var admin = ctx.admin()) {
      ctx.createTopics(admin, Map.of(in, 2, out, 2));
    }
    try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("txn-input"))) {
      for (int i = 0; i < 20; i++) p.send(new ProducerRecord<>(in, i % 2, null, bytes("in-" + i)));
      p.flush();
    }
    Properties cp = ctx.consumerProps("txn-member", group);
    cp.put("group.protocol", "classic");
    cp.put("isolation.level", "read_committed");
    Properties tp = ctx.producerProps("txn-producer");
    String transactionalId = ctx.name(tag + "-ctp");
    tp.put("transactional.id", transactionalId);
    tp.put("transaction.timeout.ms", "30000");
    // Per output partition, what each reader must see in offset order.
    Map<Integer, List<String>> committed = new TreeMap<>();
    Map<Integer, List<String>> everything = new TreeMap<>();
    Set<TopicPartition> inParts = Set.of(new TopicPartition(in, 0), new TopicPartition(in, 1));
    try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(cp);
         KafkaProducer<byte[], byte[]> p = ctx.producer(tp)) {
      p.initTransactions();
      c.subscribe(List.of(in));
      List<ConsumerRecord<byte[], byte[]>> input = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 20_000;
      while (input.size() < 20 && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(input::add);
      }
      expectEq(input.size(), 20, "input records read");
      List<List<ConsumerRecord<byte[], byte[]>>> halves = List.of(input.subList(0, 10), input.subList(10, 20));
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      List<Map<TopicPartition, OffsetAndMetadata>> offsetsAfter = new ArrayList<>();
      for (var half : halves) {
        for (var r : half) offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        offsetsAfter.add(new HashMap<>(offsets));
      }

      // The first half, aborted: neither its output nor its offsets count.
      p.beginTransaction();
      for (var r : halves.get(0)) {
        p.send(new ProducerRecord<>(out, r.partition(), null, bytes(up(r))));
        everything.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(up(r));
      }
      p.sendOffsetsToTransaction(offsetsAfter.get(0), c.groupMetadata());
      p.flush();  // sent before the abort (else the producer drops them unsent)
      p.abortTransaction();
      for (var e : c.committed(inParts).entrySet()) {
        expectEq(e.getValue(), null, "committed offset of " + e.getKey() + " after the aborted transaction");
      }
      // Both halves, committed one transaction each.
      for (int h = 0; h < 2; h++) {
        p.beginTransaction();
        for (var r : halves.get(h)) {
          p.send(new ProducerRecord<>(out, r.partition(), null, bytes(up(r))));
          committed.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(up(r));
          everything.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(up(r));
        }
        p.sendOffsetsToTransaction(offsetsAfter.get(h), c.groupMetadata());
        p.commitTransaction();
        Map<TopicPartition, OffsetAndMetadata> seen = new HashMap<>();
        c.committed(inParts).forEach((k, v) -> {
          if (v != null) seen.put(k, new OffsetAndMetadata(v.offset()));
        });
        expectEq(seen, offsetsAfter.get(h), "the group's committed offsets after transaction " + (h + 1));
      }
      // An aborted transaction between committed ones, then a last committed one.
      p.beginTransaction();
      for (int i = 0; i < 5; i++) {
        p.send(new ProducerRecord<>(out, i % 2, null, bytes("aborted-" + i)));
        everything.computeIfAbsent(i % 2, k -> new ArrayList<>()).add("aborted-" + i);
      }
      p.flush();
      p.abortTransaction();
      p.beginTransaction();
      for (int q = 0; q < 2; q++) {
        p.send(new ProducerRecord<>(out, q, null, bytes("final")));
        committed.get(q).add("final");
        everything.get(q).add("final");
      }
      p.commitTransaction();
    }
    List<TopicPartition> outParts = List.of(new TopicPartition(out, 0), new TopicPartition(out, 1));
    for (String level : List.of("read_committed", "read_uncommitted")) {
      Properties rp = ctx.consumerProps("txn-reader-" + level, null);
      rp.put("isolation.level", level);
      Map<Integer, List<String>> want = level.equals("read_committed") ? committed : everything;
      int n = want.values().stream().mapToInt(List::size).sum();
      try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(rp)) {
        var got = Ctx.readAll(c, outParts, n, 15_000);
        Map<Integer, List<String>> seen = new TreeMap<>();
        for (var r : got) seen.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(str(r.value()));
        expectEq(seen, want, level + " reader: records per output partition");
      }
    }
    boolean v2;
    try (var admin = ctx.admin()) {
      var level = admin.describeFeatures().featureMetadata().get().finalizedFeatures()
          .get("transaction.version");
      v2 = VersionApi.TRANSACTIONS_V2 && level != null && level.maxVersionLevel() >= 2;
      int epoch = admin.describeTransactions(List.of(transactionalId)).all().get()
          .get(transactionalId).producerEpoch();
      expectEq(epoch, v2 ? 5 : 0, "the producer's epoch after five transactions");
    }
    return committed.values().stream().mapToInt(List::size).sum() + " committed of "
        + everything.values().stream().mapToInt(List::size).sum() + " records sent, transactions "
        + (v2 ? "v2" : "v1");
  }
}
