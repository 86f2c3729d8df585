#include "base/filter.h"

#include <doctest/doctest.h>

using namespace ctk;

TEST_CASE("filters: keys, label!= and dangling") {
  static constexpr std::string_view kKeys[] = {"name", "dangling", "label", "label!"};
  Filter f;
  std::string err;
  REQUIRE(parse_filter("name=a=b", kKeys, &f, &err));
  CHECK(f.key == "name");
  CHECK(f.value == "a=b");
  CHECK_FALSE(f.negated);
  REQUIRE(parse_filter("label!=env=prod", kKeys, &f, &err));
  CHECK(f.key == "label");
  CHECK(f.value == "env=prod");
  CHECK(f.negated);
  REQUIRE(parse_filter("dangling=1", kKeys, &f, &err));
  CHECK(filter_is_true(f));
  REQUIRE(parse_filter("dangling=false", kKeys, &f, &err));
  CHECK_FALSE(filter_is_true(f));
  CHECK_FALSE(parse_filter("dangling=maybe", kKeys, &f, &err));
  CHECK(err == "invalid filter 'dangling=maybe': dangling takes true or false");
  CHECK_FALSE(parse_filter("name", kKeys, &f, &err));
  CHECK(err == "invalid filter 'name': want name=, dangling=, label= or label!=");
  static constexpr std::string_view kNoNegation[] = {"label"};
  CHECK_FALSE(parse_filter("label!=x", kNoNegation, &f, &err));
  CHECK(err == "invalid filter 'label!=x': want label=");

  std::map<std::string, std::string> labels = {{"env", "prod"}, {"team", ""}};
  auto has = [&](const std::string& text) {
    REQUIRE(parse_filter(text, kKeys, &f, &err));
    return label_matches(labels, f);
  };
  CHECK(has("label=env"));
  CHECK(has("label=env=prod"));
  CHECK(has("label=team"));
  CHECK(has("label=team="));
  CHECK_FALSE(has("label=env=dev"));
  CHECK_FALSE(has("label=other"));
  CHECK(has("label!=env=dev"));
  CHECK_FALSE(has("label!=env"));
}
