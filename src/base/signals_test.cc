#include "base/signals.h"

#include <doctest/doctest.h>
#include <signal.h>

namespace ctk {

TEST_CASE("parse_signal: numbers and names in any case, with or without SIG") {
  CHECK(parse_signal("9") == SIGKILL);
  CHECK(parse_signal("KILL") == SIGKILL);
  CHECK(parse_signal("sigkill") == SIGKILL);
  CHECK(parse_signal("SIGTERM") == SIGTERM);
  CHECK(parse_signal("winch") == SIGWINCH);
  CHECK(parse_signal("0") == -1);
  CHECK(parse_signal("999") == -1);
  CHECK(parse_signal("SIGNOPE") == -1);
  CHECK(parse_signal("") == -1);
}

}  // namespace ctk
