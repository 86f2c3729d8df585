// Datagrams on a data channel (connect with "protocol":"udp"): the channel is
// still a byte stream, so each datagram goes as a 2-byte big-endian length
// and then that many bytes, in both directions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ctk::proto {

constexpr size_t kDatagramHeader = 2;
constexpr size_t kMaxDatagram = 65535;  // what the length can say; more than UDP carries

inline void encode_datagram_header(size_t len, char out[kDatagramHeader]) {
  out[0] = char(uint8_t(len >> 8));
  out[1] = char(uint8_t(len));
}

// The first datagram in data, once all of it is there: its payload, and how
// many bytes of data it spans with its header. False while it is incomplete.
inline bool next_datagram(std::string_view data, std::string_view* payload, size_t* used) {
  if (data.size() < kDatagramHeader) return false;
  size_t len = size_t(uint8_t(data[0])) << 8 | uint8_t(data[1]);
  if (data.size() < kDatagramHeader + len) return false;
  *payload = data.substr(kDatagramHeader, len);
  *used = kDatagramHeader + len;
  return true;
}

}  // namespace ctk::proto
