package main

// coord.test.Echo (test/fixtures/echo.proto) without generated code: no protoc here, so the
// messages are plain structs with protobuf struct tags, which the protobuf runtime grpc-go uses
// reads as legacy messages, and the service is a hand-written grpc.ServiceDesc.

import (
	"context"
	"time"

	"github.com/golang/protobuf/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type EchoRequest struct {
	Message  string `protobuf:"bytes,1,opt,name=message,proto3" json:"message,omitempty"`
	SleepMs  uint32 `protobuf:"varint,2,opt,name=sleep_ms,json=sleepMs,proto3" json:"sleep_ms,omitempty"`
	FailCode int32  `protobuf:"varint,3,opt,name=fail_code,json=failCode,proto3" json:"fail_code,omitempty"`
	Count    uint32 `protobuf:"varint,4,opt,name=count,proto3" json:"count,omitempty"`
}

func (m *EchoRequest) Reset()         { *m = EchoRequest{} }
func (m *EchoRequest) String() string { return proto.CompactTextString(m) }
func (*EchoRequest) ProtoMessage()    {}

type EchoReply struct {
	Message  string `protobuf:"bytes,1,opt,name=message,proto3" json:"message,omitempty"`
	ServerId string `protobuf:"bytes,2,opt,name=server_id,json=serverId,proto3" json:"server_id,omitempty"`
}

func (m *EchoReply) Reset()         { *m = EchoReply{} }
func (m *EchoReply) String() string { return proto.CompactTextString(m) }
func (*EchoReply) ProtoMessage()    {}

const echoMethod = "/coord.test.Echo/Echo"

// echoServer answers Echo as id: it sleeps sleep_ms, fails with fail_code when set.
type echoServer struct{ id string }

func (s *echoServer) echo(ctx context.Context, req *EchoRequest) (*EchoReply, error) {
	if req.SleepMs > 0 {
		select {
		case <-time.After(time.Duration(req.SleepMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if req.FailCode != 0 {
		return nil, status.Errorf(codes.Code(req.FailCode), "echo %s: failing as asked", s.id)
	}
	return &EchoReply{Message: req.Message, ServerId: s.id}, nil
}

var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: "coord.test.Echo",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
			req := new(EchoRequest)
			if err := dec(req); err != nil {
				return nil, err
			}
			s := srv.(*echoServer)
			if interceptor == nil {
				return s.echo(ctx, req)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: echoMethod}
			return interceptor(ctx, req, info, func(ctx context.Context, req interface{}) (interface{}, error) {
				return s.echo(ctx, req.(*EchoRequest))
			})
		},
	}},
	Metadata: "echo.proto",
}
