#include "api/body.h"

#include <doctest/doctest.h>

namespace ctk::api {

using nlohmann::json;

TEST_CASE("request bodies: typed fields, null as absent") {
  json body = json::parse(R"({"Name": "x", "Flag": true, "Labels": {"a": "1"}, "Aliases": ["p", "q"],
                              "IPAM": {"Driver": "default"}, "Gone": null, "Num": 3})");
  Error err;
  std::string s = "keep";
  CHECK(body_field(body, "Name", &s, &err));
  CHECK(s == "x");
  s = "keep";
  CHECK(body_field(body, "Gone", &s, &err));
  CHECK(body_field(body, "Missing", &s, &err));
  CHECK(s == "keep");
  bool b = false;
  CHECK(body_field(body, "Flag", &b, &err));
  CHECK(b);
  std::map<std::string, std::string> m;
  CHECK(body_field(body, "Labels", &m, &err));
  CHECK(m == std::map<std::string, std::string>{{"a", "1"}});
  std::vector<std::string> list;
  CHECK(body_field(body, "Aliases", &list, &err));
  CHECK(list == std::vector<std::string>{"p", "q"});
  const json* child = nullptr;
  CHECK(body_child(body, "IPAM", &child, &err));
  REQUIRE(child);
  CHECK(child->at("Driver") == "default");
  CHECK(body_child(body, "Gone", &child, &err));
  CHECK(child == nullptr);

  // The wrong type is the client's error, naming the field.
  CHECK_FALSE(body_field(body, "Num", &s, &err));
  CHECK(err.code == ErrorCode::invalid);
  CHECK(err.message == "invalid request: Num must be a string");
  CHECK_FALSE(body_field(body, "Name", &b, &err));
  CHECK_FALSE(body_field(body, "Aliases", &m, &err));
  CHECK_FALSE(body_field(json::parse(R"({"L": {"a": 1}})"), "L", &m, &err));
  CHECK(m == std::map<std::string, std::string>{{"a", "1"}});  // unchanged on failure
  CHECK_FALSE(body_field(json::parse(R"({"A": ["a", 2]})"), "A", &list, &err));
  CHECK_FALSE(body_child(body, "Name", &child, &err));
  CHECK(body_object(json::object(), &err));
  CHECK_FALSE(body_object(json::array(), &err));
  CHECK_FALSE(body_object(json("text"), &err));
}

}  // namespace ctk::api
