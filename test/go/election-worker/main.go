// election-worker takes part in an etcd concurrency.Election the way coord's interop test needs:
// "campaign" campaigns with a value, prints "elected <value>", holds leadership until a line
// arrives on stdin, then resigns and prints "resigned"; "observe" prints "leader <value>" for every
// leader it sees until it has seen -until, then exits.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	prefix := flag.String("election", "/coord/elections/interop", "election prefix (coord's <ns>elections/<name>)")
	mode := flag.String("mode", "campaign", "campaign or observe")
	value := flag.String("value", "go", "campaign value")
	until := flag.String("until", "", "observe: exit once this leader was seen")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		fail("connect", err)
	}
	defer cli.Close()
	session, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		fail("session", err)
	}
	defer session.Close()
	e := concurrency.NewElection(session, *prefix)
	switch *mode {
	case "campaign":
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := e.Campaign(ctx, *value); err != nil {
			fail("campaign", err)
		}
		fmt.Printf("elected %s\n", *value)
		bufio.NewReader(os.Stdin).ReadString('\n')
		if err := e.Resign(context.Background()); err != nil {
			fail("resign", err)
		}
		fmt.Println("resigned")
	case "observe":
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for resp := range e.Observe(ctx) {
			v := string(resp.Kvs[0].Value)
			fmt.Printf("leader %s\n", v)
			if v == *until {
				return
			}
		}
		fail("observe", ctx.Err())
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "election-worker: %s: %v\n", what, err)
	os.Exit(1)
}
