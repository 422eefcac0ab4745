package dev.runnel.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One member of a group, for the consumer_protocol_members (group.protocol=consumer) and
 * group_migration (classic or consumer) scenarios: it subscribes to one topic, commits
 * (commitSync) what each poll returned before it polls again, and reports one line per event,
 * fields separated by tabs:
 *
 * <pre>
 *   assigned|revoked|lost  member  microseconds since the epoch  partitions (0,3)
 *   records                member  microseconds                  partition:offset:value ...
 *   deferred               member  microseconds                  (commit interval only, see below)
 *   stopped                member  microseconds
 *   error                  member  microseconds                  what
 * </pre>
 *
 * A records line is written after its commit succeeded, so what a member reports is what it
 * consumed and committed. With a commit interval (group_migration) it commits as an application
 * that commits periodically does: a records line is written when poll returned the records, their
 * offsets are committed every interval and, for the partitions revoked or lost, in
 * onPartitionsRevoked/onPartitionsLost (before the line of the callback); what it reports is
 * what it consumed. A classic member cannot commit while it rejoins (RebalanceInProgressException):
 * the periodic commit is then deferred (a deferred line) until after the next poll. Once stopped,
 * it polls until everything it consumed is committed, then closes. The times come from the wall
 * clock (Instant.now(), microseconds), the one clock all members share, also those in other
 * processes on the machine.
 *
 * It runs as a thread of the scenario or, to be killed, in a JVM of its own (main): then the
 * lines go to stdout, and "stop" on stdin makes it finish its poll, commit, report "stopped" and
 * keep the consumer open (its heartbeats go on) until the process is killed. End of stdin ends
 * the process.
 */
final class GroupMember implements Runnable {
  final String name;
  private final Properties props;
  private final String topic;
  private final Consumer<String> sink;
  private final boolean holdWhenStopped;
  private final long commitIntervalMs;
  /** Offsets consumed and not yet committed (commit interval only). */
  private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
  private volatile boolean stop;

  GroupMember(String name, Properties props, String topic, Consumer<String> sink, boolean holdWhenStopped) {
    this(name, props, topic, sink, holdWhenStopped, 0);
  }

  GroupMember(String name, Properties props, String topic, Consumer<String> sink, boolean holdWhenStopped,
      long commitIntervalMs) {
    this.name = name;
    this.props = props;
    this.topic = topic;
    this.sink = sink;
    this.holdWhenStopped = holdWhenStopped;
    this.commitIntervalMs = commitIntervalMs;
  }

  /** Consumer settings of a member: group.protocol=consumer, no auto-commit. */
  static Properties props(String bootstrap, String clientId, String group) {
    return props(bootstrap, clientId, group, "consumer");
  }

  /**
   * The same with group.protocol `protocol`; a classic member uses the CooperativeStickyAssignor
   * and Ctx.consumerProps's session timeout and heartbeats.
   */
  static Properties props(String bootstrap, String clientId, String group, String protocol) {
    Properties p = Ctx.common(bootstrap, clientId);
    p.put("group.id", group);
    p.put("group.protocol", protocol);
    if (protocol.equals("classic")) {
      p.put("partition.assignment.strategy", CooperativeStickyAssignor.class.getName());
      p.put("session.timeout.ms", "10000");
      p.put("heartbeat.interval.ms", "300");
    }
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("max.poll.interval.ms", "30000");
    return p;
  }

  void stop() {
    stop = true;
  }

  static long micros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  private void emit(String event, String payload) {
    sink.accept(event + "\t" + name + "\t" + micros() + (payload == null ? "" : "\t" + payload));
  }

  private void emitPartitions(String event, Collection<TopicPartition> ps) {
    if (ps.isEmpty()) return;
    TreeSet<Integer> sorted = new TreeSet<>();
    for (TopicPartition tp : ps) sorted.add(tp.partition());
    StringBuilder sb = new StringBuilder();
    for (int p : sorted) sb.append(sb.length() == 0 ? "" : ",").append(p);
    emit(event, sb.toString());
  }

  @Override
  public void run() {
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
      c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> ps) {
          emitPartitions("assigned", ps);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> ps) {
          commitPending(c, ps);
          emitPartitions("revoked", ps);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> ps) {
          commitPending(c, ps);
          emitPartitions("lost", ps);
        }
      });
      long nextCommit = System.currentTimeMillis() + commitIntervalMs;
      long stopBy = 0;
      // Once stopped, the member polls until what it consumed is committed: a classic member
      // cannot commit during a rebalance, and closed during one it loses its partitions
      // (onPartitionsLost, where no commit succeeds), so its close must leave no offset behind.
      while (!stop || !pending.isEmpty()) {
        if (stop && stopBy == 0) stopBy = System.currentTimeMillis() + 10_000;
        Ctx.check(stopBy == 0 || System.currentTimeMillis() < stopBy, "no commit succeeded within 10 s of the stop");
        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
        StringBuilder sb = new StringBuilder();
        for (ConsumerRecord<byte[], byte[]> r : rs) {
          pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          sb.append(sb.length() == 0 ? "" : " ").append(r.partition()).append(':').append(r.offset())
              .append(':').append(Ctx.str(r.value()));
        }
        if (commitIntervalMs == 0) commitPending(c, pending.keySet());
        if (!rs.isEmpty()) emit("records", sb.toString());
        if (commitIntervalMs > 0 && (stop || System.currentTimeMillis() >= nextCommit)) {
          try {
            commitPending(c, pending.keySet());
          } catch (RebalanceInProgressException e) {
            // A classic member rejoining (commitSync's documented refusal): the next poll
            // completes the rebalance, the commit is tried again after it.
            emit("deferred", null);
          }
          nextCommit = System.currentTimeMillis() + commitIntervalMs;
        }
      }
      emit("stopped", null);
      if (holdWhenStopped) {
        Thread.sleep(Long.MAX_VALUE);
      }
    } catch (Throwable t) {
      emit("error", (t.getClass().getName() + ": " + t.getMessage()).replace('\t', ' ').replace('\n', ' '));
    }
  }

  /** Commits (commitSync) the pending offsets of these partitions. */
  private void commitPending(KafkaConsumer<byte[], byte[]> c, Collection<TopicPartition> ps) {
    Map<TopicPartition, OffsetAndMetadata> now = new HashMap<>();
    for (TopicPartition tp : ps) {
      OffsetAndMetadata o = pending.get(tp);
      if (o != null) now.put(tp, o);
    }
    if (now.isEmpty()) return;
    c.commitSync(now);
    pending.keySet().removeAll(now.keySet());
  }

  /** A member in its own JVM: GroupMember BOOTSTRAP CLIENT_ID GROUP TOPIC. */
  public static void main(String[] args) throws Exception {
    GroupMember m = new GroupMember(args[1], props(args[0], args[1], args[2]), args[3], line -> {
      synchronized (System.out) {
        System.out.println(line);
        System.out.flush();
      }
    }, true);
    Thread control = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.trim().equals("stop")) m.stop();
        }
      } catch (Exception e) {
        // the scenario is gone: so is this member
      }
      Runtime.getRuntime().halt(3);
    }, "control");
    control.setDaemon(true);
    control.start();
    m.run();
    Runtime.getRuntime().halt(0);
  }
}
