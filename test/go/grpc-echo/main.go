// grpc-echo is a Go gRPC program on etcd's grpc naming, for coord's interop tests. It serves or
// calls coord.test.Echo (test/fixtures/echo.proto).
//
// -mode server serves Echo on -listen, answering with server_id -id, and publishes itself with
// clientv3/naming/endpoints' Manager under -target as "<target>/<host:port>" (no Metadata), under
// a lease of -ttl seconds kept alive with KeepAlive, so after a kill -9 the record stays until the
// lease expires. It prints {"event":"listening","addr":…,"id":…,"lease":…} once published.
//
// -mode client dials "etcd:///<target>" with clientv3/naming/resolver and round_robin and calls
// Echo from -concurrency goroutines, each pausing -pause-ms between calls. Every -report-ms it prints
// {"event":"counts","calls":…,"ok":…,"failed":…,"byServer":{id:n},"errors":[…]}; once stdin
// closes it stops calling, waits for the calls in flight and prints the same with "event":"final".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint")
	mode := flag.String("mode", "server", "server or client")
	target := flag.String("target", "echo", "endpoints target (the etcd key prefix)")
	listen := flag.String("listen", "127.0.0.1:0", "server: address to serve on")
	id := flag.String("id", "go", "server: id answered in server_id")
	ttl := flag.Int64("ttl", 2, "server: lease TTL in seconds")
	concurrency := flag.Int("concurrency", 4, "client: calls in flight")
	reportMs := flag.Int("report-ms", 100, "client: counts every this many ms")
	deadlineMs := flag.Int("deadline-ms", 5000, "client: deadline of each call")
	pauseMs := flag.Int("pause-ms", 0, "client: pause of each goroutine between its calls")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	check("connect", err)
	defer cli.Close()
	switch *mode {
	case "server":
		runServer(cli, *target, *listen, *id, *ttl)
	case "client":
		runClient(cli, *target, *concurrency, time.Duration(*reportMs)*time.Millisecond, time.Duration(*deadlineMs)*time.Millisecond, time.Duration(*pauseMs)*time.Millisecond)
	default:
		check("mode", fmt.Errorf("unknown mode %q", *mode))
	}
}

var stdoutMu sync.Mutex

func printJSON(v interface{}) {
	b, err := json.Marshal(v)
	check("json", err)
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-echo: %s: %v\n", what, err)
		os.Exit(1)
	}
}
