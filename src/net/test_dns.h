// For unit tests: DNS queries as a guest's stub resolver sends them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/strings.h"
#include "net/dns.h"
#include "net/frame.h"

namespace ctk::net::testing {

// Header, one question of class IN, and with edns an OPT record in the
// additional section.
inline std::vector<uint8_t> dns_query(uint16_t id, const std::string& name, uint16_t type, bool rd = true,
                                      bool edns = false) {
  std::vector<uint8_t> m(12);
  store_be16(&m[0], id);
  store_be16(&m[2], rd ? 0x0100 : 0);
  store_be16(&m[4], 1);
  store_be16(&m[10], edns ? 1 : 0);
  for (const std::string& label : split(name, '.')) {
    if (label.empty()) continue;
    m.push_back(uint8_t(label.size()));
    m.insert(m.end(), label.begin(), label.end());
  }
  m.push_back(0);
  m.insert(m.end(), {uint8_t(type >> 8), uint8_t(type), 0, uint8_t(kDnsClassIn)});
  if (edns) m.insert(m.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});
  return m;
}

}  // namespace ctk::net::testing
