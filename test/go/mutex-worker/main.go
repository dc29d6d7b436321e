// mutex-worker takes an etcd concurrency.Mutex repeatedly and, while holding it, checks and bumps a
// shared counter key, the way coord's interop test does from Node: a read of the counter, a pause,
// and a write guarded by the lock's fencing token (the key's create revision) — any overlap with
// another holder shows up as a lost update or a stale token. One line per round on stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	lockName := flag.String("lock", "/coord/locks/interop", "lock prefix (coord's <ns>locks/<name>)")
	counter := flag.String("counter", "/interop/counter", "counter key")
	rounds := flag.Int("rounds", 20, "rounds")
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
	mutex := concurrency.NewMutex(session, *lockName)
	for i := 0; i < *rounds; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := mutex.Lock(ctx); err != nil {
			fail("lock", err)
		}
		cancel()
		// The fencing token: the create revision of this holder's key, as coord's lock reports it.
		own, err := cli.Get(context.Background(), mutex.Key())
		if err != nil || len(own.Kvs) != 1 {
			fail("own key", fmt.Errorf("%v (%d keys)", err, len(own.Kvs)))
		}
		token := own.Kvs[0].CreateRevision
		get, err := cli.Get(context.Background(), *counter)
		if err != nil {
			fail("get", err)
		}
		n, rev := 0, int64(0)
		if len(get.Kvs) == 1 {
			n, _ = strconv.Atoi(string(get.Kvs[0].Value))
			rev = get.Kvs[0].ModRevision
		}
		time.Sleep(5 * time.Millisecond)
		// The write succeeds only if nobody wrote the counter since our read: an overlap fails it.
		txn, err := cli.Txn(context.Background()).
			If(clientv3.Compare(clientv3.ModRevision(*counter), "=", rev)).
			Then(clientv3.OpPut(*counter, strconv.Itoa(n+1))).
			Commit()
		if err != nil {
			fail("txn", err)
		}
		fmt.Printf("round %d token %d counter %d->%d ok=%v\n", i, token, n, n+1, txn.Succeeded)
		if err := mutex.Unlock(context.Background()); err != nil {
			fail("unlock", err)
		}
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "mutex-worker: %s: %v\n", what, err)
	os.Exit(1)
}
