// Original file: test/fixtures/echo.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EchoReply as _coord_test_EchoReply, EchoReply__Output as _coord_test_EchoReply__Output } from '../../coord/test/EchoReply.js';
import type { EchoRequest as _coord_test_EchoRequest, EchoRequest__Output as _coord_test_EchoRequest__Output } from '../../coord/test/EchoRequest.js';

export interface EchoClient extends grpc.Client {
  Echo(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  Echo(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  Echo(argument: _coord_test_EchoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  Echo(argument: _coord_test_EchoRequest, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  echo(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  echo(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  echo(argument: _coord_test_EchoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  echo(argument: _coord_test_EchoRequest, callback: grpc.requestCallback<_coord_test_EchoReply__Output>): grpc.ClientUnaryCall;
  
  EchoStream(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_coord_test_EchoReply__Output>;
  EchoStream(argument: _coord_test_EchoRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_coord_test_EchoReply__Output>;
  echoStream(argument: _coord_test_EchoRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_coord_test_EchoReply__Output>;
  echoStream(argument: _coord_test_EchoRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_coord_test_EchoReply__Output>;
  
}

export interface EchoHandlers extends grpc.UntypedServiceImplementation {
  Echo: grpc.handleUnaryCall<_coord_test_EchoRequest__Output, _coord_test_EchoReply>;
  
  EchoStream: grpc.handleServerStreamingCall<_coord_test_EchoRequest__Output, _coord_test_EchoReply>;
  
}

export interface EchoDefinition extends grpc.ServiceDefinition {
  Echo: MethodDefinition<_coord_test_EchoRequest, _coord_test_EchoReply, _coord_test_EchoRequest__Output, _coord_test_EchoReply__Output>
  EchoStream: MethodDefinition<_coord_test_EchoRequest, _coord_test_EchoReply, _coord_test_EchoRequest__Output, _coord_test_EchoReply__Output>
}
