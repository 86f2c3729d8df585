// The agent's vsock transport: inside a VM whose VMM provides a virtio-vsock
// device, the host connects to the guest's port 1024 (docs/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ctk::init {

constexpr uint32_t kVsockPort = 1024;

// "vsock:" (port 1024) or "vsock:PORT"; false with err for anything else.
bool parse_vsock_address(std::string_view address, uint32_t* port, std::string* err);

// A non-blocking socket listening on PORT for any CID, or -1 with err.
int vsock_listen(uint32_t port, std::string* err);

// Whether this machine is a guest with a vsock transport: /dev/vsock gives
// its own CID. The vsock module alone creates /dev/vsock without one, and
// without one no host can connect.
bool vsock_guest_transport();

}  // namespace ctk::init
