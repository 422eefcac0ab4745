// runnel-consumer-groups: Apache Kafka's kafka-consumer-groups.sh for Runnel
// (and any Kafka broker). Lists, describes, resets and deletes consumer groups
// by speaking the Kafka protocol with Runnel's generated codecs. See
// docs/tools.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/messages/consumer_group_describe.h"
#include "protocol/messages/delete_groups.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/find_coordinator.h"
#include "protocol/messages/list_groups.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/metadata.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_delete.h"
#include "protocol/messages/offset_fetch.h"
#include "tools/consumer_groups_client.h"
#include "tools/consumer_groups_core.h"

namespace runnel::tools::groups {
namespace {

using namespace runnel::protocol;

constexpr int64_t kLatestTimestamp = -1;
constexpr int64_t kEarliestTimestamp = -2;

using TopicPartition = std::pair<std::string, int32_t>;

std::string tp_name(const TopicPartition& tp) { return tp.first + "-" + std::to_string(tp.second); }

std::string or_dash(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

struct BrokerAddress {
  std::string host;
  int port = 0;
};

struct PartitionInfo {
  int32_t leader = -1;
  ErrorCode error = ErrorCode::NONE;
};

struct ClusterMetadata {
  std::map<int32_t, BrokerAddress> brokers;
  // topic -> (error, partitions)
  std::map<std::string, ErrorCode> topic_errors;
  std::map<std::string, std::map<int32_t, PartitionInfo>> topics;
};

struct Coordinator {
  int32_t node_id = -1;
  BrokerAddress address;
};

struct GroupDescription {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<DescribeGroupsResponse::DescribedGroupMember> members;
  // A consumer group (KIP-848, ConsumerGroupDescribe): each member's assignment, decoded.
  bool consumer_group = false;
  std::map<std::string, std::vector<AssignedTopic>> assignments;
};

class GroupsTool {
 public:
  GroupsTool(const Options& options, Cluster& cluster) : opt_(options), cluster_(cluster) {}

  int run() {
    switch (opt_.command) {
      case Command::List:
        return list();
      case Command::Describe:
        return describe();
      case Command::ResetOffsets:
        return reset_offsets();
      case Command::Delete:
        return delete_groups();
      case Command::DeleteOffsets:
        return delete_offsets();
      case Command::None:
        break;
    }
    return 1;
  }

 private:
  // ---- requests ----

  ClusterMetadata metadata(const std::optional<std::vector<std::string>>& topics) {
    BrokerConnection& conn = cluster_.any();
    int16_t v = conn.version_for<MetadataRequest>(1);
    MetadataRequest req;
    if (topics) {
      req.topics.emplace();
      for (const auto& t : *topics) {
        MetadataRequest::MetadataRequestTopic rt;
        rt.name = t;
        req.topics->push_back(rt);
      }
    } else {
      req.topics = std::nullopt;
    }
    req.allow_auto_topic_creation = false;
    auto resp = conn.call(req, v);
    ClusterMetadata md;
    for (const auto& b : resp.brokers) md.brokers[b.node_id] = {b.host, b.port};
    for (const auto& t : resp.topics) {
      if (!t.name) continue;
      md.topic_errors[*t.name] = t.error_code;
      auto& parts = md.topics[*t.name];
      for (const auto& p : t.partitions) parts[p.partition_index] = {p.leader_id, p.error_code};
    }
    return md;
  }

  BrokerConnection& broker(const ClusterMetadata& md, int32_t node_id) {
    auto it = md.brokers.find(node_id);
    if (it == md.brokers.end())
      throw ToolError("broker " + std::to_string(node_id) + " is not in the cluster metadata");
    return cluster_.node(node_id, it->second.host, it->second.port);
  }

  void backoff() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }
  int retries() const { return std::max(1, cluster_.timeout_ms() / 200); }

  // The coordinator errors after which the group's coordinator is looked up
  // again and the request retried.
  static bool retriable(ErrorCode error) {
    return error == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS ||
           error == ErrorCode::COORDINATOR_NOT_AVAILABLE || error == ErrorCode::NOT_COORDINATOR;
  }

  Coordinator find_coordinator(const std::string& group) {
    auto cached = coordinators_.find(group);
    if (cached != coordinators_.end()) return cached->second;
    BrokerConnection& conn = cluster_.any();
    int16_t v = conn.version_for<FindCoordinatorRequest>();
    ErrorCode error = ErrorCode::NONE;
    std::optional<std::string> message;
    for (int attempt = 0; attempt < retries(); ++attempt) {
      FindCoordinatorRequest req;
      req.key_type = 0;
      if (v >= 4)
        req.coordinator_keys = {group};
      else
        req.key = group;
      auto resp = conn.call(req, v);
      Coordinator c;
      if (v >= 4) {
        if (resp.coordinators.size() != 1)
          throw ToolError("FindCoordinator answered " + std::to_string(resp.coordinators.size()) +
                          " coordinators for one group");
        const auto& rc = resp.coordinators[0];
        error = rc.error_code;
        message = rc.error_message;
        c = {rc.node_id, {rc.host, rc.port}};
      } else {
        error = resp.error_code;
        message = resp.error_message;
        c = {resp.node_id, {resp.host, resp.port}};
      }
      if (error == ErrorCode::NONE) {
        coordinators_[group] = c;
        return c;
      }
      if (!retriable(error)) break;
      backoff();
    }
    throw ToolError("cannot find the coordinator of group '" + group +
                    "': " + error_name(code(error)) +
                    (message && !message->empty() ? " (" + *message + ")" : ""));
  }

  BrokerConnection& coordinator_conn(const std::string& group) {
    Coordinator c = find_coordinator(group);
    return cluster_.node(c.node_id, c.address.host, c.address.port);
  }

  // Runs `attempt` against the group's coordinator, finding it again and
  // retrying while the answer is a retriable coordinator error.
  template <class F>
  auto with_coordinator(const std::string& group, F attempt) {
    for (int i = 0;; ++i) {
      auto [error, result] = attempt(coordinator_conn(group));
      if (!retriable(error) || i + 1 >= retries()) return std::make_pair(error, result);
      coordinators_.erase(group);
      backoff();
    }
  }

  // nullopt: the group does not exist (Dead, or GROUP_ID_NOT_FOUND).
  std::optional<GroupDescription> describe_group(const std::string& group) {
    auto [error, described] = with_coordinator(group, [&](BrokerConnection& conn) {
      int16_t v = conn.version_for<DescribeGroupsRequest>();
      DescribeGroupsRequest req;
      req.groups = {group};
      auto resp = conn.call(req, v);
      if (resp.groups.size() != 1)
        throw ToolError("DescribeGroups answered " + std::to_string(resp.groups.size()) +
                        " groups for one");
      return std::make_pair(resp.groups[0].error_code, resp.groups[0]);
    });
    // A consumer group (KIP-848) is not a classic group: DescribeGroups answers it Dead (v0-5)
    // or GROUP_ID_NOT_FOUND (v6+), as Kafka does.
    if (error == ErrorCode::GROUP_ID_NOT_FOUND) return describe_consumer_group(group);
    if (error != ErrorCode::NONE)
      throw ToolError("describing group '" + group + "' failed: " + error_name(code(error)));
    if (described.group_state == "Dead") return describe_consumer_group(group);
    return GroupDescription{described.group_id,
                            described.group_state,
                            described.protocol_type,
                            described.protocol_data,
                            described.members,
                            false,
                            {}};
  }

  // A consumer group (KIP-848), described with ConsumerGroupDescribe, as Kafka's tool does.
  // nullopt: no such group.
  std::optional<GroupDescription> describe_consumer_group(const std::string& group) {
    auto [error, described] = with_coordinator(group, [&](BrokerConnection& conn) {
      ConsumerGroupDescribeResponse::DescribedGroup none;
      if (!conn.supports(ConsumerGroupDescribeRequest::kApiKey, 0))
        return std::make_pair(ErrorCode::GROUP_ID_NOT_FOUND, none);
      ConsumerGroupDescribeRequest req;
      req.group_ids = {group};
      auto resp = conn.call(req, conn.version_for<ConsumerGroupDescribeRequest>());
      if (resp.groups.size() != 1)
        throw ToolError("ConsumerGroupDescribe answered " + std::to_string(resp.groups.size()) +
                        " groups for one");
      return std::make_pair(resp.groups[0].error_code, resp.groups[0]);
    });
    if (error == ErrorCode::GROUP_ID_NOT_FOUND) return std::nullopt;
    if (error != ErrorCode::NONE)
      throw ToolError("describing group '" + group + "' failed: " + error_name(code(error)));
    GroupDescription g{described.group_id,
                       described.group_state,
                       "consumer",
                       described.assignor_name,
                       {},
                       true,
                       {}};
    for (const auto& m : described.members) {
      DescribeGroupsResponse::DescribedGroupMember dm;
      dm.member_id = m.member_id;
      dm.group_instance_id = m.instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      g.members.push_back(std::move(dm));
      auto& topics = g.assignments[m.member_id];
      for (const auto& t : m.assignment.topic_partitions)
        topics.push_back({t.topic_name, t.partitions});
    }
    return g;
  }

  // Committed offsets of every partition the group has one for.
  std::map<TopicPartition, int64_t> fetch_offsets(const std::string& group) {
    auto [error, offsets] = with_coordinator(group, [&](BrokerConnection& conn) {
      // v10 names topics by id; the tool names them.
      int16_t v = conn.version_for<OffsetFetchRequest>(2, 9);
      OffsetFetchRequest req;
      std::map<TopicPartition, int64_t> out;
      ErrorCode err = ErrorCode::NONE;
      auto add = [&](const std::string& topic, int32_t partition, int64_t offset, ErrorCode perr) {
        if (perr != ErrorCode::NONE && err == ErrorCode::NONE) err = perr;
        if (perr == ErrorCode::NONE && offset >= 0) out[{topic, partition}] = offset;
      };
      if (v >= 8) {
        OffsetFetchRequest::OffsetFetchRequestGroup g;
        g.group_id = group;
        g.topics = std::nullopt;
        req.groups.push_back(g);
        auto resp = conn.call(req, v);
        if (resp.groups.size() != 1)
          throw ToolError("OffsetFetch answered " + std::to_string(resp.groups.size()) +
                          " groups for one");
        err = resp.groups[0].error_code;
        for (const auto& t : resp.groups[0].topics)
          for (const auto& p : t.partitions)
            add(t.name, p.partition_index, p.committed_offset, p.error_code);
      } else {
        req.group_id = group;
        req.topics = std::nullopt;
        auto resp = conn.call(req, v);
        err = resp.error_code;
        for (const auto& t : resp.topics)
          for (const auto& p : t.partitions)
            add(t.name, p.partition_index, p.committed_offset, p.error_code);
      }
      return std::make_pair(err, out);
    });
    if (error == ErrorCode::GROUP_ID_NOT_FOUND) return {};
    if (error != ErrorCode::NONE)
      throw ToolError("fetching the committed offsets of group '" + group +
                      "' failed: " + error_name(code(error)));
    return offsets;
  }

  // ListOffsets for `timestamp` of each partition, asked of its leader.
  // Partitions whose answer is an error are left out and reported in `errors`.
  std::map<TopicPartition, int64_t> list_offsets(const ClusterMetadata& md,
                                                 const std::vector<TopicPartition>& partitions,
                                                 int64_t timestamp,
                                                 std::map<TopicPartition, ErrorCode>* errors) {
    std::map<int32_t, std::map<std::string, std::vector<int32_t>>> by_leader;
    std::map<TopicPartition, int64_t> out;
    for (const auto& tp : partitions) {
      auto t = md.topics.find(tp.first);
      ErrorCode err = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      if (t != md.topics.end()) {
        auto p = t->second.find(tp.second);
        if (p != t->second.end()) {
          err = p->second.error;
          if (p->second.leader >= 0) {
            by_leader[p->second.leader][tp.first].push_back(tp.second);
            continue;
          }
          if (err == ErrorCode::NONE) err = ErrorCode::LEADER_NOT_AVAILABLE;
        } else if (md.topic_errors.count(tp.first) &&
                   md.topic_errors.at(tp.first) != ErrorCode::NONE) {
          err = md.topic_errors.at(tp.first);
        }
      }
      if (errors) (*errors)[tp] = err;
    }
    for (const auto& [leader, topics] : by_leader) {
      BrokerConnection& conn = broker(md, leader);
      int16_t v = conn.version_for<ListOffsetsRequest>(1);
      ListOffsetsRequest req;
      req.replica_id = -1;
      req.isolation_level = 0;
      for (const auto& [topic, parts] : topics) {
        ListOffsetsRequest::ListOffsetsTopic t;
        t.name = topic;
        for (int32_t p : parts) {
          ListOffsetsRequest::ListOffsetsPartition lp;
          lp.partition_index = p;
          lp.timestamp = timestamp;
          t.partitions.push_back(lp);
        }
        req.topics.push_back(t);
      }
      auto resp = conn.call(req, v);
      for (const auto& t : resp.topics)
        for (const auto& p : t.partitions) {
          TopicPartition tp{t.name, p.partition_index};
          if (p.error_code != ErrorCode::NONE) {
            if (errors) (*errors)[tp] = p.error_code;
            continue;
          }
          out[tp] = p.offset;
        }
    }
    return out;
  }

  std::vector<GroupDescription> listed_groups() {
    ClusterMetadata md = metadata(std::vector<std::string>{});
    std::map<std::string, GroupDescription> groups;
    bool want_states = !opt_.state_filter.empty() || opt_.state;
    std::vector<std::string> filter;
    for (const auto& s : opt_.state_filter) filter.push_back(canonical_state(s));
    std::vector<int32_t> nodes;
    for (const auto& [id, _] : md.brokers) nodes.push_back(id);
    if (nodes.empty()) throw ToolError("the cluster metadata lists no brokers");
    for (int32_t id : nodes) {
      BrokerConnection& conn = broker(md, id);
      int16_t v = conn.version_for<ListGroupsRequest>(want_states ? 4 : 0);
      ListGroupsRequest req;
      req.states_filter = filter;
      auto resp = conn.call(req, v);
      if (resp.error_code != ErrorCode::NONE)
        throw ToolError("listing the groups of broker " + conn.address() +
                        " failed: " + error_name(code(resp.error_code)));
      for (const auto& g : resp.groups) {
        GroupDescription d;
        d.group_id = g.group_id;
        d.state = g.group_state;
        d.protocol_type = g.protocol_type;
        groups[g.group_id] = d;
      }
    }
    std::vector<GroupDescription> out;
    for (auto& [_, g] : groups) out.push_back(std::move(g));
    return out;
  }

  static std::string canonical_state(const std::string& s) {
    static const char* kStates[] = {
        "Stable",    "Empty",       "Dead",   "PreparingRebalance", "CompletingRebalance",
        "Assigning", "Reconciling", "Unknown"};
    for (const char* k : kStates) {
      std::string a = s, b = k;
      std::transform(a.begin(), a.end(), a.begin(), ::tolower);
      std::transform(b.begin(), b.end(), b.begin(), ::tolower);
      if (a == b) return k;
    }
    throw ToolError("unknown group state '" + s +
                    "'; states are Stable, Empty, Dead, PreparingRebalance, "
                    "CompletingRebalance, Assigning, Reconciling, Unknown");
  }

  std::vector<std::string> target_groups() {
    if (!opt_.all_groups) return opt_.groups;
    std::vector<std::string> out;
    for (const auto& g : listed_groups()) out.push_back(g.group_id);
    return out;
  }

  // ---- commands ----

  int list() {
    auto groups = listed_groups();
    if (!opt_.state) {
      for (const auto& g : groups) std::cout << g.group_id << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : groups) rows.push_back({g.group_id, g.state});
    std::cout << format_table({"GROUP", "STATE"}, rows);
    return 0;
  }

  static std::vector<AssignedTopic> assignment_of(
      const GroupDescription& g, const DescribeGroupsResponse::DescribedGroupMember& m) {
    if (g.consumer_group) {
      auto it = g.assignments.find(m.member_id);
      return it == g.assignments.end() ? std::vector<AssignedTopic>{} : it->second;
    }
    if (g.protocol_type != "consumer") return {};
    auto decoded = decode_assignment(m.member_assignment);
    if (!decoded)
      throw ToolError("the assignment of member " + m.member_id + " of group '" + g.group_id +
                      "' does not decode as a consumer protocol assignment");
    return *decoded;
  }

  int describe() {
    int status = 0;
    for (const auto& group : target_groups()) {
      auto g = describe_group(group);
      if (!g) {
        std::cerr << "Error: Consumer group '" << group << "' does not exist ("
                  << error_name(ErrorCode::GROUP_ID_NOT_FOUND) << ").\n";
        status = 1;
        continue;
      }
      if (opt_.state)
        describe_state(*g);
      else if (opt_.members)
        describe_members(*g);
      else
        describe_offsets(*g);
    }
    return status;
  }

  void describe_state(const GroupDescription& g) {
    Coordinator c = find_coordinator(g.group_id);
    std::string coord = c.address.host + ":" + std::to_string(c.address.port) + " (" +
                        std::to_string(c.node_id) + ")";
    std::cout << format_table(
        {"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"},
        {{g.group_id, coord, g.protocol.empty() ? "" : g.protocol, g.state,
          std::to_string(g.members.size())}});
  }

  void describe_members(const GroupDescription& g) {
    if (g.members.empty()) {
      std::cout << "\nConsumer group '" << g.group_id << "' has no active members.\n";
      return;
    }
    std::vector<std::string> headers = {"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"};
    if (opt_.verbose) headers.push_back("ASSIGNMENT");
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : g.members) {
      auto assignment = assignment_of(g, m);
      size_t n = 0;
      std::string text;
      for (const auto& t : assignment) {
        n += t.partitions.size();
        if (t.partitions.empty()) continue;
        if (!text.empty()) text += ",";
        text += t.topic + "(";
        auto parts = t.partitions;
        std::sort(parts.begin(), parts.end());
        for (size_t i = 0; i < parts.size(); ++i) text += (i ? "," : "") + std::to_string(parts[i]);
        text += ")";
      }
      std::vector<std::string> row = {g.group_id, m.member_id, m.client_host, m.client_id,
                                      std::to_string(n)};
      if (opt_.verbose) row.push_back(text.empty() ? "-" : text);
      rows.push_back(row);
    }
    std::cout << format_table(headers, rows);
  }

  void describe_offsets(const GroupDescription& g) {
    struct Owner {
      std::string member_id, host, client_id;
    };
    std::map<TopicPartition, Owner> owners;
    for (const auto& m : g.members)
      for (const auto& t : assignment_of(g, m))
        for (int32_t p : t.partitions)
          owners[{t.topic, p}] = {m.member_id, m.client_host, m.client_id};
    auto committed = fetch_offsets(g.group_id);
    std::set<TopicPartition> partitions;
    for (const auto& [tp, _] : owners) partitions.insert(tp);
    for (const auto& [tp, _] : committed) partitions.insert(tp);

    std::set<std::string> topic_names;
    for (const auto& tp : partitions) topic_names.insert(tp.first);
    std::map<TopicPartition, int64_t> log_end;
    if (!partitions.empty()) {
      ClusterMetadata md =
          metadata(std::vector<std::string>(topic_names.begin(), topic_names.end()));
      log_end = list_offsets(md, {partitions.begin(), partitions.end()}, kLatestTimestamp, nullptr);
    }

    if (g.state == "PreparingRebalance" || g.state == "CompletingRebalance" ||
        g.state == "Assigning" || g.state == "Reconciling")
      std::cout << "\nWarning: Consumer group '" << g.group_id << "' is rebalancing.\n";
    else if (g.members.empty())
      std::cout << "\nConsumer group '" << g.group_id << "' has no active members.\n";

    std::vector<std::vector<std::string>> rows;
    for (const auto& tp : partitions) {
      std::optional<int64_t> cur, end;
      if (auto it = committed.find(tp); it != committed.end()) cur = it->second;
      if (auto it = log_end.find(tp); it != log_end.end() && it->second >= 0) end = it->second;
      Owner o{"-", "-", "-"};
      if (auto it = owners.find(tp); it != owners.end()) o = it->second;
      rows.push_back({g.group_id, tp.first, std::to_string(tp.second), or_dash(cur), or_dash(end),
                      or_dash(compute_lag(cur, end)), o.member_id, o.host, o.client_id});
    }
    std::cout << format_table({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                               "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"},
                              rows);
  }

  // The partitions named by --topic / --all-topics for one group.
  std::vector<TopicPartition> scope(const std::map<TopicPartition, int64_t>& committed,
                                    ClusterMetadata& md) {
    std::set<TopicPartition> out;
    if (opt_.all_topics) {
      for (const auto& [tp, _] : committed) out.insert(tp);
      return {out.begin(), out.end()};
    }
    for (const auto& spec : opt_.topics) {
      auto err = md.topic_errors.find(spec.topic);
      if (err == md.topic_errors.end() || err->second != ErrorCode::NONE)
        throw ToolError(
            "topic '" + spec.topic + "': " +
            error_name(code(err == md.topic_errors.end() ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                                                         : err->second)));
      const auto& parts = md.topics[spec.topic];
      if (spec.partitions.empty()) {
        for (const auto& [p, _] : parts) out.insert({spec.topic, p});
        continue;
      }
      for (int32_t p : spec.partitions) {
        if (!parts.count(p))
          throw ToolError("partition " + tp_name({spec.topic, p}) +
                          " does not exist: UNKNOWN_TOPIC_OR_PARTITION");
        out.insert({spec.topic, p});
      }
    }
    return {out.begin(), out.end()};
  }

  std::vector<std::string> spec_topics(const std::map<TopicPartition, int64_t>& committed) {
    std::set<std::string> names;
    if (opt_.all_topics)
      for (const auto& [tp, _] : committed) names.insert(tp.first);
    for (const auto& s : opt_.topics) names.insert(s.topic);
    return {names.begin(), names.end()};
  }

  int reset_offsets() {
    if (!opt_.dry_run && !opt_.execute)
      std::cerr << "WARN: No action will be performed as the --execute option is missing. "
                   "Add --dry-run to keep this behaviour explicitly, or --execute to commit.\n";
    int status = 0;
    for (const auto& group : target_groups()) {
      auto g = describe_group(group);
      if (g && g->state != "Empty") {
        std::cerr << "Error: Assignments can only be reset if the group '" << group
                  << "' is inactive, but the current state is " << g->state << ".\n";
        status = 1;
        continue;
      }
      auto committed = fetch_offsets(group);
      ClusterMetadata md = metadata(spec_topics(committed));
      auto partitions = scope(committed, md);

      std::map<TopicPartition, ErrorCode> errors;
      auto earliest = list_offsets(md, partitions, kEarliestTimestamp, &errors);
      auto latest = list_offsets(md, partitions, kLatestTimestamp, &errors);
      std::map<TopicPartition, int64_t> at_time;
      if (opt_.reset == ResetSpec::ToDatetime)
        at_time = list_offsets(md, partitions, opt_.reset_value, &errors);
      for (const auto& [tp, err] : errors)
        throw ToolError("listing the offsets of " + tp_name(tp) +
                        " failed: " + error_name(code(err)));

      std::map<TopicPartition, int64_t> next;
      for (const auto& tp : partitions) {
        PartitionOffsets po;
        if (auto it = committed.find(tp); it != committed.end()) po.committed = it->second;
        po.earliest = earliest.at(tp);
        po.latest = latest.at(tp);
        if (auto it = at_time.find(tp); it != at_time.end()) po.at_timestamp = it->second;
        ResetOutcome r = compute_reset(opt_.reset, opt_.reset_value, po, tp_name(tp));
        if (!r.error.empty()) throw ToolError(r.error);
        if (!r.warning.empty()) std::cerr << "WARN: " << r.warning << "\n";
        next[tp] = *r.offset;
      }
      if (opt_.execute && !next.empty()) commit(group, next);

      std::vector<std::vector<std::string>> rows;
      for (const auto& [tp, off] : next)
        rows.push_back({group, tp.first, std::to_string(tp.second), std::to_string(off)});
      std::cout << format_table({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}, rows);
    }
    return status;
  }

  void commit(const std::string& group, const std::map<TopicPartition, int64_t>& offsets) {
    auto [error, failures] = with_coordinator(group, [&](BrokerConnection& conn) {
      // v10 names topics by id; the tool names them.
      int16_t v = conn.version_for<OffsetCommitRequest>(2, 9);
      OffsetCommitRequest req;
      req.group_id = group;
      req.generation_id_or_member_epoch = -1;
      req.member_id = "";
      for (const auto& [tp, off] : offsets) {
        if (req.topics.empty() || req.topics.back().name != tp.first) {
          req.topics.emplace_back();
          req.topics.back().name = tp.first;
        }
        OffsetCommitRequest::OffsetCommitRequestPartition p;
        p.partition_index = tp.second;
        p.committed_offset = off;
        p.committed_metadata = "";
        req.topics.back().partitions.push_back(p);
      }
      auto resp = conn.call(req, v);
      ErrorCode first = ErrorCode::NONE;
      std::vector<std::string> failed;
      for (const auto& t : resp.topics)
        for (const auto& p : t.partitions)
          if (p.error_code != ErrorCode::NONE) {
            if (first == ErrorCode::NONE) first = p.error_code;
            failed.push_back(tp_name({t.name, p.partition_index}) + ": " +
                             error_name(code(p.error_code)));
          }
      return std::make_pair(first, failed);
    });
    if (error != ErrorCode::NONE) {
      std::string msg = "committing the new offsets of group '" + group + "' failed:";
      for (const auto& f : failures) msg += "\n  " + f;
      throw ToolError(msg);
    }
  }

  int delete_groups() {
    std::map<std::string, ErrorCode> results;
    for (const auto& group : target_groups()) {
      auto [error, _] = with_coordinator(group, [&](BrokerConnection& conn) {
        int16_t v = conn.version_for<DeleteGroupsRequest>();
        DeleteGroupsRequest req;
        req.groups_names = {group};
        auto resp = conn.call(req, v);
        if (resp.results.size() != 1)
          throw ToolError("DeleteGroups answered " + std::to_string(resp.results.size()) +
                          " results for one group");
        return std::make_pair(resp.results[0].error_code, 0);
      });
      results[group] = error;
    }
    std::string ok, failed;
    for (const auto& [group, error] : results) {
      if (error == ErrorCode::NONE)
        ok += (ok.empty() ? "'" : ", '") + group + "'";
      else
        failed +=
            "\n* Group '" + group + "' could not be deleted due to: " + error_name(code(error));
    }
    if (!failed.empty()) {
      std::cerr << "Error: Deletion of some consumer groups failed:" << failed << "\n";
      if (!ok.empty())
        std::cout << "These consumer groups were deleted successfully: " << ok << "\n";
      return 1;
    }
    std::cout << "Deletion of requested consumer groups (" << ok << ") was successful.\n";
    return 0;
  }

  int delete_offsets() {
    const std::string& group = opt_.groups[0];
    std::vector<std::string> names;
    for (const auto& s : opt_.topics) names.push_back(s.topic);
    ClusterMetadata md = metadata(names);
    auto partitions = scope({}, md);
    auto [error, results] = with_coordinator(group, [&](BrokerConnection& conn) {
      int16_t v = conn.version_for<OffsetDeleteRequest>();
      OffsetDeleteRequest req;
      req.group_id = group;
      for (const auto& tp : partitions) {
        if (req.topics.empty() || req.topics.back().name != tp.first) {
          req.topics.emplace_back();
          req.topics.back().name = tp.first;
        }
        OffsetDeleteRequest::OffsetDeleteRequestPartition p;
        p.partition_index = tp.second;
        req.topics.back().partitions.push_back(p);
      }
      auto resp = conn.call(req, v);
      std::map<TopicPartition, ErrorCode> out;
      for (const auto& t : resp.topics)
        for (const auto& p : t.partitions) out[{t.name, p.partition_index}] = p.error_code;
      return std::make_pair(resp.error_code, out);
    });
    if (error != ErrorCode::NONE) {
      std::cerr << "Error: Deleting offsets of group '" << group
                << "' failed: " << error_name(code(error)) << "\n";
      return 1;
    }
    int status = 0;
    std::vector<std::vector<std::string>> rows;
    for (const auto& [tp, err] : results) {
      if (err != ErrorCode::NONE) status = 1;
      rows.push_back({tp.first, std::to_string(tp.second),
                      err == ErrorCode::NONE ? "Successful" : "Error: " + error_name(code(err))});
    }
    std::string topics_text;
    for (size_t i = 0; i < names.size(); ++i) topics_text += (i ? "," : "") + names[i];
    std::cout << (status == 0 ? "Request succeed" : "Request failed")
              << " for deleting offsets with topic " << topics_text << " group " << group << "\n"
              << format_table({"TOPIC", "PARTITION", "STATUS"}, rows);
    return status;
  }

  const Options& opt_;
  Cluster& cluster_;
  std::map<std::string, Coordinator> coordinators_;
};

}  // namespace
}  // namespace runnel::tools::groups

int main(int argc, char** argv) {
  using namespace runnel::tools::groups;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  auto options = parse_args(args, error);
  if (!options) {
    std::cerr << "Error: " << error << "\n\n" << usage();
    return 1;
  }
  if (options->help) {
    std::cout << usage();
    return 0;
  }
  std::vector<std::pair<std::string, int>> bootstrap;
  size_t start = 0;
  const std::string& servers = options->bootstrap_server;
  while (start <= servers.size()) {
    size_t comma = servers.find(',', start);
    std::string one = servers.substr(start, comma == std::string::npos ? comma : comma - start);
    std::string host;
    int port = 0;
    if (parse_host_port(one, host, port)) bootstrap.emplace_back(host, port);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  try {
    Cluster cluster(bootstrap, options->timeout_ms);
    GroupsTool tool(*options, cluster);
    int status = tool.run();
    std::cout.flush();
    return status;
  } catch (const ToolError& e) {
    std::cout.flush();
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
}
