#include "proto/datagram.h"

#include <doctest/doctest.h>

#include <string>

using namespace ctk::proto;

TEST_CASE("datagrams: a big-endian length, then the payload; incomplete ones wait") {
  std::string stream;
  for (size_t len : {size_t(0), size_t(3), size_t(300), kMaxDatagram}) {
    char header[kDatagramHeader];
    encode_datagram_header(len, header);
    stream.append(header, kDatagramHeader).append(len, char('a' + len % 26));
  }
  CHECK(stream.substr(0, 7) == std::string("\0\0\0\3ddd", 7));
  CHECK(stream.substr(7, 2) == "\x01\x2c");  // 300
  std::string_view rest = stream, payload;
  size_t used = 0;
  for (size_t len : {size_t(0), size_t(3), size_t(300), kMaxDatagram}) {
    // One byte short of the whole datagram (of its header for an empty one).
    CHECK_FALSE(next_datagram(rest.substr(0, kDatagramHeader + len - 1), &payload, &used));
    REQUIRE(next_datagram(rest, &payload, &used));
    CHECK(payload.size() == len);
    CHECK(used == kDatagramHeader + len);
    CHECK(payload == std::string(len, char('a' + len % 26)));
    rest.remove_prefix(used);
  }
  CHECK(rest.empty());
}
