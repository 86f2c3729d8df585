#include <doctest/doctest.h>

#include "api/handlers.h"
#include "base/strings.h"

using namespace ctk::api;

TEST_CASE("api images: X-Registry-Auth") {
  std::optional<ctk::oci::Credential> cred;
  std::string err;
  CHECK(decode_registry_auth("", &cred, &err));
  CHECK(!cred);
  CHECK(decode_registry_auth("e30=", &cred, &err));  // {}
  CHECK(!cred);
  // The docker CLI's: URL-safe base64 with padding.
  std::string json = R"({"username":"bob","password":"hu>>?er2","serveraddress":"127.0.0.1:5000"})";
  std::string encoded = ctk::base64_encode(json);
  for (char& ch : encoded) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  REQUIRE(decode_registry_auth(encoded, &cred, &err));
  REQUIRE(cred);
  CHECK(cred->user == "bob");
  CHECK(cred->password == "hu>>?er2");
  CHECK(cred->identity_token.empty());
  REQUIRE(decode_registry_auth(ctk::base64_encode(R"({"identitytoken":"tok","username":null})"), &cred, &err));
  CHECK(cred->identity_token == "tok");
  CHECK(!decode_registry_auth("not base64 at all!", &cred, &err));
  CHECK(err.find("not base64") != std::string::npos);
  CHECK(!decode_registry_auth(ctk::base64_encode("[1]"), &cred, &err));
  CHECK(!decode_registry_auth(ctk::base64_encode("{\"username\":7}"), &cred, &err));
  CHECK(err.find("username is not a string") != std::string::npos);
  CHECK(!decode_registry_auth(ctk::base64_encode(std::string(100, '[')), &cred, &err));
}

TEST_CASE("api images: filters") {
  ImageFilters f;
  std::string err;
  REQUIRE(parse_image_filters({"reference=busy*", "dangling=false", "label=a=b", "before=x", "since=y"}, &f, &err));
  CHECK(f.reference == std::vector<std::string>{"busy*"});
  CHECK(f.label == std::vector<std::string>{"a=b"});
  CHECK(f.dangling == false);
  CHECK(f.before == std::vector<std::string>{"x"});
  CHECK(f.since == std::vector<std::string>{"y"});
  CHECK(!parse_image_filters({"dangling=maybe"}, &f, &err));
  CHECK(!parse_image_filters({"colour=red"}, &f, &err));
  CHECK(err == "invalid filter 'colour'");

  CHECK(reference_matches("busybox", "busybox:latest"));
  CHECK(reference_matches("busy*", "busybox:latest"));
  CHECK(reference_matches("busybox:lat*", "busybox:latest"));
  CHECK_FALSE(reference_matches("busybox:v1", "busybox:latest"));
  CHECK_FALSE(reference_matches("*", "me/app:v1"));  // * does not cross /
  CHECK(reference_matches("*/*", "me/app:v1"));
  CHECK(reference_matches("127.0.0.1:5000/test/busybox", "127.0.0.1:5000/test/busybox:v1"));

  ctk::oci::StoredImage image;
  image.id = "sha256:" + std::string(64, 'a');
  image.entries.push_back({"", "sha256:" + std::string(64, 'b'), 1, "docker.io/library/busybox:latest", ""});
  image.entries.push_back({"", "sha256:" + std::string(64, 'b'), 1, "docker.io/me/copy:v2", ""});
  image.config = {{"config", {{"Labels", {{"tier", "web"}}}}}};
  std::vector<std::string> tags;
  CHECK(image_matches(image, {}, &tags));
  CHECK(tags == std::vector<std::string>{"busybox:latest", "me/copy:v2"});
  ImageFilters g;
  g.reference = {"me/*"};
  CHECK(image_matches(image, g, &tags));
  CHECK(tags == std::vector<std::string>{"me/copy:v2"});
  g.reference = {"nothing"};
  CHECK_FALSE(image_matches(image, g, &tags));
  ImageFilters l;
  l.label = {"tier"};
  CHECK(image_matches(image, l, &tags));
  l.label = {"tier=web"};
  CHECK(image_matches(image, l, &tags));
  l.label = {"tier=db"};
  CHECK_FALSE(image_matches(image, l, &tags));
  ImageFilters d;
  d.dangling = true;
  CHECK_FALSE(image_matches(image, d, &tags));
  d.dangling = false;
  CHECK(image_matches(image, d, &tags));
}
