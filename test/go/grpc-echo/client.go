package main

import (
	"bufio"
	"context"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/resolver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

type callError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	AtMs    int64  `json:"atMs"` // since the client started calling
}

type counts struct {
	Event    string         `json:"event"`
	Calls    int            `json:"calls"`
	Ok       int            `json:"ok"`
	Failed   int            `json:"failed"`
	ByServer map[string]int `json:"byServer"`
	Errors   []callError    `json:"errors"`
}

// At most this many errors are listed (all are counted).
const maxListedErrors = 50

func runClient(cli *clientv3.Client, target string, concurrency int, report, deadline, pause time.Duration) {
	builder, err := resolver.NewBuilder(cli)
	check("resolver", err)
	conn, err := grpc.Dial("etcd:///"+target, grpc.WithResolvers(builder), grpc.WithInsecure(),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	check("dial", err)
	defer conn.Close()

	var mu sync.Mutex
	c := counts{ByServer: map[string]int{}, Errors: []callError{}}
	snapshot := func(event string) counts {
		mu.Lock()
		defer mu.Unlock()
		s := c
		s.Event = event
		s.ByServer = make(map[string]int, len(c.ByServer))
		for k, v := range c.ByServer {
			s.ByServer[k] = v
		}
		s.Errors = append([]callError{}, c.Errors...)
		return s
	}

	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				reply := new(EchoReply)
				err := conn.Invoke(ctx, echoMethod, &EchoRequest{Message: "go"}, reply)
				cancel()
				mu.Lock()
				c.Calls++
				if err == nil {
					c.Ok++
					c.ByServer[reply.ServerId]++
				} else {
					c.Failed++
					if len(c.Errors) < maxListedErrors {
						st := status.Convert(err)
						c.Errors = append(c.Errors, callError{Code: st.Code().String(), Message: st.Message(), AtMs: time.Since(start).Milliseconds()})
					}
				}
				mu.Unlock()
			}
		}()
	}

	stdinClosed := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n') // a line or EOF: stop
		close(stdinClosed)
	}()
	ticker := time.NewTicker(report)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			printJSON(snapshot("counts"))
		case <-stdinClosed:
			close(stop)
			wg.Wait()
			printJSON(snapshot("final"))
			return
		}
	}
}
