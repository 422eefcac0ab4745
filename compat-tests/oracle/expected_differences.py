"""The ONE list of differences between Apache Kafka 4.4 and Runnel that are expected: each is a
fact of running two different brokers, not a bug. docs/oracle.md explains each group.

An entry matches a differing field when its "api" (Kafka's API name without Request/Response,
or "*") and "field" (a glob over the field path without element labels, e.g.
"Topics.Partitions.ErrorCode", or over the labelled path) match; "scenario" (a glob) narrows
it further. Its "rule" then decides whether the two values may differ that way:

    any          any two values
    id           an id each broker makes up for itself: both set or both unset
                 (null, "", a negative number and the zero UUID count as unset)
    id0          the same, and 0 counts as unset too (fetch session ids)
    own_port     each broker names its own port
    time         a wall-clock time: both positive, or the same
    set_or_null  free text (Kafka's error messages): any text or none
    nonnegative  a size or count each broker measures for itself: both zero or more

Every other difference fails the scenario, unless known_runnel_bugs.KNOWN_BUGS lists it.
"""

EXPECTED = [
    # Throttling: Kafka may throttle, Runnel never does; a client only waits that long.
    {"api": "*", "field": "*ThrottleTimeMs", "rule": "any",
     "why": "throttle times are each broker's own quota decisions"},
    # Ids that each broker makes up.
    {"api": "*", "field": "*ClusterId", "rule": "id", "why": "cluster ids are random per cluster"},
    {"api": "*", "field": "*TopicId", "rule": "id", "why": "topic ids are random per topic"},
    {"api": "*", "field": "*ProducerId", "rule": "id", "why": "producer ids come from each broker's own blocks"},
    {"api": "*", "field": "*MemberId", "rule": "id", "why": "member ids are client id + a random UUID"},
    {"api": "*", "field": "*Leader", "rule": "id", "why": "a group's leader is named by its member id"},
    {"api": "*", "field": "*LeaderId", "rule": "id", "why": "a group's leader is named by its member id"},
    {"api": "Fetch", "field": "SessionId", "rule": "id0", "why": "fetch session ids are random"},
    # Feature flags (KIP-584): Runnel supports group.version, metadata.version and
    # transaction.version with Kafka 4.4's ranges and default levels. kraft.version describes a
    # KRaft controller quorum, eligible.leader.replicas.version replication (KIP-966), and
    # share.version and streams.version turn on share groups (KIP-932) and streams groups
    # (KIP-1071), which Runnel does not implement: it does not advertise them, so clients do not
    # use them. Kafka's FinalizedFeaturesEpoch is the offset of its metadata log; Runnel's
    # counts the changes made with UpdateFeatures.
    {"api": "ApiVersions",
     "field": ["SupportedFeatures[Name=kraft.version]*", "FinalizedFeatures[Name=kraft.version]*",
               "SupportedFeatures[Name=eligible.leader.replicas.version]*",
               "FinalizedFeatures[Name=eligible.leader.replicas.version]*",
               "SupportedFeatures[Name=share.version]*", "FinalizedFeatures[Name=share.version]*",
               "SupportedFeatures[Name=streams.version]*", "FinalizedFeatures[Name=streams.version]*"],
     "rule": "any", "why": "features of protocols Runnel does not implement (see above)"},
    {"api": "ApiVersions", "field": "FinalizedFeaturesEpoch", "rule": "any",
     "why": "Kafka's metadata log offset; Runnel's count of feature changes (see above)"},
    # With eligible leader replicas (KIP-966) on, Kafka's controller stores min.insync.replicas
    # as a cluster-wide dynamic default: its source is DYNAMIC_DEFAULT_BROKER_CONFIG (3), where
    # Runnel, with no dynamic broker configs, says DEFAULT_CONFIG (5). The value is the same.
    {"api": "*", "field": ["*Configs[Name=min.insync.replicas].ConfigSource",
                           "*Configs[Name=min.insync.replicas].Synonyms*"], "rule": "any",
     "why": "min.insync.replicas is a cluster-wide dynamic default in Kafka 4.4 (see above)"},
    # Wall-clock times (both set, or the same).
    {"api": "DescribeTransactions", "field": "TransactionStates.TransactionStartTimeMs", "rule": "time",
     "why": "when each broker started the transaction"},
    {"api": "DescribeProducers", "field": "*LastTimestamp", "rule": "time",
     "why": "the producers' batches carry the same timestamps; kept for when they do not"},
    # LogAppendTime topics: each broker stamps a batch with its own clock when it appends it.
    {"api": "Produce", "scenario": "produce_log_append_time",
     "field": "Responses.PartitionResponses.LogAppendTimeMs", "rule": "time",
     "why": "the append time of each broker's own clock"},
    {"api": "ListOffsets", "scenario": "produce_log_append_time",
     "field": "Topics.Partitions.Timestamp", "rule": "time",
     "why": "the append time of each broker's own clock"},
    {"api": "Fetch", "scenario": "produce_log_append_time",
     "field": ["Responses.Partitions.Records.MaxTimestamp", "Responses.Partitions.Records.Crc"],
     "rule": "any", "why": "the append time of each broker's own clock, and so the batch CRC"},
    # Ports: each broker listens on its own free port; hosts are both 127.0.0.1.
    {"api": "*", "field": "*Port", "rule": "own_port", "why": "each broker's own listener port"},
    # Log directories: each broker has its own, on whatever file system the run puts it, and
    # its internal topics' partitions hold each broker's own records (member ids, timestamps).
    # The partitions of the same records compare exactly (describe_log_dirs); the listing of
    # every partition (describe_log_dirs_all) has every scenario's topics, some of which hold
    # records one broker refused (known_runnel_bugs.py), so there the sizes need only be sizes.
    {"api": "DescribeLogDirs", "field": "Results*.LogDir", "rule": "any",
     "why": "each broker's own log directory"},
    {"api": "DescribeLogDirs", "field": ["Results*.TotalBytes", "Results*.UsableBytes"],
     "rule": "nonnegative", "why": "the file system each log directory is on, and its free space now"},
    {"api": "DescribeLogDirs", "scenario": "describe_log_dirs_all",
     "field": "Results*.Topics*.Partitions*.PartitionSize", "rule": "nonnegative",
     "why": "partitions of every scenario, internal topics too (see above)"},
    # Free text.
    {"api": "*", "field": "*ErrorMessage", "rule": "set_or_null",
     "why": "error messages are free text; clients show them, never parse them"},
]

# Versions Runnel keeps that Kafka 4.x dropped (KIP-896): Kafka closes the connection, Runnel
# answers. {API name: (lowest, highest)} of the versions below Kafka's minimum.
OLD_VERSIONS_KEPT = {
    "Produce": (0, 2),          # message format v0/v1 (Kafka 4.x: 3+)
    "Fetch": (0, 3),            # down-converted to message format v0/v1 (Kafka 4.x: 4+)
    "ListOffsets": (0, 0),
    "OffsetCommit": (0, 1),
    "OffsetFetch": (0, 0),
    "CreateTopics": (0, 1),
    "DeleteTopics": (0, 0),
    "OffsetForLeaderEpoch": (0, 1),  # v0-1 (Kafka 4.x: 2+)
    "DescribeConfigs": (0, 0),
    "DescribeLogDirs": (0, 0),  # v1's layout (v1 only changed the throttling)
}
