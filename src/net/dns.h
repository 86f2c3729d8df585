// DNS messages (RFC 1035) as the switch's resolver needs them: a query with
// one question from a guest, and the answers it makes itself. Queries are
// untrusted: anything but one plain question fails to parse and is dropped.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::net {

constexpr uint16_t kDnsTypeA = 1;
constexpr uint16_t kDnsClassIn = 1;
// What answers about containers live in caches: short, as a container that
// stops or leaves a network must stop resolving soon.
constexpr uint32_t kDnsAnswerTtl = 5;

enum class DnsRcode : uint8_t { kNoError = 0, kServFail = 2, kNxDomain = 3, kRefused = 5 };

struct DnsQuery {
  uint16_t id = 0;
  bool recursion_desired = false;
  std::string name;  // labels joined by '.', as sent (no trailing dot; "" for the root)
  uint16_t type = 0;
  uint16_t qclass = 0;
  std::vector<uint8_t> question;  // the question's bytes, which a response repeats
};

// A standard query (QR 0, opcode 0) with exactly one question. Names may not
// use compression: the first name of a message has nothing before it to
// point to, so a pointer there is malformed (and could loop).
bool parse_dns_query(std::span<const uint8_t> message, DnsQuery* out);

// The response to q: its id and question, RD echoed, RA set, and one A
// record (kDnsAnswerTtl) per address (host byte order); none for an empty
// answer or an error.
std::vector<uint8_t> build_dns_response(const DnsQuery& q, DnsRcode rcode,
                                        std::span<const uint32_t> addresses = {});

// DNS names compare without regard to ASCII case; a trailing dot is ignored.
bool same_dns_name(std::string_view a, std::string_view b);

}  // namespace ctk::net
