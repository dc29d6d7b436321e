import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { EchoClient as _coord_test_EchoClient, EchoDefinition as _coord_test_EchoDefinition } from './coord/test/Echo.js';
import type { EchoReply as _coord_test_EchoReply, EchoReply__Output as _coord_test_EchoReply__Output } from './coord/test/EchoReply.js';
import type { EchoRequest as _coord_test_EchoRequest, EchoRequest__Output as _coord_test_EchoRequest__Output } from './coord/test/EchoRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  coord: {
    test: {
      Echo: SubtypeConstructor<typeof grpc.Client, _coord_test_EchoClient> & { service: _coord_test_EchoDefinition }
      EchoReply: MessageTypeDefinition<_coord_test_EchoReply, _coord_test_EchoReply__Output>
      EchoRequest: MessageTypeDefinition<_coord_test_EchoRequest, _coord_test_EchoRequest__Output>
    }
  }
}

