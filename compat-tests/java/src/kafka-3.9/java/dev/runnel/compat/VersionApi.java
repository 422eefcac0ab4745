package dev.runnel.compat;

import static dev.runnel.compat.Ctx.check;

import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;

/** The kafka-clients 3.9 API that 4.4 no longer has. */
final class VersionApi {
  private VersionApi() {}

  /** 3.9 knows only transactions v1. */
  static final boolean TRANSACTIONS_V2 = false;

  static void register(Map<String, Scenario> m) {}

  /** 3.9 has no listGroups or describeClassicGroups: nothing more to check. */
  static void checkActiveGroup(Admin admin, String group) {}

  @SuppressWarnings("deprecation")
  static void registerUnsupported(Map<String, Scenario> m) {
    m.put("api_alterConfigs", Unsupported.withAdmin("alterconfigs", (a, ctx, tp, node) -> {
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, tp.topic());
      a.alterConfigs(Map.of(r, new Config(List.of(new ConfigEntry("retention.ms", "7200000"))))).all().get();
      String v = a.describeConfigs(List.of(r)).all().get().get(r).get("retention.ms").value();
      check(v.equals("7200000"), "retention.ms after alterConfigs: %s", v);
      return "retention.ms set";
    }));
    m.put("api_listClientMetricsResources", Unsupported.withAdmin("metricsres", (a, ctx, tp, node) ->
        a.listClientMetricsResources().all().get().size() + " resources"));
  }
}
