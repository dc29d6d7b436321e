// Original file: test/fixtures/echo.proto


export interface EchoRequest {
  'message'?: (string);
  'sleep_ms'?: (number);
  'fail_code'?: (number);
  'count'?: (number);
}

export interface EchoRequest__Output {
  'message': (string);
  'sleep_ms': (number);
  'fail_code': (number);
  'count': (number);
}
