"""Known Runnel bugs and gaps that the oracle shows: kept apart from the expected differences
(expected_differences.py) so that this list is visible and shrinks.

KNOWN_BUGS: a difference that is a Runnel bug. An entry matches a differing field of one
scenario like an expected difference does ("api", "field" glob; "request", a glob over the
repr of the request sent to Kafka, narrows it to some requests); the scenario passes while the
difference is still there, and FAILS with "remove it" once the field no longer differs (the bug
is fixed). Each entry says what Kafka 4.4 answers and what Runnel answers.

MISSING_APIS: API keys Kafka 4.4 advertises and Runnel does not implement. Runnel must not
advertise them and must close the connection at once when asked, as Kafka does for an API it
does not know (a Kafka client then reports UNSUPPORTED_VERSION without sending it).

MISSING_VERSIONS: {api key: (Runnel's highest version, Kafka's highest version)} where Runnel
stops below Kafka. Clients pick the highest version both advertise, so this is a gap, not a
wrong answer; an entry fails "remove it" once Runnel reaches Kafka's version.
"""

KNOWN_BUGS = [
    # -- topic configs (CreateTopics v5+ answers and DescribeConfigs of a topic) --
    {"scenario": "create_topics", "api": "CreateTopics",
     "field": ["*Configs[Name=compression.gzip.level]", "*Configs[Name=compression.lz4.level]",
               "*Configs[Name=compression.zstd.level]", "*Configs[Name=errors.deadletterqueue.group.enable]",
               "*Configs[Name=follower.replication.throttled.replicas]",
               "*Configs[Name=leader.replication.throttled.replicas]", "*Configs[Name=local.retention.bytes]",
               "*Configs[Name=local.retention.ms]", "*Configs[Name=max.decompressed.message.bytes]",
               "*Configs[Name=remote.*]", "*Configs[Name=message.downconversion.enable]",
               "*Configs[Name=message.timestamp.difference.max.ms]"],
     "why": "topic configs: Kafka 4.4 lists compression.{gzip,lz4,zstd}.level, "
            "errors.deadletterqueue.group.enable, {leader,follower}.replication.throttled.replicas, "
            "local.retention.{bytes,ms}, max.decompressed.message.bytes, remote.* which Runnel lacks; "
            "Runnel lists message.downconversion.enable and message.timestamp.difference.max.ms, "
            "which Kafka 4.0 removed"},
    {"scenario": "describe_configs", "api": "DescribeConfigs",
     "field": ["*Configs[Name=compression.gzip.level]", "*Configs[Name=compression.lz4.level]",
               "*Configs[Name=compression.zstd.level]", "*Configs[Name=errors.deadletterqueue.group.enable]",
               "*Configs[Name=follower.replication.throttled.replicas]",
               "*Configs[Name=leader.replication.throttled.replicas]", "*Configs[Name=local.retention.bytes]",
               "*Configs[Name=local.retention.ms]", "*Configs[Name=max.decompressed.message.bytes]",
               "*Configs[Name=remote.*]", "*Configs[Name=message.downconversion.enable]",
               "*Configs[Name=message.timestamp.difference.max.ms]"],
     "why": "the same topic config set as in create_topics"},
    {"scenario": "create_topics", "api": "CreateTopics", "field": "Topics[Name=ct7-validate].TopicId",
     "why": "CreateTopics v7 with validateOnly: Kafka answers a (random) TopicId, Runnel the zero UUID"},
    {"scenario": "describe_configs", "api": "DescribeConfigs",
     "field": ["Results[ResourceName=*].ErrorCode", "Results[ResourceName=*].Configs*"],
     "request": "*'ResourceName': 'dc-missing'*'ResourceType': 99*",
     "why": "one request naming six resources (an unknown topic, an empty topic name, broker 1 with "
            "three keys, broker 7, broker x, resource type 99): Kafka 4.4 answers INVALID_REQUEST (42) "
            "with no configs for every one of them, Runnel answers each as Kafka does when it is asked "
            "alone (which resource makes Kafka refuse the whole request is not isolated yet)"},
    # -- Metadata --
    {"scenario": "metadata", "api": "Metadata", "field": "Topics.ErrorCode",
     "why": "a Metadata request that auto-creates a topic: Kafka 4.4 answers UNKNOWN_TOPIC_OR_PARTITION (3) "
            "for it, Runnel LEADER_NOT_AVAILABLE (5)"},
    # -- Fetch --
    {"scenario": "fetch", "api": "Fetch",
     "field": ["*Partitions.HighWatermark", "*Partitions.LastStableOffset", "*Partitions.LogStartOffset"],
     "why": "a partition answered with an error (OFFSET_OUT_OF_RANGE): Kafka sends HighWatermark, "
            "LastStableOffset and LogStartOffset -1, Runnel the partition's real values"},
    {"scenario": "delete_records", "api": "Fetch",
     "field": ["*Partitions.HighWatermark", "*Partitions.LastStableOffset", "*Partitions.LogStartOffset"],
     "why": "the same as in fetch: a Fetch below the log start offset that DeleteRecords moved is answered "
            "OFFSET_OUT_OF_RANGE by both; Kafka sends HighWatermark, LastStableOffset and LogStartOffset -1, "
            "Runnel the partition's real values"},
    {"scenario": "fetch", "api": "Fetch", "field": "*Partitions.AbortedTransactions",
     "why": "a partition answered with an error (unknown topic or partition): Kafka sends "
            "AbortedTransactions [] (v4-v11), Runnel null"},
    # -- idempotent producers --
    {"scenario": "idempotent_produce", "api": "Produce", "field": "*PartitionResponses.LogAppendTimeMs",
     "why": "a resent (duplicate) batch: Kafka answers LogAppendTimeMs = the batch's max timestamp, "
            "Runnel -1"},
    {"scenario": "idempotent_produce", "api": "Produce", "field": "*PartitionResponses.LogStartOffset",
     "why": "a batch refused (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH): Kafka answers the "
            "partition's LogStartOffset (0), Runnel -1"},
    # -- transactions --
    {"scenario": "transactions", "api": "TxnOffsetCommit", "field": "Topics.Partitions.ErrorCode",
     "why": "TxnOffsetCommit v4 before AddOffsetsToTxn: Kafka 4.4 answers TRANSACTION_ABORTABLE (120), "
            "Runnel INVALID_TXN_STATE (48)"},
]

MISSING_APIS = {
    17: "SaslHandshake",
    27: "WriteTxnMarkers",
    29: "DescribeAcls",
    30: "CreateAcls",
    31: "DeleteAcls",
    33: "AlterConfigs",
    34: "AlterReplicaLogDirs",
    36: "SaslAuthenticate",
    38: "CreateDelegationToken",
    39: "RenewDelegationToken",
    40: "ExpireDelegationToken",
    41: "DescribeDelegationToken",
    44: "IncrementalAlterConfigs",
    48: "DescribeClientQuotas",
    49: "AlterClientQuotas",
    50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials",
    55: "DescribeQuorum",
    64: "UnregisterBroker",
    74: "ListConfigResources",
    76: "ShareGroupHeartbeat",
    77: "ShareGroupDescribe",
    78: "ShareFetch",
    79: "ShareAcknowledge",
    80: "AddRaftVoter",
    81: "RemoveRaftVoter",
    83: "InitializeShareGroupState",
    84: "ReadShareGroupState",
    85: "WriteShareGroupState",
    86: "DeleteShareGroupState",
    87: "ReadShareGroupStateSummary",
    88: "StreamsGroupHeartbeat",
    89: "StreamsGroupDescribe",
    90: "DescribeShareGroupOffsets",
    91: "AlterShareGroupOffsets",
    92: "DeleteShareGroupOffsets",
    93: "StreamsGroupTopologyDescriptionUpdate",
    94: "UnregisterController",
}

MISSING_VERSIONS = {
}
