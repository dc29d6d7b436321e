// Original file: test/fixtures/echo.proto


export interface EchoReply {
  'message'?: (string);
  'server_id'?: (string);
}

export interface EchoReply__Output {
  'message': (string);
  'server_id': (string);
}
