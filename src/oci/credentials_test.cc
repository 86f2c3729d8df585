#include "oci/credentials.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/test_dir.h"
#include "oci/fsutil.h"

using namespace ctk::oci;

TEST_CASE("credentials: docker config.json") {
  ctk::testing::TempDir tmp;
  std::string dir = tmp.path, file = dir + "/docker/config.json", err;
  Credential c;
  bool found = true;
  REQUIRE(find_credential(file, "docker.io", &c, &found, &err));
  CHECK_FALSE(found);

  // What docker writes: Hub under its v1 URL, other keys kept.
  REQUIRE(make_dirs(dir + "/docker", 0700, &err));
  REQUIRE(write_file_atomic(file,
                            R"({"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},)"
                            R"("http://reg.local:5000/v2/":{"auth":"YTpi"},"tok.io":{"identitytoken":"rt-1"}},"currentContext":"x"})",
                            0600, &err));
  REQUIRE(find_credential(file, "docker.io", &c, &found, &err));
  CHECK(found);
  CHECK(c.user == "hub");
  CHECK(c.password == "pw");
  REQUIRE(find_credential(file, "reg.local:5000", &c, &found, &err));
  CHECK(found);
  CHECK(c.user == "a");

  REQUIRE(find_credential(file, "tok.io", &c, &found, &err));
  CHECK(found);
  CHECK(c.identity_token == "rt-1");
  CHECK(c.user.empty());

  REQUIRE(store_credential(file, "reg.local:5000", {"bob", "p:w", ""}, &err));
  REQUIRE(find_credential(file, "reg.local:5000", &c, &found, &err));
  CHECK(c.user == "bob");
  CHECK(c.password == "p:w");
  std::string text;
  REQUIRE(read_file(file, &text, nullptr, &err));
  CHECK(text.find("currentContext") != std::string::npos);
  CHECK(text.find("http://reg.local:5000/v2/") == std::string::npos);
  struct stat st;
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  bool existed;
  REQUIRE(erase_credential(file, "docker.io", &existed, &err));
  CHECK(existed);
  REQUIRE(find_credential(file, "docker.io", &c, &found, &err));
  CHECK_FALSE(found);

  // A helper that is not installed, or a name that is a path, is an error
  // naming the file; never a silent fallback to the file's entries.
  REQUIRE(write_file_atomic(file, R"({"credsStore":"ctk-no-such-helper","auths":{"docker.io":{"auth":"YTpi"}}})",
                            0600, &err));
  CHECK_FALSE(find_credential(file, "docker.io", &c, &found, &err));
  CHECK(err.find("docker-credential-ctk-no-such-helper: not found on PATH") != std::string::npos);
  CHECK(err.find(file) != std::string::npos);
  REQUIRE(write_file_atomic(file, R"({"credsStore":"x","credHelpers":{"reg.io":"../../bin/sh"}})", 0600, &err));
  CHECK_FALSE(find_credential(file, "reg.io", &c, &found, &err));
  CHECK(err == file + ": invalid credential helper name '../../bin/sh'");

  REQUIRE(write_file_atomic(file, "[1,2]", 0600, &err));
  CHECK_FALSE(find_credential(file, "docker.io", &c, &found, &err));
  CHECK(err.find(file) != std::string::npos);
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
}
