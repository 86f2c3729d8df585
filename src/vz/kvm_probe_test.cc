#include "vz/kvm_probe.h"

#include <doctest/doctest.h>

using namespace ctk;

TEST_CASE("a KVM verdict counts for the boot it was made in") {
  bool ok = false;
  std::string why;
  CHECK(vz::parse_kvm_verdict("b1\nok\n", "b1", &ok, &why));
  CHECK(ok);
  CHECK(vz::parse_kvm_verdict("b1\nbroken: failed to set MSR 0x10a\n", "b1", &ok, &why));
  CHECK_FALSE(ok);
  CHECK(why == "failed to set MSR 0x10a");
  // Another boot's, or not a verdict: ask again.
  CHECK_FALSE(vz::parse_kvm_verdict("b0\nok\n", "b1", &ok, &why));
  CHECK_FALSE(vz::parse_kvm_verdict("b1\n", "b1", &ok, &why));
  CHECK_FALSE(vz::parse_kvm_verdict("b1\nbroken: \n", "b1", &ok, &why));
  CHECK_FALSE(vz::parse_kvm_verdict("b1\nmaybe\n", "b1", &ok, &why));
  CHECK_FALSE(vz::parse_kvm_verdict("ok\n", "", &ok, &why));
  CHECK_FALSE(vz::parse_kvm_verdict("", "b1", &ok, &why));
}
