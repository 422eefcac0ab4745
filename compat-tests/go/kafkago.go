package main

// kafka-go (github.com/segmentio/kafka-go): Writer, Reader (with a partition or a group) and
// its admin Client. kafka-go has no idempotent or transactional producer.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

func init() {
	s := []scenario{}
	for _, c := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		s = append(s, scenario{"produce_" + c, 60 * time.Second, kgProduceCodec(c)})
	}
	s = append(s,
		scenario{"consume_assign", 60 * time.Second, kgConsumeAssign},
		scenario{"group_commit_resume", 60 * time.Second, kgGroupCommitResume},
		scenario{"group_rebalance_default", 90 * time.Second, kgGroupRebalance},
		scenario{"admin_topics", 60 * time.Second, kgAdminTopics},
		scenario{"admin_configs", 60 * time.Second, kgAdminConfigs},
		scenario{"admin_groups_offsets", 60 * time.Second, kgAdminGroupsOffsets},
	)
	s = append(s, missingScenarios("kg", kgMissing)...)
	register("kafka-go", "github.com/segmentio/kafka-go", "kg", s)
	missingChecks["kg"] = missingCheck{"the connection closed by the broker (kafka-go sends v0 of any API without checking the ApiVersions answer)",
		kgIsConnectionClosed, func(ctx context.Context, e *env) error { return kgCreateTopic(ctx, e, e.name("t"), 1, nil) }}
}

// kgClient is an admin Client with its own Transport whose cached metadata is refreshed every
// 200 ms (kafka-go answers Metadata from that cache, 6 s old by default).
func kgClient(e *env) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(e.bootstrap), Timeout: 10 * time.Second,
		Transport: &kafka.Transport{MetadataTTL: 200 * time.Millisecond}}
}

func kgCreateTopic(ctx context.Context, e *env, topic string, partitions int, configs map[string]string) error {
	tc := kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}
	for k, v := range configs {
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	// Through kafka-go's DefaultTransport, which the Writers share: CreateTopics refreshes its
	// metadata until the topic shows.
	r, err := (&kafka.Client{Addr: kafka.TCP(e.bootstrap), Timeout: 10 * time.Second}).CreateTopics(ctx,
		&kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err == nil {
		err = r.Errors[topic]
	}
	if err != nil {
		return fmt.Errorf("Client.CreateTopics %s: %w", topic, err)
	}
	// Kafka's metadata may lag the creation by a moment (Runnel's does not); the Writer would
	// fail on an unknown topic.
	for try := 0; ; try++ {
		md, err := kgClient(e).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			return nil
		}
		if try == 50 {
			return fmt.Errorf("topic %s not in the metadata after its creation: %v %+v", topic, err, md)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func kgMessage(r rec) kafka.Message {
	m := kafka.Message{Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

func fromKg(m kafka.Message) rec {
	r := rec{Key: m.Key, Value: m.Value, Partition: int32(m.Partition), Offset: m.Offset}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, hdr{h.Key, h.Value})
	}
	return r
}

// kgWriter is a Writer whose Completion callback records where each message was written.
type kgWriter struct {
	w    *kafka.Writer
	mu   sync.Mutex
	acks map[string]kafka.Message
}

func newKgWriter(e *env, topic string, codec kafka.Compression) *kgWriter {
	kw := &kgWriter{acks: map[string]kafka.Message{}}
	kw.w = &kafka.Writer{Addr: kafka.TCP(e.bootstrap), Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, Compression: codec, BatchSize: 100, BatchTimeout: 5 * time.Millisecond,
		Completion: func(ms []kafka.Message, err error) {
			if err != nil {
				return
			}
			kw.mu.Lock()
			for _, m := range ms {
				kw.acks[string(m.Key)] = m
			}
			kw.mu.Unlock()
		}}
	return kw
}

func (kw *kgWriter) produce(ctx context.Context, tag string, first, n int) (map[int]rec, error) {
	var ms []kafka.Message
	for i := first; i < first+n; i++ {
		ms = append(ms, kgMessage(gen(tag, i)))
	}
	if err := kw.w.WriteMessages(ctx, ms...); err != nil {
		return nil, fmt.Errorf("Writer.WriteMessages: %w", err)
	}
	kw.mu.Lock()
	defer kw.mu.Unlock()
	out := map[int]rec{}
	for i := first; i < first+n; i++ {
		g := gen(tag, i)
		m, ok := kw.acks[string(g.Key)]
		if !ok {
			return nil, fmt.Errorf("no Completion for record %d", i)
		}
		g.Partition, g.Offset = int32(m.Partition), m.Offset
		out[i] = g
	}
	return out, nil
}

// kgReadAssigned reads each partition with its own Reader from the given offset until want
// messages arrived, then 500 ms more.
func kgReadAssigned(ctx context.Context, e *env, topic string, from map[int]int64, want int, iso kafka.IsolationLevel) ([]rec, error) {
	var mu sync.Mutex
	var got []rec
	var firstErr error
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for p, off := range from {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.bootstrap}, Topic: topic, Partition: p,
			MaxWait: 200 * time.Millisecond, IsolationLevel: iso})
		if err := r.SetOffset(off); err != nil {
			cancel()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(rctx)
				mu.Lock()
				if err != nil {
					if rctx.Err() == nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				got = append(got, fromKg(m))
				mu.Unlock()
			}
		}()
	}
	dl, ok := ctx.Deadline()
	err := waitFor(deadlineOf(dl, ok, time.Minute), fmt.Sprintf("%d messages", want), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= want || firstErr != nil
	}, func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprintf("%d consumed", len(got)) })
	if err == nil {
		time.Sleep(500 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if firstErr != nil {
		return got, fmt.Errorf("Reader: %w", firstErr)
	}
	return got, err
}

func kgAllFrom(n int, off int64) map[int]int64 {
	m := map[int]int64{}
	for p := 0; p < n; p++ {
		m[p] = off
	}
	return m
}

func kgProduceCodec(codec string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		cc := map[string]kafka.Compression{"none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy,
			"lz4": kafka.Lz4, "zstd": kafka.Zstd}[codec]
		topic := e.name("t")
		e.codecTopic = topic
		if err := kgCreateTopic(ctx, e, topic, 3, nil); err != nil {
			return err
		}
		w := newKgWriter(e, topic, cc)
		defer w.w.Close()
		sent, err := w.produce(ctx, codec, 0, 400)
		if err != nil {
			return err
		}
		if err := checkOffsetsDense(sent); err != nil {
			return err
		}
		got, err := kgReadAssigned(ctx, e, topic, kgAllFrom(3, kafka.FirstOffset), len(sent), kafka.ReadUncommitted)
		if err != nil {
			return err
		}
		return checkExact(codec, sent, got)
	}
}

func kgConsumeAssign(ctx context.Context, e *env) error {
	topic := e.name("t")
	if err := kgCreateTopic(ctx, e, topic, 2, nil); err != nil {
		return err
	}
	w := newKgWriter(e, topic, 0)
	w.w.Balancer = kafka.BalancerFunc(func(m kafka.Message, ps ...int) int { return index("assign", m.Key) % 2 })
	defer w.w.Close()
	sent, err := w.produce(ctx, "assign", 0, 100)
	if err != nil {
		return err
	}
	if err := checkOffsetsDense(sent); err != nil {
		return err
	}
	want := map[int]rec{}
	for i, g := range sent {
		if g.Partition != int32(i%2) {
			return fmt.Errorf("record %d written to partition %d, the balancer chose %d", i, g.Partition, i%2)
		}
		if (g.Partition == 0 && g.Offset >= 40) || (g.Partition == 1 && g.Offset >= 20) {
			want[i] = g
		}
	}
	got, err := kgReadAssigned(ctx, e, topic, map[int]int64{0: 40, 1: 20}, len(want), kafka.ReadUncommitted)
	if err != nil {
		return err
	}
	if err := checkExact("assign", want, got); err != nil {
		return err
	}
	got, err = kgReadAssigned(ctx, e, topic, map[int]int64{1: kafka.LastOffset}, 0, kafka.ReadUncommitted)
	if err != nil || len(got) != 0 {
		return fmt.Errorf("reading from LastOffset: %v, %d messages", err, len(got))
	}
	return nil
}

type kgMember struct {
	r    *kafka.Reader
	c    *collector
	stop context.CancelFunc
	done chan error
}

// kgStartMember reads with a group Reader: FetchMessage, then CommitMessages (synchronous,
// CommitInterval 0) before the next message; it stops after stopAfter messages (0: never).
func kgStartMember(e *env, group, topic string, stopAfter int) *kgMember {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.bootstrap}, GroupID: group, Topic: topic,
		StartOffset: kafka.FirstOffset, HeartbeatInterval: 300 * time.Millisecond, MaxWait: 200 * time.Millisecond,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second, JoinGroupBackoff: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	m := &kgMember{r: r, c: newCollector(), stop: cancel, done: make(chan error, 1)}
	go func() {
		for stopAfter == 0 || m.c.count() < stopAfter {
			msg, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					err = nil
				}
				m.done <- err
				return
			}
			m.c.add(fromKg(msg))
			if err := r.CommitMessages(ctx, msg); err != nil {
				if ctx.Err() != nil {
					err = nil
				}
				m.done <- fmt.Errorf("CommitMessages: %w", err)
				return
			}
		}
		m.done <- nil
	}()
	return m
}

func (m *kgMember) close() error {
	m.stop()
	err := <-m.done
	if cerr := m.r.Close(); err == nil {
		err = cerr
	}
	return err
}

func kgCheckCommittedAtEnd(ctx context.Context, e *env, group, topic string, sent map[int]rec) error {
	counts := countPerPartition(sent)
	var ps []int
	for p := range counts {
		ps = append(ps, int(p))
	}
	r, err := kgClient(e).OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err == nil {
		err = r.Error
	}
	if err != nil {
		return fmt.Errorf("Client.OffsetFetch: %w", err)
	}
	got := map[int32]int64{}
	for _, p := range r.Topics[topic] {
		if p.Error != nil {
			return fmt.Errorf("OffsetFetch %s/%d: %w", topic, p.Partition, p.Error)
		}
		got[int32(p.Partition)] = p.CommittedOffset
	}
	for p, n := range counts {
		if got[p] != n {
			return fmt.Errorf("committed offset of %s/%d: want %d, got %d", topic, p, n, got[p])
		}
	}
	return nil
}

func kgGroupCommitResume(ctx context.Context, e *env) error {
	topic, group := e.name("t"), e.name("g")
	if err := kgCreateTopic(ctx, e, topic, 3, nil); err != nil {
		return err
	}
	w := newKgWriter(e, topic, 0)
	sent, err := w.produce(ctx, "resume", 0, 300)
	w.w.Close()
	if err != nil {
		return err
	}
	m1 := kgStartMember(e, group, topic, 150)
	dl, ok := ctx.Deadline()
	var err1 error
	select {
	case err1 = <-m1.done:
		m1.done <- err1
	case <-time.After(time.Until(deadlineOf(dl, ok, 30*time.Second))):
		err1 = fmt.Errorf("first member: 150 messages not reached (%d)", m1.c.count())
	}
	if err := m1.close(); err1 == nil {
		err1 = err
	}
	if err1 != nil {
		return err1
	}
	first := m1.c.records()
	m2 := kgStartMember(e, group, topic, 0)
	err = waitFor(deadlineOf(dl, ok, 30*time.Second), "second member consumed the rest",
		func() bool { return m2.c.count()+len(first) >= len(sent) },
		func() string { return fmt.Sprintf("first %d, second %d", len(first), m2.c.count()) })
	if err == nil {
		time.Sleep(500 * time.Millisecond)
	}
	if cerr := m2.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := checkExact("resume", sent, append(first, m2.c.records()...)); err != nil {
		return err
	}
	return kgCheckCommittedAtEnd(ctx, e, group, topic, sent)
}

// kgAssignments describes the group and returns each member's partitions of the topic, or nil
// unless the group is Stable.
func kgAssignments(ctx context.Context, e *env, group, topic string) ([][]int32, string) {
	r, err := kgClient(e).DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil || len(r.Groups) != 1 {
		return nil, fmt.Sprint(err)
	}
	g := r.Groups[0]
	desc := fmt.Sprintf("%s, %d members: %+v", g.GroupState, len(g.Members), g.Members)
	if g.Error != nil || g.GroupState != "Stable" {
		return nil, desc
	}
	var out [][]int32
	for _, m := range g.Members {
		var ps []int32
		for _, t := range m.MemberAssignments.Topics {
			if t.Topic == topic {
				for _, p := range t.Partitions {
					ps = append(ps, int32(p))
				}
			}
		}
		sort.Slice(ps, func(a, b int) bool { return ps[a] < ps[b] })
		out = append(out, ps)
	}
	return out, desc
}

// Two group Readers with kafka-go's default balancers (range, then round robin): DescribeGroups
// must show the partitions split between them once the second joins, and every record must be
// consumed once. The second joins when the first has consumed and committed everything so far:
// kafka-go's Reader is at-least-once across a rebalance (a message it fetched before the
// rebalance can still be delivered, and its commit lands in the next generation, after the new
// owner read from the older offset; seen with Apache Kafka 4.4 too), so a rebalance with
// messages in flight may legitimately repeat one.
func kgGroupRebalance(ctx context.Context, e *env) error {
	topic, group := e.name("t"), e.name("g")
	const parts = 4
	if err := kgCreateTopic(ctx, e, topic, parts, nil); err != nil {
		return err
	}
	w := newKgWriter(e, topic, 0)
	defer w.w.Close()
	sent1, err := w.produce(ctx, "reb", 0, 200)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	a := kgStartMember(e, group, topic, 0)
	var b *kgMember
	defer func() {
		if a != nil {
			a.close()
		}
		if b != nil {
			b.close()
		}
	}()
	var last string
	desc := func() string {
		s := fmt.Sprintf("A consumed %d", a.c.count())
		if b != nil {
			s += fmt.Sprintf(", B consumed %d", b.c.count())
		}
		return s + "; group: " + last
	}
	if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "first member owns all partitions, consumed and committed everything", func() bool {
		var as [][]int32
		as, last = kgAssignments(ctx, e, group, topic)
		return len(as) == 1 && len(as[0]) == parts && a.c.count() >= len(sent1) &&
			kgCheckCommittedAtEnd(ctx, e, group, topic, sent1) == nil
	}, desc); err != nil {
		return err
	}
	b = kgStartMember(e, group, topic, 0)
	if err := waitFor(deadlineOf(dl, ok, 40*time.Second), "the two members split the partitions", func() bool {
		var as [][]int32
		as, last = kgAssignments(ctx, e, group, topic)
		return len(as) == 2 && split(as[0], as[1], parts)
	}, desc); err != nil {
		return err
	}
	sent2, err := w.produce(ctx, "reb", 200, 200)
	if err != nil {
		return err
	}
	sent := merge(sent1, sent2)
	if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "every record consumed",
		func() bool { return a.c.count()+b.c.count() >= len(sent) }, desc); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	ea, eb := a.close(), b.close()
	ra, rb := a.c.records(), b.c.records()
	a, b = nil, nil
	if ea != nil || eb != nil {
		return fmt.Errorf("members: %v / %v", ea, eb)
	}
	if len(rb) == 0 {
		return fmt.Errorf("the second member consumed nothing")
	}
	if err := checkExact("reb", sent, append(ra, rb...)); err != nil {
		return err
	}
	return kgCheckCommittedAtEnd(ctx, e, group, topic, sent)
}

func kgAdminTopics(ctx context.Context, e *env) error {
	cl := kgClient(e)
	t1, t2 := e.name("a"), e.name("b")
	// kafka-go waits after any CreateTopics until the created topics show in its metadata, which
	// a validate-only one never does: the wait ends with the context, and the answer is kept.
	vctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cr, err := cl.CreateTopics(vctx, &kafka.CreateTopicsRequest{ValidateOnly: true,
		Topics: []kafka.TopicConfig{{Topic: t1, NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || cr.Errors[t1] != nil {
		return fmt.Errorf("CreateTopics validate only: %v %v", err, cr)
	}
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t1}})
	if err != nil || len(md.Topics) != 1 || !errors.Is(md.Topics[0].Error, kafka.UnknownTopicOrPartition) {
		return fmt.Errorf("after a validate-only CreateTopics the topic should not exist: %v %+v", err, md)
	}
	cr, err = cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: t1, NumPartitions: 3, ReplicationFactor: 1},
		{Topic: t2, NumPartitions: 1, ReplicationFactor: 1},
		{Topic: e.name("rf3"), NumPartitions: 1, ReplicationFactor: 3}}})
	if err != nil || cr.Errors[t1] != nil || cr.Errors[t2] != nil || !errors.Is(cr.Errors[e.name("rf3")], kafka.InvalidReplicationFactor) {
		return fmt.Errorf("CreateTopics (two good, one with replication factor 3): %v %v", err, cr.Errors)
	}
	cr, err = cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: t1, NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || !errors.Is(cr.Errors[t1], kafka.TopicAlreadyExists) {
		return fmt.Errorf("creating %s again: want TopicAlreadyExists, got %v %v", t1, err, cr.Errors)
	}
	var pr *kafka.CreatePartitionsResponse
	for try := 0; try < 50; try++ { // Kafka's metadata may lag the creation by a moment
		pr, err = cl.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: t1, Count: 5}}})
		if err != nil || !errors.Is(pr.Errors[t1], kafka.UnknownTopicOrPartition) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || pr.Errors[t1] != nil {
		return fmt.Errorf("CreatePartitions to 5: %v %v", err, pr)
	}
	pr, err = cl.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: t1, Count: 2}}})
	if err != nil || !errors.Is(pr.Errors[t1], kafka.InvalidPartitionNumber) {
		return fmt.Errorf("CreatePartitions to fewer: want InvalidPartitionNumber, got %v %v", err, pr)
	}
	for try := 0; try < 50; try++ {
		md, err = cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t1, t2}})
		if err == nil && len(md.Topics) == 2 && md.Topics[0].Error == nil && md.Topics[1].Error == nil &&
			len(md.Topics[0].Partitions)+len(md.Topics[1].Partitions) == 6 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(md.Brokers) != 1 || len(md.Topics) != 2 {
		return fmt.Errorf("Metadata: %v %+v", err, md)
	}
	node := md.Brokers[0]
	if node.Host != "127.0.0.1" || fmt.Sprint(node.Port) != e.bootstrap[strings.LastIndex(e.bootstrap, ":")+1:] {
		return fmt.Errorf("Metadata broker: %+v, want %s", node, e.bootstrap)
	}
	for _, t := range md.Topics {
		want := map[string]int{t1: 5, t2: 1}[t.Name]
		if t.Error != nil || len(t.Partitions) != want || t.Internal {
			return fmt.Errorf("Metadata %s: want %d partitions, got %+v", t.Name, want, t)
		}
		for _, p := range t.Partitions {
			if p.Leader.ID != node.ID || len(p.Replicas) != 1 || len(p.Isr) != 1 || p.Error != nil {
				return fmt.Errorf("Metadata %s/%d: %+v", t.Name, p.ID, p)
			}
		}
	}
	dr, err := cl.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{t1, t2}})
	if err != nil || dr.Errors[t1] != nil || dr.Errors[t2] != nil {
		return fmt.Errorf("DeleteTopics: %v %v", err, dr)
	}
	dr, err = cl.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{t1}})
	if err != nil || !errors.Is(dr.Errors[t1], kafka.UnknownTopicOrPartition) {
		return fmt.Errorf("deleting %s again: want UnknownTopicOrPartition, got %v %v", t1, err, dr)
	}
	return nil
}

func kgAdminConfigs(ctx context.Context, e *env) error {
	topic := e.name("t")
	if err := kgCreateTopic(ctx, e, topic, 1, map[string]string{"retention.ms": "123456789"}); err != nil {
		return err
	}
	r, err := kgClient(e).DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms", "max.message.bytes"}}}})
	if err != nil || len(r.Resources) != 1 || r.Resources[0].Error != nil {
		return fmt.Errorf("DescribeConfigs: %v %+v", err, r)
	}
	got := map[string]kafka.DescribeConfigResponseConfigEntry{}
	for _, c := range r.Resources[0].ConfigEntries {
		got[c.ConfigName] = c
	}
	// config sources: 1 DYNAMIC_TOPIC_CONFIG, 5 DEFAULT_CONFIG
	if c := got["retention.ms"]; c.ConfigValue != "123456789" || c.ConfigSource != 1 {
		return fmt.Errorf("retention.ms: want 123456789 from the topic, got %+v", c)
	}
	if c := got["max.message.bytes"]; c.ConfigValue != "1048588" || c.ConfigSource != 5 {
		return fmt.Errorf("max.message.bytes: want Kafka's default 1048588, got %+v", c)
	}
	if len(got) != 2 {
		return fmt.Errorf("asked for 2 configs, got %d", len(got))
	}
	return nil
}

func kgAdminGroupsOffsets(ctx context.Context, e *env) error {
	cl := kgClient(e)
	topic, group := e.name("t"), e.name("g")
	if err := kgCreateTopic(ctx, e, topic, 2, nil); err != nil {
		return err
	}
	w := newKgWriter(e, topic, 0)
	sent, err := w.produce(ctx, "grp", 0, 40)
	w.w.Close()
	if err != nil {
		return err
	}
	counts := countPerPartition(sent)
	m := kgStartMember(e, group, topic, 0)
	dl, ok := ctx.Deadline()
	if err := waitFor(deadlineOf(dl, ok, 20*time.Second), "member consumed everything",
		func() bool { return m.c.count() >= len(sent) }, nil); err != nil {
		m.close()
		return err
	}
	lg, err := cl.ListGroups(ctx, &kafka.ListGroupsRequest{})
	found := false
	for _, g := range lg.Groups {
		found = found || (g.GroupID == group && g.ProtocolType == "consumer")
	}
	if err != nil || !found {
		m.close()
		return fmt.Errorf("ListGroups: %v, %s not listed as a consumer group: %+v", err, group, lg)
	}
	as, desc := kgAssignments(ctx, e, group, topic)
	if len(as) != 1 || len(as[0]) != 2 {
		m.close()
		return fmt.Errorf("DescribeGroups with one member: %s", desc)
	}
	if err := m.close(); err != nil {
		return err
	}
	if err := kgCheckCommittedAtEnd(ctx, e, group, topic, sent); err != nil {
		return err
	}
	lo, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0), kafka.FirstOffsetOf(1), kafka.LastOffsetOf(1)}}})
	if err != nil {
		return fmt.Errorf("ListOffsets: %w", err)
	}
	for _, po := range lo.Topics[topic] {
		if po.Error != nil || po.FirstOffset != 0 || po.LastOffset != counts[int32(po.Partition)] {
			return fmt.Errorf("ListOffsets %s/%d: %+v, want 0..%d", topic, po.Partition, po, counts[int32(po.Partition)])
		}
	}
	if len(lo.Topics[topic]) != 2 {
		return fmt.Errorf("ListOffsets: %+v", lo.Topics)
	}
	oc, err := cl.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: 3}, {Partition: 1, Offset: 2}}}})
	if err != nil {
		return fmt.Errorf("OffsetCommit: %w", err)
	}
	for _, p := range oc.Topics[topic] {
		if p.Error != nil {
			return fmt.Errorf("OffsetCommit %s/%d: %w", topic, p.Partition, p.Error)
		}
	}
	od, err := cl.OffsetDelete(ctx, &kafka.OffsetDeleteRequest{GroupID: group, Topics: map[string][]int{topic: {1}}})
	if err == nil {
		err = od.Error
	}
	if err != nil || len(od.Topics[topic]) != 1 || od.Topics[topic][0].Error != nil {
		return fmt.Errorf("OffsetDelete: %v %+v", err, od)
	}
	of, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		return fmt.Errorf("OffsetFetch: %w", err)
	}
	want := map[int]int64{0: 3, 1: -1}
	for _, p := range of.Topics[topic] {
		if p.Error != nil || p.CommittedOffset != want[p.Partition] {
			return fmt.Errorf("OffsetFetch after commit and delete: %s/%d: %+v, want %d", topic, p.Partition, p, want[p.Partition])
		}
	}
	dg, err := cl.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil || dg.Errors[group] != nil {
		return fmt.Errorf("DeleteGroups: %v %+v", err, dg)
	}
	dg, err = cl.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil || !errors.Is(dg.Errors[group], kafka.GroupIdNotFound) {
		return fmt.Errorf("DeleteGroups again: want GroupIdNotFound, got %v %+v", err, dg)
	}
	return nil
}

// kgIsConnectionClosed: the broker closed the connection on a request it does not offer.
func kgIsConnectionClosed(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) { // an answer from the broker
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func kgMissing(e *env) []unsupported {
	topic := e.name("t")
	cl := kgClient(e)
	return []unsupported{
		{"IncrementalAlterConfigs (44)", "Client.IncrementalAlterConfigs", missingAlterConfigs, func(ctx context.Context) error {
			r, err := cl.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{
				{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, Configs: []kafka.IncrementalAlterConfigsRequestConfig{
					{Name: "retention.ms", Value: "1000", ConfigOperation: kafka.ConfigOperationSet}}}}})
			if err == nil && len(r.Resources) > 0 {
				err = r.Resources[0].Error
			}
			return err
		}},
		{"AlterConfigs (33)", "Client.AlterConfigs", missingAlterConfigs, func(ctx context.Context) error {
			r, err := cl.AlterConfigs(ctx, &kafka.AlterConfigsRequest{Resources: []kafka.AlterConfigRequestResource{
				{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, Configs: []kafka.AlterConfigRequestConfig{{Name: "retention.ms", Value: "1000"}}}}})
			if err == nil && len(r.Errors) > 0 {
				for _, e := range r.Errors {
					err = e
				}
			}
			return err
		}},
		{"DescribeAcls (29)", "Client.DescribeACLs", missingACLs, func(ctx context.Context) error {
			r, err := cl.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{ResourceTypeFilter: kafka.ResourceTypeAny,
				ResourcePatternTypeFilter: kafka.PatternTypeAny, Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny}})
			if err == nil {
				err = r.Error
			}
			return err
		}},
		{"CreateAcls (30)", "Client.CreateACLs", missingACLs, func(ctx context.Context) error {
			r, err := cl.CreateACLs(ctx, &kafka.CreateACLsRequest{ACLs: []kafka.ACLEntry{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
				ResourcePatternType: kafka.PatternTypeLiteral, Principal: "User:x", Host: "*", Operation: kafka.ACLOperationTypeRead,
				PermissionType: kafka.ACLPermissionTypeAllow}}})
			if err == nil && len(r.Errors) > 0 {
				err = r.Errors[0]
			}
			return err
		}},
		{"DescribeClientQuotas (48)", "Client.DescribeClientQuotas", missingQuotas, func(ctx context.Context) error {
			r, err := cl.DescribeClientQuotas(ctx, &kafka.DescribeClientQuotasRequest{})
			if err == nil {
				err = r.Error
			}
			return err
		}},
		{"DescribeUserScramCredentials (50)", "Client.DescribeUserScramCredentials", missingSASL, func(ctx context.Context) error {
			r, err := cl.DescribeUserScramCredentials(ctx, &kafka.DescribeUserScramCredentialsRequest{})
			if err == nil {
				err = r.Error
			}
			return err
		}},
	}
}
