// go-compat drives one Go Kafka client against a broker and prints one JSON line per scenario:
//
//	go-compat <bootstrap> <client> [scenario...]
//
// client is franz-go, sarama or kafka-go; without scenario names every scenario of the client
// runs. `go-compat list <client>` prints the scenario names. Each line is
// {"client": module path, "version": module version, "scenario": name, "passed": bool,
// "note": what failed, "seconds": wall time}. The exit status is 0 when every scenario ran
// (passed or not) and 2 for bad arguments.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"time"
)

type scenario struct {
	name    string
	timeout time.Duration
	run     func(ctx context.Context, e *env) error
}

type env struct {
	bootstrap string
	// prefix makes the topic, group and transactional ids of one scenario run unique.
	prefix string
	// codecTopic is the topic a produce_<codec> scenario wrote, reported so that the suite can
	// check the codec of the batches in the broker's log.
	codecTopic string
}

func (e *env) name(s string) string { return e.prefix + "-" + s }

type client struct {
	module    string
	short     string
	scenarios []scenario
	// moduleOf, when set, names the module a scenario drives when it is not module (kadm).
	moduleOf func(scenario string) string
}

var clients = map[string]*client{}

func register(name, module, short string, s []scenario) {
	clients[name] = &client{module: module, short: short, scenarios: s}
}

func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range info.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

type result struct {
	Client   string  `json:"client"`
	Version  string  `json:"version"`
	Scenario string  `json:"scenario"`
	Passed   bool    `json:"passed"`
	Note     string  `json:"note"`
	Seconds  float64 `json:"seconds"`
	// CodecTopic: see env.codecTopic.
	CodecTopic string `json:"codec_topic,omitempty"`
}

func runOne(c *client, s scenario, bootstrap string) (res result) {
	module := c.module
	if c.moduleOf != nil {
		module = c.moduleOf(s.name)
	}
	res = result{Client: module, Version: moduleVersion(module), Scenario: s.name}
	e := &env{bootstrap: bootstrap,
		prefix: fmt.Sprintf("%s-%s-%d", c.short, s.name, time.Now().UnixNano()%1000000)}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	t0 := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		done <- s.run(ctx, e)
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(s.timeout + 15*time.Second):
		err = fmt.Errorf("scenario did not return within %s (its context ended %s ago)", s.timeout+15*time.Second, 15*time.Second)
	}
	res.Seconds = time.Since(t0).Seconds()
	res.CodecTopic = e.codecTopic
	res.Passed = err == nil
	if err != nil {
		res.Note = err.Error()
	}
	return res
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go-compat <bootstrap> <client> [scenario...]\n       go-compat list <client>\nclients: franz-go, sarama, kafka-go")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	c := clients[os.Args[2]]
	if c == nil {
		usage()
	}
	if os.Args[1] == "list" {
		for _, s := range c.scenarios {
			fmt.Println(s.name)
		}
		return
	}
	want := map[string]bool{}
	for _, n := range os.Args[3:] {
		want[n] = true
	}
	found := 0
	out := json.NewEncoder(os.Stdout)
	for _, s := range c.scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		found++
		if err := out.Encode(runOne(c, s, os.Args[1])); err != nil {
			os.Exit(1)
		}
	}
	if found != len(want) && len(want) > 0 {
		fmt.Fprintf(os.Stderr, "go-compat: %d of the %d scenarios named are not scenarios of %s\n", len(want)-found, len(want), os.Args[2])
		os.Exit(2)
	}
}
