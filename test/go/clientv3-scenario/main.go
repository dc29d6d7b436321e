// clientv3-scenario runs a fixed script of KV, Txn, Watch and Lease calls with etcd's own Go client
// and prints what it saw, one line per step, revisions relative to the first write and lease IDs
// left out, so the output against real etcd and against coord store can be compared byte for byte.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/mvcc/mvccpb"
)

var base int64

func rel(rev int64) int64 { return rev - base }

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	p := flag.String("prefix", "/go-scenario/", "key prefix")
	flag.Parse()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	check("connect", err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := func(s string) string { return *p + s }

	put, err := cli.Put(ctx, k("a"), "1")
	check("put a", err)
	base = put.Header.Revision - 1
	fmt.Printf("put a: rev %d\n", rel(put.Header.Revision))
	watch := cli.Watch(ctx, *p, clientv3.WithPrefix(), clientv3.WithRev(base+1), clientv3.WithPrevKV())

	put, err = cli.Put(ctx, k("a"), "2", clientv3.WithPrevKV())
	check("put a again", err)
	fmt.Printf("put a again: rev %d prev %s v%d\n", rel(put.Header.Revision), put.PrevKv.Value, put.PrevKv.Version)
	_, err = cli.Put(ctx, k("b"), "x")
	check("put b", err)

	get, err := cli.Get(ctx, *p, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	check("get", err)
	fmt.Printf("get prefix: count %d more %v rev %d:", get.Count, get.More, rel(get.Header.Revision))
	for _, kv := range get.Kvs {
		fmt.Printf(" %s=%s(c%d,m%d,v%d)", strings.TrimPrefix(string(kv.Key), *p), kv.Value, rel(kv.CreateRevision), rel(kv.ModRevision), kv.Version)
	}
	fmt.Println()
	old, err := cli.Get(ctx, k("a"), clientv3.WithRev(base+1))
	check("get old", err)
	fmt.Printf("get a at rev 1: %s\n", old.Kvs[0].Value)
	limited, err := cli.Get(ctx, *p, clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithCountOnly())
	check("count", err)
	fmt.Printf("count-only limit 1: count %d kvs %d\n", limited.Count, len(limited.Kvs))

	txn, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(k("a")), "=", "2"), clientv3.Compare(clientv3.Version(k("b")), ">", 0)).
		Then(clientv3.OpPut(k("c"), "from-txn"), clientv3.OpGet(k("b")), clientv3.OpDelete(k("b"), clientv3.WithPrevKV())).
		Else(clientv3.OpGet(k("a"))).
		Commit()
	check("txn", err)
	fmt.Printf("txn: succeeded %v rev %d responses %d, deleted %d\n", txn.Succeeded, rel(txn.Header.Revision), len(txn.Responses), txn.Responses[2].GetResponseDeleteRange().Deleted)
	txn, err = cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k("b")), "!=", 0)).Then(clientv3.OpPut(k("x"), "no")).Else(clientv3.OpGet(k("c"))).Commit()
	check("txn else", err)
	fmt.Printf("txn else: succeeded %v value %s\n", txn.Succeeded, txn.Responses[0].GetResponseRange().Kvs[0].Value)

	lease, err := cli.Grant(ctx, 5)
	check("grant", err)
	fmt.Printf("grant: ttl %d\n", lease.TTL)
	_, err = cli.Put(ctx, k("leased"), "v", clientv3.WithLease(lease.ID))
	check("put leased", err)
	ttl, err := cli.TimeToLive(ctx, lease.ID, clientv3.WithAttachedKeys())
	check("ttl", err)
	fmt.Printf("timetolive: granted %d keys %d first %s\n", ttl.GrantedTTL, len(ttl.Keys), strings.TrimPrefix(string(ttl.Keys[0]), *p))
	ka, err := cli.KeepAliveOnce(ctx, lease.ID)
	check("keepalive", err)
	fmt.Printf("keepalive once: ttl %d\n", ka.TTL)
	_, err = cli.Revoke(ctx, lease.ID)
	check("revoke", err)
	gone, err := cli.Get(ctx, k("leased"))
	check("get leased", err)
	fmt.Printf("after revoke: leased keys %d\n", len(gone.Kvs))
	_, err = cli.TimeToLive(ctx, lease.ID)
	fmt.Printf("timetolive after revoke: err=%v\n", err)
	_, err = cli.Get(ctx, k("a"), clientv3.WithRev(base+1000))
	fmt.Printf("future revision: err=%v\n", err)

	seen := 0
	for resp := range watch {
		for _, ev := range resp.Events {
			seen++
			prev := "-"
			if ev.PrevKv != nil {
				prev = string(ev.PrevKv.Value)
			}
			typ := "PUT"
			if ev.Type == mvccpb.DELETE {
				typ = "DELETE"
			}
			fmt.Printf("watch: %s %s=%s prev %s rev %d\n", typ, strings.TrimPrefix(string(ev.Kv.Key), *p), ev.Kv.Value, prev, rel(ev.Kv.ModRevision))
		}
		if seen >= 7 {
			break
		}
	}
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "clientv3-scenario: %s: %v\n", what, err)
		os.Exit(1)
	}
}
