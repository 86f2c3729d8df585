#include <doctest/doctest.h>

#include "api/handlers.h"
#include "base/strings.h"

using namespace ctk::api;

// The expected numbers are Go's: uint32(os.FileMode) of what os.Lstat
// reports for such files (ModeDir 1<<31, ModeSymlink 1<<27, ...).
TEST_CASE("api archive: Go file modes") {
  CHECK(go_file_mode("file", 0644) == 0644u);
  CHECK(go_file_mode("directory", 0755) == 2147484141u);
  CHECK(go_file_mode("symlink", 0777) == 134218239u);
  CHECK(go_file_mode("char", 0666) == 69206454u);       // /dev/null: ModeDevice | ModeCharDevice
  CHECK(go_file_mode("block", 0660) == 67109296u);      // ModeDevice alone
  CHECK(go_file_mode("directory", 01777) == 2148532735u);  // /tmp: ModeSticky
  CHECK(go_file_mode("file", 04755) == 8389101u);       // ModeSetuid
  CHECK(go_file_mode("directory", 02755) == 2151678445u);  // ModeSetgid
  CHECK(go_file_mode("fifo", 0644) == 33554852u);
  CHECK(go_file_mode("socket", 0755) == 16777709u);
  // Only the permission and special bits of mode count: no stray type bits.
  CHECK(go_file_mode("file", 0100644) == 0644u);
}

TEST_CASE("api archive: the path stat header") {
  nlohmann::json st = {{"type", "symlink"}, {"mode", 0777}, {"size", 4}, {"mtime_ns", 1672924848000000000LL},
                       {"target", "dash"}};
  std::string decoded;
  REQUIRE(ctk::base64_decode(path_stat_header(st, "sh", "/bin/dash"), &decoded));
  nlohmann::json j = nlohmann::json::parse(decoded);
  CHECK(j["name"] == "sh");
  CHECK(j["size"] == 4);
  CHECK(j["mode"] == 134218239u);
  CHECK(j["mtime"] == "2023-01-05T13:20:48.000000000Z");
  CHECK(j["linkTarget"] == "/bin/dash");
  // A time before the epoch (a tar member can carry one).
  REQUIRE(ctk::base64_decode(path_stat_header({{"type", "file"}, {"mtime_ns", -1}}, "old", ""), &decoded));
  CHECK(nlohmann::json::parse(decoded)["mtime"] == "1969-12-31T23:59:59.999999999Z");
  // Fields of the wrong type are zeros, never an exception.
  REQUIRE(ctk::base64_decode(path_stat_header({{"type", 3}, {"size", "big"}}, "x", ""), &decoded));
  j = nlohmann::json::parse(decoded);
  CHECK(j["size"] == 0);
  CHECK(j["mode"] == 0);
}
