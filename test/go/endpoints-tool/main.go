// endpoints-tool uses etcd's naming/endpoints Manager, the registry grpc-go's etcd resolver reads:
// "add" publishes -addr under -target (with -metadata as JSON, if given); "list" prints every
// endpoint of -target as "<key> <addr> <metadata as JSON>", sorted by key.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/endpoints"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	mode := flag.String("mode", "list", "add or list")
	target := flag.String("target", "svc/echo", "endpoints target")
	addr := flag.String("addr", "", "add: address")
	metadata := flag.String("metadata", "", "add: metadata as JSON")
	flag.Parse()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	check("connect", err)
	defer cli.Close()
	m, err := endpoints.NewManager(cli, *target)
	check("manager", err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch *mode {
	case "add":
		ep := endpoints.Endpoint{Addr: *addr}
		if *metadata != "" {
			var md interface{}
			check("metadata", json.Unmarshal([]byte(*metadata), &md))
			ep.Metadata = md
		}
		check("add", m.AddEndpoint(ctx, *target+"/"+*addr, ep))
	case "list":
		eps, err := m.List(ctx)
		check("list", err)
		keys := make([]string, 0, len(eps))
		for k := range eps {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			md, _ := json.Marshal(eps[k].Metadata)
			fmt.Printf("%s %s %s\n", k, eps[k].Addr, md)
		}
	}
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "endpoints-tool: %s: %v\n", what, err)
		os.Exit(1)
	}
}
