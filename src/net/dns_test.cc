#include "net/dns.h"

#include <doctest/doctest.h>

#include "net/frame.h"
#include "net/test_dns.h"

using namespace ctk::net;
using ctk::net::testing::dns_query;


TEST_CASE("dns: a query's id, flags, name and question are parsed") {
  DnsQuery q;
  std::vector<uint8_t> m = dns_query(0xbeef, "Web.Example", kDnsTypeA, true, true);
  REQUIRE(parse_dns_query(m, &q));
  CHECK(q.id == 0xbeef);
  CHECK(q.recursion_desired);
  CHECK(q.name == "Web.Example");
  CHECK(q.type == kDnsTypeA);
  CHECK(q.qclass == kDnsClassIn);
  CHECK(q.question.size() == 1 + 3 + 1 + 7 + 1 + 4);

  REQUIRE(parse_dns_query(dns_query(1, "", 28, false), &q));
  CHECK(q.name == "");
  CHECK(q.type == 28);
  CHECK_FALSE(q.recursion_desired);
}

TEST_CASE("dns: answers echo id, question and RD, set RA, and carry A records") {
  DnsQuery q;
  REQUIRE(parse_dns_query(dns_query(7, "db", kDnsTypeA), &q));
  const uint32_t addresses[] = {0xac120003, 0xac120004};
  std::vector<uint8_t> r = build_dns_response(q, DnsRcode::kNoError, addresses);
  REQUIRE(r.size() == 12 + q.question.size() + 2 * 16);
  CHECK(load_be16(&r[0]) == 7);
  CHECK(load_be16(&r[2]) == 0x8180);  // QR, RD, RA, NOERROR
  CHECK(load_be16(&r[4]) == 1);
  CHECK(load_be16(&r[6]) == 2);
  CHECK(load_be16(&r[8]) == 0);
  CHECK(load_be16(&r[10]) == 0);
  CHECK(std::vector<uint8_t>(r.begin() + 12, r.begin() + 12 + long(q.question.size())) == q.question);
  const uint8_t* a = &r[12 + q.question.size()];
  CHECK(load_be16(a) == 0xc00c);  // the question's name
  CHECK(load_be16(a + 2) == kDnsTypeA);
  CHECK(load_be16(a + 4) == kDnsClassIn);
  CHECK(load_be32(a + 6) == kDnsAnswerTtl);
  CHECK(load_be16(a + 10) == 4);
  CHECK(load_be32(a + 12) == 0xac120003);
  CHECK(load_be32(a + 16 + 12) == 0xac120004);

  // The errors, and the empty answer, have no records; RD only when asked.
  REQUIRE(parse_dns_query(dns_query(9, "x", 28, false), &q));
  for (auto [rcode, flags] : {std::pair{DnsRcode::kNoError, 0x8080}, {DnsRcode::kServFail, 0x8082},
                              {DnsRcode::kNxDomain, 0x8083}, {DnsRcode::kRefused, 0x8085}}) {
    r = build_dns_response(q, rcode);
    CHECK(r.size() == 12 + q.question.size());
    CHECK(load_be16(&r[0]) == 9);
    CHECK(load_be16(&r[2]) == flags);
    CHECK(load_be16(&r[6]) == 0);
  }
}

TEST_CASE("dns: malformed queries fail to parse") {
  DnsQuery q;
  std::vector<uint8_t> good = dns_query(1, "a.b", kDnsTypeA);
  for (size_t n = 0; n < good.size(); ++n)
    CHECK_FALSE(parse_dns_query(std::span(good).first(n), &q));

  auto changed = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> m = good;
    m[offset] = value;
    return m;
  };
  CHECK_FALSE(parse_dns_query(changed(2, 0x81), &q));  // a response
  CHECK_FALSE(parse_dns_query(changed(2, 0x28), &q));  // opcode 5, UPDATE
  CHECK_FALSE(parse_dns_query(changed(5, 0), &q));     // no question
  CHECK_FALSE(parse_dns_query(changed(5, 2), &q));     // two
  CHECK_FALSE(parse_dns_query(changed(12, 60), &q));   // a label past the end
  CHECK_FALSE(parse_dns_query(changed(12, 0x41), &q)); // an obsolete label type

  // A compression pointer to itself: a loop for a naive reader.
  std::vector<uint8_t> loop = good;
  loop.resize(12);
  loop.insert(loop.end(), {0xc0, 0x0c, 0, 1, 0, 1});
  CHECK_FALSE(parse_dns_query(loop, &q));

  // Names are at most 255 bytes on the wire.
  std::string label(63, 'x'), longest = label + "." + label + "." + label + "." + std::string(61, 'x');
  CHECK(parse_dns_query(dns_query(1, longest, kDnsTypeA), &q));
  CHECK(q.name == longest);
  CHECK_FALSE(parse_dns_query(dns_query(1, longest + "x", kDnsTypeA), &q));
}

TEST_CASE("dns: names compare without case, a trailing dot ignored") {
  CHECK(same_dns_name("web", "WEB"));
  CHECK(same_dns_name("web.", "Web"));
  CHECK(same_dns_name("db.local", "DB.Local."));
  CHECK_FALSE(same_dns_name("web", "web2"));
  CHECK_FALSE(same_dns_name("web", "we"));
  CHECK_FALSE(same_dns_name("web..", "web"));
}
