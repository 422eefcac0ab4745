package dev.runnel.bench;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The rebalance scenario of runnel-bench (docs/benchmarks.md): the time from a member joining or
 * leaving a consumer group to every partition of its topic being owned again, seen from the
 * members' assignment callbacks. One JVM, one KafkaConsumer thread per member.
 *
 * <p>Per protocol: MEMBERS - 1 members form the group; then, RUNS times, one more member joins
 * (timed until the group is balanced again) and the oldest member closes (timed the same way).
 * Each event starts after a random wait shorter than a heartbeat interval.
 * "Balanced" is: every partition owned by exactly one live member, and every live member owning
 * floor(P/L) or ceil(P/L) partitions (what the range, cooperative-sticky and uniform assignors
 * give for one topic). The time taken is the callback that made the group balanced, once no
 * callback has changed anything for SETTLE_MS (a later change restarts that wait, and the time of
 * the last balancing callback counts).
 *
 * <p>Usage: RebalanceTimer key=value... with bootstrap, topic, partitions, members, runs,
 * protocols (classic-range, classic-coop, consumer; comma-separated), heartbeat_ms (the classic
 * members' heartbeat.interval.ms), settle_ms, event_timeout_s and results (a file). Writes to
 * the results file, line by line:
 *
 * <pre>
 *   formed PROTOCOL MS
 *   result PROTOCOL join|leave RUN MS DOUBLE_OWNED
 *   done
 * </pre>
 *
 * DOUBLE_OWNED counts the assignment callbacks during the event that handed a member a partition
 * another member still owned (0 unless a broker gave a partition away before its owner revoked
 * it). Errors go to stderr and end the program with status 1.
 */
public final class RebalanceTimer {
  private RebalanceTimer() {}

  /** Who owns what, from the members' callbacks; every method runs under the object's lock. */
  static final class Ownership {
    private final int partitions;
    private final Map<Integer, Set<String>> owners = new HashMap<>();
    private final Map<String, Set<Integer>> held = new HashMap<>();
    private final Set<String> live = new HashSet<>();
    private long balancedSinceNs = -1;
    private long lastChangeNs = System.nanoTime();
    private int doubleOwned;

    Ownership(int partitions) {
      this.partitions = partitions;
      for (int p = 0; p < partitions; p++) owners.put(p, new HashSet<>());
    }

    synchronized void assigned(String member, Collection<TopicPartition> tps) {
      Set<Integer> mine = held.computeIfAbsent(member, m -> new HashSet<>());
      for (TopicPartition tp : tps) {
        Set<String> o = owners.get(tp.partition());
        if (o == null) continue;
        if (!o.isEmpty() && !o.contains(member)) doubleOwned++;
        o.add(member);
        mine.add(tp.partition());
      }
      changed();
    }

    synchronized void revoked(String member, Collection<TopicPartition> tps) {
      Set<Integer> mine = held.computeIfAbsent(member, m -> new HashSet<>());
      for (TopicPartition tp : tps) {
        Set<String> o = owners.get(tp.partition());
        if (o != null) o.remove(member);
        mine.remove(tp.partition());
      }
      changed();
    }

    /** A closed member owns nothing, whatever its callbacks said. */
    synchronized void released(String member) {
      Set<Integer> mine = held.remove(member);
      if (mine != null) {
        for (int p : mine) owners.get(p).remove(member);
      }
      changed();
    }

    synchronized void setLive(String member, boolean on) {
      if (on) {
        live.add(member);
      } else {
        live.remove(member);
      }
      changed();
    }

    synchronized int doubleOwned() {
      return doubleOwned;
    }

    synchronized void resetDoubleOwned() {
      doubleOwned = 0;
    }

    /** The time the group became balanced, once it has stayed so for settleNs; else -1. */
    synchronized long settledSince(long settleNs) {
      if (balancedSinceNs < 0 || System.nanoTime() - lastChangeNs < settleNs) return -1;
      return balancedSinceNs;
    }

    synchronized String describe() {
      StringBuilder sb = new StringBuilder("live=" + live.size());
      int unowned = 0;
      int shared = 0;
      for (Set<String> o : owners.values()) {
        if (o.isEmpty()) unowned++;
        if (o.size() > 1) shared++;
      }
      sb.append(" unowned=").append(unowned).append(" owned-twice=").append(shared);
      for (String m : live) {
        sb.append(' ').append(m).append('=').append(held.getOrDefault(m, Set.of()).size());
      }
      return sb.toString();
    }

    private void changed() {
      long now = System.nanoTime();
      lastChangeNs = now;
      if (!balanced()) {
        balancedSinceNs = -1;
      } else if (balancedSinceNs < 0) {
        balancedSinceNs = now;
      }
    }

    private boolean balanced() {
      if (live.isEmpty()) return false;
      for (Set<String> o : owners.values()) {
        if (o.size() != 1 || !live.contains(o.iterator().next())) return false;
      }
      int low = partitions / live.size();
      int high = (partitions + live.size() - 1) / live.size();
      for (String m : live) {
        int n = held.getOrDefault(m, Set.of()).size();
        if (n < low || n > high) return false;
      }
      return true;
    }
  }

  /** One group member: a KafkaConsumer polling on its own thread until stopped. */
  static final class Member implements Runnable {
    final String name;
    private final Properties props;
    private final String topic;
    private final Ownership ownership;
    private final Thread thread;
    private volatile boolean stop;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    volatile Throwable error;

    Member(String name, Properties props, String topic, Ownership ownership) {
      this.name = name;
      this.props = props;
      this.topic = topic;
      this.ownership = ownership;
      this.thread = new Thread(this, name);
      this.thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    void stop() {
      stop = true;
      KafkaConsumer<byte[], byte[]> c = consumer;
      if (c != null) c.wakeup();
    }

    boolean join(long timeoutMs) throws InterruptedException {
      thread.join(timeoutMs);
      return !thread.isAlive();
    }

    @Override
    public void run() {
      try {
        KafkaConsumer<byte[], byte[]> c =
            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer = c;
        try {
          c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
              ownership.revoked(name, tps);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
              ownership.assigned(name, tps);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> tps) {
              ownership.revoked(name, tps);
            }
          });
          while (!stop) {
            try {
              c.poll(Duration.ofMillis(100));
            } catch (WakeupException e) {
              // stop() woke the poll up
            }
          }
        } finally {
          c.close(Duration.ofSeconds(20));
        }
      } catch (Throwable t) {
        error = t;
      } finally {
        ownership.released(name);
      }
    }
  }

  static Map<String, String> parse(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("not key=value: " + a);
      m.put(a.substring(0, eq), a.substring(eq + 1));
    }
    return m;
  }

  static String need(Map<String, String> m, String key) {
    String v = m.get(key);
    if (v == null) throw new IllegalArgumentException("missing " + key + "=");
    return v;
  }

  static Properties consumerProps(
      String bootstrap, String group, String protocol, int heartbeatMs) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    switch (protocol) {
      case "classic-range" -> {
        p.put("group.protocol", "classic");
        p.put("partition.assignment.strategy",
            "org.apache.kafka.clients.consumer.RangeAssignor");
        p.put("heartbeat.interval.ms", Integer.toString(heartbeatMs));
      }
      case "classic-coop" -> {
        p.put("group.protocol", "classic");
        p.put("partition.assignment.strategy",
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
        p.put("heartbeat.interval.ms", Integer.toString(heartbeatMs));
      }
      case "consumer" -> {
        // The heartbeat interval is the broker's group.consumer.heartbeat.interval.ms.
        p.put("group.protocol", "consumer");
        p.put("group.remote.assignor", "uniform");
      }
      default -> throw new IllegalArgumentException("unknown protocol " + protocol);
    }
    return p;
  }

  /** Milliseconds from t0 to the group being balanced and settled; throws past the timeout. */
  static double awaitBalanced(Ownership o, List<Member> members, long t0, long settleNs,
      long timeoutNs, String what) throws Exception {
    while (true) {
      long since = o.settledSince(settleNs);
      if (since >= 0) return (since - t0) / 1e6;
      for (Member m : members) {
        if (m.error != null) {
          throw new IllegalStateException(what + ": member " + m.name + " failed: " + m.error,
              m.error);
        }
      }
      if (System.nanoTime() - t0 > timeoutNs) {
        throw new IllegalStateException(what + ": not balanced within "
            + TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s (" + o.describe() + ")");
      }
      Thread.sleep(5);
    }
  }

  static void stopAll(List<Member> members) throws InterruptedException {
    for (Member m : members) m.stop();
    for (Member m : members) {
      if (!m.join(30_000)) throw new IllegalStateException(m.name + " did not close within 30 s");
    }
  }

  static void runProtocol(Map<String, String> a, String protocol, int run, PrintStream out)
      throws Exception {
    String bootstrap = need(a, "bootstrap");
    String topic = need(a, "topic");
    int partitions = Integer.parseInt(need(a, "partitions"));
    int size = Integer.parseInt(need(a, "members"));
    int runs = Integer.parseInt(need(a, "runs"));
    int heartbeatMs = Integer.parseInt(need(a, "heartbeat_ms"));
    long settleNs = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(need(a, "settle_ms")));
    long timeoutNs = TimeUnit.SECONDS.toNanos(Long.parseLong(need(a, "event_timeout_s")));
    String group = topic + "-" + protocol + "-" + run;
    Properties props = consumerProps(bootstrap, group, protocol, heartbeatMs);
    Ownership o = new Ownership(partitions);
    // A rebalance takes one or two heartbeats, so where an event falls between the members'
    // heartbeats matters: each event waits a random part of an interval first (the same
    // sequence on every broker).
    Random phase = new Random(run + 1);
    List<Member> members = new ArrayList<>();
    List<Member> all = new ArrayList<>();
    int seq = 0;
    try {
      long t0 = System.nanoTime();
      for (int i = 0; i < size - 1; i++) {
        Member m = new Member(protocol + "-" + seq++, props, topic, o);
        members.add(m);
        all.add(m);
        o.setLive(m.name, true);
        m.start();
      }
      double formed = awaitBalanced(o, all, t0, settleNs, timeoutNs, protocol + " formation");
      out.printf(Locale.ROOT, "formed %s %.1f%n", protocol, formed);
      for (int r = 0; r < runs; r++) {
        Thread.sleep(phase.nextInt(heartbeatMs));
        Member joiner = new Member(protocol + "-" + seq++, props, topic, o);
        all.add(joiner);
        o.resetDoubleOwned();
        t0 = System.nanoTime();
        o.setLive(joiner.name, true);
        joiner.start();
        members.add(joiner);
        double ms = awaitBalanced(o, all, t0, settleNs, timeoutNs, protocol + " join " + r);
        out.printf(Locale.ROOT, "result %s join %d %.1f %d%n", protocol, r, ms, o.doubleOwned());

        Thread.sleep(phase.nextInt(heartbeatMs));
        Member leaver = members.remove(0);
        o.resetDoubleOwned();
        t0 = System.nanoTime();
        o.setLive(leaver.name, false);
        leaver.stop();
        ms = awaitBalanced(o, members, t0, settleNs, timeoutNs, protocol + " leave " + r);
        if (!leaver.join(30_000)) {
          throw new IllegalStateException(leaver.name + " did not close within 30 s");
        }
        if (leaver.error != null) {
          throw new IllegalStateException(leaver.name + " failed: " + leaver.error, leaver.error);
        }
        out.printf(Locale.ROOT, "result %s leave %d %.1f %d%n", protocol, r, ms, o.doubleOwned());
      }
    } catch (Exception e) {
      try {
        stopAll(members);
      } catch (Exception s) {
        e.addSuppressed(s);
      }
      throw e;
    }
    stopAll(members);
  }

  public static void main(String[] args) {
    try {
      Map<String, String> a = parse(args);
      String bootstrap = need(a, "bootstrap");
      String topic = need(a, "topic");
      int partitions = Integer.parseInt(need(a, "partitions"));
      Properties admin = new Properties();
      admin.put("bootstrap.servers", bootstrap);
      try (Admin ad = Admin.create(admin)) {
        ad.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      try (PrintStream out = new PrintStream(new FileOutputStream(need(a, "results")), true)) {
        int run = 0;
        for (String protocol : need(a, "protocols").split(",")) {
          runProtocol(a, protocol, run++, out);
        }
        out.println("done");
      }
      System.exit(0);
    } catch (Throwable t) {
      System.err.println("RebalanceTimer: " + t);
      t.printStackTrace();
      System.exit(1);
    }
  }
}
