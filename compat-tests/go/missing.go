package main

// The Kafka APIs that Runnel does not implement yet, called through each client's own API.
// Each is one scenario, missing_api_<name>: the call must fail within missingAPITimeout the way
// the client reports an API that the broker does not offer (kgo: "broker is too old", sarama:
// ErrUnsupportedVersion; kafka-go does not read the ApiVersions answer before it sends, so the
// broker closes the connection, as Kafka does for an API it does not offer). A call that
// succeeds fails the scenario with "Runnel now implements ...": move it to a real check.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

const missingAPITimeout = 10 * time.Second

const (
	missingAlterConfigs = "Runnel does not implement AlterConfigs/IncrementalAlterConfigs: topic configs are set at creation only"
	missingACLs         = "Runnel has no authorizer: DescribeAcls/CreateAcls/DeleteAcls are not implemented"
	missingQuotas       = "Runnel has no client quotas: DescribeClientQuotas/AlterClientQuotas are not implemented"
	missingSASL         = "Runnel has no SASL: the SCRAM credential APIs are not implemented"
)

type unsupported struct {
	api    string // Kafka's name of the API and its key
	call   string // what the client calls
	reason string
	run    func(ctx context.Context) error
}

type missingCheck struct {
	expect string // how the client reports a missing API
	is     func(error) bool
	// setup creates the topic e.name("t") (one partition) that the calls name.
	setup func(ctx context.Context, e *env) error
}

var missingChecks = map[string]missingCheck{}

func slug(api string) string {
	s := api
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// missingScenarios turns a client's list into scenarios; list is called once with a blank env
// for the names and again with the scenario's env to run the call.
func missingScenarios(short string, list func(e *env) []unsupported) []scenario {
	var out []scenario
	for i, u := range list(&env{}) {
		i, u := i, u
		out = append(out, scenario{"missing_api_" + slug(u.api), missingAPITimeout + 10*time.Second,
			func(ctx context.Context, e *env) error {
				mc := missingChecks[short]
				if err := mc.setup(ctx, e); err != nil {
					return err
				}
				call := list(e)[i]
				cctx, cancel := context.WithTimeout(ctx, missingAPITimeout)
				defer cancel()
				t0 := time.Now()
				err := call.run(cctx)
				dt := time.Since(t0)
				switch {
				case err == nil:
					return fmt.Errorf("Runnel now implements %s: %s succeeded; move it from the missing list (%s) to a real check", u.api, u.call, u.reason)
				case !mc.is(err):
					return fmt.Errorf("%s (%s; %s) failed after %.1f s with %v, not the client's missing-API report (%s)", u.call, u.api, u.reason, dt.Seconds(), err, mc.expect)
				case dt > missingAPITimeout/2:
					return fmt.Errorf("%s (%s) took %.1f s to report the missing API", u.call, u.api, dt.Seconds())
				}
				return nil
			}})
	}
	return out
}
