// Random numbers for names and ids (getrandom(2)).
#pragma once

#include <cstdint>
#include <string>

namespace ctk {

uint64_t random_u64();
// A fresh id: 64 hex digits (containers, anonymous volumes).
std::string random_id();

}  // namespace ctk
