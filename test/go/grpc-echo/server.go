package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/endpoints"
	"google.golang.org/grpc"
)

func runServer(cli *clientv3.Client, target, listen, id string, ttl int64) {
	lis, err := net.Listen("tcp", listen)
	check("listen", err)
	addr := lis.Addr().String()
	s := grpc.NewServer()
	s.RegisterService(&echoServiceDesc, &echoServer{id: id})
	go func() { check("serve", s.Serve(lis)) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cli.Grant(ctx, ttl)
	check("grant", err)
	m, err := endpoints.NewManager(cli, target)
	check("manager", err)
	// No Metadata, as etcd's grpc naming guide does: the etcd resolver hands Metadata to grpc-go as
	// resolver.Address.Metadata, and grpc-go's balancers use Address as a map key, so a JSON object
	// there (a Go map) panics every Go client of this target with "hash of unhashable type".
	check("add endpoint", m.AddEndpoint(ctx, target+"/"+addr, endpoints.Endpoint{Addr: addr}, clientv3.WithLease(lease.ID)))
	alive, err := cli.KeepAlive(context.Background(), lease.ID)
	check("keepalive", err)
	printJSON(map[string]interface{}{"event": "listening", "addr": addr, "id": id, "lease": fmt.Sprintf("%x", int64(lease.ID))})
	for range alive {
	}
	// The keepalive channel closes when the lease is gone or etcd cannot be reached for a whole TTL.
	fmt.Fprintln(os.Stderr, "grpc-echo: lease keepalive ended")
	os.Exit(1)
}
