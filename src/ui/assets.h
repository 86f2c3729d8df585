// The web UI's files (ui/, built and gzip-compressed at build time by
// embed.py), served by `ctk serve --ui` from the binary itself.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace ctk::ui {

struct Asset {
  std::string_view path;          // "/index.html", "/app.js"
  std::string_view content_type;
  std::string_view gzip;          // the file, gzip-compressed
  std::string_view etag;          // a quoted hash of the file
  size_t size;                    // uncompressed
};

// Every file of the page; none in a build without the UI (-Dui=disabled, or
// no npm).
std::span<const Asset> assets();

// The file at a request path ("/" is index.html), or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace ctk::ui
