package dev.runnel.compat;

import static dev.runnel.compat.Ctx.check;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionReplica;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Admin calls of both client versions that the broker may not implement. Each is written as a
 * plain use of the call (it succeeds or it fails with what the client raised); test_java.py
 * holds the one list of those expected to fail today, and how.
 */
final class Unsupported {
  private Unsupported() {}

  @FunctionalInterface
  interface AdminCall {
    String run(Admin admin, Ctx ctx, TopicPartition tp, int nodeId) throws Exception;
  }

  /** Runs the call on a fresh client with a topic of one partition that holds 3 records. */
  static Scenario withAdmin(String tag, AdminCall call) {
    return ctx -> {
      String topic = ctx.name("api-" + tag);
      TopicPartition tp = new TopicPartition(topic, 0);
      try (Admin admin = ctx.admin()) {
        ctx.createTopics(admin, Map.of(topic, 1));
        try (var p = ctx.producer(ctx.producerProps("api-" + tag))) {
          for (int i = 0; i < 3; i++) {
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 0, null, Ctx.bytes("r" + i)));
          }
          p.flush();
        }
        int nodeId = AdminScenarios.onlyNode(admin).id();
        return call.run(admin, ctx, tp, nodeId);
      }
    };
  }

  static void register(Map<String, Scenario> m) {
    m.put("api_incrementalAlterConfigs", withAdmin("iac", (a, ctx, tp, node) -> {
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, tp.topic());
      a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"),
          AlterConfigOp.OpType.SET)))).all().get();
      String v = a.describeConfigs(List.of(r)).all().get().get(r).get("retention.ms").value();
      check(v.equals("7200000"), "retention.ms after incrementalAlterConfigs: %s", v);
      return "retention.ms set";
    }));
    m.put("api_deleteRecords", withAdmin("delrec", (a, ctx, tp, node) -> {
      long low = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(2))).lowWatermarks().get(tp).get().lowWatermark();
      check(low == 2, "low watermark after deleteRecords(2): %d", low);
      long earliest = a.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset();
      check(earliest == 2, "earliest offset after deleteRecords(2): %d", earliest);
      // A consumer at an offset below the log start: OFFSET_OUT_OF_RANGE, auto.offset.reset=earliest.
      try (var c = ctx.consumer(ctx.consumerProps("api-delrec-consumer", null))) {
        c.assign(List.of(tp));
        c.seek(tp, 0);
        List<Long> offsets = new java.util.ArrayList<>();
        long deadline = System.currentTimeMillis() + 15000;
        while (offsets.isEmpty() && System.currentTimeMillis() < deadline) {
          c.poll(java.time.Duration.ofMillis(200)).forEach(r -> offsets.add(r.offset()));
        }
        check(offsets.equals(List.of(2L)), "offsets read from 0 after deleteRecords(2): %s", offsets);
      }
      return "low watermark 2, earliest 2, a consumer at 0 reset to 2";
    }));
    m.put("api_describeLogDirs", withAdmin("logdirs", (a, ctx, tp, node) -> {
      var dirs = a.describeLogDirs(List.of(node)).allDescriptions().get().get(node);
      check(dirs != null && !dirs.isEmpty(), "log dirs of node %d: %s", node, dirs);
      return dirs.keySet().size() + " log dirs";
    }));
    m.put("api_describeReplicaLogDirs", withAdmin("replicadirs", (a, ctx, tp, node) -> {
      var r = new TopicPartitionReplica(tp.topic(), tp.partition(), node);
      var info = a.describeReplicaLogDirs(List.of(r)).all().get().get(r);
      check(info.getCurrentReplicaLogDir() != null, "no log dir for %s", r);
      return "replica in " + info.getCurrentReplicaLogDir();
    }));
    m.put("api_createAcls", withAdmin("createacls", (a, ctx, tp, node) -> {
      a.createAcls(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, tp.topic(), PatternType.LITERAL),
          new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW)))).all().get();
      return "created";
    }));
    m.put("api_describeAcls", withAdmin("describeacls", (a, ctx, tp, node) ->
        a.describeAcls(AclBindingFilter.ANY).values().get().size() + " acls"));
    m.put("api_deleteAcls", withAdmin("deleteacls", (a, ctx, tp, node) ->
        a.deleteAcls(List.of(AclBindingFilter.ANY)).all().get().size() + " deleted"));
    m.put("api_describeUserScramCredentials", withAdmin("scram", (a, ctx, tp, node) ->
        a.describeUserScramCredentials().all().get().size() + " users"));
    m.put("api_alterUserScramCredentials", withAdmin("alterscram", (a, ctx, tp, node) -> {
      a.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("alice",
          new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "secret"))).all().get();
      return "altered";
    }));
    m.put("api_electLeaders", withAdmin("elect", (a, ctx, tp, node) -> {
      a.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get();
      return "elected";
    }));
    m.put("api_listPartitionReassignments", withAdmin("listreassign", (a, ctx, tp, node) ->
        a.listPartitionReassignments().reassignments().get().size() + " reassignments"));
    m.put("api_alterPartitionReassignments", withAdmin("alterreassign", (a, ctx, tp, node) -> {
      a.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(List.of(node))))).all().get();
      return "reassigned";
    }));
    m.put("api_describeClientQuotas", withAdmin("quotas", (a, ctx, tp, node) ->
        a.describeClientQuotas(ClientQuotaFilter.all()).entities().get().size() + " entities"));
    m.put("api_alterClientQuotas", withAdmin("alterquotas", (a, ctx, tp, node) -> {
      a.alterClientQuotas(List.of(new ClientQuotaAlteration(new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID,
          "c1")), List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1024.0))))).all().get();
      return "altered";
    }));
    m.put("api_createDelegationToken", withAdmin("token", (a, ctx, tp, node) ->
        "token " + a.createDelegationToken().delegationToken().get().tokenInfo().tokenId()));
    m.put("api_describeDelegationToken", withAdmin("tokens", (a, ctx, tp, node) ->
        a.describeDelegationToken().delegationTokens().get().size() + " tokens"));
    m.put("api_describeMetadataQuorum", withAdmin("quorum", (a, ctx, tp, node) ->
        "leader " + a.describeMetadataQuorum().quorumInfo().get().leaderId()));
    m.put("api_updateFeatures", withAdmin("features", (a, ctx, tp, node) -> {
      a.updateFeatures(Map.of("transaction.version", new FeatureUpdate((short) 0,
          FeatureUpdate.UpgradeType.SAFE_DOWNGRADE)), new org.apache.kafka.clients.admin.UpdateFeaturesOptions()
          .validateOnly(true)).all().get();
      return "validated";
    }));
    m.put("api_unregisterBroker", withAdmin("unregister", (a, ctx, tp, node) -> {
      a.unregisterBroker(node + 100).all().get();
      return "unregistered";
    }));
    m.put("api_abortTransaction", withAdmin("aborttxn", (a, ctx, tp, node) -> {
      // An open transaction of a real producer, aborted by the admin client (WriteTxnMarkers).
      var pp = ctx.producerProps("api-aborttxn");
      pp.put("transactional.id", ctx.name("api-aborttxn"));
      try (var p = ctx.producer(pp)) {
        p.initTransactions();
        p.beginTransaction();
        p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(tp.topic(), 0, null, Ctx.bytes("open"))).get();
        var st = a.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers().stream()
            .filter(s -> s.currentTransactionStartOffset().isPresent()).findFirst().orElseThrow();
        a.abortTransaction(new AbortTransactionSpec(tp, st.producerId(), (short) st.producerEpoch(),
            st.coordinatorEpoch().orElse(0))).all().get();
        return "aborted producer " + st.producerId();
      }
    }));
    m.put("api_addRaftVoter", withAdmin("addvoter", (a, ctx, tp, node) -> {
      a.addRaftVoter(node + 100, org.apache.kafka.common.Uuid.randomUuid(), Set.of(
          new org.apache.kafka.clients.admin.RaftVoterEndpoint("CONTROLLER", "127.0.0.1", 1))).all().get();
      return "added";
    }));
  }
}
