package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rec is a record as every client sees it: what was produced (with the partition and offset the
// broker acknowledged) or what was consumed.
type rec struct {
	Key, Value []byte
	Headers    []hdr
	Partition  int32
	Offset     int64
}

type hdr struct {
	Key   string
	Value []byte
}

// gen makes record i of a series: a key that names it, a value whose length varies from 0 to
// about 1.5 KiB (repetitive enough to compress, not constant), and three headers, one of them
// with an empty value.
func gen(tag string, i int) rec {
	key := []byte(fmt.Sprintf("%s/key/%d", tag, i))
	var v bytes.Buffer
	fmt.Fprintf(&v, "%s/value/%d/", tag, i)
	for j := 0; j < (i*37)%1500; j++ {
		v.WriteByte(byte((i*13 + j/7) & 0xff))
	}
	return rec{Key: key, Value: v.Bytes(), Headers: []hdr{
		{"idx", []byte(strconv.Itoa(i))}, {"tag", []byte(tag)}, {"empty", []byte{}}}}
}

// index returns i of a key made by gen for tag, or -1.
func index(tag string, key []byte) int {
	s, ok := strings.CutPrefix(string(key), tag+"/key/")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return i
}

func sameHeaders(a, b []hdr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// checkExact compares what was consumed with what was acknowledged: every acknowledged record
// once, byte for byte (key, value, headers in order) at its acknowledged partition and offset,
// in offset order within a partition, and nothing else.
func checkExact(tag string, sent map[int]rec, got []rec) error {
	seen := map[int]bool{}
	last := map[int32]int64{}
	var problems []string
	add := func(f string, a ...any) {
		if len(problems) < 8 {
			problems = append(problems, fmt.Sprintf(f, a...))
		}
	}
	for _, r := range got {
		i := index(tag, r.Key)
		want, ok := sent[i]
		switch {
		case !ok:
			add("unexpected record key %q at %d/%d", r.Key, r.Partition, r.Offset)
			continue
		case seen[i]:
			add("record %d consumed twice (again at %d/%d)", i, r.Partition, r.Offset)
			continue
		}
		seen[i] = true
		if r.Partition != want.Partition || r.Offset != want.Offset {
			add("record %d consumed at %d/%d, acknowledged at %d/%d", i, r.Partition, r.Offset, want.Partition, want.Offset)
		}
		if !bytes.Equal(r.Value, want.Value) {
			add("record %d: value differs (%d bytes, want %d)", i, len(r.Value), len(want.Value))
		}
		if !sameHeaders(r.Headers, want.Headers) {
			add("record %d: headers %v, want %v", i, fmtHeaders(r.Headers), fmtHeaders(want.Headers))
		}
		if o, ok := last[r.Partition]; ok && r.Offset <= o {
			add("partition %d: offset %d after %d", r.Partition, r.Offset, o)
		}
		last[r.Partition] = r.Offset
	}
	var missing []int
	for i := range sent {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		sort.Ints(missing)
		add("%d records never consumed (first %v)", len(missing), missing[:min(5, len(missing))])
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d consumed, %d acknowledged: %s", tag, len(got), len(sent), strings.Join(problems, "; "))
	}
	return nil
}

func fmtHeaders(h []hdr) string {
	var s []string
	for _, x := range h {
		s = append(s, fmt.Sprintf("%s=%q", x.Key, x.Value))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// merge puts the acknowledged records of several series into one map keyed by index; the
// series must use disjoint index ranges.
func merge(ms ...map[int]rec) map[int]rec {
	out := map[int]rec{}
	for _, m := range ms {
		for i, r := range m {
			out[i] = r
		}
	}
	return out
}

// checkOffsetsDense checks that the acknowledged offsets of each partition are 0..n-1 (a log
// that only these records were written to, each once).
func checkOffsetsDense(sent map[int]rec) error {
	per := map[int32][]int64{}
	for _, r := range sent {
		per[r.Partition] = append(per[r.Partition], r.Offset)
	}
	for p, offs := range per {
		sort.Slice(offs, func(a, b int) bool { return offs[a] < offs[b] })
		for j, o := range offs {
			if o != int64(j) {
				return fmt.Errorf("partition %d: acknowledged offsets are not 0..%d (position %d holds %d)", p, len(offs)-1, j, o)
			}
		}
	}
	return nil
}

func countPerPartition(sent map[int]rec) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range sent {
		out[r.Partition]++
	}
	return out
}

// collector gathers what group members consumed, for checks across members.
type collector struct {
	mu       sync.Mutex
	got      []rec
	assigned map[int32]bool
	events   []string
}

func newCollector() *collector { return &collector{assigned: map[int32]bool{}} }

func (c *collector) add(r ...rec) {
	c.mu.Lock()
	c.got = append(c.got, r...)
	c.mu.Unlock()
}

func (c *collector) records() []rec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rec(nil), c.got...)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func (c *collector) assign(ps []int32) {
	c.mu.Lock()
	for _, p := range ps {
		c.assigned[p] = true
	}
	c.events = append(c.events, fmt.Sprintf("+%v", ps))
	c.mu.Unlock()
}

func (c *collector) revoke(ps []int32) {
	c.mu.Lock()
	for _, p := range ps {
		delete(c.assigned, p)
	}
	c.events = append(c.events, fmt.Sprintf("-%v", ps))
	c.mu.Unlock()
}

func (c *collector) setAssigned(ps []int32) {
	c.mu.Lock()
	c.assigned = map[int32]bool{}
	for _, p := range ps {
		c.assigned[p] = true
	}
	c.events = append(c.events, fmt.Sprintf("=%v", ps))
	c.mu.Unlock()
}

func (c *collector) partitions() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int32
	for p := range c.assigned {
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

func (c *collector) history() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.events, " ")
}

// split reports whether two members own disjoint, non-empty partition sets that together are
// 0..n-1.
func split(a, b []int32, n int) bool {
	if len(a) == 0 || len(b) == 0 || len(a)+len(b) != n {
		return false
	}
	seen := map[int32]bool{}
	for _, p := range append(append([]int32(nil), a...), b...) {
		if p < 0 || int(p) >= n || seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(deadline time.Time, what string, cond func() bool, describe func() string) error {
	for !cond() {
		if time.Now().After(deadline) {
			d := ""
			if describe != nil {
				d = ": " + describe()
			}
			return fmt.Errorf("%s: not reached in time%s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func deadlineOf(ctxDeadline time.Time, ok bool, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if ok && ctxDeadline.Before(t) {
		return ctxDeadline
	}
	return t
}
