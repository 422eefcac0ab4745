package main

// franz-go (github.com/twmb/franz-go/pkg/kgo) and its admin client kadm.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	s := []scenario{}
	for _, c := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		s = append(s, scenario{"produce_" + c, 60 * time.Second, fzProduceCodec(c)})
	}
	s = append(s,
		scenario{"consume_assign", 60 * time.Second, fzConsumeAssign},
		scenario{"group_commit_resume", 60 * time.Second, fzGroupCommitResume},
		scenario{"group_rebalance_default", 90 * time.Second, fzGroupRebalance("default", nil)},
		scenario{"group_rebalance_range", 90 * time.Second, fzGroupRebalance("range", kgo.RangeBalancer())},
		scenario{"group_rebalance_roundrobin", 90 * time.Second, fzGroupRebalance("roundrobin", kgo.RoundRobinBalancer())},
		scenario{"group_rebalance_sticky", 90 * time.Second, fzGroupRebalance("sticky", kgo.StickyBalancer())},
		scenario{"group_server_side_balancer", 60 * time.Second, fzGroupServerSide},
		scenario{"group_consumer_protocol", 90 * time.Second, fzGroupConsumerProtocol},
		scenario{"group_static_member", 60 * time.Second, fzGroupStaticMember},
		scenario{"idempotent_producer", 60 * time.Second, fzIdempotent},
		scenario{"txn_commit_abort", 60 * time.Second, fzTxnCommitAbort},
		scenario{"txn_group_transact_session", 90 * time.Second, fzGroupTransactSession},
		scenario{"admin_topics", 60 * time.Second, fzAdminTopics},
		scenario{"admin_configs", 60 * time.Second, fzAdminConfigs},
		scenario{"admin_groups", 60 * time.Second, fzAdminGroups},
		scenario{"admin_offsets", 60 * time.Second, fzAdminOffsets},
		scenario{"admin_offset_for_leader_epoch", 60 * time.Second, fzAdminOffsetForLeaderEpoch},
		scenario{"admin_delete_records", 60 * time.Second, fzAdminDeleteRecords},
		scenario{"admin_transactions", 60 * time.Second, fzAdminTransactions},
		scenario{"admin_list_transactions_unknown_state", 60 * time.Second, fzListTransactionsUnknownState},
	)
	s = append(s, missingScenarios("fz", fzMissing)...)
	register("franz-go", "github.com/twmb/franz-go", "fz", s)
	// The admin scenarios drive kadm, a module of its own.
	clients["franz-go"].moduleOf = func(name string) string {
		if strings.HasPrefix(name, "admin_") || strings.HasPrefix(name, "missing_api_") {
			return "github.com/twmb/franz-go/pkg/kadm"
		}
		return "github.com/twmb/franz-go"
	}
}

func fzClient(e *env, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.bootstrap), kgo.ClientID("runnel-compat-franz-go")}, opts...)...)
}

func fzAdmin(e *env) (*kadm.Client, error) {
	cl, err := fzClient(e)
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

func fzCreateTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) error {
	r, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return fmt.Errorf("kadm CreateTopic %s: %w", topic, err)
	}
	return nil
}

func fzRecord(topic string, r rec) *kgo.Record {
	kr := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr
}

func fromFz(kr *kgo.Record) rec {
	r := rec{Key: kr.Key, Value: kr.Value, Partition: kr.Partition, Offset: kr.Offset}
	for _, h := range kr.Headers {
		r.Headers = append(r.Headers, hdr{h.Key, h.Value})
	}
	return r
}

// fzProduce produces gen(tag, first..first+n-1) and returns the acknowledged records by index.
func fzProduce(ctx context.Context, cl *kgo.Client, topic, tag string, first, n int) (map[int]rec, error) {
	var krs []*kgo.Record
	for i := first; i < first+n; i++ {
		krs = append(krs, fzRecord(topic, gen(tag, i)))
	}
	res := cl.ProduceSync(ctx, krs...)
	if err := res.FirstErr(); err != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, err)
	}
	out := map[int]rec{}
	for _, r := range res {
		i := index(tag, r.Record.Key)
		g := gen(tag, i)
		g.Partition, g.Offset = r.Record.Partition, r.Record.Offset
		out[i] = g
	}
	return out, nil
}

// fzPoll polls until want records arrived, then 500 ms more to catch any extra one.
func fzPoll(ctx context.Context, cl *kgo.Client, want int) ([]rec, error) {
	var got []rec
	poll := func(pctx context.Context) error {
		fs := cl.PollFetches(pctx)
		for _, fe := range fs.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
				continue
			}
			return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, fromFz(r)) })
		return nil
	}
	for len(got) < want {
		if ctx.Err() != nil {
			return got, fmt.Errorf("consumed %d of %d records before the scenario's time ran out", len(got), want)
		}
		if err := poll(ctx); err != nil {
			return got, err
		}
	}
	settle, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	for settle.Err() == nil {
		if err := poll(settle); err != nil {
			return got, err
		}
	}
	return got, nil
}

func fzReadAssigned(ctx context.Context, e *env, topic string, parts map[int32]kgo.Offset, want int, iso kgo.IsolationLevel) ([]rec, error) {
	cl, err := fzClient(e, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.FetchIsolationLevel(iso))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return fzPoll(ctx, cl, want)
}

func fromStart(n int32) map[int32]kgo.Offset {
	m := map[int32]kgo.Offset{}
	for p := int32(0); p < n; p++ {
		m[p] = kgo.NewOffset().AtStart()
	}
	return m
}

func fzProduceCodec(codec string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		c := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
			"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}[codec]
		adm, err := fzAdmin(e)
		if err != nil {
			return err
		}
		defer adm.Close()
		topic := e.name("t")
		e.codecTopic = topic
		if err := fzCreateTopic(ctx, adm, topic, 3, nil); err != nil {
			return err
		}
		cl, err := fzClient(e, kgo.ProducerBatchCompression(c), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			return err
		}
		defer cl.Close()
		sent, err := fzProduce(ctx, cl, topic, codec, 0, 400)
		if err != nil {
			return err
		}
		if err := checkOffsetsDense(sent); err != nil {
			return err
		}
		got, err := fzReadAssigned(ctx, e, topic, fromStart(3), len(sent), kgo.ReadUncommitted())
		if err != nil {
			return err
		}
		return checkExact(codec, sent, got)
	}
}

// Two partitions of 50 records each; the consumer is assigned partition 0 from offset 40 and
// partition 1 from offset 20 and must see exactly those records.
func fzConsumeAssign(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	sent := map[int]rec{}
	var krs []*kgo.Record
	for i := 0; i < 100; i++ {
		kr := fzRecord(topic, gen("assign", i))
		kr.Partition = int32(i % 2)
		krs = append(krs, kr)
	}
	res := cl.ProduceSync(ctx, krs...)
	if err := res.FirstErr(); err != nil {
		return err
	}
	want := map[int]rec{}
	for _, r := range res {
		i := index("assign", r.Record.Key)
		g := gen("assign", i)
		g.Partition, g.Offset = r.Record.Partition, r.Record.Offset
		sent[i] = g
		if (g.Partition == 0 && g.Offset >= 40) || (g.Partition == 1 && g.Offset >= 20) {
			want[i] = g
		}
	}
	if err := checkOffsetsDense(sent); err != nil {
		return err
	}
	got, err := fzReadAssigned(ctx, e, topic, map[int32]kgo.Offset{0: kgo.NewOffset().At(40), 1: kgo.NewOffset().At(20)},
		len(want), kgo.ReadUncommitted())
	if err != nil {
		return err
	}
	return checkExact("assign", want, got)
}

func fzGroupCommitResume(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := fzCreateTopic(ctx, adm, topic, 3, nil); err != nil {
		return err
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	sent, err := fzProduce(ctx, pcl, topic, "resume", 0, 300)
	if err != nil {
		return err
	}
	member := func() (*kgo.Client, error) {
		return fzClient(e, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	// The first member takes records 20 at a time until it has at least half, commits
	// exactly those and leaves the group.
	c1, err := member()
	if err != nil {
		return err
	}
	var first []*kgo.Record
	for len(first) < 150 && ctx.Err() == nil {
		fs := c1.PollRecords(ctx, 20)
		if errs := fs.Errors(); len(errs) > 0 && ctx.Err() == nil {
			c1.Close()
			return fmt.Errorf("first member: %v", errs[0].Err)
		}
		first = append(first, fs.Records()...)
	}
	if err := c1.CommitRecords(ctx, first...); err != nil {
		c1.Close()
		return fmt.Errorf("CommitRecords: %w", err)
	}
	c1.Close()
	// A new member resumes at the committed offsets: it must get exactly the rest.
	c2, err := member()
	if err != nil {
		return err
	}
	defer c2.Close()
	rest, err := fzPoll(ctx, c2, len(sent)-len(first))
	if err != nil {
		return fmt.Errorf("second member: %w", err)
	}
	var all []rec
	for _, r := range first {
		all = append(all, fromFz(r))
	}
	all = append(all, rest...)
	sort.SliceStable(all, func(a, b int) bool { return all[a].Partition < all[b].Partition })
	if err := checkExact("resume", sent, all); err != nil {
		return err
	}
	if err := c2.CommitUncommittedOffsets(ctx); err != nil {
		return fmt.Errorf("second member's commit: %w", err)
	}
	return fzCheckCommittedAtEnd(ctx, adm, group, topic, sent)
}

func fzCheckCommittedAtEnd(ctx context.Context, adm *kadm.Client, group, topic string, sent map[int]rec) error {
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("kadm FetchOffsets: %w", err)
	}
	for p, n := range countPerPartition(sent) {
		o, ok := offs.Lookup(topic, p)
		if !ok || o.Err != nil || o.At != n {
			return fmt.Errorf("committed offset of %s/%d: want %d, got %+v (found %v)", topic, p, n, o, ok)
		}
	}
	return nil
}

type fzMember struct {
	cl   *kgo.Client
	c    *collector
	stop chan struct{}
	done chan error
}

// fzStartMember joins the group and consumes in a loop: each poll is processed and committed
// before a rebalance may go on (BlockRebalanceOnPoll), so a partition that moves to another
// member is handed over at exactly the next record to process.
func fzStartMember(e *env, group, topic string, balancer kgo.GroupBalancer, extra ...kgo.Opt) (*fzMember, error) {
	m := &fzMember{c: newCollector(), stop: make(chan struct{}), done: make(chan error, 1)}
	opts := []kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(), kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { m.c.assign(a[topic]) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { m.c.revoke(a[topic]) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { m.c.revoke(a[topic]) }),
	}
	if balancer != nil {
		opts = append(opts, kgo.Balancers(balancer))
	}
	cl, err := fzClient(e, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	m.cl = cl
	go func() {
		for {
			select {
			case <-m.stop:
				m.done <- nil
				return
			default:
			}
			pctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			fs := cl.PollRecords(pctx, 50)
			cancel()
			for _, fe := range fs.Errors() {
				if !errors.Is(fe.Err, context.DeadlineExceeded) {
					cl.AllowRebalance()
					m.done <- fmt.Errorf("fetch: %w", fe.Err)
					return
				}
			}
			var rs []rec
			fs.EachRecord(func(r *kgo.Record) { rs = append(rs, fromFz(r)) })
			m.c.add(rs...)
			if len(rs) > 0 {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := cl.CommitUncommittedOffsets(cctx)
				cancel()
				if err != nil {
					cl.AllowRebalance()
					m.done <- fmt.Errorf("commit: %w", err)
					return
				}
			}
			cl.AllowRebalance()
		}
	}()
	return m, nil
}

func (m *fzMember) close() error {
	close(m.stop)
	err := <-m.done
	m.cl.CloseAllowingRebalance()
	return err
}

func fzGroupRebalance(name string, balancer kgo.GroupBalancer) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		adm, err := fzAdmin(e)
		if err != nil {
			return err
		}
		defer adm.Close()
		topic, group := e.name("t"), e.name("g")
		const parts = 4
		if err := fzCreateTopic(ctx, adm, topic, parts, nil); err != nil {
			return err
		}
		pcl, err := fzClient(e)
		if err != nil {
			return err
		}
		defer pcl.Close()
		sent1, err := fzProduce(ctx, pcl, topic, "reb", 0, 200)
		if err != nil {
			return err
		}
		dl, ok := ctx.Deadline()
		a, err := fzStartMember(e, group, topic, balancer)
		if err != nil {
			return err
		}
		var b *fzMember
		defer func() {
			if a != nil {
				a.close()
			}
			if b != nil {
				b.close()
			}
		}()
		desc := func() string {
			s := fmt.Sprintf("A owns %v (%s), consumed %d", a.c.partitions(), a.c.history(), a.c.count())
			if b != nil {
				s += fmt.Sprintf("; B owns %v (%s), consumed %d", b.c.partitions(), b.c.history(), b.c.count())
			}
			return s
		}
		if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "first member owns all partitions and consumed records",
			func() bool { return len(a.c.partitions()) == parts && a.c.count() >= 50 }, desc); err != nil {
			return err
		}
		if b, err = fzStartMember(e, group, topic, balancer); err != nil {
			return err
		}
		if err := waitFor(deadlineOf(dl, ok, 40*time.Second), "the two members split the partitions",
			func() bool { return split(a.c.partitions(), b.c.partitions(), parts) }, desc); err != nil {
			return err
		}
		sent2, err := fzProduce(ctx, pcl, topic, "reb", 200, 200)
		if err != nil {
			return err
		}
		sent := merge(sent1, sent2)
		if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "every record consumed",
			func() bool { return a.c.count()+b.c.count() >= len(sent) }, desc); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond) // anything consumed twice shows up now
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
		return fzCheckCommittedAtEnd(ctx, adm, group, topic, sent)
	}
}

func fzIdempotent(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 3, nil); err != nil {
		return err
	}
	// kgo's producer is idempotent unless told otherwise; acks=all is required for it.
	cl, err := fzClient(e, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond),
		kgo.ProducerBatchMaxBytes(16<<10))
	if err != nil {
		return err
	}
	defer cl.Close()
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("ProducerID (InitProducerId): %w", err)
	}
	if pid < 0 || epoch < 0 {
		return fmt.Errorf("producer id %d epoch %d: not an idempotent producer", pid, epoch)
	}
	sent, err := fzProduce(ctx, cl, topic, "idem", 0, 1000)
	if err != nil {
		return err
	}
	if err := checkOffsetsDense(sent); err != nil {
		return err
	}
	var ts kadm.TopicsSet
	ts.Add(topic, 0, 1, 2)
	dp, err := adm.DescribeProducers(ctx, ts)
	if err != nil {
		return fmt.Errorf("kadm DescribeProducers: %w", err)
	}
	counts := countPerPartition(sent)
	for p := int32(0); p < 3; p++ {
		part := dp[topic].Partitions[p]
		if part.Err != nil {
			return fmt.Errorf("DescribeProducers %s/%d: %w", topic, p, part.Err)
		}
		d, ok := part.ActiveProducers[pid]
		if !ok || len(part.ActiveProducers) != 1 {
			return fmt.Errorf("DescribeProducers %s/%d: want producer %d alone, got %+v", topic, p, pid, part.ActiveProducers)
		}
		if d.ProducerEpoch != epoch || int64(d.LastSequence) != counts[p]-1 || d.CurrentTxnStartOffset != -1 {
			return fmt.Errorf("DescribeProducers %s/%d: %+v, want epoch %d, last sequence %d, no transaction", topic, p, d, epoch, counts[p]-1)
		}
	}
	got, err := fzReadAssigned(ctx, e, topic, fromStart(3), len(sent), kgo.ReadUncommitted())
	if err != nil {
		return err
	}
	return checkExact("idem", sent, got)
}

func fzTxnProduce(ctx context.Context, cl *kgo.Client, topic, tag string, first, n int, commit bool) (map[int]rec, error) {
	if err := cl.BeginTransaction(); err != nil {
		return nil, fmt.Errorf("BeginTransaction: %w", err)
	}
	sent, err := fzProduce(ctx, cl, topic, tag, first, n)
	if err != nil {
		return nil, err
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		return nil, fmt.Errorf("EndTransaction(commit=%v): %w", commit, err)
	}
	return sent, nil
}

func fzTxnCommitAbort(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.TransactionalID(e.name("txn")))
	if err != nil {
		return err
	}
	defer cl.Close()
	c1, err := fzTxnProduce(ctx, cl, topic, "txn", 0, 100, true)
	if err != nil {
		return err
	}
	a1, err := fzTxnProduce(ctx, cl, topic, "txn", 100, 100, false)
	if err != nil {
		return err
	}
	c2, err := fzTxnProduce(ctx, cl, topic, "txn", 200, 100, true)
	if err != nil {
		return err
	}
	committed := merge(c1, c2)
	got, err := fzReadAssigned(ctx, e, topic, fromStart(2), len(committed), kgo.ReadCommitted())
	if err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	if err := checkExact("txn", committed, got); err != nil {
		return fmt.Errorf("read_committed: %w", err)
	}
	all := merge(c1, a1, c2)
	got, err = fzReadAssigned(ctx, e, topic, fromStart(2), len(all), kgo.ReadUncommitted())
	if err != nil {
		return fmt.Errorf("read_uncommitted: %w", err)
	}
	if err := checkExact("txn", all, got); err != nil {
		return fmt.Errorf("read_uncommitted: %w", err)
	}
	return nil
}

// Consume-transform-produce with a GroupTransactSession: every input record becomes one
// output record in the transaction that also commits the group's offsets. The first
// transaction is aborted, so its input is read again and produced again.
func fzGroupTransactSession(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	in, out, group := e.name("in"), e.name("out"), e.name("g")
	for _, t := range []string{in, out} {
		if err := fzCreateTopic(ctx, adm, t, 3, nil); err != nil {
			return err
		}
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	input, err := fzProduce(ctx, pcl, in, "ctp", 0, 150)
	if err != nil {
		return err
	}
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(e.bootstrap), kgo.ClientID("runnel-compat-franz-go"),
		kgo.TransactionalID(e.name("txn")), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.DefaultProduceTopic(out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.HeartbeatInterval(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer sess.Close()
	done := map[int]bool{}
	aborted := 0
	for len(done) < len(input) {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d input records transformed in committed transactions before the time ran out", len(done), len(input))
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := sess.PollRecords(pctx, 40)
		cancel()
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("session fetch: %w", fe.Err)
			}
		}
		rs := fs.Records()
		if len(rs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("session Begin: %w", err)
		}
		var outs []*kgo.Record
		for _, r := range rs {
			o := &kgo.Record{Key: r.Key, Value: append([]byte("out:"), r.Value...), Headers: r.Headers}
			outs = append(outs, o)
		}
		if err := sess.ProduceSync(ctx, outs...).FirstErr(); err != nil {
			return fmt.Errorf("session produce: %w", err)
		}
		commit := aborted > 0
		committed, err := sess.End(ctx, kgo.TransactionEndTry(commit))
		if err != nil {
			return fmt.Errorf("session End(commit=%v): %w", commit, err)
		}
		if !commit {
			aborted += len(rs)
			continue
		}
		if !committed {
			return fmt.Errorf("session End(commit) did not commit (no rebalance is going on)")
		}
		for _, r := range rs {
			i := index("ctp", r.Key)
			if done[i] {
				return fmt.Errorf("input record %d transformed in two committed transactions", i)
			}
			done[i] = true
		}
	}
	if err := fzCheckCommittedAtEnd(ctx, adm, group, in, input); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{out: fromStart(3)}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	got, err := fzPoll(ctx, cl, len(input))
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
	if len(seen) != len(input) || aborted == 0 {
		return fmt.Errorf("output holds %d of %d transformed records (%d aborted first)", len(seen), len(input), aborted)
	}
	return nil
}

func fzAdminTopics(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	t1, t2 := e.name("a"), e.name("b")
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		return fmt.Errorf("ListBrokers: %w", err)
	}
	if len(brokers) != 1 || brokers[0].Host != "127.0.0.1" {
		return fmt.Errorf("ListBrokers: want the one broker on 127.0.0.1, got %+v", brokers)
	}
	node := brokers[0].NodeID
	// validate_only creates nothing
	vr, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, t1)
	if err != nil || vr[t1].Err != nil {
		return fmt.Errorf("ValidateCreateTopics: %v %v", err, vr[t1].Err)
	}
	if md, err := adm.Metadata(ctx, t1); err != nil || !errors.Is(md.Topics[t1].Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("after ValidateCreateTopics the topic should not exist: %v %+v", err, md.Topics[t1])
	}
	rs, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, t1, t2)
	if err != nil {
		return fmt.Errorf("CreateTopics: %w", err)
	}
	for _, t := range []string{t1, t2} {
		if rs[t].Err != nil || rs[t].NumPartitions != 3 || rs[t].ReplicationFactor != 1 || rs[t].ID == [16]byte{} {
			return fmt.Errorf("CreateTopics %s: %+v", t, rs[t])
		}
	}
	if err := fzWaitTopics(ctx, adm, t1, t2); err != nil {
		return err
	}
	// CreateTopic returns the topic's error also as its error.
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, t1); !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating %s again: want TOPIC_ALREADY_EXISTS, got %v", t1, err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 3, nil, e.name("rf3")); !errors.Is(err, kerr.InvalidReplicationFactor) {
		return fmt.Errorf("replication factor 3 on one broker: want INVALID_REPLICATION_FACTOR, got %v", err)
	}
	cp, err := adm.CreatePartitions(ctx, 2, t1)
	if err != nil || cp[t1].Err != nil {
		return fmt.Errorf("CreatePartitions +2: %v %+v", err, cp[t1])
	}
	up, err := adm.UpdatePartitions(ctx, 2, t2)
	if err != nil || !errors.Is(up[t2].Err, kerr.InvalidPartitions) {
		return fmt.Errorf("UpdatePartitions to fewer partitions: want INVALID_PARTITIONS, got %v %+v", err, up[t2])
	}
	var md kadm.Metadata
	for try := 0; try < 50; try++ { // Kafka's metadata may lag the change by a moment
		if md, err = fzFreshMetadata(ctx, e, t1, t2); err != nil || len(md.Topics[t1].Partitions) == 5 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("Metadata: %w", err)
	}
	for t, n := range map[string]int{t1: 5, t2: 3} {
		td := md.Topics[t]
		if td.Err != nil || len(td.Partitions) != n || td.IsInternal {
			return fmt.Errorf("Metadata %s: want %d partitions, got %+v", t, n, td)
		}
		for p, pd := range td.Partitions {
			if pd.Err != nil || pd.Leader != node || len(pd.Replicas) != 1 || len(pd.ISR) != 1 || pd.Replicas[0] != node {
				return fmt.Errorf("Metadata %s/%d: %+v, want leader, replica and ISR %d", t, p, pd, node)
			}
		}
	}
	all, err := fzFreshMetadata(ctx, e)
	listed := all.Topics
	if err != nil || !listed.Has(t1) || !listed.Has(t2) {
		return fmt.Errorf("ListTopics: %v, has %s: %v", err, t1, listed.Has(t1))
	}
	dr, err := adm.DeleteTopics(ctx, t1, t2)
	if err != nil || dr[t1].Err != nil || dr[t2].Err != nil {
		return fmt.Errorf("DeleteTopics: %v %+v", err, dr)
	}
	dr, err = adm.DeleteTopics(ctx, t1)
	if err != nil || !errors.Is(dr[t1].Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("deleting %s again: want UNKNOWN_TOPIC_OR_PARTITION, got %v %+v", t1, err, dr[t1])
	}
	for try := 0; try < 50; try++ { // Kafka's metadata may lag the deletion by a moment
		var md kadm.Metadata
		if md, err = fzFreshMetadata(ctx, e); err == nil {
			listed = md.Topics
		}
		if err != nil || !listed.Has(t1) && !listed.Has(t2) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || listed.Has(t1) || listed.Has(t2) {
		return fmt.Errorf("ListTopics after delete: %v, still has %s: %v", err, t1, listed.Has(t1))
	}
	return nil
}

func configOf(rc kadm.ResourceConfig, key string) (kadm.Config, bool) {
	for _, c := range rc.Configs {
		if c.Key == key {
			return c, true
		}
	}
	return kadm.Config{}, false
}

func fzAdminConfigs(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 1, map[string]*string{"retention.ms": kadm.StringPtr("123456789"),
		"cleanup.policy": kadm.StringPtr("compact")}); err != nil {
		return err
	}
	var rcs kadm.ResourceConfigs
	// Kafka's metadata may lag the creation by a moment; Runnel's does not.
	for try := 0; try < 20; try++ {
		if rcs, err = adm.DescribeTopicConfigs(ctx, topic); err != nil || len(rcs) != 1 || !errors.Is(rcs[0].Err, kerr.UnknownTopicOrPartition) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("DescribeTopicConfigs: %w", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		return fmt.Errorf("DescribeTopicConfigs %s: %v %v", topic, err, rc.Err)
	}
	for key, want := range map[string]string{"retention.ms": "123456789", "cleanup.policy": "compact"} {
		c, ok := configOf(rc, key)
		if !ok || c.Value == nil || *c.Value != want || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
			return fmt.Errorf("%s of %s: want %q from DYNAMIC_TOPIC_CONFIG, got %v %s", key, topic, want, ok, fmtConfig(c))
		}
	}
	c, ok := configOf(rc, "max.message.bytes")
	if !ok || c.Value == nil || *c.Value != "1048588" || c.Source.String() != "DEFAULT_CONFIG" {
		return fmt.Errorf("max.message.bytes of %s: want Kafka's default 1048588 from DEFAULT_CONFIG, got %v %s", topic, ok, fmtConfig(c))
	}
	if rcs, err = adm.DescribeTopicConfigs(ctx, e.name("none")); err != nil {
		return fmt.Errorf("DescribeTopicConfigs of a missing topic: %w", err)
	} else if len(rcs) != 1 || !errors.Is(rcs[0].Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("DescribeTopicConfigs of a missing topic: want UNKNOWN_TOPIC_OR_PARTITION, got %+v", rcs)
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) == 0 {
		return fmt.Errorf("ListBrokers: %v", err)
	}
	bcs, err := adm.DescribeBrokerConfigs(ctx, brokers[0].NodeID)
	if err != nil || len(bcs) != 1 || bcs[0].Err != nil {
		return fmt.Errorf("DescribeBrokerConfigs: %v %+v", err, bcs)
	}
	c, ok = configOf(bcs[0], "num.partitions")
	if !ok || c.Value == nil || *c.Value != "1" {
		return fmt.Errorf("broker num.partitions: want Kafka's default 1, got %v %s", ok, fmtConfig(c))
	}
	return nil
}

func fmtConfig(c kadm.Config) string {
	v := "<nil>"
	if c.Value != nil {
		v = *c.Value
	}
	return fmt.Sprintf("%s=%q (%s)", c.Key, v, c.Source)
}

func fzAdminGroups(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	sent, err := fzProduce(ctx, pcl, topic, "grp", 0, 40)
	if err != nil {
		return err
	}
	m, err := fzStartMember(e, group, topic, nil)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	if err := waitFor(deadlineOf(dl, ok, 20*time.Second), "member consumed everything",
		func() bool { return m.c.count() >= len(sent) && len(m.c.partitions()) == 2 }, m.c.history); err != nil {
		m.close()
		return err
	}
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		m.close()
		return fmt.Errorf("DescribeGroups: %w", err)
	}
	g := dg[group]
	if g.Err != nil || g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "cooperative-sticky" || len(g.Members) != 1 {
		m.close()
		return fmt.Errorf("DescribeGroups while one member is in it: %+v", g)
	}
	as, _ := g.Members[0].Assigned.AsConsumer()
	if g.Members[0].ClientID != "runnel-compat-franz-go" || as == nil || len(as.Topics) != 1 || as.Topics[0].Topic != topic || len(as.Topics[0].Partitions) != 2 {
		m.close()
		return fmt.Errorf("DescribeGroups member: %+v, assignment %+v", g.Members[0], as)
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		m.close()
		return fmt.Errorf("ListBrokers: %v %+v", err, brokers)
	}
	fc := adm.FindGroupCoordinators(ctx, group)
	if c := fc[group]; c.Err != nil || c.NodeID != brokers[0].NodeID || c.Host != brokers[0].Host || c.Port != brokers[0].Port {
		m.close()
		return fmt.Errorf("FindGroupCoordinators: %+v, want the broker %+v", c, brokers[0])
	}
	lg, err := adm.ListGroups(ctx)
	if err != nil || lg[group].State != "Stable" || lg[group].ProtocolType != "consumer" {
		m.close()
		return fmt.Errorf("ListGroups with a member: %v %+v", err, lg[group])
	}
	if err := m.close(); err != nil {
		return err
	}
	lg, err = adm.ListGroups(ctx, "Empty")
	if err != nil || lg[group].State != "Empty" {
		return fmt.Errorf("ListGroups(Empty) after the member left: %v %+v", err, lg[group])
	}
	lag, err := adm.Lag(ctx, group)
	if err != nil {
		return fmt.Errorf("Lag: %w", err)
	}
	if l := lag[group]; l.Error() != nil || l.Lag.Total() != 0 {
		return fmt.Errorf("Lag after everything was committed: want 0, got %d (%v)", l.Lag.Total(), l.Error())
	}
	del, err := adm.DeleteGroups(ctx, group)
	if err != nil || del[group].Err != nil {
		return fmt.Errorf("DeleteGroups: %v %+v", err, del[group])
	}
	dg, err = adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("DescribeGroups after delete: %w", err)
	}
	if g := dg[group]; g.State != "Dead" && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return fmt.Errorf("DescribeGroups after delete: want Dead or GROUP_ID_NOT_FOUND, got %+v", g)
	}
	del, err = adm.DeleteGroups(ctx, group)
	if err != nil || !errors.Is(del[group].Err, kerr.GroupIDNotFound) {
		return fmt.Errorf("DeleteGroups again: want GROUP_ID_NOT_FOUND, got %v %+v", err, del[group])
	}
	return nil
}

// kadm OffsetForLeaderEpoch: a partition with 5 records written at epoch 0 ends epoch 0 at its
// log end offset; a larger epoch is unknown (-1 / -1), as Kafka answers.
func fzAdminOffsetForLeaderEpoch(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 1, nil); err != nil {
		return err
	}
	cl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := fzProduce(ctx, cl, topic, "ofle", 0, 5); err != nil {
		return err
	}
	for _, c := range []struct {
		ask, epoch int32
		end        int64
	}{{0, 0, 5}, {3, -1, -1}} {
		var r kadm.OffsetForLeaderEpochRequest
		r.Add(topic, 0, c.ask)
		res, err := adm.OffsetForLeaderEpoch(ctx, r)
		if err != nil {
			return fmt.Errorf("OffsetForLeaderEpoch of epoch %d: %w", c.ask, err)
		}
		o, ok := res[topic][0]
		if !ok || o.Err != nil || o.LeaderEpoch != c.epoch || o.EndOffset != c.end {
			return fmt.Errorf("OffsetForLeaderEpoch of epoch %d: want epoch %d end offset %d, got %+v",
				c.ask, c.epoch, c.end, o)
		}
	}
	return nil
}

// kadm DeleteRecords: of 5 records, those below offset 2 go; the low watermark and the start
// offset are 2; an offset beyond the high watermark is OFFSET_OUT_OF_RANGE, as Kafka answers.
func fzAdminDeleteRecords(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic := e.name("t")
	if err := fzCreateTopic(ctx, adm, topic, 1, nil); err != nil {
		return err
	}
	cl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := fzProduce(ctx, cl, topic, "delr", 0, 5); err != nil {
		return err
	}
	var to kadm.Offsets
	to.AddOffset(topic, 0, 2, -1)
	r, err := adm.DeleteRecords(ctx, to)
	if err != nil || r.Error() != nil {
		return fmt.Errorf("DeleteRecords to offset 2: %v %v", err, r.Error())
	}
	if d, ok := r.Lookup(topic, 0); !ok || d.LowWatermark != 2 {
		return fmt.Errorf("DeleteRecords to offset 2: want low watermark 2, got %+v", d)
	}
	lo, err := adm.ListStartOffsets(ctx, topic)
	if o, ok := lo.Lookup(topic, 0); err != nil || !ok || o.Offset != 2 {
		return fmt.Errorf("ListStartOffsets after DeleteRecords: %v, want 2, got %+v", err, o)
	}
	var beyond kadm.Offsets
	beyond.AddOffset(topic, 0, 10, -1)
	r, err = adm.DeleteRecords(ctx, beyond)
	if err != nil {
		return err
	}
	if d, _ := r.Lookup(topic, 0); !errors.Is(d.Err, kerr.OffsetOutOfRange) {
		return fmt.Errorf("DeleteRecords beyond the high watermark: want OFFSET_OUT_OF_RANGE, got %v", d.Err)
	}
	return nil
}

func fzAdminOffsets(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	// 30 records on partition 0 with timestamps base, base+1000, ...; 10 on partition 1.
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var krs []*kgo.Record
	for i := 0; i < 40; i++ {
		kr := fzRecord(topic, gen("offs", i))
		kr.Partition = 0
		if i >= 30 {
			kr.Partition = 1
		}
		kr.Timestamp = base.Add(time.Duration(i) * time.Second)
		krs = append(krs, kr)
	}
	if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		return err
	}
	check := func(what string, lo kadm.ListedOffsets, err error, want map[int32]int64) error {
		if err == nil {
			err = lo.Error()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for p, w := range want {
			o, ok := lo.Lookup(topic, p)
			if !ok || o.Offset != w {
				return fmt.Errorf("%s of %s/%d: want %d, got %+v", what, topic, p, w, o)
			}
		}
		return nil
	}
	lo, err := adm.ListStartOffsets(ctx, topic)
	if err := check("ListStartOffsets", lo, err, map[int32]int64{0: 0, 1: 0}); err != nil {
		return err
	}
	lo, err = adm.ListEndOffsets(ctx, topic)
	if err := check("ListEndOffsets", lo, err, map[int32]int64{0: 30, 1: 10}); err != nil {
		return err
	}
	lo, err = adm.ListOffsetsAfterMilli(ctx, base.Add(12500*time.Millisecond).UnixMilli(), topic)
	if err := check("ListOffsetsAfterMilli(base+12.5s)", lo, err, map[int32]int64{0: 13, 1: 0}); err != nil {
		return err
	}
	lo, err = adm.ListMaxTimestampOffsets(ctx, topic)
	if err := check("ListMaxTimestampOffsets", lo, err, map[int32]int64{0: 29, 1: 9}); err != nil {
		return err
	}
	var os kadm.Offsets
	os.AddOffset(topic, 0, 17, -1)
	os.AddOffset(topic, 1, 4, -1)
	cr, err := adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = cr.Error()
	}
	if err != nil {
		return fmt.Errorf("CommitOffsets: %w", err)
	}
	fo, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = fo.Error()
	}
	if err != nil {
		return fmt.Errorf("FetchOffsets: %w", err)
	}
	for p, w := range map[int32]int64{0: 17, 1: 4} {
		if o, ok := fo.Lookup(topic, p); !ok || o.At != w {
			return fmt.Errorf("FetchOffsets %s/%d: want %d, got %+v", topic, p, w, o)
		}
	}
	lo, err = adm.ListCommittedOffsets(ctx, topic)
	if err := check("ListCommittedOffsets", lo, err, map[int32]int64{0: 30, 1: 10}); err != nil {
		return err
	}
	var ts kadm.TopicsSet
	ts.Add(topic, 1)
	dr, err := adm.DeleteOffsets(ctx, group, ts)
	if err == nil {
		err = dr.Error()
	}
	if err != nil {
		return fmt.Errorf("DeleteOffsets %s/1: %w", topic, err)
	}
	fo, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("FetchOffsets after DeleteOffsets: %w", err)
	}
	if o, ok := fo.Lookup(topic, 0); !ok || o.At != 17 {
		return fmt.Errorf("FetchOffsets %s/0 after deleting partition 1's: want 17, got %+v", topic, o)
	}
	if o, ok := fo.Lookup(topic, 1); ok && o.At != -1 {
		return fmt.Errorf("FetchOffsets %s/1 after DeleteOffsets: want none, got %+v", topic, o)
	}
	return nil
}

func fzAdminTransactions(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, txnID := e.name("t"), e.name("txn")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.TransactionalID(txnID), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(30*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	kr := fzRecord(topic, gen("atx", 0))
	kr.Partition = 1
	if err := cl.ProduceSync(ctx, kr).FirstErr(); err != nil {
		return err
	}
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return err
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		return fmt.Errorf("ListBrokers: %v %+v", err, brokers)
	}
	fc := adm.FindTxnCoordinators(ctx, txnID)
	if c := fc[txnID]; c.Err != nil || c.NodeID != brokers[0].NodeID || c.Host != brokers[0].Host || c.Port != brokers[0].Port {
		return fmt.Errorf("FindTxnCoordinators: %+v, want the broker %+v", c, brokers[0])
	}
	dt, err := adm.DescribeTransactions(ctx, txnID)
	if err != nil {
		return fmt.Errorf("DescribeTransactions: %w", err)
	}
	d := dt[txnID]
	if d.Err != nil || d.State != "Ongoing" || d.ProducerID != pid || d.ProducerEpoch != epoch || d.TimeoutMillis != 30000 ||
		!d.Topics.Lookup(topic, 1) || d.Topics.Lookup(topic, 0) {
		return fmt.Errorf("DescribeTransactions during the transaction: %+v (producer %d/%d)", d, pid, epoch)
	}
	lt, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil {
		return fmt.Errorf("ListTransactions: %w", err)
	}
	if l, ok := lt[txnID]; !ok || l.ProducerID != pid || l.State != "Ongoing" {
		return fmt.Errorf("ListTransactions(Ongoing): %s missing or wrong: %+v", txnID, lt)
	}
	var ts kadm.TopicsSet
	ts.Add(topic, 1)
	dp, err := adm.DescribeProducers(ctx, ts)
	if err != nil {
		return fmt.Errorf("DescribeProducers: %w", err)
	}
	p := dp[topic].Partitions[1].ActiveProducers[pid]
	if p.ProducerID != pid || p.CurrentTxnStartOffset != 0 || p.LastSequence != 0 {
		return fmt.Errorf("DescribeProducers during the transaction: %+v", dp[topic].Partitions[1])
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return err
	}
	// Kafka answers EndTxn once PrepareCommit is written and writes the markers after.
	for try := 0; try < 50; try++ {
		if dt, err = adm.DescribeTransactions(ctx, txnID); err != nil || dt[txnID].State != "PrepareCommit" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || dt[txnID].State != "CompleteCommit" || len(dt[txnID].Topics) != 0 {
		return fmt.Errorf("DescribeTransactions after commit: %v %+v", err, dt[txnID])
	}
	lt, err = adm.ListTransactions(ctx, []int64{pid}, nil)
	if err != nil || lt[txnID].State != "CompleteCommit" {
		return fmt.Errorf("ListTransactions(producer %d) after commit: %v %+v", pid, err, lt)
	}
	dt, err = adm.DescribeTransactions(ctx, e.name("unknown"))
	if err != nil {
		return fmt.Errorf("DescribeTransactions of an unknown id: %w", err)
	}
	if d := dt[e.name("unknown")]; !errors.Is(d.Err, kerr.TransactionalIDNotFound) {
		return fmt.Errorf("DescribeTransactions of an unknown id: want TRANSACTIONAL_ID_NOT_FOUND, got %+v", d)
	}
	return nil
}

// The admin calls of kadm whose Kafka API Runnel does not implement yet (see missing.go).
func fzMissing(e *env) []unsupported {
	var adm *kadm.Client
	get := func() *kadm.Client {
		if adm == nil {
			adm, _ = fzAdmin(e)
		}
		return adm
	}
	return []unsupported{
		{"IncrementalAlterConfigs (44)", "kadm AlterTopicConfigs", missingAlterConfigs, func(ctx context.Context) error {
			r, err := get().AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "any")
			if err == nil && len(r) > 0 {
				err = r[0].Err
			}
			return err
		}},
		{"AlterConfigs (33)", "kadm AlterTopicConfigsState", missingAlterConfigs, func(ctx context.Context) error {
			r, err := get().AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "any")
			if err == nil && len(r) > 0 {
				err = r[0].Err
			}
			return err
		}},
		{"DescribeAcls (29)", "kadm DescribeACLs", missingACLs, func(ctx context.Context) error {
			b := kadm.NewACLs().AnyResource().Allow().AllowHosts().Operations(kadm.OpAny)
			r, err := get().DescribeACLs(ctx, b)
			if err == nil && len(r) > 0 {
				err = r[0].Err
			}
			return err
		}},
		{"CreateAcls (30)", "kadm CreateACLs", missingACLs, func(ctx context.Context) error {
			b := kadm.NewACLs().Topics("any").Allow("User:x").AllowHosts("*").Operations(kadm.OpRead)
			r, err := get().CreateACLs(ctx, b)
			if err == nil && len(r) > 0 {
				err = r[0].Err
			}
			return err
		}},
		{"DescribeClientQuotas (48)", "kadm DescribeClientQuotas", missingQuotas, func(ctx context.Context) error {
			_, err := get().DescribeClientQuotas(ctx, false, nil)
			return err
		}},
		{"DescribeUserScramCredentials (50)", "kadm DescribeUserSCRAMs", missingSASL, func(ctx context.Context) error {
			r, err := get().DescribeUserSCRAMs(ctx)
			if err == nil {
				err = r.Error()
			}
			return err
		}},
	}
}

// fzIsBrokerTooOld is how kgo reports a request whose key the broker's ApiVersions answer does
// not list (its errBrokerTooOld is not exported; the text is its identity).
func fzIsBrokerTooOld(err error) bool {
	return err != nil && strings.Contains(err.Error(), "broker is too old; the broker has already indicated it will not know how to handle the request")
}

func init() {
	missingChecks["fz"] = missingCheck{"kgo's errBrokerTooOld", fzIsBrokerTooOld, func(ctx context.Context, e *env) error {
		adm, err := fzAdmin(e)
		if err != nil {
			return err
		}
		defer adm.Close()
		return fzCreateTopic(ctx, adm, e.name("t"), 1, nil)
	}}
}

// fzWaitTopics waits until the metadata lists the topics: Kafka's may lag their creation by a
// moment (Runnel's does not).
func fzWaitTopics(ctx context.Context, adm *kadm.Client, topics ...string) error {
	for try := 0; ; try++ {
		md, err := adm.Metadata(ctx, topics...)
		ok := err == nil
		for _, t := range topics {
			ok = ok && md.Topics[t].Err == nil
		}
		if ok {
			return nil
		}
		if try == 50 {
			return fmt.Errorf("created topics not in the metadata: %v %+v", err, md.Topics)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fzFreshMetadata asks through a new client: kadm answers from the kgo client's metadata cache
// when its entries are younger than MetadataMinAge (5 s), which would hide a change just made.
func fzFreshMetadata(ctx context.Context, e *env, topics ...string) (kadm.Metadata, error) {
	adm, err := fzAdmin(e)
	if err != nil {
		return kadm.Metadata{}, err
	}
	defer adm.Close()
	return adm.Metadata(ctx, topics...)
}

// kgo.ServerSideBalancer asks for KIP-848 groups (ConsumerGroupHeartbeat): with the range
// balancer the broker's range assignor assigns the partitions; the member must consume and
// commit as usual, and ConsumerGroupDescribe must show a consumer group.
func fzGroupServerSide(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := fzCreateTopic(ctx, adm, topic, 3, nil); err != nil {
		return err
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	sent, err := fzProduce(ctx, pcl, topic, "ssb", 0, 150)
	if err != nil {
		return err
	}
	m, err := fzStartMember(e, group, topic, kgo.RangeBalancer(), kgo.ServerSideBalancer())
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	werr := waitFor(deadlineOf(dl, ok, 30*time.Second), "every record consumed",
		func() bool { return m.c.count() >= len(sent) }, m.c.history)
	if werr == nil {
		time.Sleep(500 * time.Millisecond)
	}
	if werr == nil {
		werr = fzCheckConsumerGroup(ctx, adm, group, "range", 1)
	}
	if err := m.close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return werr
	}
	if err := checkExact("ssb", sent, m.c.records()); err != nil {
		return err
	}
	return fzCheckCommittedAtEnd(ctx, adm, group, topic, sent)
}

// A static member (kgo.InstanceID) does not leave the group when it closes: the group keeps it,
// the same instance id comes back to its partitions at the committed offsets, and kadm's
// LeaveGroup with the instance id (LeaveGroup v3+, KIP-345) removes it.
func fzGroupStaticMember(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	if err := fzCreateTopic(ctx, adm, topic, 2, nil); err != nil {
		return err
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	sent1, err := fzProduce(ctx, pcl, topic, "static", 0, 60)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	run := func(want map[int]rec) error {
		m, err := fzStartMember(e, group, topic, kgo.RangeBalancer(), kgo.InstanceID("static-1"), kgo.SessionTimeout(30*time.Second))
		if err != nil {
			return err
		}
		werr := waitFor(deadlineOf(dl, ok, 20*time.Second), "the static member consumed its records",
			func() bool { return m.c.count() >= len(want) }, m.c.history)
		if werr == nil {
			time.Sleep(500 * time.Millisecond)
		}
		if err := m.close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return werr
		}
		return checkExact("static", want, m.c.records())
	}
	if err := run(sent1); err != nil {
		return fmt.Errorf("first run: %w", err)
	}
	member := func(state string) error {
		dg, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		g := dg[group]
		if g.Err != nil || g.State != state || len(g.Members) != 1 || g.Members[0].InstanceID == nil || *g.Members[0].InstanceID != "static-1" {
			return fmt.Errorf("DescribeGroups: want one member static-1 in state %s, got %+v", state, g)
		}
		return nil
	}
	if err := member("Stable"); err != nil {
		return fmt.Errorf("after the static member closed: %w", err)
	}
	sent2, err := fzProduce(ctx, pcl, topic, "static", 60, 40)
	if err != nil {
		return err
	}
	if err := run(sent2); err != nil {
		return fmt.Errorf("the same instance again: %w", err)
	}
	if err := fzCheckCommittedAtEnd(ctx, adm, group, topic, merge(sent1, sent2)); err != nil {
		return err
	}
	lr, err := adm.LeaveGroup(ctx, kadm.LeaveGroup(group).InstanceIDs("static-1"))
	if err != nil || lr["static-1"].Err != nil {
		return fmt.Errorf("LeaveGroup static-1: %v %+v", err, lr)
	}
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil || dg[group].State != "Empty" || len(dg[group].Members) != 0 {
		return fmt.Errorf("DescribeGroups after LeaveGroup: %v %+v", err, dg[group])
	}
	lr, err = adm.LeaveGroup(ctx, kadm.LeaveGroup(group).InstanceIDs("static-1"))
	if err == nil {
		err = lr["static-1"].Err
	}
	if !errors.Is(err, kerr.UnknownMemberID) {
		return fmt.Errorf("LeaveGroup static-1 again: want UNKNOWN_MEMBER_ID, got %v", err)
	}
	return nil
}

// ListTransactions with a state filter: unknown state names match nothing (Kafka keeps a
// transaction only when the filter is empty or names its state), known ones still match.
func fzListTransactionsUnknownState(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, txnID := e.name("t"), e.name("txn")
	if err := fzCreateTopic(ctx, adm, topic, 1, nil); err != nil {
		return err
	}
	cl, err := fzClient(e, kgo.TransactionalID(txnID))
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := fzTxnProduce(ctx, cl, topic, "ltx", 0, 1, true); err != nil {
		return err
	}
	for try := 0; try < 50; try++ { // Kafka writes the markers after it answers EndTxn
		lt, err := adm.ListTransactions(ctx, nil, []string{"CompleteCommit", "NoSuchState"})
		if err != nil {
			return fmt.Errorf("ListTransactions(CompleteCommit, NoSuchState): %w", err)
		}
		if _, ok := lt[txnID]; ok {
			break
		}
		if try == 49 {
			return fmt.Errorf("ListTransactions(CompleteCommit, NoSuchState) does not list %s: %+v", txnID, lt)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lt, err := adm.ListTransactions(ctx, nil, []string{"NoSuchState"})
	if err != nil {
		return fmt.Errorf("ListTransactions(NoSuchState): %w", err)
	}
	if len(lt) != 0 {
		return fmt.Errorf("ListTransactions with only the unknown state filter NoSuchState: want no transaction, got %d (%s among them: %v)",
			len(lt), txnID, lt[txnID].TxnID != "")
	}
	return nil
}
