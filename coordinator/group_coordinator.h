// The group coordinator: every classic group of this broker and their committed offsets.
//
// Design
// ------
// A GroupCoordinator is pure like the pieces it is made of (ClassicGroup, OffsetStore): it
// does no I/O of its own and reads time only from an injected Clock. It is a
// CoordinatorStateMachine (coordinator/runtime.h): everything it must keep goes to its
// CoordinatorLog, the door to the __consumer_offsets partitions, which appends the records
// and then replays them into it. Committed offsets, a transaction's pending offsets and their
// COMMIT/ABORT markers change only by that replay, at run time as at load. A classic group is
// the exception Kafka makes too: its protocol state machine (ClassicGroup) changes in memory
// and stores a snapshot of itself (GroupMetadata), which the log replays only at load; the
// leader's assignment is stored before anyone is answered (see sync()).
//
// Partitions of __consumer_offsets are loaded one by one at start-up: begin_load(p), then
// replay() of every record of p in log order, then finish_load(p), which builds each group of
// p from its latest GroupMetadata record. Until a group's partition is loaded, every request
// for it is answered with COORDINATOR_LOAD_IN_PROGRESS, as Kafka does.
//
// JoinGroup and SyncGroup may complete later (see classic_group.h): their requests carry a
// token chosen by the caller, and responses that become ready, whichever group they belong
// to, are collected by take_ready_responses(). tick() fires the groups' timers and, every
// offsets.retention.check.interval.ms while there are groups, expires offsets;
// next_deadline_ms() says when it is next needed.
//
// Group metadata is stored whenever a group reaches a state worth keeping (ClassicGroup's
// store_version()), so a restarted broker knows its groups, their generation, members and
// assignments. Deleting a group writes tombstones for its offsets and its metadata.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/classic_group.h"
#include "coordinator/consumer_groups.h"
#include "coordinator/offsets.h"
#include "protocol/errors.h"
#include "storage/clock.h"

namespace runnel::coordinator {

struct CoordinatorConfig {
  GroupConfig group;
  int32_t offsets_partitions = 50;                        // offsets.topic.num.partitions
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600000;   // offsets.retention.check.interval.ms
  size_t offset_metadata_max_bytes = kDefaultOffsetMetadataMaxBytes;
  ConsumerGroupConfig consumer_group;  // group.consumer.*
};

struct OffsetCommitPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t retention_ms = -1;  // OffsetCommit v2-4: expires this long after the commit
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  std::string state;
  std::string type = "classic";  // ListGroups v5's GroupType: "classic" or "consumer"
};

class GroupCoordinator final : public CoordinatorStateMachine {
 public:
  GroupCoordinator(CoordinatorConfig config, const storage::Clock& clock, CoordinatorLog& log,
                   ClassicGroup::MemberIdGenerator member_ids = {});

  // Receives one line whenever a group changes state ("group g: Stable, generation 3, ...").
  using EventLog = std::function<void(const std::string& line)>;
  void set_event_log(EventLog log) { event_log_ = std::move(log); }
  // Called whenever answers became ready (take_ready_responses()) or a group's deadline moved
  // (next_deadline_ms()), by whatever operation or tick did it: the owner delivers the answers
  // and re-arms its timer there, and no caller has to remember to. It must not call back into
  // the coordinator's operations (reading the answers and the deadline is fine).
  void set_change_listener(std::function<void()> f) { change_listener_ = std::move(f); }

  const CoordinatorConfig& config() const { return config_; }
  // The cluster's topics, for what the consumer groups compute outside a ConsumerGroupHeartbeat
  // (the assignments of classic members, a downgrade).
  void set_topics_source(std::function<TopicsImage()> source) {
    consumer_groups_.set_topics_source(std::move(source));
  }
  int32_t partition_for(std::string_view group_id) const;

  // ---- CoordinatorStateMachine: loading and replay
  int32_t partition_count() const override { return static_cast<int32_t>(load_state_.size()); }
  void begin_load(int32_t partition) override;
  // One record of `partition` (value null: tombstone). Malformed records are counted and
  // skipped. A record of a transactional batch is held until its producer's marker.
  void replay(int32_t partition, const ReplayedRecord& record) override;
  // The producer's pending offsets on `partition` become committed offsets (COMMIT) or are
  // dropped (ABORT).
  void replay_marker(int32_t partition, int64_t producer_id, bool commit) override;
  void finish_load(int32_t partition) override;
  // Marks every partition loaded (no __consumer_offsets topic yet: nothing to load).
  void mark_all_loaded() override;
  bool loaded(int32_t partition) const;
  uint64_t skipped_records() const { return skipped_records_; }

  // COORDINATOR_LOAD_IN_PROGRESS while the group's partition loads; INVALID_GROUP_ID for an
  // empty id when `allow_empty` is false; NONE otherwise.
  ErrorCode check_group(std::string_view group_id, bool allow_empty = false) const;

  // ---- Membership (the group id must pass check_group first)
  std::optional<JoinResponse> join(const std::string& group_id, const JoinRequest& req);
  std::optional<SyncResponse> sync(const std::string& group_id, const SyncRequest& req);
  ErrorCode heartbeat(const std::string& group_id, const HeartbeatRequest& req);
  LeaveResult leave(const std::string& group_id, const std::vector<LeaveMember>& members);
  ReadyResponses take_ready_responses();
  void tick() override;
  std::optional<int64_t> next_deadline_ms() const override;

  // ---- Consumer groups (KIP-848; see consumer_groups.h)
  // ConsumerGroupHeartbeat (the group id must pass check_group first). A group id belongs to
  // one protocol at a time, and converts as Kafka 4 converts it (consumer_group_classic.cc): a
  // joining heartbeat for an Empty classic group replaces it, one for a classic group with
  // members converts it with its members (the online upgrade, which
  // group.consumer.migration.policy may refuse with GROUP_ID_NOT_FOUND); other epochs get
  // GROUP_ID_NOT_FOUND. JoinGroup, SyncGroup, Heartbeat and LeaveGroup for a consumer group
  // with members make classic members of it; a JoinGroup for an empty one deletes it first.
  // When the last member of the consumer protocol leaves a group whose other members are
  // classic, it becomes a classic group again and rebalances (the online downgrade).
  protocol::ConsumerGroupHeartbeatResponse consumer_group_heartbeat(
      const protocol::ConsumerGroupHeartbeatRequest& request, const HeartbeatContext& context,
      const TopicsImage& topics);
  const ConsumerGroups& consumer_groups() const { return consumer_groups_; }

  // ---- Offsets
  // One error per partition, in order. For a consumer group `generation_id` is the member
  // epoch (STALE_MEMBER_EPOCH when it is not the member's current one). A commit with generation <
  // 0 and no member id is a standalone commit, allowed while the group has no members.
  std::vector<ErrorCode> commit_offsets(const std::string& group_id, const std::string& member_id,
                                        int32_t generation_id,
                                        const std::optional<std::string>& group_instance_id,
                                        const std::vector<OffsetCommitPartition>& partitions);
  std::optional<CommittedOffset> fetch_offset(std::string_view group_id, std::string_view topic,
                                              int32_t partition) const;

  // ---- Transactional offsets (TxnOffsetCommit, KIP-98)
  // Validates as Kafka does (a member id or generation given must match the group; no group
  // is created for a commit of generation -1 until it succeeds), appends the offsets as a
  // transactional batch of the producer, whose replay keeps them pending: they become
  // committed offsets only when the COMMIT marker is replayed, and are dropped on ABORT.
  std::vector<ErrorCode> commit_txn_offsets(const std::string& group_id, int64_t producer_id,
                                            int16_t producer_epoch, const std::string& member_id,
                                            int32_t generation_id,
                                            const std::optional<std::string>& group_instance_id,
                                            const std::vector<OffsetCommitPartition>& partitions);
  // True while a transaction holds an offset for the partition not yet committed or aborted
  // (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT then).
  bool has_pending_offset(std::string_view group_id, std::string_view topic,
                          int32_t partition) const;
  size_t pending_txn_count() const { return pending_txn_.size(); }
  std::vector<TopicPartitionOffset> fetch_offsets(std::string_view group_id) const;
  // Tombstones the offsets that expired (offsets.retention.minutes) and removes Empty groups
  // that have no offsets left. Returns how many offsets expired.
  size_t expire_offsets();

  // ---- Administration
  // describe() of an unknown group is state "Dead" with no members, as Kafka answers.
  GroupDescription describe(const std::string& group_id) const;
  // Every live group; `states` (Kafka's state names, case-insensitive) filters when non-empty.
  std::vector<GroupListing> list(const std::vector<std::string>& states) const;
  // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or NONE once its offsets and metadata are deleted.
  ErrorCode delete_group(const std::string& group_id);
  struct OffsetDeleteResult {
    ErrorCode error = ErrorCode::NONE;
    std::vector<ErrorCode> partition_errors;  // one per requested partition
  };
  // Kafka's OffsetDelete: GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP for an
  // active classic group whose protocol type is not "consumer", GROUP_SUBSCRIBED_TO_TOPIC for
  // partitions of topics an active group's members subscribe to (a group of the consumer
  // protocol, KIP-848, in any state: its members' topic names and regex matches).
  OffsetDeleteResult delete_offsets(const std::string& group_id,
                                    const std::vector<std::pair<std::string, int32_t>>& partitions);

  size_t group_count() const { return groups_.size(); }
  const ClassicGroup* group(const std::string& group_id) const;

 private:
  // Deletes the offsets of `partitions` whose topic is not `subscribed`; those get
  // GROUP_SUBSCRIBED_TO_TOPIC.
  OffsetDeleteResult delete_unsubscribed_offsets(
      const std::string& group_id, const std::vector<std::pair<std::string, int32_t>>& partitions,
      const std::function<bool(const std::string&)>& subscribed);
  struct Entry {
    std::unique_ptr<ClassicGroup> group;
    uint64_t stored_version = 0;
    std::optional<int64_t> deadline;  // as filed in deadlines_
    GroupState logged_state = GroupState::Empty;
    int32_t logged_generation = 0;
  };
  enum class LoadState : uint8_t { Unloaded, Loading, Loaded };

  Entry& get_or_create(const std::string& group_id);
  Entry* find(const std::string& group_id);
  const Entry* find(const std::string& group_id) const;
  // Appends (and so replays) the records on the group's partition; NONE or the append's error
  // mapped for an offset commit.
  ErrorCode write(const std::string& group_id, const std::vector<OffsetsTopicRecord>& records);
  // The same with the append's own error (unmapped).
  ErrorCode append(const std::string& group_id, const std::vector<OffsetsTopicRecord>& records);
  // Stores the group's metadata when its store_version moved; removes Dead groups.
  void after_change(const std::string& group_id);
  void collect_ready(ClassicGroup& g);
  // Re-files the group's next deadline; called after every change to a group.
  void refresh_deadline(const std::string& group_id);
  void erase_group(const std::string& group_id);
  // Appends the offset commits of `partitions` (errors of refused ones go to `errors`).
  void write_commits(const std::string& group_id,
                     const std::vector<OffsetCommitPartition>& partitions,
                     std::vector<ErrorCode>& errors);
  // The consumer group of this id when it has members: classic requests go to it.
  const ConsumerGroup* mixed_group(const std::string& group_id) const;
  // Makes the consumer groups that were downgraded classic groups, and tells the listener.
  void after_consumer_group_change();
  // Deletes an empty consumer group of this id so that a classic group can take it.
  ErrorCode yield_consumer_group(const std::string& group_id);

  CoordinatorConfig config_;
  const storage::Clock& clock_;
  CoordinatorLog& log_;
  ClassicGroup::MemberIdGenerator member_ids_;
  OffsetStore offsets_;
  std::map<std::string, Entry, std::less<>> groups_;
  ConsumerGroups consumer_groups_;
  std::vector<LoadState> load_state_;
  // Latest GroupMetadata record per group of the partitions being loaded (null: tombstone).
  std::map<std::string, std::optional<GroupMetadataValue>> loading_groups_;
  ReadyResponses ready_;
  // Every group's next timer, earliest first, so that a tick or a deadline query costs
  // O(log groups) rather than a walk over all groups.
  std::set<std::pair<int64_t, std::string>> deadlines_;
  int64_t next_retention_check_ms_;
  uint64_t skipped_records_ = 0;
  EventLog event_log_;
  std::function<void()> change_listener_;
  // Offsets written by open transactions: producer id -> offsets partition -> records.
  std::map<int64_t, std::map<int32_t, std::vector<OffsetsTopicRecord>>> pending_txn_;
};

// The topics a consumer-protocol subscription (ConsumerProtocolSubscription, any version)
// names; nullopt when the bytes are not one.
std::optional<std::vector<std::string>> subscribed_topics(std::span<const uint8_t> subscription);

}  // namespace runnel::coordinator
