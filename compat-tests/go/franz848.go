package main

// franz-go's KIP-848 consumer groups (kgo.ServerSideBalancer): the broker assigns the
// partitions through ConsumerGroupHeartbeat (key 68) and kadm describes the group with
// ConsumerGroupDescribe (key 69).

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// checkMembersExact checks what several members consumed: each member read every partition in
// offset order, and together they read every acknowledged record once (checkExact, with the
// records of all members in partition and offset order: a partition may have moved between
// members more than once).
func checkMembersExact(tag string, sent map[int]rec, per ...[]rec) error {
	var all []rec
	for i, rs := range per {
		last := map[int32]int64{}
		for _, r := range rs {
			if o, ok := last[r.Partition]; ok && r.Offset <= o {
				return fmt.Errorf("%s: member %d read partition %d at offset %d after %d", tag, i, r.Partition, r.Offset, o)
			}
			last[r.Partition] = r.Offset
		}
		all = append(all, rs...)
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].Partition != all[b].Partition {
			return all[a].Partition < all[b].Partition
		}
		return all[a].Offset < all[b].Offset
	})
	return checkExact(tag, sent, all)
}

// fzOwnedOnce reports whether the members own disjoint partition sets that together are
// 0..n-1, each member at least one partition.
func fzOwnedOnce(members []*fzMember, n int) bool {
	seen := map[int32]bool{}
	total := 0
	for _, m := range members {
		ps := m.c.partitions()
		if len(ps) == 0 {
			return false
		}
		for _, p := range ps {
			if p < 0 || int(p) >= n || seen[p] {
				return false
			}
			seen[p] = true
			total++
		}
	}
	return total == n
}

func fzDescribe(members []*fzMember) func() string {
	return func() string {
		s := ""
		for i, m := range members {
			s += fmt.Sprintf("; member %d owns %v (%s), consumed %d", i, m.c.partitions(), m.c.history(), m.c.count())
		}
		return s
	}
}

// fzCheckConsumerGroup checks with ConsumerGroupDescribe that the group is a KIP-848 group of
// `members` consumer-protocol members in state Stable, using the assignor asked for.
func fzCheckConsumerGroup(ctx context.Context, adm *kadm.Client, group, assignor string, members int) error {
	var last string
	for try := 0; try < 50; try++ {
		dg, err := adm.DescribeConsumerGroups(ctx, group)
		if err != nil {
			return fmt.Errorf("kadm DescribeConsumerGroups: %w", err)
		}
		g := dg[group]
		ok := g.Err == nil && g.State == "Stable" && g.AssignorName == assignor && len(g.Members) == members
		for _, m := range g.Members {
			ok = ok && m.MemberType == 1
		}
		if ok {
			return nil
		}
		last = fmt.Sprintf("err %v, state %s, assignor %q, %d members %+v", g.Err, g.State, g.AssignorName, len(g.Members), g.Members)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("ConsumerGroupDescribe of %s: want Stable, assignor %s, %d consumer members; got %s", group, assignor, members, last)
}

// Three members join with the consumer protocol and split 6 partitions; every record is
// consumed once across them (each poll committed before the next). One member leaves (its
// close sends the leave heartbeat, member epoch -1): the other two take over its partitions at
// its committed offsets and read what is produced next, each record once. After they leave, a
// new member resumes at the committed offsets and reads exactly the records produced since.
func fzGroupConsumerProtocol(ctx context.Context, e *env) error {
	adm, err := fzAdmin(e)
	if err != nil {
		return err
	}
	defer adm.Close()
	topic, group := e.name("t"), e.name("g")
	const parts = 6
	if err := fzCreateTopic(ctx, adm, topic, parts, nil); err != nil {
		return err
	}
	pcl, err := fzClient(e)
	if err != nil {
		return err
	}
	defer pcl.Close()
	sent1, err := fzProduce(ctx, pcl, topic, "kip848", 0, 300)
	if err != nil {
		return err
	}
	dl, ok := ctx.Deadline()
	var members []*fzMember
	defer func() {
		for _, m := range members {
			if m != nil {
				m.close()
			}
		}
	}()
	start := func() error {
		m, err := fzStartMember(e, group, topic, kgo.StickyBalancer(), kgo.ServerSideBalancer())
		if err == nil {
			members = append(members, m)
		}
		return err
	}
	for i := 0; i < 3; i++ {
		if err := start(); err != nil {
			return err
		}
	}
	desc := fzDescribe(members)
	if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "three members split the partitions and consumed every record",
		func() bool {
			n := 0
			for _, m := range members {
				n += m.c.count()
			}
			return fzOwnedOnce(members, parts) && n >= len(sent1)
		}, desc); err != nil {
		return err
	}
	if err := fzCheckConsumerGroup(ctx, adm, group, "uniform", 3); err != nil {
		return err
	}
	// The third member leaves; the other two take its partitions.
	leaver := members[2]
	if err := leaver.close(); err != nil {
		return fmt.Errorf("the member that left: %w", err)
	}
	members = members[:2]
	if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "the two members left own every partition",
		func() bool { return fzOwnedOnce(members, parts) }, desc); err != nil {
		return err
	}
	sent2, err := fzProduce(ctx, pcl, topic, "kip848", 300, 300)
	if err != nil {
		return err
	}
	sent := merge(sent1, sent2)
	if err := waitFor(deadlineOf(dl, ok, 30*time.Second), "every record consumed",
		func() bool { return members[0].c.count()+members[1].c.count()+leaver.c.count() >= len(sent) },
		func() string { return desc() + fmt.Sprintf("; the member that left consumed %d", leaver.c.count()) }); err != nil {
		return err
	}
	if err := fzCheckConsumerGroup(ctx, adm, group, "uniform", 2); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // anything consumed twice shows up now
	got := [][]rec{leaver.c.records()}
	for _, m := range members {
		if err := m.close(); err != nil {
			return fmt.Errorf("member: %w", err)
		}
		got = append(got, m.c.records())
	}
	members = nil
	if err := checkMembersExact("kip848", sent, got...); err != nil {
		return err
	}
	if err := fzCheckCommittedAtEnd(ctx, adm, group, topic, sent); err != nil {
		return err
	}
	// Resume: a new member starts at the committed offsets.
	sent3, err := fzProduce(ctx, pcl, topic, "kip848", 600, 60)
	if err != nil {
		return err
	}
	if err := start(); err != nil {
		return err
	}
	if err := waitFor(deadlineOf(dl, ok, 20*time.Second), "the new member consumed the records produced since",
		func() bool { return members[0].c.count() >= len(sent3) }, fzDescribe(members)); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	m := members[0]
	members = nil
	if err := m.close(); err != nil {
		return fmt.Errorf("the new member: %w", err)
	}
	if err := checkExact("kip848", sent3, m.c.records()); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	return fzCheckCommittedAtEnd(ctx, adm, group, topic, merge(sent, sent3))
}
