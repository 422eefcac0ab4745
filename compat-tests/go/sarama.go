package main

// sarama (github.com/IBM/sarama) with Version set to the newest Kafka version it knows
// (sarama.MaxVersion); it reads the broker's ApiVersions answer and lowers each request's
// version to what the broker offers.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func init() {
	s := []scenario{}
	for _, c := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		s = append(s, scenario{"produce_" + c, 60 * time.Second, srProduceCodec(c)})
	}
	s = append(s,
		scenario{"consume_assign", 60 * time.Second, srConsumeAssign},
		scenario{"group_commit_resume", 60 * time.Second, srGroupCommitResume},
		scenario{"group_rebalance_range", 90 * time.Second, srGroupRebalance(sarama.NewBalanceStrategyRange())},
		scenario{"group_rebalance_roundrobin", 90 * time.Second, srGroupRebalance(sarama.NewBalanceStrategyRoundRobin())},
		scenario{"group_rebalance_sticky", 90 * time.Second, srGroupRebalance(sarama.NewBalanceStrategySticky())},
		scenario{"idempotent_producer", 60 * time.Second, srIdempotent},
		scenario{"txn_commit_abort", 60 * time.Second, srTxnCommitAbort},
		scenario{"txn_consume_transform_produce", 90 * time.Second, srConsumeTransformProduce},
		scenario{"admin_topics", 60 * time.Second, srAdminTopics},
		scenario{"admin_configs", 60 * time.Second, srAdminConfigs},
		scenario{"admin_groups_offsets", 60 * time.Second, srAdminGroupsOffsets},
		scenario{"admin_delete_records", 60 * time.Second, srAdminDeleteRecords},
	)
	s = append(s, missingScenarios("sr", srMissing)...)
	register("sarama", "github.com/IBM/sarama", "sr", s)
	missingChecks["sr"] = missingCheck{"sarama.ErrUnsupportedVersion", func(err error) bool {
		return errors.Is(err, sarama.ErrUnsupportedVersion)
	}, func(ctx context.Context, e *env) error { return srCreateTopic(e, e.name("t"), 1) }}
}

func srConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.MaxVersion
	c.ClientID = "runnel-compat-sarama"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Metadata.AllowAutoTopicCreation = false
	return c
}

func srAdmin(e *env) (sarama.ClusterAdmin, error) {
	return sarama.NewClusterAdmin([]string{e.bootstrap}, srConfig())
}

func srCreateTopic(e *env, topic string, partitions int32) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		return fmt.Errorf("ClusterAdmin.CreateTopic %s: %w", topic, err)
	}
	return nil
}

func srMessage(topic string, r rec) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(r.Key), Value: sarama.ByteEncoder(r.Value)}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return m
}

func fromSarama(m *sarama.ConsumerMessage) rec {
	r := rec{Key: m.Key, Value: m.Value, Partition: m.Partition, Offset: m.Offset}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, hdr{string(h.Key), h.Value})
	}
	return r
}

func srProduce(p sarama.SyncProducer, topic, tag string, first, n int) (map[int]rec, error) {
	var ms []*sarama.ProducerMessage
	for i := first; i < first+n; i++ {
		ms = append(ms, srMessage(topic, gen(tag, i)))
	}
	if err := p.SendMessages(ms); err != nil {
		return nil, fmt.Errorf("SendMessages to %s: %w", topic, err)
	}
	out := map[int]rec{}
	for k, m := range ms {
		g := gen(tag, first+k)
		g.Partition, g.Offset = m.Partition, m.Offset
		out[first+k] = g
	}
	return out, nil
}

func srProducer(e *env, tune func(*sarama.Config)) (sarama.SyncProducer, error) {
	c := srConfig()
	if tune != nil {
		tune(c)
	}
	return sarama.NewSyncProducer([]string{e.bootstrap}, c)
}

// srReadAssigned reads the partitions from the given offsets with ConsumePartition until want
// messages arrived, then 500 ms more.
func srReadAssigned(ctx context.Context, e *env, topic string, from map[int32]int64, want int, iso sarama.IsolationLevel) ([]rec, error) {
	c := srConfig()
	c.Consumer.IsolationLevel = iso
	consumer, err := sarama.NewConsumer([]string{e.bootstrap}, c)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	var mu sync.Mutex
	var got []rec
	var firstErr error
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p, off := range from {
		pc, err := consumer.ConsumePartition(topic, p, off)
		if err != nil {
			close(stop)
			wg.Wait()
			return nil, fmt.Errorf("ConsumePartition %s/%d at %d: %w", topic, p, off, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.Close()
			for {
				select {
				case m := <-pc.Messages():
					mu.Lock()
					got = append(got, fromSarama(m))
					mu.Unlock()
				case err := <-pc.Errors():
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				case <-stop:
					return
				}
			}
		}()
	}
	n := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	dl, ok := ctx.Deadline()
	err = waitFor(deadlineOf(dl, ok, time.Minute), fmt.Sprintf("%d messages", want), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= want || firstErr != nil
	}, func() string { return fmt.Sprintf("%d consumed", n()) })
	if err == nil {
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if firstErr != nil {
		return got, fmt.Errorf("consumer: %w", firstErr)
	}
	// per-partition goroutines append in their own order; checkExact wants offset order within
	// a partition, which each goroutine keeps
	return got, err
}

func allFrom(n int32, off int64) map[int32]int64 {
	m := map[int32]int64{}
	for p := int32(0); p < n; p++ {
		m[p] = off
	}
	return m
}

func srProduceCodec(codec string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		cc := map[string]sarama.CompressionCodec{"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
			"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD}[codec]
		topic := e.name("t")
		e.codecTopic = topic
		if err := srCreateTopic(e, topic, 3); err != nil {
			return err
		}
		p, err := srProducer(e, func(c *sarama.Config) { c.Producer.Compression = cc })
		if err != nil {
			return err
		}
		defer p.Close()
		sent, err := srProduce(p, topic, codec, 0, 400)
		if err != nil {
			return err
		}
		if err := checkOffsetsDense(sent); err != nil {
			return err
		}
		got, err := srReadAssigned(ctx, e, topic, allFrom(3, sarama.OffsetOldest), len(sent), sarama.ReadUncommitted)
		if err != nil {
			return err
		}
		return checkExact(codec, sent, got)
	}
}

func srConsumeAssign(ctx context.Context, e *env) error {
	topic := e.name("t")
	if err := srCreateTopic(e, topic, 2); err != nil {
		return err
	}
	p, err := srProducer(e, func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewManualPartitioner })
	if err != nil {
		return err
	}
	defer p.Close()
	var ms []*sarama.ProducerMessage
	for i := 0; i < 100; i++ {
		m := srMessage(topic, gen("assign", i))
		m.Partition = int32(i % 2)
		ms = append(ms, m)
	}
	if err := p.SendMessages(ms); err != nil {
		return err
	}
	sent, want := map[int]rec{}, map[int]rec{}
	for i, m := range ms {
		g := gen("assign", i)
		g.Partition, g.Offset = m.Partition, m.Offset
		sent[i] = g
		if (g.Partition == 0 && g.Offset >= 40) || (g.Partition == 1 && g.Offset >= 20) {
			want[i] = g
		}
	}
	if err := checkOffsetsDense(sent); err != nil {
		return err
	}
	got, err := srReadAssigned(ctx, e, topic, map[int32]int64{0: 40, 1: 20}, len(want), sarama.ReadUncommitted)
	if err != nil {
		return err
	}
	if err := checkExact("assign", want, got); err != nil {
		return err
	}
	// The newest offset (OffsetNewest) is the end: nothing more arrives.
	got, err = srReadAssigned(ctx, e, topic, map[int32]int64{0: sarama.OffsetNewest}, 0, sarama.ReadUncommitted)
	if err != nil || len(got) != 0 {
		return fmt.Errorf("reading from OffsetNewest: %v, %d messages", err, len(got))
	}
	return nil
}

// srHandler is a sarama ConsumerGroupHandler that records its claims and messages and commits
// what it processed synchronously whenever its channel is drained and at the session's end.
type srHandler struct {
	c     *collector
	topic string
	// stopAfter ends the member's claims after this many messages in total (0: never).
	stopAfter int
	stopped   chan struct{}
	once      sync.Once
}

func (h *srHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.c.setAssigned(s.Claims()[h.topic])
	return nil
}

func (h *srHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	h.c.setAssigned(nil)
	return nil
}

func (h *srHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if h.stopAfter > 0 && h.c.count() >= h.stopAfter {
				h.once.Do(func() { close(h.stopped) })
				return nil
			}
			h.c.add(fromSarama(m))
			s.MarkMessage(m, "")
			if len(claim.Messages()) == 0 {
				s.Commit()
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

type srMember struct {
	g      sarama.ConsumerGroup
	h      *srHandler
	cancel context.CancelFunc
	done   chan error
}

func srStartMember(e *env, group, topic string, strategy sarama.BalanceStrategy, stopAfter int) (*srMember, error) {
	c := srConfig()
	c.Consumer.Offsets.AutoCommit.Enable = false
	c.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	if strategy != nil {
		c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	}
	g, err := sarama.NewConsumerGroup([]string{e.bootstrap}, group, c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &srMember{g: g, h: &srHandler{c: newCollector(), topic: topic, stopAfter: stopAfter, stopped: make(chan struct{})},
		cancel: cancel, done: make(chan error, 1)}
	go func() {
		var err error
		for ctx.Err() == nil {
			if err = g.Consume(ctx, []string{topic}, m.h); err != nil {
				break
			}
			select {
			case <-m.h.stopped:
				m.done <- nil
				return
			default:
			}
		}
		m.done <- err
	}()
	go func() {
		for err := range g.Errors() {
			m.h.c.mu.Lock()
			m.h.c.events = append(m.h.c.events, "error: "+err.Error())
			m.h.c.mu.Unlock()
		}
	}()
	return m, nil
}

func (m *srMember) close() error {
	m.cancel()
	err := <-m.done
	if cerr := m.g.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, sarama.ErrClosedConsumerGroup) {
		err = nil
	}
	return err
}

func srCheckCommittedAtEnd(e *env, group, topic string, sent map[int]rec) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	counts := countPerPartition(sent)
	var ps []int32
	for p := range counts {
		ps = append(ps, p)
	}
	r, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		return fmt.Errorf("ListConsumerGroupOffsets: %w", err)
	}
	for p, n := range counts {
		b := r.GetBlock(topic, p)
		if b == nil || b.Err != sarama.ErrNoError || b.Offset != n {
			return fmt.Errorf("committed offset of %s/%d: want %d, got %+v", topic, p, n, b)
		}
	}
	return nil
}

func srGroupCommitResume(ctx context.Context, e *env) error {
	topic, group := e.name("t"), e.name("g")
	if err := srCreateTopic(e, topic, 3); err != nil {
		return err
	}
	p, err := srProducer(e, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	sent, err := srProduce(p, topic, "resume", 0, 300)
	if err != nil {
		return err
	}
	// The first member stops taking messages once it has 150, commits what it took and leaves.
	m1, err := srStartMember(e, group, topic, nil, 150)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	select {
	case <-m1.h.stopped:
	case <-time.After(time.Until(deadlineOf(dl, ok, 30*time.Second))):
		m1.close()
		return fmt.Errorf("first member: 150 messages not reached (%d, %s)", m1.h.c.count(), m1.h.c.history())
	}
	if err := m1.close(); err != nil {
		return fmt.Errorf("first member: %w", err)
	}
	first := m1.h.c.records()
	m2, err := srStartMember(e, group, topic, nil, 0)
	if err != nil {
		return err
	}
	err = waitFor(deadlineOf(dl, ok, 30*time.Second), "second member consumed the rest",
		func() bool { return m2.h.c.count()+len(first) >= len(sent) }, func() string {
			return fmt.Sprintf("first %d, second %d (%s)", len(first), m2.h.c.count(), m2.h.c.history())
		})
	if err == nil {
		time.Sleep(500 * time.Millisecond)
	}
	if cerr := m2.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := checkExact("resume", sent, append(first, m2.h.c.records()...)); err != nil {
		return err
	}
	return srCheckCommittedAtEnd(e, group, topic, sent)
}

func srGroupRebalance(strategy sarama.BalanceStrategy) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		topic, group := e.name("t"), e.name("g")
		const parts = 4
		if err := srCreateTopic(e, topic, parts); err != nil {
			return err
		}
		p, err := srProducer(e, nil)
		if err != nil {
			return err
		}
		defer p.Close()
		sent1, err := srProduce(p, topic, "reb", 0, 200)
		if err != nil {
			return err
		}
		dl, ok := ctx.Deadline()
		a, err := srStartMember(e, group, topic, strategy, 0)
		if err != nil {
			return err
		}
		var b *srMember
		defer func() {
			if a != nil {
				a.close()
			}
			if b != nil {
				b.close()
			}
		}()
		desc := func() string {
			s := fmt.Sprintf("A owns %v (%s), consumed %d", a.h.c.partitions(), a.h.c.history(), a.h.c.count())
			if b != nil {
				s += fmt.Sprintf("; B owns %v (%s), consumed %d", b.h.c.partitions(), b.h.c.history(), b.h.c.count())
			}
			return s
		}
		if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "first member owns all partitions and consumed records",
			func() bool { return len(a.h.c.partitions()) == parts && a.h.c.count() >= 50 }, desc); err != nil {
			return err
		}
		if b, err = srStartMember(e, group, topic, strategy, 0); err != nil {
			return err
		}
		if err := waitFor(deadlineOf(dl, ok, 40*time.Second), "the two members split the partitions",
			func() bool { return split(a.h.c.partitions(), b.h.c.partitions(), parts) }, desc); err != nil {
			return err
		}
		sent2, err := srProduce(p, topic, "reb", 200, 200)
		if err != nil {
			return err
		}
		sent := merge(sent1, sent2)
		if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "every record consumed",
			func() bool { return a.h.c.count()+b.h.c.count() >= len(sent) }, desc); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
		ea, eb := a.close(), b.close()
		ra, rb := a.h.c.records(), b.h.c.records()
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
		return srCheckCommittedAtEnd(e, group, topic, sent)
	}
}

func srIdempotentConfig(c *sarama.Config) {
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1
	c.Producer.Retry.Max = 5
}

func srIdempotent(ctx context.Context, e *env) error {
	topic := e.name("t")
	if err := srCreateTopic(e, topic, 3); err != nil {
		return err
	}
	p, err := srProducer(e, srIdempotentConfig)
	if err != nil {
		return err
	}
	defer p.Close()
	sent := map[int]rec{}
	for k := 0; k < 5; k++ {
		s, err := srProduce(p, topic, "idem", k*200, 200)
		if err != nil {
			return err
		}
		sent = merge(sent, s)
	}
	if err := checkOffsetsDense(sent); err != nil {
		return err
	}
	got, err := srReadAssigned(ctx, e, topic, allFrom(3, sarama.OffsetOldest), len(sent), sarama.ReadUncommitted)
	if err != nil {
		return err
	}
	return checkExact("idem", sent, got)
}

func srTxnProducer(e *env, id string) (sarama.SyncProducer, error) {
	return srProducer(e, func(c *sarama.Config) {
		srIdempotentConfig(c)
		c.Producer.Transaction.ID = id
	})
}

func srTxnCommitAbort(ctx context.Context, e *env) error {
	topic := e.name("t")
	if err := srCreateTopic(e, topic, 2); err != nil {
		return err
	}
	p, err := srTxnProducer(e, e.name("txn"))
	if err != nil {
		return err
	}
	defer p.Close()
	batch := func(first int, commit bool) (map[int]rec, error) {
		if err := p.BeginTxn(); err != nil {
			return nil, fmt.Errorf("BeginTxn: %w", err)
		}
		s, err := srProduce(p, topic, "txn", first, 100)
		if err != nil {
			return nil, err
		}
		if commit {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		if err != nil {
			return nil, fmt.Errorf("end transaction (commit=%v): %w", commit, err)
		}
		return s, nil
	}
	c1, err := batch(0, true)
	if err != nil {
		return err
	}
	a1, err := batch(100, false)
	if err != nil {
		return err
	}
	c2, err := batch(200, true)
	if err != nil {
		return err
	}
	committed := merge(c1, c2)
	got, err := srReadAssigned(ctx, e, topic, allFrom(2, sarama.OffsetOldest), len(committed), sarama.ReadCommitted)
	if err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	if err := checkExact("txn", committed, got); err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	all := merge(c1, a1, c2)
	got, err = srReadAssigned(ctx, e, topic, allFrom(2, sarama.OffsetOldest), len(all), sarama.ReadUncommitted)
	if err != nil {
		return fmt.Errorf("read_uncommitted: %w", err)
	}
	return checkExact("txn", all, got)
}

// ctpHandler transforms each input message into one output message in a transaction that also
// commits the message's offset for the group (AddMessageToTxn). The first transaction is
// aborted and the message is then processed again.
type ctpHandler struct {
	p       sarama.SyncProducer
	group   string
	out     string
	mu      sync.Mutex
	done    map[int]bool
	aborted int
	err     error
}

func (h *ctpHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *ctpHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *ctpHandler) fail(err error) error {
	if h.err == nil {
		h.err = err
	}
	return err
}

func (h *ctpHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		for try := 0; ; try++ {
			if err := h.p.BeginTxn(); err != nil {
				h.mu.Unlock()
				return h.fail(fmt.Errorf("BeginTxn: %w", err))
			}
			out := &sarama.ProducerMessage{Topic: h.out, Key: sarama.ByteEncoder(m.Key),
				Value: sarama.ByteEncoder(append([]byte("out:"), m.Value...))}
			for _, hd := range m.Headers {
				out.Headers = append(out.Headers, *hd)
			}
			if _, _, err := h.p.SendMessage(out); err != nil {
				h.mu.Unlock()
				return h.fail(fmt.Errorf("SendMessage: %w", err))
			}
			if err := h.p.AddMessageToTxn(m, h.group, nil); err != nil {
				h.mu.Unlock()
				return h.fail(fmt.Errorf("AddMessageToTxn: %w", err))
			}
			if h.aborted == 0 {
				if err := h.p.AbortTxn(); err != nil {
					h.mu.Unlock()
					return h.fail(fmt.Errorf("AbortTxn: %w", err))
				}
				h.aborted++
				continue
			}
			if err := h.p.CommitTxn(); err != nil {
				h.mu.Unlock()
				return h.fail(fmt.Errorf("CommitTxn: %w", err))
			}
			break
		}
		i := index("ctp", m.Key)
		if h.done[i] {
			h.mu.Unlock()
			return h.fail(fmt.Errorf("input %d transformed in two committed transactions", i))
		}
		h.done[i] = true
		h.mu.Unlock()
	}
	return nil
}

func srConsumeTransformProduce(ctx context.Context, e *env) error {
	in, out, group := e.name("in"), e.name("out"), e.name("g")
	for _, t := range []string{in, out} {
		if err := srCreateTopic(e, t, 3); err != nil {
			return err
		}
	}
	p, err := srProducer(e, nil)
	if err != nil {
		return err
	}
	input, err := srProduce(p, in, "ctp", 0, 60)
	p.Close()
	if err != nil {
		return err
	}
	tp, err := srTxnProducer(e, e.name("txn"))
	if err != nil {
		return err
	}
	defer tp.Close()
	c := srConfig()
	c.Consumer.Offsets.AutoCommit.Enable = false
	c.Consumer.IsolationLevel = sarama.ReadCommitted
	g, err := sarama.NewConsumerGroup([]string{e.bootstrap}, group, c)
	if err != nil {
		return err
	}
	h := &ctpHandler{p: tp, group: group, out: out, done: map[int]bool{}}
	cctx, cancel := context.WithCancel(ctx)
	finished := make(chan error, 1)
	go func() {
		var err error
		for cctx.Err() == nil && err == nil {
			err = g.Consume(cctx, []string{in}, h)
		}
		finished <- err
	}()
	dl, ok := ctx.Deadline()
	werr := waitFor(deadlineOf(dl, ok, 60*time.Second), "every input transformed", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.done) >= len(input) || h.err != nil
	}, func() string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return fmt.Sprintf("%d of %d", len(h.done), len(input))
	})
	cancel()
	<-finished
	g.Close()
	if h.err != nil {
		return h.err
	}
	if werr != nil {
		return werr
	}
	if err := srCheckCommittedAtEnd(e, group, in, input); err != nil {
		return err
	}
	got, err := srReadAssigned(ctx, e, out, allFrom(3, sarama.OffsetOldest), len(input), sarama.ReadCommitted)
	if err != nil {
		return fmt.Errorf("read_committed output: %w", err)
	}
	seen := map[int]bool{}
	for _, r := range got {
		i := index("ctp", r.Key)
		want, ok := input[i]
		if !ok || seen[i] || string(r.Value) != "out:"+string(want.Value) || !sameHeaders(r.Headers, want.Headers) {
			return fmt.Errorf("output record %q at %d/%d: unknown, doubled or not the transformed input", r.Key, r.Partition, r.Offset)
		}
		seen[i] = true
	}
	if len(seen) != len(input) {
		return fmt.Errorf("output holds %d of %d transformed records", len(seen), len(input))
	}
	return nil
}

func srAdminTopics(ctx context.Context, e *env) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	t1 := e.name("a")
	brokers, ctrl, err := adm.DescribeCluster()
	if err != nil || len(brokers) != 1 || brokers[0].Addr() != e.bootstrap || ctrl != brokers[0].ID() {
		return fmt.Errorf("DescribeCluster: %v, brokers %v, controller %d", err, brokers, ctrl)
	}
	if err := adm.CreateTopic(t1, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, true); err != nil {
		return fmt.Errorf("CreateTopic validateOnly: %w", err)
	}
	if ts, err := adm.ListTopics(); err != nil || ts[t1].NumPartitions != 0 {
		return fmt.Errorf("after a validateOnly CreateTopic the topic should not exist: %v %+v", err, ts[t1])
	}
	retention := "3600000"
	if err := adm.CreateTopic(t1, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false); err != nil {
		return fmt.Errorf("CreateTopic: %w", err)
	}
	if err := adm.CreateTopic(t1, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating %s again: want ErrTopicAlreadyExists, got %v", t1, err)
	}
	if err := adm.CreatePartitions(t1, 5, nil, false); err != nil {
		return fmt.Errorf("CreatePartitions to 5: %w", err)
	}
	if err := adm.CreatePartitions(t1, 2, nil, false); !errors.Is(err, sarama.ErrInvalidPartitions) {
		return fmt.Errorf("CreatePartitions to fewer: want ErrInvalidPartitions, got %v", err)
	}
	var md []*sarama.TopicMetadata
	for try := 0; try < 50; try++ { // Kafka's metadata may lag the change by a moment
		if md, err = adm.DescribeTopics([]string{t1}); err != nil || len(md) != 1 || len(md[0].Partitions) == 5 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError || len(md[0].Partitions) != 5 {
		return fmt.Errorf("DescribeTopics: %v %s", err, srTopics(md))
	}
	for _, pm := range md[0].Partitions {
		if pm.Leader != brokers[0].ID() || len(pm.Replicas) != 1 || len(pm.Isr) != 1 {
			return fmt.Errorf("DescribeTopics %s/%d: %+v", t1, pm.ID, pm)
		}
	}
	ts, err := adm.ListTopics()
	if err != nil || ts[t1].NumPartitions != 5 || ts[t1].ReplicationFactor != 1 || ts[t1].ConfigEntries["retention.ms"] == nil ||
		*ts[t1].ConfigEntries["retention.ms"] != retention {
		return fmt.Errorf("ListTopics %s: %v %+v", t1, err, ts[t1])
	}
	if err := adm.DeleteTopic(t1); err != nil {
		return fmt.Errorf("DeleteTopic: %w", err)
	}
	if err := adm.DeleteTopic(t1); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("deleting %s again: want ErrUnknownTopicOrPartition, got %v", t1, err)
	}
	return nil
}

func srAdminConfigs(ctx context.Context, e *env) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	v := "123456789"
	if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &v}}, false); err != nil {
		return err
	}
	var entries []sarama.ConfigEntry
	for try := 0; try < 20; try++ { // Kafka's metadata may lag the creation by a moment
		if entries, err = adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic}); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("DescribeConfig: %w", err)
	}
	found := map[string]sarama.ConfigEntry{}
	for _, c := range entries {
		found[c.Name] = c
	}
	if c := found["retention.ms"]; c.Value != v || c.Source != sarama.SourceTopic || c.Default {
		return fmt.Errorf("retention.ms: want %s from the topic, got %+v", v, c)
	}
	if c := found["max.message.bytes"]; c.Value != "1048588" || c.Source != sarama.SourceDefault {
		return fmt.Errorf("max.message.bytes: want Kafka's default 1048588, got %+v", c)
	}
	if _, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: e.name("none")}); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("DescribeConfig of a missing topic: want ErrUnknownTopicOrPartition, got %v", err)
	}
	return nil
}

// ClusterAdmin.DeleteRecords: of 5 records, those below offset 2 go and the oldest offset is 2;
// an offset beyond the high watermark is refused with OFFSET_OUT_OF_RANGE, as Kafka answers.
func srAdminDeleteRecords(ctx context.Context, e *env) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := srCreateTopic(e, topic, 1); err != nil {
		return err
	}
	p, err := srProducer(e, nil)
	if err != nil {
		return err
	}
	_, err = srProduce(p, topic, "delr", 0, 5)
	p.Close()
	if err != nil {
		return err
	}
	if err := adm.DeleteRecords(topic, map[int32]int64{0: 2}); err != nil {
		return fmt.Errorf("DeleteRecords to offset 2: %w", err)
	}
	cl, err := sarama.NewClient([]string{e.bootstrap}, srConfig())
	if err != nil {
		return err
	}
	defer cl.Close()
	if o, err := cl.GetOffset(topic, 0, sarama.OffsetOldest); err != nil || o != 2 {
		return fmt.Errorf("oldest offset after DeleteRecords: %v, want 2, got %d", err, o)
	}
	if err := adm.DeleteRecords(topic, map[int32]int64{0: 10}); !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		return fmt.Errorf("DeleteRecords beyond the high watermark: want ErrOffsetOutOfRange, got %v", err)
	}
	return nil
}

func srAdminGroupsOffsets(ctx context.Context, e *env) error {
	adm, err := srAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := srCreateTopic(e, topic, 2); err != nil {
		return err
	}
	p, err := srProducer(e, nil)
	if err != nil {
		return err
	}
	sent, err := srProduce(p, topic, "grp", 0, 40)
	p.Close()
	if err != nil {
		return err
	}
	m, err := srStartMember(e, group, topic, nil, 0)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if err := waitFor(deadlineOf(dl, ok, 20*time.Second), "member consumed everything",
		func() bool { return m.h.c.count() >= len(sent) && len(m.h.c.partitions()) == 2 }, m.h.c.history); err != nil {
		m.close()
		return err
	}
	gs, err := adm.ListConsumerGroups()
	if err != nil || gs[group] != "consumer" {
		m.close()
		return fmt.Errorf("ListConsumerGroups: %v, %s -> %q", err, group, gs[group])
	}
	ds, err := adm.DescribeConsumerGroups([]string{group})
	if err != nil || len(ds) != 1 || ds[0].State != "Stable" || ds[0].Protocol != "range" || len(ds[0].Members) != 1 {
		m.close()
		return fmt.Errorf("DescribeConsumerGroups with one member: %v %+v", err, ds)
	}
	for _, md := range ds[0].Members {
		a, err := md.GetMemberAssignment()
		if err != nil || md.ClientId != "runnel-compat-sarama" || len(a.Topics[topic]) != 2 {
			m.close()
			return fmt.Errorf("DescribeConsumerGroups member: %v %+v %+v", err, md, a)
		}
	}
	if err := m.close(); err != nil {
		return err
	}
	if err := srCheckCommittedAtEnd(e, group, topic, sent); err != nil {
		return err
	}
	lo, err := adm.ListOffsets(map[string]map[int32]int64{topic: {0: sarama.OffsetOldest, 1: sarama.OffsetNewest}}, nil)
	if err != nil || lo[topic][0] == nil || lo[topic][1] == nil || lo[topic][0].Offset != 0 || lo[topic][1].Offset != countPerPartition(sent)[1] {
		return fmt.Errorf("ListOffsets oldest/newest: %v %+v", err, lo[topic])
	}
	r, err := adm.AlterConsumerGroupOffsets(group, map[string]map[int32]sarama.OffsetAndMetadata{topic: {0: {Offset: 3}, 1: {Offset: 2}}}, nil)
	if err != nil || r.Errors[topic][0] != sarama.ErrNoError || r.Errors[topic][1] != sarama.ErrNoError {
		return fmt.Errorf("AlterConsumerGroupOffsets: %v %+v", err, r)
	}
	if err := adm.DeleteConsumerGroupOffset(group, topic, 1); err != nil {
		return fmt.Errorf("DeleteConsumerGroupOffset: %w", err)
	}
	of, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1}})
	if err != nil || of.GetBlock(topic, 0).Offset != 3 || of.GetBlock(topic, 1).Offset != -1 {
		return fmt.Errorf("ListConsumerGroupOffsets after alter and delete: %v %+v %+v", err, of.GetBlock(topic, 0), of.GetBlock(topic, 1))
	}
	if err := adm.DeleteConsumerGroup(group); err != nil {
		return fmt.Errorf("DeleteConsumerGroup: %w", err)
	}
	if err := adm.DeleteConsumerGroup(group); !errors.Is(err, sarama.ErrGroupIDNotFound) {
		return fmt.Errorf("DeleteConsumerGroup again: want ErrGroupIDNotFound, got %v", err)
	}
	return nil
}

func srMissing(e *env) []unsupported {
	topic := e.name("t")
	var adm sarama.ClusterAdmin
	get := func() sarama.ClusterAdmin {
		if adm == nil {
			var err error
			if adm, err = srAdmin(e); err != nil {
				panic(err)
			}
		}
		return adm
	}
	v := "1000"
	return []unsupported{
		{"IncrementalAlterConfigs (44)", "ClusterAdmin.IncrementalAlterConfig", missingAlterConfigs, func(ctx context.Context) error {
			return get().IncrementalAlterConfig(sarama.TopicResource, topic,
				map[string]sarama.IncrementalAlterConfigsEntry{"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v}}, false)
		}},
		{"AlterConfigs (33)", "ClusterAdmin.AlterConfig", missingAlterConfigs, func(ctx context.Context) error {
			return get().AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": &v}, false)
		}},
		{"DescribeAcls (29)", "ClusterAdmin.ListAcls", missingACLs, func(ctx context.Context) error {
			_, err := get().ListAcls(sarama.AclFilter{ResourceType: sarama.AclResourceAny, Operation: sarama.AclOperationAny,
				PermissionType: sarama.AclPermissionAny, ResourcePatternTypeFilter: sarama.AclPatternAny})
			return err
		}},
		{"CreateAcls (30)", "ClusterAdmin.CreateACL", missingACLs, func(ctx context.Context) error {
			return get().CreateACL(sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: topic, ResourcePatternType: sarama.AclPatternLiteral},
				sarama.Acl{Principal: "User:x", Host: "*", Operation: sarama.AclOperationRead, PermissionType: sarama.AclPermissionAllow})
		}},
		{"DescribeClientQuotas (48)", "ClusterAdmin.DescribeClientQuotas", missingQuotas, func(ctx context.Context) error {
			_, err := get().DescribeClientQuotas(nil, false)
			return err
		}},
		{"DescribeUserScramCredentials (50)", "ClusterAdmin.DescribeUserScramCredentials", missingSASL, func(ctx context.Context) error {
			_, err := get().DescribeUserScramCredentials(nil)
			return err
		}},
	}
}

func srTopics(md []*sarama.TopicMetadata) string {
	var s []string
	for _, t := range md {
		s = append(s, fmt.Sprintf("%s: %v, %d partitions", t.Name, t.Err, len(t.Partitions)))
	}
	return strings.Join(s, "; ")
}
