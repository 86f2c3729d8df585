// Sockets by name: unix sockets in a directory
// (reached through the directory's fd, so a long data root path is no
// problem for sun_path's 108 bytes) and published ports' listeners.
#pragma once

#include <cstdint>
#include <string>

namespace ctk {

// A listening unix stream socket named `name` in `dir`; -1 with err.
int listen_unix(const std::string& dir, const std::string& name, std::string* err);
// A connected unix stream socket to `name` in `dir`; -1 with err (errno kept).
int connect_unix(const std::string& dir, const std::string& name, std::string* err);

// A TCP listener (or UDP socket) on ip:port, non-blocking; port 0 picks an
// ephemeral one, returned in *bound. -1 with err: "127.0.0.1:8080: Address already in use".
int bind_inet(const std::string& ip, uint16_t port, bool udp, uint16_t* bound, std::string* err);

}  // namespace ctk
