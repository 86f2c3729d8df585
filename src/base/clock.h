// Times as docker prints them: RFC 3339, UTC, nanoseconds
// ("2026-12-06T22:55:34.123456789Z").
#pragma once

#include <cstdint>
#include <string>

namespace ctk {

// ns: nanoseconds since the epoch.
std::string format_rfc3339(int64_t ns);
std::string now_rfc3339();
// The wall clock, in ns since the epoch.
int64_t now_ns();

}  // namespace ctk
