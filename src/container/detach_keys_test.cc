#include "container/detach_keys.h"

#include <doctest/doctest.h>

using namespace ctk::container;

namespace {

std::string keys(std::string_view text) {
  std::string bytes, err;
  REQUIRE_MESSAGE(parse_detach_keys(text, &bytes, &err), err);
  return bytes;
}

}  // namespace

TEST_CASE("detach keys parse as docker's") {
  CHECK(keys("ctrl-p,ctrl-q") == "\x10\x11");
  CHECK(keys("") == keys("ctrl-p,ctrl-q"));
  CHECK(keys("a") == "a");
  CHECK(keys("ctrl-a,x,ctrl-z") == std::string("\x01x\x1a"));
  CHECK(keys("ctrl-@") == std::string(1, '\0'));
  CHECK(keys("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == "\x1b\x1c\x1d\x1e\x1f");
  std::string bytes, err;
  for (const char* bad : {"ctrl-", "ctrl-1", "ctrl-A", "ab", "ctrl-p,", ",", "ctrl-pq"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_detach_keys(bad, &bytes, &err));
    CHECK(err.find(bad) != std::string::npos);
  }
}

TEST_CASE("the detach watch holds what may begin the sequence and passes the rest") {
  DetachWatch w("\x10\x11");
  std::string pass;
  CHECK_FALSE(w.feed("ls\r", &pass));
  CHECK(pass == "ls\r");
  pass.clear();
  // Split over two reads.
  CHECK_FALSE(w.feed("x\x10", &pass));
  CHECK(pass == "x");
  CHECK(w.held() == 1);
  CHECK(w.feed("\x11" "dropped", &pass));
  CHECK(pass == "x");
  // A broken sequence passes its bytes on in order.
  pass.clear();
  CHECK_FALSE(w.feed("\x10y", &pass));
  CHECK(pass == "\x10y");
  // ^P ^P ^Q: the first ^P passes, the second begins the match.
  pass.clear();
  CHECK(w.feed("\x10\x10\x11", &pass));
  CHECK(pass == "\x10");
  // The end of input lets held bytes go.
  pass.clear();
  CHECK_FALSE(w.feed("\x10", &pass));
  w.flush(&pass);
  CHECK(pass == "\x10");
  CHECK(w.held() == 0);
}

TEST_CASE("a one-key sequence and no sequence") {
  DetachWatch one("q");
  std::string pass;
  CHECK(one.feed("abq", &pass));
  CHECK(pass == "ab");
  DetachWatch none;
  pass.clear();
  CHECK_FALSE(none.feed("\x10\x11", &pass));
  CHECK(pass == "\x10\x11");
}
