#include "base/strings.h"

#include <doctest/doctest.h>

using namespace ctk;

TEST_CASE("parse_size understands binary units") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("512K") == 512u << 10);
  CHECK(parse_size("64M") == 64u << 20);
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("2GiB") == 2ull << 30);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("12Q"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("99999999999999999999"));
}

TEST_CASE("closest_match suggests near words only") {
  std::string_view words[] = {"mkrootfs", "help", "vminitd"};
  CHECK(closest_match("mkrotfs", words) == "mkrootfs");
  CHECK(closest_match("hlep", words) == "help");
  CHECK(closest_match("zzzzzzzzzz", words).empty());
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("format_size") {
  CHECK(format_size(10) == "10 B");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(3ull << 30) == "3.0 GiB");
}

TEST_CASE("base64 round trips") {
  for (std::string s : {"", "a", "ab", "abc", "user:pass", "\xff\x00\x10 odd"}) {
    std::string back;
    REQUIRE(base64_decode(base64_encode(s), &back));
    CHECK(back == s);
  }
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  std::string out;
  CHECK_FALSE(base64_decode("a*b", &out));
}

TEST_CASE("parse_duration: seconds, minutes, hours") {
  CHECK(parse_duration("90") == 90u);
  CHECK(parse_duration("90s") == 90u);
  CHECK(parse_duration("10m") == 600u);
  CHECK(parse_duration("1h") == 3600u);
  for (const char* bad : {"", "s", "0", "0s", "1.5m", "-3", "10x", "1 h", "1234567890"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("split keeps empty fields") {
  CHECK(split("a::b", ':') == std::vector<std::string>{"a", "", "b"});
  CHECK(split("", ',') == std::vector<std::string>{""});
  CHECK(split("x,", ',') == std::vector<std::string>{"x", ""});
}

TEST_CASE("valid_object_name: docker's rule") {
  CHECK(valid_object_name("a", 1, 128));
  CHECK(valid_object_name("my_net.v2-x", 1, 128));
  CHECK_FALSE(valid_object_name("a", 2, 255));
  CHECK_FALSE(valid_object_name("", 0, 10));
  CHECK_FALSE(valid_object_name("_a", 1, 10));
  CHECK_FALSE(valid_object_name("-a", 1, 10));
  CHECK_FALSE(valid_object_name("a/b", 1, 10));
  CHECK_FALSE(valid_object_name("a b", 1, 10));
  CHECK_FALSE(valid_object_name("abc", 1, 2));
}
