package dev.runnel.compat;

import static dev.runnel.compat.Ctx.bytes;
import static dev.runnel.compat.Ctx.check;
import static dev.runnel.compat.Ctx.expectEq;
import static dev.runnel.compat.Ctx.expectFailure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.GroupSubscribedToTopicException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Every Admin call Runnel implements, with the answers checked. */
@SuppressWarnings("deprecation") // ConsumerGroupDescription.state() and friends, still in 4.4
final class AdminScenarios {
  private AdminScenarios() {}

  static void register(Map<String, Scenario> m) {
    m.put("admin_cluster", AdminScenarios::cluster);
    m.put("admin_topics", AdminScenarios::topics);
    m.put("admin_list_offsets", AdminScenarios::listOffsets);
    m.put("admin_groups", AdminScenarios::groups);
    m.put("admin_transactions", AdminScenarios::transactions);
    m.put("admin_errors", AdminScenarios::errors);
  }

  /**
   * Refusals, with the exceptions Kafka 4.4 answers: a missing group (described, its offsets
   * listed and deleted), a missing topic (listOffsets, createPartitions), bad topics (config
   * value, unknown config, name, 0 partitions), createPartitions validateOnly, authorized
   * operations without an authorizer (all of them), offsets altered and a member removed
   * while the group is active, committed() of a partition never committed.
   */
  static String errors(Ctx ctx) throws Exception {
    String topic = ctx.name("adm-errors");
    String group = ctx.name("adm-errors");
    String noGroup = ctx.name("no-group");
    ctx.createTopic(topic, 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    try (Admin admin = ctx.admin()) {
      // Kafka answers GroupIdNotFoundException through DescribeGroups v6 / ConsumerGroupDescribe
      // (which the 4.4 client uses when the broker has them) and state Dead with no members
      // through DescribeGroups v5 and older.
      Throwable t = Ctx.failureOf(() -> {
        var d = admin.describeConsumerGroups(List.of(noGroup)).all().get().get(noGroup);
        check(d.state() == ConsumerGroupState.DEAD && d.members().isEmpty(), "a missing group described as %s", d);
      });
      check(t == null || t instanceof GroupIdNotFoundException, "describeConsumerGroups of a missing group: %s", t);
      expectEq(admin.listConsumerGroupOffsets(noGroup).partitionsToOffsetAndMetadata().get(), Map.of(),
          "listConsumerGroupOffsets of a missing group");
      expectFailure(() -> admin.deleteConsumerGroupOffsets(noGroup, Set.of(tp)).all().get(),
          "deleteConsumerGroupOffsets of a missing group", GroupIdNotFoundException.class);
      expectFailure(() -> admin.listOffsets(Map.of(new TopicPartition(ctx.name("no-topic"), 0), OffsetSpec.latest()))
          .all().get(), "listOffsets of a missing topic", UnknownTopicOrPartitionException.class);
      expectFailure(() -> admin.createTopics(List.of(new NewTopic(ctx.name("bad-cfg"), 1, (short) 1)
          .configs(Map.of("retention.ms", "soon")))).all().get(), "a malformed retention.ms",
          InvalidConfigurationException.class);
      expectFailure(() -> admin.createTopics(List.of(new NewTopic(ctx.name("unknown-cfg"), 1, (short) 1)
          .configs(Map.of("no.such.config", "1")))).all().get(), "an unknown topic config",
          InvalidConfigurationException.class);
      expectFailure(() -> admin.createTopics(List.of(new NewTopic("bad/name", 1, (short) 1))).all().get(),
          "an invalid topic name", InvalidTopicException.class);
      expectFailure(() -> admin.createTopics(List.of(new NewTopic(ctx.name("zero"), 0, (short) 1))).all().get(),
          "0 partitions", InvalidPartitionsException.class);
      admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3)),
          new CreatePartitionsOptions().validateOnly(true)).all().get();
      expectEq(describe(admin, topic).partitions().size(), 1, "partitions after a validateOnly createPartitions");
      expectFailure(() -> admin.createPartitions(Map.of(ctx.name("no-topic"), NewPartitions.increaseTo(3))).all().get(),
          "createPartitions of a missing topic", UnknownTopicOrPartitionException.class);
      var topicOps = admin.describeTopics(List.of(topic), new DescribeTopicsOptions().includeAuthorizedOperations(true))
          .allTopicNames().get().get(topic).authorizedOperations();
      expectEq(topicOps, Set.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
          AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS),
          "a topic's authorized operations");
      var clusterOps = admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true))
          .authorizedOperations().get();
      expectEq(clusterOps, Set.of(AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.IDEMPOTENT_WRITE,
          AclOperation.ALTER_CONFIGS, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS),
          "the cluster's authorized operations");

      Properties cp = ctx.consumerProps("adm-errors", group);
      cp.put("group.protocol", "classic");
      try (KafkaConsumer<byte[], byte[]> c = ctx.consumer(cp)) {
        c.subscribe(List.of(topic));
        long deadline = System.currentTimeMillis() + 10_000;
        while (c.assignment().isEmpty() && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(100));
        expectEq(c.assignment(), Set.of(tp), "assignment");
        expectFailure(() -> admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(0))).all().get(),
            "alterConsumerGroupOffsets of an active group", UnknownMemberIdException.class);
        expectFailure(() -> admin.removeMembersFromConsumerGroup(group, new RemoveMembersFromConsumerGroupOptions(
            List.of(new MemberToRemove("nobody")))).all().get(), "removing an unknown static member",
            UnknownMemberIdException.class);
        Map<TopicPartition, OffsetAndMetadata> never = new HashMap<>();
        never.put(tp, null);
        expectEq(c.committed(Set.of(tp)), never, "committed() of a partition never committed");
      }
      return "describeConsumerGroups of a missing group: " + (t == null ? "Dead" : t.getClass().getSimpleName());
    }
  }

  static Node onlyNode(Admin admin) throws Exception {
    Collection<Node> nodes = admin.describeCluster().nodes().get();
    expectEq(nodes.size(), 1, "nodes of the cluster");
    return nodes.iterator().next();
  }

  /** describeCluster: one node at the bootstrap address, which is the controller; a cluster id. */
  static String cluster(Ctx ctx) throws Exception {
    try (Admin admin = ctx.admin()) {
      DescribeClusterResult r = admin.describeCluster();
      Node node = onlyNode(admin);
      expectEq(node.host() + ":" + node.port(), ctx.bootstrap, "the node's address");
      expectEq(r.controller().get(), node, "the controller");
      String id = r.clusterId().get();
      check(id != null && !id.isEmpty(), "cluster id: %s", id);
      expectEq(admin.describeCluster().clusterId().get(), id, "the cluster id, asked again");
      var features = admin.describeFeatures().featureMetadata().get();
      return "node " + node.id() + ", cluster " + id + ", features " + features.finalizedFeatures().keySet();
    }
  }

  static TopicDescription describe(Admin admin, String topic) throws Exception {
    return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
  }

  /**
   * createTopics (configs returned, existing topic, replication factor 3, validateOnly), listTopics
   * (internal topics only when asked), describeTopics by name and by id, describeConfigs of the
   * topic and the broker, createPartitions (grow; shrink refused), deleteTopics by name and by id.
   */
  static String topics(Ctx ctx) throws Exception {
    String t1 = ctx.name("adm-topic");
    String t2 = ctx.name("adm-topic-byid");
    String dry = ctx.name("adm-dry");
    try (Admin admin = ctx.admin()) {
      Node node = onlyNode(admin);
      CreateTopicsResult cr = admin.createTopics(List.of(
          new NewTopic(t1, 2, (short) 1).configs(Map.of("retention.ms", "3600000", "cleanup.policy", "compact")),
          new NewTopic(t2, Optional.of(3), Optional.empty())));
      cr.all().get();
      expectEq(cr.numPartitions(t1).get(), 2, "numPartitions in the CreateTopics answer");
      expectEq(cr.replicationFactor(t1).get(), 1, "replicationFactor in the CreateTopics answer");
      expectEq(cr.numPartitions(t2).get(), 3, "numPartitions of a topic created with the default replication");
      Config created = cr.config(t1).get();
      expectEq(created.get("retention.ms").value(), "3600000", "retention.ms in the CreateTopics answer");
      expectEq(created.get("cleanup.policy").value(), "compact", "cleanup.policy in the CreateTopics answer");
      Uuid id1 = cr.topicId(t1).get();
      Uuid id2 = cr.topicId(t2).get();
      check(!id1.equals(Uuid.ZERO_UUID) && !id1.equals(id2), "topic ids %s %s", id1, id2);

      expectFailure(() -> admin.createTopics(List.of(new NewTopic(t1, 1, (short) 1))).all().get(),
          "creating an existing topic", TopicExistsException.class);
      expectFailure(() -> admin.createTopics(List.of(new NewTopic(ctx.name("adm-rf3"), 1, (short) 3))).all().get(),
          "replication factor 3 on one broker", InvalidReplicationFactorException.class);
      admin.createTopics(List.of(new NewTopic(dry, 1, (short) 1)), new CreateTopicsOptions().validateOnly(true)).all().get();

      // Kafka's brokers learn of new topics from the controller a moment later.
      Ctx.waitUntil(() -> {
        try {
          Set<String> now = admin.listTopics().names().get();
          return now.contains(t1) && now.contains(t2);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }, 10_000, "listTopics listing " + t1 + " and " + t2);
      Set<String> names = admin.listTopics().names().get();
      check(!names.contains(dry), "listTopics: the validateOnly topic %s exists", dry);
      check(!names.contains("__consumer_offsets"), "listTopics lists __consumer_offsets without listInternal");

      TopicDescription d = describe(admin, t1);
      expectEq(d.name(), t1, "describeTopics name");
      expectEq(d.topicId(), id1, "describeTopics topic id");
      expectEq(d.isInternal(), false, "describeTopics internal");
      expectEq(d.partitions().size(), 2, "describeTopics partitions");
      for (TopicPartitionInfo p : d.partitions()) {
        expectEq(p.leader(), node, "leader of partition " + p.partition());
        expectEq(p.replicas(), List.of(node), "replicas of partition " + p.partition());
        expectEq(p.isr(), List.of(node), "isr of partition " + p.partition());
      }
      // One partition per answer: the client follows DescribeTopicPartitions' cursor through
      // both topics.
      var paged = admin.describeTopics(List.of(t1, t2), new DescribeTopicsOptions().partitionSizeLimitPerResponse(1))
          .allTopicNames().get();
      for (var e : Map.of(t1, 2, t2, 3).entrySet()) {
        List<Integer> indexes = new ArrayList<>();
        for (TopicPartitionInfo p : paged.get(e.getKey()).partitions()) indexes.add(p.partition());
        expectEq(indexes.size(), e.getValue(), "partitions of " + e.getKey() + " described one per answer");
        for (int i = 0; i < indexes.size(); i++) expectEq(indexes.get(i), i, "partition " + i + " of " + e.getKey());
      }
      var byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id2))).allTopicIds().get();
      expectEq(byId.get(id2).name(), t2, "describeTopics by id");
      expectEq(byId.get(id2).partitions().size(), 3, "partitions of the topic described by id");
      expectFailure(() -> describe(admin, ctx.name("adm-missing")), "describeTopics of a missing topic", UnknownTopicOrPartitionException.class);

      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t1);
      Config cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
      expectEq(cfg.get("retention.ms").value(), "3600000", "describeConfigs retention.ms");
      expectEq(cfg.get("retention.ms").source(), ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "source of retention.ms");
      expectEq(cfg.get("cleanup.policy").value(), "compact", "describeConfigs cleanup.policy");
      expectEq(cfg.get("segment.bytes").value(), "1073741824", "describeConfigs segment.bytes");
      expectEq(cfg.get("segment.bytes").source(), ConfigEntry.ConfigSource.DEFAULT_CONFIG, "source of segment.bytes");
      ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(node.id()));
      Config bcfg = admin.describeConfigs(List.of(broker)).all().get().get(broker);
      expectEq(bcfg.get("num.partitions").value(), "1", "the broker's num.partitions");
      expectEq(bcfg.get("auto.create.topics.enable").source(), ConfigEntry.ConfigSource.DEFAULT_CONFIG,
          "source of auto.create.topics.enable");
      ConfigResource missing = new ConfigResource(ConfigResource.Type.TOPIC, ctx.name("adm-missing"));
      expectFailure(() -> admin.describeConfigs(List.of(missing)).all().get(), "describeConfigs of a missing topic", UnknownTopicOrPartitionException.class);

      admin.createPartitions(Map.of(t1, NewPartitions.increaseTo(4))).all().get();
      expectEq(describe(admin, t1).partitions().size(), 4, "partitions after createPartitions");
      expectFailure(() -> admin.createPartitions(Map.of(t1, NewPartitions.increaseTo(3))).all().get(),
          "shrinking a topic", InvalidPartitionsException.class);

      Set<String> internal = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
      admin.deleteTopics(List.of(t1)).all().get();
      admin.deleteTopics(TopicCollection.ofTopicIds(List.of(id2))).all().get();
      Ctx.waitUntil(() -> {
        try {
          Set<String> now = admin.listTopics().names().get();
          return !now.contains(t1) && !now.contains(t2);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }, 10_000, "deleted topics gone from listTopics");
      expectFailure(() -> describe(admin, t1), "describeTopics of a deleted topic", UnknownTopicOrPartitionException.class);
      expectFailure(() -> admin.deleteTopics(List.of(t1)).all().get(), "deleting a deleted topic", UnknownTopicOrPartitionException.class);
      return "ids " + id1 + " " + id2 + "; internal topics listed: "
          + internal.stream().filter(n -> n.startsWith("__")).sorted().collect(Collectors.toList());
    }
  }

  /**
   * listOffsets: earliest, latest, by timestamp, max timestamp, earliest-local, latest-tiered,
   * read_committed (held at the first record of an open transaction).
   */
  static String listOffsets(Ctx ctx) throws Exception {
    String topic = ctx.name("adm-offsets");
    ctx.createTopic(topic, 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    long base = (System.currentTimeMillis() / 1000) * 1000 - 100_000;
    long[] ts = {0, 1000, 5000, 3000, 4000};  // the largest timestamp is not the last record's
    try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("adm-offsets"))) {
      for (int i = 0; i < ts.length; i++) p.send(new ProducerRecord<>(topic, 0, base + ts[i], null, bytes("o" + i))).get();
    }
    try (Admin admin = ctx.admin()) {
      Map<String, OffsetSpec> specs = new java.util.LinkedHashMap<>();
      specs.put("earliest", OffsetSpec.earliest());
      specs.put("latest", OffsetSpec.latest());
      specs.put("forTimestamp(base+2500)", OffsetSpec.forTimestamp(base + 2500));
      specs.put("forTimestamp(past the end)", OffsetSpec.forTimestamp(base + 10_000));
      specs.put("maxTimestamp", OffsetSpec.maxTimestamp());
      specs.put("earliestLocal", OffsetSpec.earliestLocal());
      specs.put("latestTiered", OffsetSpec.latestTiered());
      Map<String, ListOffsetsResultInfo> got = new HashMap<>();
      for (var e : specs.entrySet()) {
        got.put(e.getKey(), admin.listOffsets(Map.of(tp, e.getValue())).partitionResult(tp).get());
      }
      expectEq(got.get("earliest").offset(), 0L, "earliest");
      expectEq(got.get("latest").offset(), 5L, "latest");
      expectEq(got.get("forTimestamp(base+2500)").offset(), 2L, "offset of the first timestamp >= base+2500");
      expectEq(got.get("forTimestamp(base+2500)").timestamp(), base + 5000, "its timestamp");
      expectEq(got.get("forTimestamp(past the end)").offset(), -1L, "offset for a timestamp past the end");
      expectEq(got.get("maxTimestamp").offset(), 2L, "offset of the largest timestamp");
      expectEq(got.get("maxTimestamp").timestamp(), base + 5000, "the largest timestamp");
      // Without tiered storage, as Kafka answers: the local log start, and no tiered offset.
      expectEq(got.get("earliestLocal").offset(), 0L, "earliestLocal");
      expectEq(got.get("latestTiered").offset(), -1L, "latestTiered");

      Properties tp2 = ctx.producerProps("adm-offsets-txn");
      tp2.put("transactional.id", ctx.name("adm-offsets-txn"));
      try (KafkaProducer<byte[], byte[]> p = ctx.producer(tp2)) {
        p.initTransactions();
        p.beginTransaction();
        p.send(new ProducerRecord<>(topic, 0, null, bytes("open"))).get();
        long committed = admin.listOffsets(Map.of(tp, OffsetSpec.latest()),
            new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(tp).get().offset();
        long uncommitted = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
        expectEq(committed, 5L, "latest read_committed with a transaction open at offset 5");
        expectEq(uncommitted, 6L, "latest read_uncommitted with a transaction open at offset 5");
        p.commitTransaction();
      }
      long after = admin.listOffsets(Map.of(tp, OffsetSpec.latest()),
          new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(tp).get().offset();
      expectEq(after, 7L, "latest read_committed after the commit (record and marker)");
    }
    return "7 offsets checked";
  }

  /**
   * A classic group with one member: listConsumerGroups, describeConsumerGroups,
   * listConsumerGroupOffsets; deleteConsumerGroups and deleteConsumerGroupOffsets refused while
   * it is active; removeMembersFromConsumerGroup empties it; alterConsumerGroupOffsets,
   * deleteConsumerGroupOffsets and deleteConsumerGroups on the empty group.
   */
  static String groups(Ctx ctx) throws Exception {
    String topic = ctx.name("adm-group");
    String group = ctx.name("adm-group");
    ctx.createTopic(topic, 2);
    TopicPartition p0 = new TopicPartition(topic, 0);
    TopicPartition p1 = new TopicPartition(topic, 1);
    try (KafkaProducer<byte[], byte[]> p = ctx.producer(ctx.producerProps("adm-group"))) {
      for (int i = 0; i < 6; i++) p.send(new ProducerRecord<>(topic, i < 4 ? 0 : 1, null, bytes("g" + i)));
      p.flush();
    }
    Properties cp = ctx.consumerProps("adm-group-member", group);
    cp.put("group.protocol", "classic");
    KafkaConsumer<byte[], byte[]> c = ctx.consumer(cp);
    try (Admin admin = ctx.admin()) {
      Node node = onlyNode(admin);
      c.subscribe(List.of(topic));
      int n = 0;
      long deadline = System.currentTimeMillis() + 20_000;
      while (n < 6 && System.currentTimeMillis() < deadline) n += c.poll(Duration.ofMillis(200)).count();
      expectEq(n, 6, "records read by the member");
      c.commitSync();

      Map<String, ConsumerGroupListing> listed = new HashMap<>();
      for (var l : admin.listConsumerGroups().all().get()) listed.put(l.groupId(), l);
      check(listed.containsKey(group), "listConsumerGroups: %s missing from %s", group, listed.keySet());
      expectEq(listed.get(group).state(), Optional.of(ConsumerGroupState.STABLE), "listed state");
      expectEq(listed.get(group).isSimpleConsumerGroup(), false, "listed simple");
      var stable = admin.listConsumerGroups(new org.apache.kafka.clients.admin.ListConsumerGroupsOptions()
          .inStates(Set.of(ConsumerGroupState.EMPTY))).all().get();
      check(stable.stream().noneMatch(l -> l.groupId().equals(group)), "the Stable group listed as Empty");

      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
      expectEq(d.state(), ConsumerGroupState.STABLE, "described state");
      expectEq(d.partitionAssignor(), "range", "described assignor");
      expectEq(d.coordinator(), node, "described coordinator");
      expectEq(d.isSimpleConsumerGroup(), false, "described simple");
      expectEq(d.members().size(), 1, "described members");
      MemberDescription m = d.members().iterator().next();
      expectEq(m.clientId(), ctx.prefix + "-adm-group-member", "member client id");
      expectEq(m.assignment().topicPartitions(), Set.of(p0, p1), "member assignment");
      VersionApi.checkActiveGroup(admin, group);

      var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      expectEq(offsetsOf(offsets), Map.of(p0, 4L, p1, 2L), "listConsumerGroupOffsets");

      expectFailure(() -> admin.deleteConsumerGroups(List.of(group)).all().get(), "deleting an active group", GroupNotEmptyException.class);
      expectFailure(() -> admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get(),
          "deleting offsets of a topic the group subscribes to", GroupSubscribedToTopicException.class);

      admin.removeMembersFromConsumerGroup(group, new RemoveMembersFromConsumerGroupOptions()).all().get();
      Ctx.waitUntil(() -> {
        try {
          return admin.describeConsumerGroups(List.of(group)).all().get().get(group).state() == ConsumerGroupState.EMPTY;
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }, 10_000, "the group Empty after removeMembersFromConsumerGroup");
      c.close(Duration.ofSeconds(5));
      c = null;

      admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(1, "set"), p1,
          new OffsetAndMetadata(0))).all().get();
      offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      expectEq(offsetsOf(offsets), Map.of(p0, 1L, p1, 0L), "offsets after alterConsumerGroupOffsets");
      expectEq(offsets.get(p0).metadata(), "set", "metadata after alterConsumerGroupOffsets");
      admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get();
      offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      expectEq(offsetsOf(offsets), Map.of(p0, 1L), "offsets after deleteConsumerGroupOffsets");

      d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
      expectEq(d.state(), ConsumerGroupState.EMPTY, "described state of the empty group");
      expectEq(d.members().size(), 0, "members of the empty group");
      admin.deleteConsumerGroups(List.of(group)).all().get();
      Set<String> after = new HashSet<>();
      for (var l : admin.listConsumerGroups().all().get()) after.add(l.groupId());
      check(!after.contains(group), "listConsumerGroups after deleteConsumerGroups: %s", after);
      expectEq(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(), Map.of(),
          "offsets of the deleted group");
      expectFailure(() -> admin.deleteConsumerGroups(List.of(group)).all().get(), "deleting a deleted group", GroupIdNotFoundException.class);
      return "member " + m.consumerId();
    } finally {
      if (c != null) c.close(Duration.ofSeconds(5));
    }
  }

  static Map<TopicPartition, Long> offsetsOf(Map<TopicPartition, OffsetAndMetadata> m) {
    Map<TopicPartition, Long> out = new HashMap<>();
    m.forEach((k, v) -> out.put(k, v == null ? null : v.offset()));
    return out;
  }

  /**
   * listTransactions (with state and producer id filters), describeTransactions and
   * describeProducers during and after a transaction; fenceProducers fences the producer.
   */
  static String transactions(Ctx ctx) throws Exception {
    String topic = ctx.name("adm-txn");
    String txnId = ctx.name("adm-txn");
    ctx.createTopic(topic, 1);
    TopicPartition tp = new TopicPartition(topic, 0);
    Properties pp = ctx.producerProps("adm-txn");
    pp.put("transactional.id", txnId);
    pp.put("transaction.timeout.ms", "45000");
    try (Admin admin = ctx.admin(); KafkaProducer<byte[], byte[]> p = ctx.producer(pp)) {
      Node node = onlyNode(admin);
      p.initTransactions();
      p.beginTransaction();
      for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(topic, 0, null, bytes("t" + i)));
      p.flush();

      TransactionListing l = listing(admin, new ListTransactionsOptions(), txnId);
      check(l != null, "listTransactions: %s missing", txnId);
      expectEq(l.state(), TransactionState.ONGOING, "listed state");
      long pid = l.producerId();
      check(listing(admin, new ListTransactionsOptions().filterStates(List.of(TransactionState.ONGOING)), txnId) != null,
          "listTransactions(ONGOING) does not list %s", txnId);
      check(listing(admin, new ListTransactionsOptions().filterStates(List.of(TransactionState.COMPLETE_COMMIT)), txnId)
          == null, "listTransactions(COMPLETE_COMMIT) lists the ongoing %s", txnId);
      check(listing(admin, new ListTransactionsOptions().filterProducerIds(List.of(pid)), txnId) != null,
          "listTransactions(producer id %d) does not list %s", pid, txnId);
      check(listing(admin, new ListTransactionsOptions().filterProducerIds(List.of(pid + 12345)), txnId) == null,
          "listTransactions(another producer id) lists %s", txnId);

      TransactionDescription d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
      expectEq(d.state(), TransactionState.ONGOING, "described state");
      expectEq(d.producerId(), pid, "described producer id");
      expectEq(d.coordinatorId(), node.id(), "described coordinator");
      expectEq(d.transactionTimeoutMs(), 45000L, "described timeout");
      expectEq(d.topicPartitions(), Set.of(tp), "described partitions");
      check(d.transactionStartTimeMs().isPresent(), "no transaction start time: %s", d);
      int epoch = d.producerEpoch();

      List<ProducerState> ps = admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers();
      expectEq(ps.size(), 1, "active producers");
      expectEq(ps.get(0).producerId(), pid, "producer id");
      expectEq(ps.get(0).producerEpoch(), epoch, "producer epoch");
      expectEq(ps.get(0).lastSequence(), 2, "last sequence");
      expectEq(ps.get(0).currentTransactionStartOffset(), OptionalLong.of(0), "transaction start offset");

      p.commitTransaction();
      // Kafka answers PrepareCommit until the markers are written.
      Ctx.waitUntil(() -> {
        try {
          return admin.describeTransactions(List.of(txnId)).description(txnId).get().state()
              == TransactionState.COMPLETE_COMMIT;
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }, 10_000, "state CompleteCommit after the commit");
      d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
      expectEq(d.topicPartitions(), Set.of(), "described partitions after the commit");
      ps = admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers();
      expectEq(ps.get(0).currentTransactionStartOffset(), OptionalLong.empty(), "transaction start offset after the commit");
      expectFailure(() -> admin.describeTransactions(List.of(ctx.name("no-such-txn"))).all().get(),
          "describeTransactions of an unknown id", TransactionalIdNotFoundException.class);

      admin.fenceProducers(List.of(txnId)).all().get();
      d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
      check(d.producerEpoch() > epoch, "epoch after fenceProducers: %d, before %d", d.producerEpoch(), epoch);
      expectFailure(() -> {
        p.beginTransaction();
        p.send(new ProducerRecord<>(topic, 0, null, bytes("zombie"))).get();
        p.commitTransaction();
        // The fenced producer learns it from its next request: ProducerFencedException, or with
        // Kafka's transaction version 2 (epoch bumped per transaction) InvalidProducerEpochException.
      }, "the fenced producer", ProducerFencedException.class, InvalidProducerEpochException.class);
      return "producer id " + pid + ", epoch " + epoch + " -> " + d.producerEpoch();
    }
  }

  static TransactionListing listing(Admin admin, ListTransactionsOptions o, String id) throws Exception {
    for (TransactionListing l : admin.listTransactions(o).all().get()) {
      if (l.transactionalId().equals(id)) return l;
    }
    return null;
  }
}
