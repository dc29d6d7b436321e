// registrar registers N instances the way Kratos and go-zero do with etcd's Go client: one lease
// per instance (Grant + KeepAlive, all keepalives on clientv3's one shared stream) and one Put of
// the record under it, 200 in flight. It prints "registered <ms>" once all are written, then
// keeps them alive until SIGTERM, when it revokes them all.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	prefix := flag.String("prefix", "/go-registrar/", "key prefix")
	n := flag.Int("n", 1000, "instances")
	offset := flag.Int("offset", 0, "first instance number")
	services := flag.Int("services", 100, "services")
	ttl := flag.Int64("ttl", 10, "lease TTL, seconds")
	flag.Parse()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer cli.Close()
	start := time.Now()
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
	var mu sync.Mutex
	leases := []clientv3.LeaseID{}
	for i := 0; i < *n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			i += *offset
			defer func() { <-sem }()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				lease, err := cli.Grant(ctx, *ttl)
				if err == nil {
					_, err = cli.Put(ctx, fmt.Sprintf("%sservices/svc%d/go%d", *prefix, i%*services, i), fmt.Sprintf(`{"id":"go%d","name":"svc%d","endpoints":["grpc://127.0.0.1:%d"]}`, i, i%*services, 20000+i), clientv3.WithLease(lease.ID))
				}
				cancel()
				if err == nil {
					ch, kerr := cli.KeepAlive(context.Background(), lease.ID)
					if kerr == nil {
						mu.Lock()
						leases = append(leases, lease.ID)
						mu.Unlock()
						go func() {
							for range ch {
							}
						}()
						return
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("registered %d\n", time.Since(start).Milliseconds())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	// A graceful stop revokes every lease, as Kratos' and go-zero's Deregister do.
	var rw sync.WaitGroup
	for _, id := range leases {
		rw.Add(1)
		sem <- struct{}{}
		go func(id clientv3.LeaseID) {
			defer rw.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cli.Revoke(ctx, id)
			cancel()
		}(id)
	}
	rw.Wait()
}
