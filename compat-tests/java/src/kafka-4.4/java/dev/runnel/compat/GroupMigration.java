package dev.runnel.compat;

import static dev.runnel.compat.ConsumerProtocolMembers.PARTITIONS;
import static dev.runnel.compat.ConsumerProtocolMembers.waitFor;
import static dev.runnel.compat.Ctx.check;
import static dev.runnel.compat.Ctx.expectEq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;

/**
 * group_migration: the online migration of a non-empty group between the classic protocol and
 * the consumer protocol (KIP-848; the broker's group.consumer.migration.policy, bidirectional by
 * default), as a rolling upgrade and a rolling downgrade of an application do it.
 *
 * <ol>
 *   <li>6 partitions; a producer sends numbered records (at most RECORDS, for at most
 *       PRODUCE_MS) throughout.</li>
 *   <li>Three group.protocol=classic members (CooperativeStickyAssignor) consume; each commits
 *       (commitSync) every COMMIT_MS and, for the partitions it gives up, in
 *       onPartitionsRevoked/onPartitionsLost (GroupMember with a commit interval).</li>
 *   <li>Rolling upgrade: one at a time, a classic member is closed and a group.protocol=consumer
 *       member started in its place; the next step waits until the three members own every
 *       partition and the group is Stable (see settled). From the first consumer-protocol member
 *       on, describeConsumerGroups reports the group as CONSUMER, with each member's protocol
 *       (upgraded: false for a classic member).</li>
 *   <li>Rolling downgrade: the same back to classic. When the last consumer-protocol member
 *       leaves, the group is CLASSIC again and the two classic members own every partition; the
 *       third classic member joins them.</li>
 *   <li>Checks: every record sent consumed exactly once over the whole run, at its acknowledged
 *       offset, each member in offset order per partition (an offset reset would read a record
 *       twice or skip some; the replacements also run with auto.offset.reset=none); no
 *       partition owned by two members at any moment (ConsumerProtocolMembers.checkOwnership);
 *       the committed offsets at the log end; then a new member resumes at the committed
 *       offsets: exactly the 60 records produced since.</li>
 * </ol>
 */
final class GroupMigration {
  private GroupMigration() {}

  static final int RECORDS = 6_000;
  static final long PRODUCE_MS = 40_000;
  static final long COMMIT_MS = 250;

  /** The producer thread: v0, v1, ... every 5 ms until stopped, RECORDS sent or PRODUCE_MS. */
  static final class Feed implements Runnable {
    final Map<String, long[]> acked = new ConcurrentHashMap<>();
    private final Ctx ctx;
    private final String topic;
    private volatile boolean stop;
    volatile int sent;
    volatile Exception error;

    Feed(Ctx ctx, String topic) {
      this.ctx = ctx;
      this.topic = topic;
    }

    @Override
    public void run() {
      try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("migrate"))) {
        long end = System.currentTimeMillis() + PRODUCE_MS;
        for (int i = 0; i < RECORDS && !stop && System.currentTimeMillis() < end; i++) {
          String v = "v" + i;
          p.send(new ProducerRecord<>(topic, Ctx.bytes("k" + i), Ctx.bytes(v)), (md, e) -> {
            if (e != null) error = e;
            else acked.put(v, new long[] {md.partition(), md.offset()});
          });
          sent = i + 1;
          Thread.sleep(5);
        }
        p.flush();
      } catch (Exception e) {
        error = e;
      }
    }
  }

  /** The group as describeConsumerGroups shows it: type, state, each member's client id and protocol. */
  static String described(Admin admin, String group) throws Exception {
    var d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
    TreeSet<String> ms = new TreeSet<>();
    for (MemberDescription m : d.members()) {
      ms.add(m.clientId() + m.upgraded().map(u -> u ? "(consumer)" : "(classic)").orElse(""));
    }
    return d.type() + " " + d.groupState() + " " + ms;
  }

  /**
   * Waits until these members own every partition and the group is Stable (a consumer group:
   * every member at the group epoch), as a rolling upgrade waits before its next step; returns
   * the group as described. Kafka fences a classic member whose epoch lags the group's when the
   * last consumer-protocol member leaves (the classic group takes the group epoch as its
   * generation: ILLEGAL_GENERATION, the partitions lost, what it had not committed read again).
   */
  static String settled(Admin admin, String group, ConsumerProtocolMembers.Log log, Set<String> members, String what)
      throws Exception {
    String[] seen = {""};
    try {
      waitFor(() -> ConsumerProtocolMembers.ownedOnce(log, members)
          && (seen[0] = described(admin, group)).contains(" " + GroupState.STABLE + " "), 20_000,
          what + ": the members own the 6 partitions, the group Stable", log);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; the group last described: " + seen[0]);
    }
    return seen[0];
  }

  static String run(Ctx ctx) throws Exception {
    ConsumerProtocolMembers.checkTheChecks();
    String topic = ctx.name("migrate");
    String group = ctx.name("migrate");
    ctx.createTopic(topic, PARTITIONS);
    ConsumerProtocolMembers.Log log = new ConsumerProtocolMembers.Log();
    Map<String, GroupMember> live = new LinkedHashMap<>();
    Map<String, Thread> threads = new LinkedHashMap<>();
    Feed feed = new Feed(ctx, topic);
    Thread feeder = new Thread(feed, "feed");
    feeder.setDaemon(true);
    List<String> notes = new ArrayList<>();
    try (Admin admin = ctx.admin()) {
      for (String n : List.of("c1", "c2", "c3")) join(ctx, live, threads, log, group, topic, n, "classic", "earliest");
      check(settled(admin, group, log, live.keySet(), "three classic members").startsWith(GroupType.CLASSIC + " "),
          "the group is not CLASSIC");
      feeder.start();
      // Every partition has a committed offset before the first replacement (which has none to
      // fall back to: auto.offset.reset=none).
      waitFor(() -> admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().size() == PARTITIONS,
          15_000, "a committed offset for every partition", log);

      String[][] steps = {
          {"c1", "k1", "consumer"}, {"c2", "k2", "consumer"}, {"c3", "k3", "consumer"},
          {"k1", "d1", "classic"}, {"k2", "d2", "classic"}, {"k3", "d3", "classic"}};
      for (String[] s : steps) {
        long t0 = System.currentTimeMillis();
        leave(ctx, live, threads, s[0]);
        long left = System.currentTimeMillis() - t0;
        if (s[1].equals("d3")) {
          // The last consumer-protocol member left: the group is classic again, and its two
          // classic members own every partition.
          String seen = settled(admin, group, log, live.keySet(), "the two classic members");
          check(seen.startsWith(GroupType.CLASSIC + " "), "%s left: the group is %s, not CLASSIC", s[0], seen);
          notes.add(String.format("%s left: %s after %d ms", s[0], seen, System.currentTimeMillis() - t0));
        }
        long t1 = System.currentTimeMillis();
        join(ctx, live, threads, log, group, topic, s[1], s[2], "none");
        String seen = settled(admin, group, log, live.keySet(), s[1] + " in place of " + s[0]);
        GroupType want = s[1].equals("d3") ? GroupType.CLASSIC : GroupType.CONSUMER;
        check(seen.startsWith(want + " "), "%s in place of %s: the group is %s, not %s", s[1], s[0], seen, want);
        notes.add(String.format("%s->%s: close %d ms, settled %d ms later, %s", s[0], s[1], left,
            System.currentTimeMillis() - t1, seen));
      }

      feed.stop = true;
      feeder.join(20_000);
      check(!feeder.isAlive() && feed.error == null, "the producer failed: %s", feed.error);
      expectEq(feed.acked.size(), feed.sent, "records acknowledged");
      int total = feed.sent;
      waitFor(() -> log.consumed() >= total, 20_000, "the " + total + " records consumed", log);
      Thread.sleep(500); // anything consumed twice shows up now
      for (String n : new ArrayList<>(live.keySet())) leave(ctx, live, threads, n);
      check(log.errors().isEmpty(), "a member failed: %s", log.errors());
      ConsumerProtocolMembers.checkOwnership(log, GroupMember.micros());
      ConsumerProtocolMembers.checkExactlyOnce(log, feed.acked);
      ConsumerProtocolMembers.committedAtEnd(admin, group, topic);

      // Resume: a new member reads exactly the records produced since.
      ConsumerProtocolMembers.Log resumed = new ConsumerProtocolMembers.Log();
      Map<String, long[]> more = ConsumerProtocolMembers.produce(ctx, topic, RECORDS, 60);
      join(ctx, live, threads, resumed, group, topic, "r", "classic", "none");
      waitFor(() -> ConsumerProtocolMembers.ownedOnce(resumed, live.keySet()) && resumed.consumed() >= 60, 20_000,
          "the new member read the 60 records produced since", resumed);
      Thread.sleep(500);
      leave(ctx, live, threads, ctx.name("r"));
      check(resumed.errors().isEmpty(), "the new member failed: %s", resumed.errors());
      ConsumerProtocolMembers.checkExactlyOnce(resumed, more);
      ConsumerProtocolMembers.committedAtEnd(admin, group, topic);
      long deferred = log.snapshot().stream().filter(e -> e[0].equals("deferred")).count();
      return String.format("%d records once, then 60 resumed; %d periodic commits deferred by a rebalance; %s",
          total, deferred, String.join("; ", notes));
    } finally {
      feed.stop = true;
      for (GroupMember m : live.values()) m.stop();
    }
  }

  static void join(Ctx ctx, Map<String, GroupMember> live, Map<String, Thread> threads, ConsumerProtocolMembers.Log log,
      String group, String topic, String n, String protocol, String offsetReset) {
    var props = GroupMember.props(ctx.bootstrap, ctx.name(n), group, protocol);
    props.put("auto.offset.reset", offsetReset);
    GroupMember m = new GroupMember(ctx.name(n), props, topic, log::add, false, COMMIT_MS);
    live.put(m.name, m);
    threads.put(m.name, ConsumerProtocolMembers.startThread(m));
  }

  /** Closes a member (its last commit, revocation, leave) and waits until it is closed. */
  static void leave(Ctx ctx, Map<String, GroupMember> live, Map<String, Thread> threads, String n)
      throws InterruptedException {
    String name = n.startsWith(ctx.prefix + "-") ? n : ctx.name(n);
    live.remove(name).stop();
    Thread t = threads.remove(name);
    t.join(15_000);
    check(!t.isAlive(), "%s did not close within 15 s", name);
  }
}
