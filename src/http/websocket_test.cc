#include "http/websocket.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

namespace ctk::http {

namespace {

// A client frame: masked with key, as a browser sends it.
std::string client_frame(uint8_t first_byte, std::string_view payload, uint32_t key = 0x37fa213d) {
  std::string out;
  out.push_back(char(first_byte));
  uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(char(0x80 | n));
  } else if (n <= 0xffff) {
    out.push_back(char(0x80 | 126));
    out.push_back(char(n >> 8));
    out.push_back(char(n & 0xff));
  } else {
    out.push_back(char(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char((n >> shift) & 0xff));
  }
  uint8_t mask[4] = {uint8_t(key >> 24), uint8_t(key >> 16), uint8_t(key >> 8), uint8_t(key)};
  out.append(reinterpret_cast<char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i) out.push_back(char(uint8_t(payload[i]) ^ mask[i % 4]));
  return out;
}

std::vector<WsMessage> decode_all(WsDecoder& d, std::string_view bytes, size_t piece = 0) {
  std::vector<WsMessage> out;
  WsMessage m;
  uint16_t code = 0;
  std::string err;
  for (size_t at = 0; at < bytes.size();) {
    size_t n = piece ? std::min(piece, bytes.size() - at) : bytes.size() - at;
    d.feed(bytes.substr(at, n));
    at += n;
    WsDecoder::Result r;
    while ((r = d.next(&m, &code, &err)) == WsDecoder::Result::kMessage) out.push_back(m);
    REQUIRE_MESSAGE(r == WsDecoder::Result::kNeedMore, err);
  }
  return out;
}

// The close code a decoder fails with on bytes.
uint16_t failure(std::string_view bytes, size_t max = 1 << 20) {
  WsDecoder d(max);
  d.feed(bytes);
  WsMessage m;
  uint16_t code = 0;
  std::string err;
  WsDecoder::Result r;
  while ((r = d.next(&m, &code, &err)) == WsDecoder::Result::kMessage) {
  }
  return r == WsDecoder::Result::kError ? code : 0;
}

Request websocket_request(const std::string& extra) {
  Request r;
  std::string err;
  std::string head = "GET /ui/ws/exec/1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n" + extra + "\r\n";
  REQUIRE_MESSAGE(parse_head(head, &r, &err), err);
  return r;
}

}  // namespace

TEST_CASE("websocket: the handshake (RFC 6455's example)") {
  CHECK(websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const std::string good =
      "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  std::string err;
  CHECK(is_websocket_request(websocket_request(good), &err));
  CHECK_FALSE(is_websocket_request(websocket_request("Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
                                   &err));
  CHECK(err == "no Upgrade: websocket");
  CHECK_FALSE(is_websocket_request(websocket_request("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                                     "Sec-WebSocket-Version: 8\r\n"
                                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
                                   &err));
  CHECK_FALSE(is_websocket_request(websocket_request("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n"),
                                   &err));
}

TEST_CASE("websocket: frames in, split anywhere") {
  // RFC 6455's masked "Hello", a fragmented binary message with a ping
  // between its fragments, a 16-bit and a 64-bit length, a close.
  std::string big(70000, 'x');
  std::string mid(300, 'y');
  const std::string bytes = std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) +
                            client_frame(0x02, "frag") + client_frame(0x89, "ping!") + client_frame(0x80, "ment") +
                            client_frame(0x82, mid) + client_frame(0x82, big, 0x01020304) +
                            client_frame(0x88, std::string("\x03\xe8", 2) + "bye");
  for (size_t piece : {size_t(0), size_t(1), size_t(3), size_t(7), size_t(4096)}) {
    WsDecoder d;
    std::vector<WsMessage> got = decode_all(d, bytes, piece);
    REQUIRE(got.size() == 6);
    CHECK((got[0].opcode == WsOpcode::kText && got[0].data == "Hello"));
    CHECK((got[1].opcode == WsOpcode::kPing && got[1].data == "ping!"));
    CHECK((got[2].opcode == WsOpcode::kBinary && got[2].data == "fragment"));
    CHECK(got[3].data == mid);
    CHECK(got[4].data == big);
    CHECK((got[5].opcode == WsOpcode::kClose && got[5].data == std::string("\x03\xe8", 2) + "bye"));
  }
}

TEST_CASE("websocket: protocol errors close the connection with their code") {
  CHECK(failure(std::string("\x81\x05Hello", 7)) == 1002);               // not masked
  CHECK(failure(client_frame(0xc1, "x")) == 1002);                        // a reserved bit
  CHECK(failure(client_frame(0x83, "x")) == 1002);                        // opcode 3
  CHECK(failure(client_frame(0x8b, "x")) == 1002);                        // opcode 11
  CHECK(failure(client_frame(0x09, "x")) == 1002);                        // a fragmented ping
  CHECK(failure(client_frame(0x89, std::string(126, 'p'))) == 1002);      // a ping over 125 bytes
  CHECK(failure(client_frame(0x80, "x")) == 1002);                        // a continuation of nothing
  CHECK(failure(client_frame(0x01, "a") + client_frame(0x81, "b")) == 1002);  // a message inside a message
  CHECK(failure(client_frame(0x88, "x")) == 1002);                        // a close of one byte
  CHECK(failure(client_frame(0x81, "\xc3\x28")) == 1007);                 // bad UTF-8
  CHECK(failure(client_frame(0x81, "\xed\xa0\x80")) == 1007);             // a surrogate
  CHECK(failure(client_frame(0x81, "\xc0\xaf")) == 1007);                 // an overlong '/'
  CHECK(failure(client_frame(0x81, "\xe2\x82")) == 1007);                 // cut short
  CHECK(failure(client_frame(0x82, std::string(2000, 'z')), 1000) == 1009);  // too big
  CHECK(failure(client_frame(0x02, std::string(600, 'z')) + client_frame(0x80, std::string(600, 'z')), 1000) == 1009);
  // A length of 126 said in 8 bytes: not the shortest form.
  CHECK(failure(std::string("\x82\xff\0\0\0\0\0\0\0\x7e", 10)) == 1002);
  // Well-formed UTF-8 of every length passes.
  CHECK(failure(client_frame(0x81, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")) == 0);
  // A failed decoder stays failed.
  WsDecoder d;
  d.feed(client_frame(0x83, "x"));
  WsMessage m;
  uint16_t code = 0;
  std::string err;
  CHECK(d.next(&m, &code, &err) == WsDecoder::Result::kError);
  d.feed(client_frame(0x81, "fine"));
  CHECK(d.next(&m, &code, &err) == WsDecoder::Result::kError);
  CHECK(code == 1002);
}

TEST_CASE("websocket: server frames") {
  CHECK(ws_frame(WsOpcode::kText, "hi") == std::string("\x81\x02hi", 4));
  std::string f = ws_frame(WsOpcode::kBinary, std::string(300, 'b'));
  CHECK(f.substr(0, 4) == std::string("\x82\x7e\x01\x2c", 4));
  f = ws_frame(WsOpcode::kBinary, std::string(70000, 'b'));
  CHECK(f.substr(0, 10) == std::string("\x82\x7f\0\0\0\0\0\x01\x11\x70", 10));
  CHECK(f.size() == 10 + 70000);
  CHECK(ws_close_frame(1000, "done") == std::string("\x88\x06\x03\xe8" "done", 8));
  CHECK(ws_close_frame(1011, std::string(200, 'r')).size() == 2 + 125);
}

}  // namespace ctk::http
