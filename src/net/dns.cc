#include "net/dns.h"

#include <algorithm>
#include <utility>

#include "net/frame.h"

namespace ctk::net {

namespace {

constexpr size_t kHeader = 12;
constexpr size_t kMaxName = 255;  // on the wire, length octets included
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;

}  // namespace

bool parse_dns_query(std::span<const uint8_t> m, DnsQuery* out) {
  if (m.size() < kHeader) return false;
  uint16_t flags = load_be16(&m[2]);
  unsigned opcode = flags >> 11 & 0xf;
  if (flags & kFlagResponse || opcode != 0 || load_be16(&m[4]) != 1) return false;
  std::string name;
  size_t pos = kHeader;
  for (;;) {
    if (pos >= m.size()) return false;
    size_t len = m[pos];
    if (len == 0) break;
    // 0xc0 is a compression pointer, 0x40 and 0x80 are obsolete label types.
    if (len & 0xc0 || pos + 1 + len > m.size() || pos + 1 + len - kHeader >= kMaxName) return false;
    if (!name.empty()) name += '.';
    name.append(reinterpret_cast<const char*>(&m[pos + 1]), len);
    pos += 1 + len;
  }
  ++pos;  // the root label
  if (pos + 4 > m.size()) return false;
  out->id = load_be16(&m[0]);
  out->recursion_desired = flags & kFlagRecursionDesired;
  out->name = std::move(name);
  out->type = load_be16(&m[pos]);
  out->qclass = load_be16(&m[pos + 2]);
  out->question.assign(m.begin() + kHeader, m.begin() + pos + 4);
  return true;
}

std::vector<uint8_t> build_dns_response(const DnsQuery& q, DnsRcode rcode, std::span<const uint32_t> addresses) {
  constexpr size_t kRecord = 16;  // name pointer, type, class, TTL, length, address
  std::vector<uint8_t> r(kHeader + q.question.size() + addresses.size() * kRecord);
  uint16_t flags = kFlagResponse | kFlagRecursionAvailable | uint16_t(rcode);
  if (q.recursion_desired) flags |= kFlagRecursionDesired;
  store_be16(&r[0], q.id);
  store_be16(&r[2], flags);
  store_be16(&r[4], 1);
  store_be16(&r[6], uint16_t(addresses.size()));
  std::copy(q.question.begin(), q.question.end(), r.begin() + kHeader);
  uint8_t* p = r.data() + kHeader + q.question.size();
  for (uint32_t address : addresses) {
    store_be16(p, 0xc000 | kHeader);  // the question's name
    store_be16(p + 2, kDnsTypeA);
    store_be16(p + 4, kDnsClassIn);
    store_be32(p + 6, kDnsAnswerTtl);
    store_be16(p + 10, 4);
    store_be32(p + 12, address);
    p += kRecord;
  }
  return r;
}

bool same_dns_name(std::string_view a, std::string_view b) {
  if (a.ends_with('.')) a.remove_suffix(1);
  if (b.ends_with('.')) b.remove_suffix(1);
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

}  // namespace ctk::net
