package dev.runnel.compat;

import static dev.runnel.compat.Ctx.check;
import static dev.runnel.compat.Ctx.expectEq;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.ClassicGroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.config.ConfigResource;

/** The kafka-clients 4.4 API that 3.9 does not have. */
final class VersionApi {
  private VersionApi() {}

  /** 4.x uses transactions v2 (KIP-890) when the broker's transaction.version is 2. */
  static final boolean TRANSACTIONS_V2 = true;

  static void register(Map<String, Scenario> m) {
    m.put("consumer_protocol", VersionApi::consumerProtocol);
    m.put("transactions_v1", VersionApi::transactionsV1);
    m.put("consumer_protocol_members", ConsumerProtocolMembers::run);
    m.put("group_migration", GroupMigration::run);
    m.put("admin_force_terminate", VersionApi::forceTerminate);
  }

  /**
   * The transactions scenario with the broker's transaction.version lowered to 1
   * (Admin.updateFeatures, a safe downgrade): the 4.4 producer falls back to transactions v1
   * (AddPartitionsToTxn, AddOffsetsToTxn, no epoch bump). The level is raised back to 2.
   */
  static String transactionsV1(Ctx ctx) throws Exception {
    try (var admin = ctx.admin()) {
      setTransactionVersion(admin, (short) 1, FeatureUpdate.UpgradeType.SAFE_DOWNGRADE);
      try {
        String result = Scenarios.transactions(ctx, "txn1");
        check(result.endsWith("transactions v1"), "transaction.version 1: %s", result);
        return result;
      } finally {
        setTransactionVersion(admin, (short) 2, FeatureUpdate.UpgradeType.UPGRADE);
      }
    }
  }

  static void setTransactionVersion(Admin admin, short level, FeatureUpdate.UpgradeType type)
      throws Exception {
    admin.updateFeatures(Map.of("transaction.version", new FeatureUpdate(level, type)),
        new UpdateFeaturesOptions()).all().get();
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      var f = admin.describeFeatures().featureMetadata().get().finalizedFeatures()
          .get("transaction.version");
      short now = f == null ? 0 : f.maxVersionLevel();
      if (now == level) return;
      check(System.currentTimeMillis() < deadline, "transaction.version is %d, not %d", now, level);
      Thread.sleep(100);
    }
  }

  /**
   * forceTerminateTransaction (4.1+, KIP-939, an InitProducerId for the id): the open
   * transaction is aborted, its records never visible to read_committed, its producer fenced,
   * the id Empty with a newer epoch.
   */
  static String forceTerminate(Ctx ctx) throws Exception {
    String topic = ctx.name("adm-terminate");
    String id = ctx.name("adm-terminate");
    ctx.createTopic(topic, 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    var pp = ctx.producerProps("adm-terminate");
    pp.put("transactional.id", id);
    try (Admin admin = ctx.admin(); KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(topic, 0, null, Ctx.bytes("open-0"))).get();
      p.send(new ProducerRecord<>(topic, 0, null, Ctx.bytes("open-1"))).get();
      int epoch = admin.describeTransactions(List.of(id)).description(id).get().producerEpoch();
      admin.forceTerminateTransaction(id).result().get();
      TransactionDescription d = null;
      long deadline = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < deadline) {
        d = admin.describeTransactions(List.of(id)).description(id).get();
        if (d.state() == TransactionState.EMPTY) break;
        Thread.sleep(50);
      }
      // As Kafka 4.4 answers: the transaction aborted, then the InitProducerId of the
      // termination leaves the id Empty with a newer epoch.
      expectEq(d.state(), TransactionState.EMPTY, "state after forceTerminateTransaction (" + d + ")");
      check(d.producerEpoch() > epoch && d.topicPartitions().isEmpty(), "after forceTerminateTransaction: %s (epoch before %d)",
          d, epoch);
      long lso = admin.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
          .partitionResult(tp).get().offset();
      expectEq(lso, 3L, "latest read_committed offset after the abort (2 records and the marker)");
      {
        Properties rp = ctx.consumerProps("adm-terminate-reader", null);
        rp.put("isolation.level", "read_committed");
        try (KafkaConsumer<byte[], byte[]> rc = ctx.consumer(rp)) {
          rc.assign(List.of(tp));
          rc.seekToBeginning(List.of(tp));
          int n = 0;
          long readUntil = System.currentTimeMillis() + 1500;
          while (System.currentTimeMillis() < readUntil) n += rc.poll(Duration.ofMillis(200)).count();
          expectEq(n, 0, "records of the terminated transaction seen by read_committed");
          expectEq(rc.position(tp), 3L, "read_committed position after the aborted transaction");
        }
      }
      Ctx.expectFailure(() -> p.commitTransaction(), "committing the terminated transaction",
          ProducerFencedException.class, InvalidProducerEpochException.class);
    }
    return "aborted";
  }

  /** listGroups and describeClassicGroups (4.1+) of the Stable one-member group of admin_groups. */
  static void checkActiveGroup(Admin admin, String group) throws Exception {
    GroupListing l = null;
    for (GroupListing g : admin.listGroups().all().get()) {
      if (g.groupId().equals(group)) l = g;
    }
    check(l != null, "listGroups: %s missing", group);
    expectEq(l.type(), Optional.of(GroupType.CLASSIC), "listGroups type");
    expectEq(l.protocol(), "consumer", "listGroups protocol type");
    expectEq(l.groupState(), Optional.of(GroupState.STABLE), "listGroups state");
    boolean inConsumer = admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get().stream()
        .anyMatch(g -> g.groupId().equals(group));
    check(inConsumer, "listGroups(forConsumerGroups) does not list %s", group);
    var d = admin.describeClassicGroups(List.of(group)).all().get().get(group);
    expectEq(d.state(), ClassicGroupState.STABLE, "describeClassicGroups state");
    expectEq(d.protocol(), "consumer", "describeClassicGroups protocol type");
    expectEq(d.protocolData(), "range", "describeClassicGroups protocol (the assignor)");
    expectEq(d.members().size(), 1, "describeClassicGroups members");
  }

  /**
   * KIP-848: a consumer with group.protocol=consumer reads 3 records of a topic it subscribes to
   * (ConsumerGroupHeartbeat, key 68) and commits them; the admin client lists the group as a
   * consumer group and describes it (ConsumerGroupDescribe, key 69).
   */
  static String consumerProtocol(Ctx ctx) throws Exception {
    String topic = ctx.name("kip848");
    ctx.createTopic(topic, 1);
    try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("kip848"))) {
      for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(topic, 0, null, Ctx.bytes("c" + i)));
      p.flush();
    }
    Properties cp = ctx.consumerProps("kip848", ctx.name("kip848"));
    cp.remove("session.timeout.ms");
    cp.remove("heartbeat.interval.ms");
    cp.put("group.protocol", "consumer");
    try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(cp)) {
      c.subscribe(List.of(topic));
      int n = 0;
      long deadline = System.currentTimeMillis() + 20_000;
      while (n < 3 && System.currentTimeMillis() < deadline) n += c.poll(Duration.ofMillis(200)).count();
      expectEq(n, 3, "records read with group.protocol=consumer");
      c.commitSync();
      String group = cp.getProperty("group.id");
      try (Admin admin = ctx.admin()) {
        // As Kafka 4.4: listed as a consumer group, described by ConsumerGroupDescribe (key 69).
        GroupListing l = null;
        for (GroupListing g : admin.listGroups().all().get()) {
          if (g.groupId().equals(group)) l = g;
        }
        check(l != null, "listGroups: %s missing", group);
        expectEq(l.type(), Optional.of(GroupType.CONSUMER), "listGroups type");
        expectEq(l.protocol(), "consumer", "listGroups protocol type");
        var d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        expectEq(d.type(), GroupType.CONSUMER, "describeConsumerGroups type");
        expectEq(d.groupState(), GroupState.STABLE, "describeConsumerGroups state");
        expectEq(d.partitionAssignor(), "uniform", "describeConsumerGroups assignor");
        expectEq(d.members().size(), 1, "describeConsumerGroups members");
        expectEq(d.members().iterator().next().assignment().topicPartitions(),
            Set.of(new TopicPartition(topic, 0)), "describeConsumerGroups assignment");
        var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        expectEq(offsets.get(new TopicPartition(topic, 0)).offset(), 3L, "committed offset");
      }
    }
    return "3 records, group described";
  }

  static void registerUnsupported(Map<String, Scenario> m) {
    m.put("api_listConfigResources", Unsupported.withAdmin("configres", (a, ctx, tp, node) -> {
      var all = a.listConfigResources().all().get();
      check(all.contains(new ConfigResource(ConfigResource.Type.TOPIC, tp.topic())), "%s not listed", tp.topic());
      return all.size() + " resources";
    }));
    m.put("api_describeShareGroups", Unsupported.withAdmin("share", (a, ctx, tp, node) ->
        a.describeShareGroups(List.of(ctx.name("share-group"))).all().get().toString()));
    m.put("api_listShareGroupOffsets", Unsupported.withAdmin("shareoffsets", (a, ctx, tp, node) ->
        a.listShareGroupOffsets(Map.of(ctx.name("share-group"), new ListShareGroupOffsetsSpec())).all().get().toString()));
    m.put("api_describeStreamsGroups", Unsupported.withAdmin("streams", (a, ctx, tp, node) ->
        a.describeStreamsGroups(List.of(ctx.name("streams-group"))).all().get().toString()));
    m.put("api_removeRaftVoter", Unsupported.withAdmin("removevoter", (a, ctx, tp, node) -> {
      a.removeRaftVoter(node + 100, org.apache.kafka.common.Uuid.randomUuid()).all().get();
      return "removed";
    }));
    m.put("api_listTransactions_idPattern", Unsupported.withAdmin("txnpattern", (a, ctx, tp, node) -> {
      String id = ctx.name("txnpattern-id");
      var pp = ctx.producerProps("txnpattern");
      pp.put("transactional.id", id);
      try (var p = ctx.producer(pp)) {
        p.initTransactions();
      }
      var l = a.listTransactions(new ListTransactionsOptions().filterOnTransactionalIdPattern(
          java.util.regex.Pattern.quote(ctx.prefix) + "-txnpattern-.*")).all().get();
      check(l.size() == 1 && l.iterator().next().transactionalId().equals(id), "listed %s", l);
      return "listed " + id;
    }));
    m.put("api_listOffsets_earliestPendingUpload", Unsupported.withAdmin("pendingupload", (a, ctx, tp, node) -> {
      long o = a.listOffsets(Map.of(tp, OffsetSpec.earliestPendingUpload())).partitionResult(tp).get().offset();
      return "offset " + o;
    }));
  }
}
