#include "base/heap.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

TEST_CASE("reserve_huge_heap grows the heap at once and marks it for huge pages") {
  auto before = reinterpret_cast<uintptr_t>(::sbrk(0));
  ctk::reserve_huge_heap(16 << 20);
  auto after = reinterpret_cast<uintptr_t>(::sbrk(0));
  CHECK(after - before >= (15u << 20));  // the pad counts from the top chunk already there
  // The heap mapping carries the hint (smaps: "hg" in VmFlags).
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_heap = false, marked = false;
  while (std::getline(smaps, line)) {
    // A mapping's first line is "START-END PERMS ..."; its fields follow as "Name: value".
    size_t space = line.find(' ');
    bool header = space != std::string::npos && line.find('-') < space && line[space - 1] != ':';
    if (header) in_heap = line.ends_with("[heap]");
    else if (in_heap && line.starts_with("VmFlags:") && line.find(" hg") != std::string::npos) marked = true;
  }
  CHECK(marked);
  // And malloc works on as before.
  char* p = static_cast<char*>(std::malloc(1 << 20));
  REQUIRE(p != nullptr);
  std::memset(p, 1, 1 << 20);
  std::free(p);
}
