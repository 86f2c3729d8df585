#include "base/sha256.h"

#include <doctest/doctest.h>

#include <string_view>

TEST_CASE("sha256 known answers") {
  std::string_view abc = "abc";
  CHECK(ctk::to_hex(ctk::sha256({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()})) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ctk::Sha256 h;
  h.update("a", 1);
  h.update("bc", 2);
  CHECK(ctk::to_hex(h.finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
