package dev.runnel.compat;

import static dev.runnel.compat.Ctx.check;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;

/**
 * consumer_protocol_members: a group.protocol=consumer (KIP-848) group through a member's
 * crash and a member's arrival.
 *
 * <ol>
 *   <li>Three members (GroupMember) join and split 6 partitions; one of them runs in a JVM of
 *       its own. Every record of the first 600 is consumed and committed.</li>
 *   <li>That JVM is killed (SIGKILL, after its last poll was committed): no leave heartbeat.
 *       A fourth member joins. Once the broker's session timeout
 *       (group.consumer.session.timeout.ms) fences the dead member, the three live ones own
 *       every partition, and the group, as ConsumerGroupDescribe shows it, is those three.</li>
 *   <li>600 more records; the live members leave (close: revocation, leave heartbeat).</li>
 *   <li>Checks: every acknowledged record consumed exactly once overall, at its offset, each
 *       member in offset order per partition; the committed offsets are the log end offsets;
 *       and no partition was owned by two members at any moment: each member's ownership of a
 *       partition runs from its onPartitionsAssigned to its onPartitionsRevoked/Lost (for the
 *       killed member: to the moment it was known dead), and for every partition these
 *       intervals do not overlap.</li>
 *   <li>Resume: 60 more records; a new member reads exactly those and commits them.</li>
 * </ol>
 */
final class ConsumerProtocolMembers {
  private ConsumerProtocolMembers() {}

  static final int PARTITIONS = 6;

  /** What the members report, in arrival order. */
  static final class Log {
    final List<String[]> events = new ArrayList<>();
    final Map<String, Long> deadAt = new HashMap<>();

    synchronized void add(String line) {
      events.add(line.split("\t", -1));
    }

    synchronized List<String[]> snapshot() {
      return new ArrayList<>(events);
    }

    synchronized void dead(String member, long micros) {
      deadAt.put(member, micros);
    }

    synchronized Long deadAt(String member) {
      return deadAt.get(member);
    }

    /** The partitions each live member owns now, from its callbacks. */
    Map<String, Set<Integer>> owners() {
      Map<String, Set<Integer>> out = new TreeMap<>();
      for (String[] e : snapshot()) {
        if (deadAt(e[1]) != null) continue;
        Set<Integer> owned = out.computeIfAbsent(e[1], k -> new TreeSet<>());
        switch (e[0]) {
          case "assigned" -> owned.addAll(partitions(e[3]));
          case "revoked", "lost" -> owned.removeAll(partitions(e[3]));
          default -> { }
        }
      }
      out.values().removeIf(Set::isEmpty);
      return out;
    }

    /** partition:offset:value of every record each member reported. */
    Map<String, List<String>> records() {
      Map<String, List<String>> out = new TreeMap<>();
      for (String[] e : snapshot()) {
        if (!e[0].equals("records")) continue;
        for (String r : e[3].split(" ")) out.computeIfAbsent(e[1], k -> new ArrayList<>()).add(r);
      }
      return out;
    }

    int consumed() {
      int n = 0;
      for (List<String> rs : records().values()) n += rs.size();
      return n;
    }

    String errors() {
      StringBuilder sb = new StringBuilder();
      for (String[] e : snapshot()) {
        if (e[0].equals("error")) sb.append(e[1]).append(": ").append(e.length > 3 ? e[3] : "").append("; ");
      }
      return sb.toString();
    }

    String describe() {
      return "owners " + owners() + ", " + consumed() + " records consumed" + (errors().isEmpty() ? "" : ", errors: " + errors());
    }
  }

  static List<Integer> partitions(String s) {
    List<Integer> out = new ArrayList<>();
    for (String p : s.split(",")) out.add(Integer.parseInt(p));
    return out;
  }

  /** The members own every partition once, each at least one; no member reported an error. */
  static boolean ownedOnce(Log log, Set<String> members) {
    check(log.errors().isEmpty(), "a member failed: %s", log.errors());
    Map<String, Set<Integer>> owners = log.owners();
    if (!owners.keySet().equals(members)) return false;
    Set<Integer> all = new HashSet<>();
    int n = 0;
    for (Set<Integer> ps : owners.values()) {
      all.addAll(ps);
      n += ps.size();
    }
    return n == PARTITIONS && all.size() == PARTITIONS;
  }

  /** No partition owned by two members at once (see the class comment). */
  static void checkOwnership(Log log, long endMicros) {
    // partition -> member -> [start, end] intervals
    Map<Integer, List<long[]>> intervals = new TreeMap<>();
    Map<Integer, List<String>> owners = new TreeMap<>();
    Map<String, Map<Integer, Long>> open = new HashMap<>();
    for (String[] e : log.snapshot()) {
      if (!Set.of("assigned", "revoked", "lost").contains(e[0])) continue;
      long t = Long.parseLong(e[2]);
      Map<Integer, Long> mine = open.computeIfAbsent(e[1], k -> new HashMap<>());
      for (int p : partitions(e[3])) {
        if (e[0].equals("assigned")) {
          check(!mine.containsKey(p), "%s assigned partition %d twice (at %d)", e[1], p, t);
          mine.put(p, t);
        } else {
          Long start = mine.remove(p);
          check(start != null, "%s: %s partition %d it did not own (at %d)", e[1], e[0], p, t);
          intervals.computeIfAbsent(p, k -> new ArrayList<>()).add(new long[] {start, t});
          owners.computeIfAbsent(p, k -> new ArrayList<>()).add(e[1]);
        }
      }
    }
    open.forEach((member, ps) -> ps.forEach((p, start) -> {
      Long dead = log.deadAt(member);
      intervals.computeIfAbsent(p, k -> new ArrayList<>()).add(new long[] {start, dead != null ? dead : endMicros});
      owners.computeIfAbsent(p, k -> new ArrayList<>()).add(member);
    }));
    for (int p : intervals.keySet()) {
      List<long[]> iv = intervals.get(p);
      List<String> who = owners.get(p);
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < iv.size(); i++) order.add(i);
      order.sort((a, b) -> Long.compare(iv.get(a)[0], iv.get(b)[0]));
      for (int k = 1; k < order.size(); k++) {
        long[] prev = iv.get(order.get(k - 1));
        long[] cur = iv.get(order.get(k));
        check(cur[0] > prev[1], "partition %d owned by %s from %d to %d and by %s from %d to %d",
            p, who.get(order.get(k - 1)), prev[0], prev[1], who.get(order.get(k)), cur[0], cur[1]);
      }
    }
  }

  /** Every sent record consumed once at its offset, each member in offset order per partition. */
  static void checkExactlyOnce(Log log, Map<String, long[]> sent) {
    Map<String, String> seenBy = new HashMap<>();
    for (Map.Entry<String, List<String>> m : log.records().entrySet()) {
      Map<Integer, Long> last = new HashMap<>();
      for (String r : m.getValue()) {
        String[] f = r.split(":", 3);
        int p = Integer.parseInt(f[0]);
        long o = Long.parseLong(f[1]);
        long[] want = sent.get(f[2]);
        check(want != null, "%s consumed %s, which was not sent", m.getKey(), r);
        check(want[0] == p && want[1] == o, "%s consumed %s, acknowledged at %d:%d", m.getKey(), r, want[0], want[1]);
        String before = seenBy.put(f[2], m.getKey());
        check(before == null, "%s consumed by %s and %s", f[2], before, m.getKey());
        Long l = last.put(p, o);
        check(l == null || o > l, "%s read partition %d at %d after %d", m.getKey(), p, o, l);
      }
    }
    Set<String> missing = new TreeSet<>(sent.keySet());
    missing.removeAll(seenBy.keySet());
    check(missing.isEmpty(), "%d records never consumed: %s", missing.size(),
        missing.stream().limit(5).toList());
  }

  static Map<String, long[]> produce(Ctx ctx, String topic, int first, int n) throws Exception {
    Map<String, long[]> sent = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("kip848m"))) {
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = first; i < first + n; i++) {
        fs.add(p.send(new ProducerRecord<>(topic, Ctx.bytes("k" + i), Ctx.bytes("v" + i))));
      }
      for (int i = 0; i < n; i++) {
        RecordMetadata md = fs.get(i).get();
        sent.put("v" + (first + i), new long[] {md.partition(), md.offset()});
      }
    }
    return sent;
  }

  static Thread startThread(GroupMember m) {
    Thread t = new Thread(m, "member-" + m.name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  static void committedAtEnd(Admin admin, String group, String topic) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
    var ends = admin.listOffsets(latest).all().get();
    var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    for (var tp : latest.keySet()) {
      check(committed.get(tp) != null && committed.get(tp).offset() == ends.get(tp).offset(),
          "committed offset of %s: %s, log end %d", tp, committed.get(tp), ends.get(tp).offset());
    }
  }

  /** The group as ConsumerGroupDescribe shows it: Stable, these members' client ids. */
  static String describedMembers(Admin admin, String group) throws Exception {
    var d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
    TreeSet<String> ids = new TreeSet<>();
    for (MemberDescription m : d.members()) ids.add(m.clientId());
    return d.type() + " " + d.groupState() + " " + ids;
  }

  /** The checks must catch what they look for: they are first run on made-up reports. */
  static void checkTheChecks() {
    Log good = new Log();
    for (String l : List.of("assigned\ta\t10\t0,1", "revoked\ta\t20\t0", "assigned\tb\t21\t0",
        "records\tb\t22\t0:0:v0 0:1:v1", "assigned\tc\t30\t2")) {
      good.add(l);
    }
    good.dead("c", 40);
    good.add("assigned\tb\t41\t2");
    checkOwnership(good, 100);
    checkExactlyOnce(good, Map.of("v0", new long[] {0, 0}, "v1", new long[] {0, 1}));
    List<List<String>> bad = List.of(
        List.of("assigned\ta\t10\t0", "assigned\tb\t15\t0", "revoked\ta\t20\t0"),
        List.of("assigned\ta\t10\t0", "revoked\ta\t20\t0", "assigned\tb\t20\t0"),
        List.of("assigned\ta\t10\t0", "assigned\tb\t50\t0"),
        List.of("assigned\tc\t10\t1", "assigned\ta\t39\t1"),
        List.of("records\ta\t10\t0:0:v0", "records\tb\t11\t0:0:v0 0:1:v1"),
        List.of("records\ta\t10\t0:1:v1 0:0:v0"),
        List.of("records\ta\t10\t0:0:v0"));
    for (List<String> lines : bad) {
      Log log = new Log();
      lines.forEach(log::add);
      log.dead("c", 40);
      boolean caught = false;
      try {
        checkOwnership(log, 100);
        checkExactlyOnce(log, Map.of("v0", new long[] {0, 0}, "v1", new long[] {0, 1}));
      } catch (AssertionError e) {
        caught = true;
      }
      check(caught, "the checks let this pass: %s", lines);
    }
  }

  static String run(Ctx ctx) throws Exception {
    checkTheChecks();
    String topic = ctx.name("kip848m");
    String group = ctx.name("kip848m");
    ctx.createTopic(topic, PARTITIONS);
    Log log = new Log();
    Map<String, long[]> sent = new HashMap<>();
    List<GroupMember> live = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    Process child = null;
    try (Admin admin = ctx.admin()) {
      for (String n : List.of("m1", "m2")) {
        GroupMember m = new GroupMember(ctx.name(n), GroupMember.props(ctx.bootstrap, ctx.name(n), group), topic,
            log::add, false);
        live.add(m);
        threads.add(startThread(m));
      }
      String crashed = ctx.name("m3");
      String java = ProcessHandle.current().info().command().orElse("java");
      child = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
          GroupMember.class.getName(), ctx.bootstrap, crashed, group, topic)
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      Process proc = child;
      Thread reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) log.add(line);
        } catch (Exception e) {
          // the process was killed
        }
      }, "member-" + crashed);
      reader.setDaemon(true);
      reader.start();

      // The records come once all three own partitions, so that each one reads some.
      Set<String> three = Set.of(ctx.name("m1"), ctx.name("m2"), crashed);
      waitFor(() -> ownedOnce(log, three), 30_000, "three members own the 6 partitions", log);
      sent.putAll(produce(ctx, topic, 0, 600));
      waitFor(() -> log.consumed() >= 600, 20_000, "the 600 records consumed", log);

      // The member in its own JVM commits its last poll, then the JVM is killed.
      OutputStream ctl = child.getOutputStream();
      ctl.write("stop\n".getBytes(StandardCharsets.UTF_8));
      ctl.flush();
      waitFor(() -> log.snapshot().stream().anyMatch(e -> e[0].equals("stopped") && e[1].equals(crashed)), 10_000,
          "the member to be killed stopped polling", log);
      child.destroyForcibly();
      check(child.waitFor(10, TimeUnit.SECONDS), "the killed member's JVM did not exit");
      long killed = GroupMember.micros();
      log.dead(crashed, killed);
      reader.join(5_000);

      GroupMember m4 = new GroupMember(ctx.name("m4"), GroupMember.props(ctx.bootstrap, ctx.name("m4"), group), topic,
          log::add, false);
      live.add(m4);
      threads.add(startThread(m4));
      Set<String> after = Set.of(ctx.name("m1"), ctx.name("m2"), ctx.name("m4"));
      String want = GroupType.CONSUMER + " " + GroupState.STABLE + " " + new TreeSet<>(after);
      String[] seen = {""};
      waitFor(() -> {
        if (!ownedOnce(log, after)) return false;
        seen[0] = describedMembers(admin, group);
        return seen[0].equals(want);
      }, 30_000, "the killed member fenced, the three live members own the 6 partitions", log);
      long fencedAfterMs = (GroupMember.micros() - killed) / 1000;

      sent.putAll(produce(ctx, topic, 600, 600));
      waitFor(() -> log.consumed() >= 1200, 20_000, "the 1,200 records consumed", log);
      Thread.sleep(500); // anything consumed twice shows up now
      for (GroupMember m : live) m.stop();
      for (Thread t : threads) t.join(20_000);
      check(log.errors().isEmpty(), "a member failed: %s", log.errors());
      long end = GroupMember.micros();
      checkOwnership(log, end);
      checkExactlyOnce(log, sent);
      committedAtEnd(admin, group, topic);
      int byKilled = log.records().getOrDefault(crashed, List.of()).size();
      check(byKilled > 0, "the killed member consumed nothing");

      // Resume: a new member reads exactly the records produced since.
      Log resumed = new Log();
      Map<String, long[]> more = produce(ctx, topic, 1200, 60);
      GroupMember m5 = new GroupMember(ctx.name("m5"), GroupMember.props(ctx.bootstrap, ctx.name("m5"), group), topic,
          resumed::add, false);
      Thread t5 = startThread(m5);
      waitFor(() -> ownedOnce(resumed, Set.of(ctx.name("m5"))) && resumed.consumed() >= 60, 20_000,
          "the new member read the 60 records produced since", resumed);
      Thread.sleep(500);
      m5.stop();
      t5.join(20_000);
      check(resumed.errors().isEmpty(), "the new member failed: %s", resumed.errors());
      checkExactlyOnce(resumed, more);
      committedAtEnd(admin, group, topic);
      return String.format("1,260 records once; the killed member had read %d; %d ms after the kill: %s",
          byKilled, fencedAfterMs, seen[0]);
    } finally {
      for (GroupMember m : live) m.stop();
      if (child != null) child.destroyForcibly();
    }
  }

  @FunctionalInterface
  interface Cond {
    boolean get() throws Exception;
  }

  static void waitFor(Cond cond, long timeoutMs, String what, Log log) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!cond.get()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(what + ": not reached within " + timeoutMs + " ms (" + log.describe() + ")");
      }
      Thread.sleep(50);
    }
  }
}
